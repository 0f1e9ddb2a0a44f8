package web

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/api"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
)

// Inbox views: each adds its own filters to the person's.
const (
	ViewAll        = "all"
	ViewOpen       = "open"
	ViewMine       = "mine"
	ViewUnassigned = "unassigned"
	ViewClosed     = "closed"
)

var views = []struct{ Key, Label string }{
	{ViewAll, "All"}, {ViewOpen, "Open"}, {ViewMine, "Mine"}, {ViewUnassigned, "Unassigned"}, {ViewClosed, "Closed"},
}

// PageSize is how many conversations a page of the inbox shows.
const PageSize = 25

// dashboardParams are the inbox's own query parameters; every other one is the API's.
var dashboardParams = []string{"view", "assignee", "meta_key", "meta_value", "limit", "offset", "saved"}

// apiQuery turns the inbox's query into the list API's parameters: the person's filters, the
// view's, and the page. base leaves out the view and the page (the counts' filters).
func apiQuery(q url.Values, view, operatorID string) (full, base url.Values) {
	base = url.Values{}
	for k, v := range q {
		if !slices.Contains(dashboardParams, k) && k != "cursor" && k != "sort" && len(v) > 0 && v[0] != "" {
			base[k] = v
		}
	}
	switch a := q.Get("assignee"); a {
	case "":
	case cv.AssigneeAI, cv.AssigneeUnassigned, cv.AssigneeOperator:
		base.Set("assignee_type", a)
	default:
		base.Set("assignee_id", a)
	}
	if k, v := strings.TrimSpace(q.Get("meta_key")), q.Get("meta_value"); k != "" {
		base.Set("metadata."+k, v)
	}
	full = url.Values{}
	for k, v := range base {
		full[k] = v
	}
	for k, v := range viewFilter(view, operatorID) {
		full[k] = v
	}
	if s := q.Get("sort"); s != "" {
		full.Set("sort", s)
	}
	if c := q.Get("cursor"); c != "" {
		full.Set("cursor", c)
	}
	full.Set("limit", itoa(PageSize))
	return full, base
}

// viewFilter is what a view adds to the filters, as list API parameters.
func viewFilter(view, operatorID string) url.Values {
	switch view {
	case ViewOpen:
		return url.Values{"resolution_status": {cv.StatusOpen}}
	case ViewMine:
		return url.Values{"resolution_status": {cv.StatusOpen}, "assignee_id": {operatorID}}
	case ViewUnassigned:
		return url.Values{"resolution_status": {cv.StatusOpen}, "assignee_type": {cv.AssigneeUnassigned}}
	case ViewClosed:
		return url.Values{"resolution_status": {cv.StatusResolved}}
	}
	return url.Values{}
}

func viewOf(q url.Values) string {
	v := q.Get("view")
	for _, x := range views {
		if x.Key == v {
			return v
		}
	}
	return ViewAll
}

// row is one conversation of the list.
type row struct {
	ID, Href     string
	Visitor      string
	Known        bool
	Title        string
	Source       string
	Preview      string
	At           time.Time
	Assignee     string
	AssigneeKind string
	Unread       bool
	Resolved     bool
	Sentiment    string
	Topic        string
	Flagged      bool
	Language     string
	Mine         bool
}

func newRow(aid string, c *cv.Conversation, me string) row {
	r := row{ID: c.ID, Href: "/a/" + aid + "/c/" + c.ID, Source: c.Source, Preview: clip(140, c.LastMessageContent),
		At: c.LastMessageAt, AssigneeKind: c.Assignee.Type, Unread: c.HasUnreadMessages, Resolved: c.ResolutionStatus == cv.StatusResolved,
		Flagged: c.IsFlagged, Visitor: visitorName(c)}
	r.Known = r.Visitor != ""
	if !r.Known {
		r.Visitor = "Unknown visitor"
	}
	if c.Title != nil {
		r.Title = clip(80, *c.Title)
	}
	if c.Sentiment != nil {
		r.Sentiment = *c.Sentiment
	}
	if c.Topic != nil {
		r.Topic = *c.Topic
	}
	if c.MostFrequentLanguage != nil {
		r.Language = *c.MostFrequentLanguage
	}
	r.Assignee = assigneeName(c.Assignee)
	r.Mine = c.Assignee.ID != nil && *c.Assignee.ID == me
	return r
}

// visitorName is the best name a conversation gives its visitor ("" when none).
func visitorName(c *cv.Conversation) string {
	for _, p := range []*string{c.VisitorName, c.VisitorEmail, c.VisitorPhoneNumber, c.VisitorLabel} {
		if p != nil && strings.TrimSpace(*p) != "" {
			return strings.TrimSpace(*p)
		}
	}
	return ""
}

func assigneeName(a cv.Assignee) string {
	switch a.Type {
	case cv.AssigneeAI:
		return "AI assistant"
	case cv.AssigneeUnassigned:
		return "Unassigned"
	}
	if a.Name != nil && *a.Name != "" {
		return *a.Name
	}
	if a.ID != nil {
		return "Operator " + clip(8, *a.ID)
	}
	return "Operator"
}

// tab is one view with its count.
type tab struct {
	Key, Label, Href string
	Count            int64
	Active           bool
}

// inboxData is the inbox page.
type inboxData struct {
	AID         string
	View        string
	ViewLabel   string
	Tabs        []tab
	Rows        []row
	Count       int64
	NextHref    string
	FirstHref   string
	Q           url.Values // the page's own query, for the filter form
	Filtering   bool
	FilterError string
	Operators   []cv.Operator
	Topics      []string
	Sources     []string
	Sentiments  []string
	ExportCSV   string
	ExportJSON  string
	LiveQuery   string
	Me          string
	MetaFilters []metaFilter
}

type metaFilter struct{ Key, Value, RemoveHref string }

func (h *Handler) inbox(w http.ResponseWriter, r *http.Request, u *who) {
	d, status, err := h.inboxData(r.Context(), r.URL.Query(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, status, "inbox", &view{Title: d.ViewLabel + " · Inbox", Who: u, Nav: "inbox", Data: d, Live: "inbox"})
}

// inboxRows answers a live page's refresh: the rows, the tabs and the counts, as HTML
// fragments in JSON.
func (h *Handler) inboxRows(w http.ResponseWriter, r *http.Request, u *who) {
	d, _, err := h.inboxData(r.Context(), r.URL.Query(), u)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := h.fragment("inbox", "rows", d)
	if err == nil {
		var tabs template.HTML
		if tabs, err = h.fragment("inbox", "tabs", d); err == nil {
			writeJSON(w, map[string]any{"rows": rows, "tabs": tabs, "count": d.Count, "ids": rowIDs(d.Rows)})
			return
		}
	}
	h.fail(w, r, err)
}

func rowIDs(rows []row) []string {
	out := make([]string, len(rows))
	for i := range rows {
		out[i] = rows[i].ID
	}
	return out
}

func (h *Handler) inboxData(ctx context.Context, q url.Values, u *who) (*inboxData, int, error) {
	aid, me := u.assistant.ID, u.operator.ID
	v := viewOf(q)
	d := &inboxData{AID: aid, View: v, Q: q, Me: me, Sources: cv.Sources, Sentiments: cv.Sentiments}
	for _, x := range views {
		if x.Key == v {
			d.ViewLabel = x.Label
		}
	}
	full, base := apiQuery(q, v, me)
	d.Filtering = len(base) > 0
	status := http.StatusOK
	f, ferr := api.ParseListFilter(full)
	bf, _ := api.ParseListFilter(base)
	if ferr != nil {
		d.FilterError = filterMessage(ferr)
		status = http.StatusBadRequest
	}
	var err error
	if d.Operators, err = h.store.Operators(ctx, aid); err != nil {
		return nil, 0, err
	}
	if st, err := h.settings(ctx, aid); err == nil {
		for _, t := range st.Topics {
			d.Topics = append(d.Topics, t.Name)
		}
	}
	counts := map[string]int64{}
	if ferr == nil {
		page, err := h.store.Conversations(ctx, aid, f)
		if err != nil {
			return nil, 0, err
		}
		d.Count = page.Count
		for i := range page.Items {
			d.Rows = append(d.Rows, newRow(aid, &page.Items[i], me))
		}
		if page.NextCursor != nil {
			nq := cloneValues(q)
			nq.Set("cursor", api.EncodeCursor(page.NextCursor))
			d.NextHref = "/a/" + aid + "/inbox?" + nq.Encode()
		}
		if q.Get("cursor") != "" {
			fq := cloneValues(q)
			fq.Del("cursor")
			d.FirstHref = "/a/" + aid + "/inbox?" + fq.Encode()
		}
		if counts, err = h.viewCounts(ctx, aid, bf, base, me); err != nil {
			return nil, 0, err
		}
	}
	for _, x := range views {
		tq := cloneValues(q)
		tq.Del("cursor")
		tq.Set("view", x.Key)
		d.Tabs = append(d.Tabs, tab{Key: x.Key, Label: x.Label, Href: "/a/" + aid + "/inbox?" + tq.Encode(), Count: counts[x.Key], Active: x.Key == v})
	}
	for k, vals := range q {
		if key, ok := strings.CutPrefix(k, "metadata."); ok && len(vals) > 0 {
			rq := cloneValues(q)
			rq.Del(k)
			rq.Del("cursor")
			d.MetaFilters = append(d.MetaFilters, metaFilter{Key: key, Value: vals[0], RemoveHref: "/a/" + aid + "/inbox?" + rq.Encode()})
		}
	}
	sort.Slice(d.MetaFilters, func(i, j int) bool { return d.MetaFilters[i].Key < d.MetaFilters[j].Key })
	ex := cloneValues(full)
	ex.Del("cursor")
	ex.Del("limit")
	ex.Set("format", "csv")
	d.ExportCSV = "/a/" + aid + "/export?" + ex.Encode()
	ex.Set("format", "ndjson")
	d.ExportJSON = "/a/" + aid + "/export?" + ex.Encode()
	lq := cloneValues(q)
	d.LiveQuery = lq.Encode()
	return d, status, nil
}

// filterMessage is a filter error in words, without the API's status and code.
func filterMessage(err error) string {
	msg := err.Error()
	// "400 BAD_REQUEST <param>: <message>"
	if parts := strings.SplitN(msg, " ", 3); len(parts) == 3 && strings.HasPrefix(parts[0], "4") {
		return parts[2]
	}
	return msg
}

// viewCounts counts the conversations of each view under the person's filters: one grouped
// count for all, open, unassigned and closed, and one count for mine. Counts are kept until
// the assistant's change log moves, so an inbox that nobody is changing costs one small query
// to count.
func (h *Handler) viewCounts(ctx context.Context, aid string, f cv.Filter, base url.Values, me string) (map[string]int64, error) {
	seq, err := h.store.LastChangeSeq(ctx, aid)
	if err != nil {
		return nil, err
	}
	key := aid + "\x00" + me + "\x00" + base.Encode()
	if c, ok := h.counts.get(key, seq); ok {
		return c, nil
	}
	res, err := h.store.Analytics(ctx, aid, cv.AnalyticsQuery{Filter: f, GroupBy: []string{cv.GroupResolutionStatus, cv.GroupAssigneeType}})
	if err != nil {
		return nil, err
	}
	out := map[string]int64{ViewAll: res.Total.Conversations}
	for _, g := range res.Groups {
		status, assignee := keyAt(g.Key, 0), keyAt(g.Key, 1)
		switch status {
		case cv.StatusOpen:
			out[ViewOpen] += g.Conversations
			if assignee == cv.AssigneeUnassigned {
				out[ViewUnassigned] += g.Conversations
			}
		case cv.StatusResolved:
			out[ViewClosed] += g.Conversations
		}
	}
	mf := f
	mf.Statuses, mf.AssigneeIDs, mf.Limit, mf.Cursor = []string{cv.StatusOpen}, []string{me}, 1, nil
	mine, err := h.store.Conversations(ctx, aid, mf)
	if err != nil {
		return nil, err
	}
	out[ViewMine] = mine.Count
	h.counts.put(key, seq, out)
	return out, nil
}

func keyAt(k []*string, i int) string {
	if i < len(k) && k[i] != nil {
		return *k[i]
	}
	return ""
}

// countCache keeps view counts by filter until the change log moves past the seq they were
// counted at.
type countCache struct {
	mu sync.Mutex
	m  map[string]countEntry
}

type countEntry struct {
	seq    int64
	counts map[string]int64
}

func (c *countCache) get(key string, seq int64) (map[string]int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	return e.counts, ok && e.seq == seq
}

func (c *countCache) put(key string, seq int64, counts map[string]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[string]countEntry{}
	}
	c.m[key] = countEntry{seq: seq, counts: counts}
}

// settings reads an assistant's settings.
func (h *Handler) settings(ctx context.Context, aid string) (settings.Settings, error) {
	doc, err := h.store.Settings(ctx, aid)
	if err != nil {
		return settings.Settings{}, err
	}
	return settings.Parse(doc)
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func itoa(n int) string { return strconv.Itoa(n) }
