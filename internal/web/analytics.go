package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/parleyhq/parley/internal/api"
	cv "github.com/parleyhq/parley/internal/conversation"
)

// analyticsData is the analytics page.
type analyticsData struct {
	AID         string
	From, To    string
	Unit        string // day, week or month
	Q           url.Values
	FilterError string
	Total       cv.Counts
	PerConv     float64
	HandoffRate float64
	FlagRate    float64
	Charts      []chart
	ListHref    string
	Sources     []string
	Sentiments  []string
	Topics      []string
	Operators   []cv.Operator
	ExportCSV   string
}

// MaxAnalyticsDays bounds the range of the analytics page.
const MaxAnalyticsDays = 3 * 366

func (h *Handler) analytics(w http.ResponseWriter, r *http.Request, u *who) {
	d, status, err := h.analyticsData(r.Context(), r.URL.Query(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, status, "analytics", &view{Title: "Analytics", Who: u, Nav: "analytics", Data: d})
}

// analyticsRange reads the page's date range: the last 30 days by default.
func analyticsRange(q url.Values, now time.Time) (from, to time.Time) {
	to = now.UTC().Truncate(24 * time.Hour)
	from = to.AddDate(0, 0, -29)
	if t, err := time.Parse(time.DateOnly, q.Get("from")); err == nil {
		from = t
	}
	if t, err := time.Parse(time.DateOnly, q.Get("to")); err == nil {
		to = t
	}
	if to.Before(from) {
		from, to = to, from
	}
	if to.Sub(from) > MaxAnalyticsDays*24*time.Hour {
		from = to.AddDate(0, 0, -MaxAnalyticsDays)
	}
	return from, to
}

func (h *Handler) analyticsData(ctx context.Context, q url.Values, u *who) (*analyticsData, int, error) {
	aid := u.assistant.ID
	from, to := analyticsRange(q, h.now())
	d := &analyticsData{AID: aid, From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), Q: q,
		Sources: cv.Sources, Sentiments: cv.Sentiments}
	var err error
	if d.Operators, err = h.store.Operators(ctx, aid); err != nil {
		return nil, 0, err
	}
	if st, err := h.settings(ctx, aid); err == nil {
		for _, t := range st.Topics {
			d.Topics = append(d.Topics, t.Name)
		}
	}
	fq := cloneValues(q)
	for _, k := range []string{"from", "to", "view", "cursor", "sort"} {
		fq.Del(k)
	}
	_, base := apiQuery(fq, ViewAll, u.operator.ID)
	base.Set("created_timestamp_start_date", d.From)
	base.Set("created_timestamp_end_date", d.To)
	f, ferr := api.ParseListFilter(base)
	if ferr != nil {
		d.FilterError = filterMessage(ferr)
		return d, http.StatusBadRequest, nil
	}
	listHref := func(extra url.Values) string {
		lq := cloneValues(base)
		lq.Set("view", ViewAll)
		for k, v := range extra {
			lq[k] = v
		}
		return "/a/" + aid + "/inbox?" + lq.Encode()
	}
	d.ListHref = listHref(nil)
	ex := cloneValues(base)
	ex.Set("format", "csv")
	d.ExportCSV = "/a/" + aid + "/export?" + ex.Encode()

	days := int(to.Sub(from)/(24*time.Hour)) + 1
	d.Unit = cv.GroupDay
	switch {
	case days > 400:
		d.Unit = cv.GroupMonth
	case days > 62:
		d.Unit = cv.GroupWeek
	}
	run := func(groups ...string) (cv.Analytics, error) {
		return h.store.Analytics(ctx, aid, cv.AnalyticsQuery{Filter: f, GroupBy: groups})
	}
	byTime, err := run(d.Unit, cv.GroupSentiment)
	if err != nil {
		return nil, 0, err
	}
	d.Total = byTime.Total
	if n := float64(d.Total.Conversations); n > 0 {
		d.PerConv = float64(d.Total.Messages) / n
		d.HandoffRate = float64(d.Total.HandedOff) / n
		d.FlagRate = float64(d.Total.Flagged) / n
	}
	buckets := timeBuckets(from, to, d.Unit)
	d.Charts = append(append(d.Charts, volumeChart(buckets, byTime, listHref)), rateCharts(buckets, byTime, listHref)...)
	for _, dim := range []struct {
		group, param, id, title string
		top                     int
	}{
		{cv.GroupTopic, "topic", "topics", "Top topics", 10},
		{cv.GroupSource, "source", "sources", "Channels", 0},
		{cv.GroupLanguage, "most_frequent_language", "languages", "Languages", 10},
	} {
		res, err := run(dim.group)
		if err != nil {
			return nil, 0, err
		}
		d.Charts = append(d.Charts, rankChart(dim.id, dim.title, dim.param, res, dim.top, listHref))
	}
	return d, http.StatusOK, nil
}

// bucket is one step of the time axis.
type bucket struct {
	Key        string // the analytics key: a day, a week's Monday, or "2006-01"
	Label      string
	Start, End string // the list filter's dates (inclusive)
}

func timeBuckets(from, to time.Time, unit string) []bucket {
	var out []bucket
	switch unit {
	case cv.GroupDay:
		for t := from; !t.After(to); t = t.AddDate(0, 0, 1) {
			k := t.Format(time.DateOnly)
			out = append(out, bucket{Key: k, Label: t.Format("2 Jan"), Start: k, End: k})
		}
	case cv.GroupWeek:
		start := from.AddDate(0, 0, -((int(from.Weekday()) + 6) % 7))
		for t := start; !t.After(to); t = t.AddDate(0, 0, 7) {
			s, e := t, t.AddDate(0, 0, 6)
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			out = append(out, bucket{Key: t.Format(time.DateOnly), Label: t.Format("2 Jan"), Start: s.Format(time.DateOnly), End: e.Format(time.DateOnly)})
		}
	default:
		for t := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC); !t.After(to); t = t.AddDate(0, 1, 0) {
			s, e := t, t.AddDate(0, 1, -1)
			if s.Before(from) {
				s = from
			}
			if e.After(to) {
				e = to
			}
			out = append(out, bucket{Key: t.Format("2006-01"), Label: t.Format("Jan 2006"), Start: s.Format(time.DateOnly), End: e.Format(time.DateOnly)})
		}
	}
	return out
}

// sentimentKeys are the segments of the volume chart: each sentiment, and conversations not
// analysed yet.
var sentimentKeys = []string{"positive", "neutral", "negative", ""}

func volumeChart(buckets []bucket, res cv.Analytics, href func(url.Values) string) chart {
	counts := map[string]map[string]int64{}
	for _, g := range res.Groups {
		t, s := keyAt(g.Key, 0), keyAt(g.Key, 1)
		if counts[t] == nil {
			counts[t] = map[string]int64{}
		}
		counts[t][s] += g.Conversations
	}
	c := chart{ID: "volume", Kind: "stacked", Title: "Conversations by sentiment", Legend: []legend{
		{"positive", "Positive"}, {"neutral", "Neutral"}, {"negative", "Negative"}, {"none", "Not analysed"}}}
	for _, b := range buckets {
		col := column{Label: b.Label, Href: href(url.Values{"created_timestamp_start_date": {b.Start}, "created_timestamp_end_date": {b.End}})}
		for _, s := range sentimentKeys {
			n := counts[b.Key][s]
			seg := segment{Class: orDefault(s, "none"), Label: label(orDefault(s, "not analysed")), Value: float64(n)}
			q := url.Values{"created_timestamp_start_date": {b.Start}, "created_timestamp_end_date": {b.End}}
			if s != "" {
				q.Set("sentiment", s)
				seg.Href = href(q)
			}
			col.Segments = append(col.Segments, seg)
			col.Total += float64(n)
		}
		c.Columns = append(c.Columns, col)
	}
	return c
}

// rateCharts are the handoff rate and flagged share (points) and the tracked-link clicks
// (bars) of each time bucket.
func rateCharts(buckets []bucket, res cv.Analytics, href func(url.Values) string) []chart {
	sums := map[string]*cv.Counts{}
	for _, g := range res.Groups {
		t := keyAt(g.Key, 0)
		if sums[t] == nil {
			sums[t] = &cv.Counts{}
		}
		sums[t].Add(g.Counts)
	}
	handoff := chart{ID: "handoff", Kind: "line", Title: "Handoff rate", Percent: true}
	flagged := chart{ID: "flagged", Kind: "line", Title: "Flagged share", Percent: true}
	clicks := chart{ID: "clicks", Kind: "stacked", Title: "Tracked-link clicks", Legend: []legend{{"clicks", "Clicks"}}}
	for _, b := range buckets {
		c := sums[b.Key]
		if c == nil {
			c = &cv.Counts{}
		}
		q := url.Values{"created_timestamp_start_date": {b.Start}, "created_timestamp_end_date": {b.End}}
		var hr, fr float64
		if c.Conversations > 0 {
			hr, fr = float64(c.HandedOff)/float64(c.Conversations), float64(c.Flagged)/float64(c.Conversations)
		}
		handoff.Columns = append(handoff.Columns, column{Label: b.Label, Href: href(q), Total: hr, Note: itoa(int(c.HandedOff)) + " of " + itoa(int(c.Conversations))})
		fq := cloneValues(q)
		fq.Set("is_flagged", "true")
		flagged.Columns = append(flagged.Columns, column{Label: b.Label, Href: href(fq), Total: fr, Note: itoa(int(c.Flagged)) + " of " + itoa(int(c.Conversations))})
		n := float64(c.TrackedLinkClicks)
		clicks.Columns = append(clicks.Columns, column{Label: b.Label, Href: href(q), Total: n,
			Segments: []segment{{Class: "clicks", Label: "Clicks", Value: n, Href: href(q)}}})
	}
	return []chart{handoff, flagged, clicks}
}

// rankChart is a horizontal bar chart of one dimension, largest first (top n when n > 0).
func rankChart(id, title, param string, res cv.Analytics, n int, href func(url.Values) string) chart {
	groups := append([]cv.Group(nil), res.Groups...)
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].Conversations > groups[j].Conversations })
	if n > 0 && len(groups) > n {
		groups = groups[:n]
	}
	c := chart{ID: id, Kind: "rank", Title: title}
	for _, g := range groups {
		k := keyAt(g.Key, 0)
		col := column{Label: label(orDefault(k, "not analysed")), Total: float64(g.Conversations)}
		if param == "most_frequent_language" && k != "" {
			col.Label = k
		}
		if k != "" {
			col.Href = href(url.Values{param: {k}})
		}
		c.Columns = append(c.Columns, col)
	}
	return c
}
