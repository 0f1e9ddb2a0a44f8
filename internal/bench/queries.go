package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/api"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/web"
)

// Names of the query kinds, in report order.
const (
	KindListNewest   = "list_newest"
	KindListFiltered = "list_filtered"
	KindQueryUUID    = "query_uuid"
	KindQueryOrd     = "query_ord"
	KindTextRare     = "text_rare"
	KindTextMedium   = "text_medium"
	KindTextOrder    = "text_order_token"
	KindTextCommon   = "text_common"
	KindDetail       = "detail"
	KindEvents       = "events"
	KindPage1        = "page_1"
	KindPageDeep     = "page_deep"
	KindAnalytics    = "analytics"
	KindInbox        = "inbox"
)

// Kinds lists every query kind in report order.
var Kinds = []string{KindListNewest, KindListFiltered, KindQueryUUID, KindQueryOrd, KindTextRare, KindTextMedium,
	KindTextOrder, KindTextCommon, KindDetail, KindEvents, KindPage1, KindPageDeep, KindAnalytics, KindInbox}

// mixWeights is the mixed read load, in percent: what inboxes and integrations polling the
// API send (lists, conversations and their timelines), with filters, lookups and searches.
var mixWeights = map[string]int{
	KindListNewest: 25, KindDetail: 25, KindEvents: 25, KindListFiltered: 5, KindPageDeep: 5, KindQueryUUID: 5,
	KindQueryOrd: 4, KindTextRare: 2, KindTextOrder: 2, KindTextMedium: 1, KindTextCommon: 1,
}

// conv is the part of a conversation the checks look at.
type convItem struct {
	ID            string    `json:"id"`
	Ord           int64     `json:"ord"`
	Source        string    `json:"source"`
	CreatedAt     time.Time `json:"created_at"`
	LastMessageAt time.Time `json:"last_message_at"`
}

type listBody struct {
	Items      []convItem `json:"items"`
	Count      int64      `json:"count"`
	NextCursor *string    `json:"next_cursor"`
}

// request is one read: its path for the API, the same read on the store for the floor, and
// the checks of both answers.
type request struct {
	kind  string
	path  string
	check func(status int, body []byte) error
	floor func(ctx context.Context, st store.Store, assistantID string) error
	// cookie, when set, is a dashboard session sent instead of the token.
	cookie string
}

// world is what the query kinds draw their parameters from.
type world struct {
	facts       *Facts
	total       int64 // conversations the assistant has
	pool        []poolConv
	deepCursor  string
	deepPage    int
	deepIDs     []string // the deep page as the store lists it
	filterSrc   string
	assistantID string
	// The dashboard: a signed-in operator's session cookie, and the handler that renders on
	// the store directly (the floor).
	inboxCookie string
	operatorID  string
	dashboard   *web.Handler
}

type poolConv struct {
	ID  string
	Ord int64
}

func listPath(q url.Values) string { return "/v1/api_core/conversations?" + q.Encode() }

func decodeList(status int, body []byte) (listBody, error) {
	var l listBody
	if status != http.StatusOK {
		return l, fmt.Errorf("status %d: %s", status, trimBody(body))
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return l, err
	}
	return l, nil
}

// sorted checks that items come newest last_message_at first.
func sorted(items []convItem) error {
	for i := 1; i < len(items); i++ {
		if items[i].LastMessageAt.After(items[i-1].LastMessageAt) {
			return fmt.Errorf("items %d and %d are not newest first", i-1, i)
		}
	}
	return nil
}

func wantCount(what string, got, want int64) error {
	if got != want {
		return fmt.Errorf("%s: count %d, want %d", what, got, want)
	}
	return nil
}

// listRequest is a list read with an exact expected count (want < 0: not checked) and extra
// checks of the items.
func listRequest(kind string, q url.Values, want int64, each func(l *listBody) error) request {
	// The floor reads with the filter the API makes of the same parameters.
	f, ferr := api.ParseListFilter(q)
	limit := f.Limit
	check := func(l *listBody) error {
		if want >= 0 {
			if err := wantCount(q.Encode(), l.Count, want); err != nil {
				return err
			}
			if n := min(int64(limit), want); int64(len(l.Items)) != n && f.Cursor == nil {
				return fmt.Errorf("%s: %d items, want %d", q.Encode(), len(l.Items), n)
			}
		}
		if err := sorted(l.Items); err != nil {
			return err
		}
		if each != nil {
			return each(l)
		}
		return nil
	}
	return request{
		kind: kind, path: listPath(q),
		check: func(status int, body []byte) error {
			l, err := decodeList(status, body)
			if err != nil {
				return err
			}
			return check(&l)
		},
		floor: func(ctx context.Context, st store.Store, assistantID string) error {
			if ferr != nil {
				return ferr
			}
			page, err := st.Conversations(ctx, assistantID, f)
			if err != nil {
				return err
			}
			l := listBody{Count: page.Count}
			for i := range page.Items {
				c := &page.Items[i]
				l.Items = append(l.Items, convItem{ID: c.ID, Ord: c.Ord, Source: c.Source, CreatedAt: c.CreatedAt, LastMessageAt: c.LastMessageAt})
			}
			return check(&l)
		},
	}
}

// textRequest searches for a word with a known count.
func textRequest(kind string, w WordQuery) request {
	return listRequest(kind, url.Values{"query": {w.Query}, "limit": {"20"}}, w.Count, nil)
}

// next returns the i-th request of a kind; the same i gives the same request.
func (w *world) next(kind string, i int) (request, bool) {
	r := rand.New(rand.NewPCG(uint64(i), uint64(len(kind))*0x9e37))
	pick := func() poolConv { return w.pool[r.IntN(len(w.pool))] }
	words := func(k string) (WordQuery, bool) {
		v := w.facts.Words[k]
		if len(v) == 0 {
			return WordQuery{}, false
		}
		return v[i%len(v)], true
	}
	switch kind {
	case KindListNewest, KindPage1:
		return listRequest(kind, url.Values{"limit": {"20"}}, w.total, nil), true
	case KindListFiltered:
		// A 30-day window of WhatsApp conversations, open: three filters, one a date range.
		days := int(w.facts.End.Sub(w.facts.Start).Hours()/24) - 30
		from := w.facts.Start.Truncate(24*time.Hour).AddDate(0, 0, 1+r.IntN(max(days, 1)))
		last := from.AddDate(0, 0, 29) // inclusive end date
		to := from.AddDate(0, 0, 30)
		q := url.Values{"source": {w.filterSrc}, "resolution_status": {cv.StatusOpen}, "limit": {"20"},
			"created_timestamp_start_date": {from.Format(time.DateOnly)}, "created_timestamp_end_date": {last.Format(time.DateOnly)}}
		want := w.facts.CountCreated(w.filterSrc, from, to)
		return listRequest(kind, q, want, func(l *listBody) error {
			for _, c := range l.Items {
				if c.Source != w.filterSrc || c.CreatedAt.Before(from) || !c.CreatedAt.Before(to) {
					return fmt.Errorf("filtered list: %s (%s, %s) is outside the filter", c.ID, c.Source, c.CreatedAt)
				}
			}
			return nil
		}), true
	case KindQueryUUID:
		c := pick()
		return listRequest(kind, url.Values{"query": {c.ID}, "limit": {"20"}}, 1, func(l *listBody) error {
			if l.Items[0].ID != c.ID {
				return fmt.Errorf("query %s found %s", c.ID, l.Items[0].ID)
			}
			return nil
		}), true
	case KindQueryOrd:
		c := pick()
		s := "#" + strconv.FormatInt(c.Ord, 10)
		return listRequest(kind, url.Values{"query": {s}, "limit": {"100"}}, -1, func(l *listBody) error {
			if l.Count < 1 {
				return fmt.Errorf("query %s found nothing", s)
			}
			if l.Count <= 100 && !slices.ContainsFunc(l.Items, func(x convItem) bool { return x.Ord == c.Ord && x.ID == c.ID }) {
				return fmt.Errorf("query %s: conversation %s is not among the %d found", s, c.ID, l.Count)
			}
			return nil
		}), true
	case KindTextRare, KindTextMedium, KindTextCommon, KindTextOrder:
		k := map[string]string{KindTextRare: "rare", KindTextMedium: "medium", KindTextCommon: "common", KindTextOrder: "order"}[kind]
		wq, ok := words(k)
		if !ok {
			return request{}, false
		}
		return textRequest(kind, wq), true
	case KindDetail:
		c := pick()
		return request{
			kind: kind, path: "/v1/api_core/conversations/" + c.ID,
			check: func(status int, body []byte) error {
				var d convItem
				if status != http.StatusOK {
					return fmt.Errorf("detail %s: status %d", c.ID, status)
				}
				if err := json.Unmarshal(body, &d); err != nil {
					return err
				}
				if d.ID != c.ID || d.Ord != c.Ord {
					return fmt.Errorf("detail %s: got %s #%d", c.ID, d.ID, d.Ord)
				}
				return nil
			},
			floor: func(ctx context.Context, st store.Store, assistantID string) error {
				d, err := st.Conversation(ctx, assistantID, c.ID)
				if err == nil && d.Ord != c.Ord {
					err = fmt.Errorf("detail %s: got #%d", c.ID, d.Ord)
				}
				return err
			},
		}, true
	case KindEvents:
		c := pick()
		check := func(count int64, items int) error {
			if count < 2 || int64(items) != min(count, 20) {
				return fmt.Errorf("events of %s: count %d with %d items", c.ID, count, items)
			}
			return nil
		}
		return request{
			kind: kind, path: "/v1/api_core/conversations/" + c.ID + "/events?limit=20",
			check: func(status int, body []byte) error {
				var p struct {
					Count int64             `json:"count"`
					Items []json.RawMessage `json:"items"`
				}
				if status != http.StatusOK {
					return fmt.Errorf("events %s: status %d", c.ID, status)
				}
				if err := json.Unmarshal(body, &p); err != nil {
					return err
				}
				return check(p.Count, len(p.Items))
			},
			floor: func(ctx context.Context, st store.Store, assistantID string) error {
				p, err := st.Events(ctx, assistantID, c.ID, cv.EventFilter{Limit: 20})
				if err != nil {
					return err
				}
				return check(p.Count, len(p.Items))
			},
		}, true
	case KindAnalytics:
		return w.analyticsRequest(i), true
	case KindInbox:
		if w.inboxCookie == "" || w.dashboard == nil {
			return request{}, false
		}
		return w.inboxRequest(), true
	case KindPageDeep:
		if w.deepCursor == "" {
			return request{}, false
		}
		q := url.Values{"limit": {"20"}, "cursor": {w.deepCursor}}
		return listRequest(kind, q, w.total, func(l *listBody) error {
			if len(l.Items) != len(w.deepIDs) {
				return fmt.Errorf("page %d: %d items, want %d", w.deepPage, len(l.Items), len(w.deepIDs))
			}
			for i := range l.Items {
				if l.Items[i].ID != w.deepIDs[i] {
					return fmt.Errorf("page %d: item %d is %s, want %s", w.deepPage, i, l.Items[i].ID, w.deepIDs[i])
				}
			}
			return nil
		}), true
	}
	return request{}, false
}

// Stats are latencies of one kind of request.
type Stats struct {
	N      int     `json:"n"`
	Errors int     `json:"errors"`
	P50    float64 `json:"p50_ms"`
	P95    float64 `json:"p95_ms"`
	P99    float64 `json:"p99_ms"`
	Mean   float64 `json:"mean_ms"`
	Max    float64 `json:"max_ms"`
	RPS    float64 `json:"rps"`
}

func statsOf(d []time.Duration, seconds float64, errs int) Stats {
	s := Stats{N: len(d), Errors: errs}
	if len(d) == 0 {
		return s
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	q := func(p float64) float64 { return ms(d[min(len(d)-1, int(math.Ceil(p*float64(len(d))))-1)]) }
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	s.P50, s.P95, s.P99, s.Max = q(.5), q(.95), q(.99), ms(d[len(d)-1])
	s.Mean = ms(sum / time.Duration(len(d)))
	if seconds > 0 {
		s.RPS = float64(len(d)) / seconds
	}
	return s
}

// medianStats is the median, field by field, of several runs' stats.
func medianStats(runs []Stats) Stats {
	if len(runs) == 0 {
		return Stats{}
	}
	med := func(f func(Stats) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		if len(v)%2 == 1 {
			return v[len(v)/2]
		}
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	out := Stats{
		P50: med(func(s Stats) float64 { return s.P50 }), P95: med(func(s Stats) float64 { return s.P95 }),
		P99: med(func(s Stats) float64 { return s.P99 }), Mean: med(func(s Stats) float64 { return s.Mean }),
		Max: med(func(s Stats) float64 { return s.Max }), RPS: med(func(s Stats) float64 { return s.RPS }),
	}
	for _, r := range runs {
		out.N += r.N
		out.Errors += r.Errors
	}
	return out
}

// failures collects check failures (a few examples and a count per kind).
type failures struct {
	mu    sync.Mutex
	count map[string]int
	first []string
}

func (f *failures) add(kind string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.count == nil {
		f.count = map[string]int{}
	}
	f.count[kind]++
	if len(f.first) < 20 {
		f.first = append(f.first, kind+": "+err.Error())
	}
}

func (f *failures) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.first)
}

// runAPI sends n requests of kind (or of the mix when kind is "") through HTTP, conc at a time,
// for at most d, checking every answer.
func runAPI(ctx context.Context, c *client, w *world, kind string, offset, n, conc int, d time.Duration, fails *failures) (Stats, map[string]Stats) {
	return runLoop(ctx, w, kind, offset, n, conc, d, func(ctx context.Context, r request) (time.Duration, error) {
		status, body, took, err := c.get(ctx, r.path, r.cookie)
		if err != nil {
			return took, err
		}
		return took, r.check(status, body)
	}, fails)
}

// runFloor runs the same requests on the store directly.
func runFloor(ctx context.Context, st store.Store, w *world, kind string, offset, n, conc int, d time.Duration, fails *failures) (Stats, map[string]Stats) {
	return runLoop(ctx, w, kind, offset, n, conc, d, func(ctx context.Context, r request) (time.Duration, error) {
		start := time.Now()
		err := r.floor(ctx, st, w.assistantID)
		return time.Since(start), err
	}, fails)
}

func runLoop(ctx context.Context, w *world, kind string, offset, n, conc int, d time.Duration,
	do func(context.Context, request) (time.Duration, error), fails *failures) (Stats, map[string]Stats) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mix []string
	if kind == "" {
		for _, k := range Kinds {
			for range mixWeights[k] {
				mix = append(mix, k)
			}
		}
	}
	var next atomic.Int64
	var mu sync.Mutex
	all := map[string][]time.Duration{}
	errs := map[string]int{}
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[string][]time.Duration{}
			localErrs := map[string]int{}
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				k := kind
				if k == "" {
					k = mix[rand.New(rand.NewPCG(uint64(i+offset), 7)).IntN(len(mix))]
				}
				r, ok := w.next(k, i+offset)
				if !ok {
					continue
				}
				took, err := do(ctx, r)
				if err != nil {
					if ctx.Err() != nil {
						break // the time limit cut this one short
					}
					localErrs[k]++
					fails.add(k, err)
					continue
				}
				local[k] = append(local[k], took)
			}
			mu.Lock()
			for k, v := range local {
				all[k] = append(all[k], v...)
			}
			for k, v := range localErrs {
				errs[k] += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var every []time.Duration
	nerr := 0
	per := map[string]Stats{}
	for k, v := range all {
		every = append(every, v...)
		per[k] = statsOf(v, secs, errs[k])
	}
	for _, v := range errs {
		nerr += v
	}
	return statsOf(every, secs, nerr), per
}
