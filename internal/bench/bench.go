// Package bench is Parley's load and latency benchmark: it loads a generated data set through
// the server's own import API, writes single messages, runs a fixed mix of named reads over
// HTTP and the same reads on the store directly (the floor), and reports latencies, rates, the
// server's memory and the database's size. cmd/parley-bench runs it; its test runs it small.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/store"
)

// Config tunes a run. Every loop has a count and a time limit.
type Config struct {
	// Load: NDJSON batches of ImportBatch conversations, ImportConcurrency requests at a time.
	ImportBatch       int
	ImportConcurrency int
	LoadTimeout       time.Duration
	// SkipLoad uses data an earlier run loaded (the same data set) instead of loading it.
	SkipLoad bool

	// Posts single messages, PostConcurrency at a time.
	Posts           int
	PostConcurrency int
	PostTimeout     time.Duration

	// Reads: Requests of each kind (after Warmup ones not counted), ReadConcurrency at a
	// time, for at most KindTimeout; all kinds Runs times, reporting medians.
	Requests        int
	Warmup          int
	ReadConcurrency int
	KindTimeout     time.Duration
	Runs            int
	// Floor runs each read on the store directly too.
	Floor bool
	// Kinds limits the kinds run (nil: all).
	Kinds []string

	// Mixed read load: MixedConcurrency at a time for MixedDuration (at most MixedRequests).
	MixedConcurrency int
	MixedDuration    time.Duration
	MixedRequests    int

	// PoolSize conversations are picked for detail, events, UUID and order-number reads.
	PoolSize int
	// PostPool conversations, others in each run (PostSeed), receive the single-message POSTs,
	// so that the conversations the reads pick do not grow from run to run, nor the ones
	// written to (a message re-indexes its conversation's search document).
	PostPool int
	// PostSeed picks the POSTs' conversations (0: from the clock; the report gives it).
	PostSeed uint64
	// DeepPage is the page (of 20) that deep cursor paging reads; smaller sets use their last
	// full page.
	DeepPage int
	// FilterSource is the source of the filtered list.
	FilterSource string

	// OwnDatabase tells that the PostgreSQL database is the benchmark's own (its size is
	// reported).
	OwnDatabase bool

	// CPUProfile, when set, writes a CPU profile of this process during ProfilePhase
	// ("load", "posts", "reads", "mixed").
	CPUProfile   string
	ProfilePhase string

	Progress *Progress
}

// Defaults fills unset fields.
func (c *Config) Defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.ImportBatch, 1000)
	def(&c.ImportConcurrency, 2)
	defd(&c.LoadTimeout, 4*time.Hour)
	def(&c.Posts, 20000)
	def(&c.PostConcurrency, 32)
	defd(&c.PostTimeout, 10*time.Minute)
	def(&c.Requests, 200)
	if c.Warmup < 0 {
		c.Warmup = 0
	}
	def(&c.ReadConcurrency, 2)
	defd(&c.KindTimeout, 30*time.Second)
	def(&c.Runs, 3)
	def(&c.MixedConcurrency, 32)
	defd(&c.MixedDuration, 20*time.Second)
	def(&c.MixedRequests, 2_000_000)
	def(&c.PoolSize, 200)
	def(&c.PostPool, 2000)
	def(&c.DeepPage, 10000)
	if c.FilterSource == "" {
		c.FilterSource = "whatsapp"
	}
}

// Report is everything a run measured.
type Report struct {
	Date     time.Time         `json:"date"`
	Engine   string            `json:"engine"`
	Machine  Machine           `json:"machine"`
	Dataset  DatasetInfo       `json:"dataset"`
	Load     *LoadResult       `json:"load,omitempty"`
	Analysis *AnalysisResult   `json:"analysis,omitempty"`
	Posts    *PostResult       `json:"posts,omitempty"`
	Kinds    []KindReport      `json:"kinds"`
	Mixed    *MixedReport      `json:"mixed,omitempty"`
	Memory   map[string]Memory `json:"memory"`
	CPU      map[string]CPU    `json:"cpu"`
	PeakRSS  int64             `json:"peak_rss_bytes"`
	DB       *DBSize           `json:"db_size,omitempty"`
	Settings Config            `json:"settings"`
	Notes    []string          `json:"notes,omitempty"`
	Failures []string          `json:"failures"`
}

// AnalysisResult is how long the analysis of the loaded conversations took after the load.
type AnalysisResult struct {
	Jobs      int     `json:"jobs"`
	Seconds   float64 `json:"seconds_after_load"`
	Failed    int     `json:"failed"`
	PerSecond float64 `json:"jobs_per_second"`
}

// waitAnalysis waits until no analysis job is queued or running.
func waitAnalysis(ctx context.Context, st store.Store, timeout time.Duration, p *Progress) (AnalysisResult, error) {
	js, ok := st.(interface {
		JobStats(context.Context) (map[string]map[string]int, error)
	})
	if !ok {
		return AnalysisResult{}, errors.New("bench: the store does not count its jobs")
	}
	start := time.Now()
	var res AnalysisResult
	first, shown := true, int64(0)
	for {
		stats, err := js.JobStats(ctx)
		if err != nil {
			return res, err
		}
		a := stats[store.JobAnalyze]
		left := 0
		for state, n := range a {
			if state != "done" && state != "failed" {
				left += n
			}
		}
		res.Failed = a["failed"]
		if first {
			res.Jobs = left
			p.Start("analysis", int64(left))
			first = false
		}
		p.Add(int64(res.Jobs-left) - shown)
		shown = int64(res.Jobs - left)
		if left == 0 {
			break
		}
		if time.Since(start) > timeout {
			p.Done()
			return res, fmt.Errorf("bench: %d analysis jobs still queued after %s", left, timeout)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	p.Done()
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.PerSecond = float64(res.Jobs) / res.Seconds
	}
	return res, nil
}

// Machine describes where the run ran.
type Machine struct {
	CPUs     int    `json:"cpus"`
	Model    string `json:"cpu_model"`
	MemBytes int64  `json:"mem_bytes"`
	Go       string `json:"go"`
	Load     string `json:"loadavg_at_start"`
}

// DatasetInfo is the data set's size and the text queries with what they must find.
type DatasetInfo struct {
	Seed          int64                  `json:"seed"`
	Conversations int                    `json:"conversations"`
	Messages      int64                  `json:"messages"`
	NDJSONBytes   int64                  `json:"ndjson_bytes"`
	From          time.Time              `json:"from"`
	To            time.Time              `json:"to"`
	Words         map[string][]WordQuery `json:"words"`
}

// KindReport is one kind of read: HTTP and floor latencies (medians over the runs).
type KindReport struct {
	Kind  string  `json:"kind"`
	API   Stats   `json:"api"`
	Floor *Stats  `json:"floor,omitempty"`
	Ratio float64 `json:"api_over_floor_p50,omitempty"`
	// WithinOverhead is API p50 <= 1.5 x floor p50 + 1 ms.
	WithinOverhead bool     `json:"within_overhead"`
	Runs           []Stats  `json:"runs"`
	FloorRuns      []Stats  `json:"floor_runs,omitempty"`
	Page           int      `json:"page,omitempty"`
	Queries        []string `json:"queries,omitempty"`
}

// MixedReport is the mixed read load.
type MixedReport struct {
	Concurrency int              `json:"concurrency"`
	Seconds     float64          `json:"seconds"`
	Requests    int              `json:"requests"`
	RPS         float64          `json:"requests_per_second"`
	All         Stats            `json:"all"`
	PerKind     map[string]Stats `json:"per_kind"`
}

// Run benchmarks the target with the data set.
func Run(ctx context.Context, cfg Config, t *Target, ds *Dataset) (*Report, error) {
	cfg.Defaults()
	p := cfg.Progress
	rep := &Report{Date: time.Now().UTC(), Machine: machine(), Memory: map[string]Memory{}, CPU: map[string]CPU{}, Settings: cfg, Failures: []string{},
		Dataset: DatasetInfo{Seed: ds.Facts.Seed, Conversations: ds.Facts.Conversations, Messages: ds.Facts.Messages,
			NDJSONBytes: ds.Facts.Bytes, From: ds.Facts.Start, To: ds.Facts.End, Words: ds.Facts.Words}}
	if t.Store != nil {
		rep.Engine = t.Store.Engine()
	}
	fail := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		rep.Failures = append(rep.Failures, msg)
		p.Logf("FAIL %s", msg)
	}
	c := newClient(t, max(cfg.MixedConcurrency, cfg.PostConcurrency)+cfg.ImportConcurrency)
	phase := func(name string, fn func() error) error {
		ResetPeak(t.PID)
		var stopProfile func()
		if cfg.CPUProfile != "" && cfg.ProfilePhase == name && t.profile != nil {
			// The server's own process: it writes the profile to the file it was given.
			if err := t.StartProfile(); err != nil {
				p.Logf("profile: %v", err)
			} else {
				stopProfile = func() {
					if err := t.StopProfile(); err != nil {
						p.Logf("profile: %v", err)
					}
				}
			}
		} else if cfg.CPUProfile != "" && cfg.ProfilePhase == name {
			if f, err := os.Create(cfg.CPUProfile); err == nil {
				if err := pprof.StartCPUProfile(f); err == nil {
					stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
				} else {
					f.Close()
				}
			}
		}
		mark := markCPU(t.PID)
		err := fn()
		rep.CPU[name] = mark.since(t.PID)
		if stopProfile != nil {
			stopProfile()
		}
		if m, merr := ReadMemory(t.PID); merr == nil {
			if t.InProcess {
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				m.GoHeap, m.GoTotal = int64(ms.HeapInuse), int64(ms.Sys-ms.HeapReleased)
			}
			rep.Memory[name] = m
			rep.PeakRSS = max(rep.PeakRSS, m.Peak)
		}
		return err
	}
	total := int64(ds.Facts.Conversations)

	// Load through the import API.
	if !cfg.SkipLoad {
		err := phase("load", func() error {
			res, err := load(ctx, c, ds, cfg.ImportBatch, cfg.ImportConcurrency, cfg.LoadTimeout, p)
			rep.Load = &res
			return err
		})
		if err != nil {
			return rep, err
		}
	}
	// With the analysis on: wait for the backlog the load made.
	if t.Analyze && t.Store != nil && !cfg.SkipLoad {
		err := phase("analysis", func() error {
			res, err := waitAnalysis(ctx, t.Store, cfg.LoadTimeout, p)
			rep.Analysis = &res
			return err
		})
		if err != nil {
			return rep, err
		}
	}
	var messagesBefore int64 = -1
	if t.Store != nil {
		n, err := countMessages(ctx, t.Store, t.AssistantID)
		if err != nil {
			return rep, err
		}
		messagesBefore = n
		if !cfg.SkipLoad && n != ds.Facts.Messages {
			fail("load: the database holds %d messages, the data set has %d", n, ds.Facts.Messages)
		}
	}
	status, body, _, err := c.do(ctx, "GET", "/v1/api_core/conversations?limit=1", nil, "")
	if l, derr := decodeList(status, body); err != nil || derr != nil {
		return rep, errors.Join(err, derr)
	} else if l.Count != total {
		fail("load: the server lists %d conversations, the data set has %d", l.Count, total)
		total = l.Count
	}

	// The pool: conversations found by their order number.
	w := &world{facts: &ds.Facts, total: total, filterSrc: cfg.FilterSource, assistantID: t.AssistantID}
	if w.pool, err = w.findConversations(ctx, c, cfg.PoolSize, uint64(w.facts.Seed)); err != nil {
		return rep, err
	}
	p.Logf("pool: %d conversations", len(w.pool))
	// The dashboard's inbox, signed in as an operator.
	if t.Operator != nil {
		cookie, err := signIn(ctx, c, t.Operator)
		if err != nil {
			return rep, err
		}
		w.inboxCookie, w.operatorID, w.dashboard = cookie, t.Operator.ID, t.Dashboard
	}

	// Single-message writes, then: are they all there?
	if err := phase("posts", func() error { return runPosts(ctx, c, t, w, cfg, rep, messagesBefore, fail) }); err != nil {
		return rep, err
	}

	// Deep paging: walk the list with the cursor to the deep page.
	if err := w.walkToDeepPage(ctx, c, t, cfg.DeepPage, p); err != nil {
		return rep, err
	}

	// The named reads, each on its own, HTTP then floor, Runs times.
	fails := &failures{}
	kinds := Kinds
	if len(cfg.Kinds) > 0 {
		kinds = cfg.Kinds
	}
	floor := cfg.Floor && t.Store != nil
	reports := map[string]*KindReport{}
	err = phase("reads", func() error {
		p.Start("reads", int64(cfg.Runs*len(kinds)))
		defer p.Done()
		for run := 0; run < cfg.Runs; run++ {
			for _, k := range kinds {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				kr := reports[k]
				if kr == nil {
					kr = &KindReport{Kind: k}
					reports[k] = kr
				}
				offset := run * (cfg.Requests + cfg.Warmup)
				if cfg.Warmup > 0 {
					runAPI(ctx, c, w, k, offset+cfg.Requests, cfg.Warmup, cfg.ReadConcurrency, cfg.KindTimeout, fails)
				}
				s, _ := runAPI(ctx, c, w, k, offset, cfg.Requests, cfg.ReadConcurrency, cfg.KindTimeout, fails)
				kr.Runs = append(kr.Runs, s)
				if floor {
					if cfg.Warmup > 0 {
						runFloor(ctx, t.Store, w, k, offset+cfg.Requests, cfg.Warmup, cfg.ReadConcurrency, cfg.KindTimeout, fails)
					}
					fs, _ := runFloor(ctx, t.Store, w, k, offset, cfg.Requests, cfg.ReadConcurrency, cfg.KindTimeout, fails)
					kr.FloorRuns = append(kr.FloorRuns, fs)
				}
				p.Add(1)
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, k := range kinds {
		kr := reports[k]
		if kr == nil {
			continue
		}
		kr.API = medianStats(kr.Runs)
		if len(kr.FloorRuns) > 0 {
			f := medianStats(kr.FloorRuns)
			kr.Floor = &f
			if f.P50 > 0 {
				kr.Ratio = kr.API.P50 / f.P50
			}
			kr.WithinOverhead = kr.API.P50 <= 1.5*f.P50+1
		}
		switch k {
		case KindPageDeep:
			kr.Page = w.deepPage
		case KindTextRare, KindTextMedium, KindTextCommon, KindTextOrder:
			key := map[string]string{KindTextRare: "rare", KindTextMedium: "medium", KindTextCommon: "common", KindTextOrder: "order"}[k]
			for _, wq := range ds.Facts.Words[key] {
				kr.Queries = append(kr.Queries, fmt.Sprintf("%s (%d)", wq.Query, wq.Count))
			}
		}
		rep.Kinds = append(rep.Kinds, *kr)
	}

	// The mixed read load.
	err = phase("mixed", func() error {
		p.Start("mixed", -1)
		start := time.Now()
		all, per := runAPI(ctx, c, w, "", 1_000_000, cfg.MixedRequests, cfg.MixedConcurrency, cfg.MixedDuration, fails)
		p.Add(int64(all.N))
		p.Done()
		secs := time.Since(start).Seconds()
		rep.Mixed = &MixedReport{Concurrency: cfg.MixedConcurrency, Seconds: secs, Requests: all.N, RPS: float64(all.N) / secs, All: all, PerKind: per}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, f := range fails.list() {
		fail("%s", f)
	}

	if t.Store != nil {
		if size, err := MeasureDB(ctx, t.Store, cfg.OwnDatabase); err == nil {
			rep.DB = &size
		} else {
			rep.Notes = append(rep.Notes, "database size: "+err.Error())
		}
	}
	if t.InProcess {
		rep.Notes = append(rep.Notes, "the server ran inside the benchmark process: its memory figures include the benchmark's own client")
	}
	return rep, nil
}

func runPosts(ctx context.Context, c *client, t *Target, w *world, cfg Config, rep *Report, messagesBefore int64, fail func(string, ...any)) error {
	seed := cfg.PostSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	pool, err := w.findConversations(ctx, c, cfg.PostPool, seed)
	if err != nil {
		return err
	}
	ids := make([]string, len(pool))
	for i, pc := range pool {
		ids[i] = pc.ID
	}
	cfg.Progress.Logf("posts: to %d conversations (seed %d)", len(ids), seed)
	before := map[string]int64{}
	for _, id := range ids {
		n, err := messageCount(ctx, c, id)
		if err != nil {
			return err
		}
		before[id] = n
	}
	res, got, err := postMessages(ctx, c, ids, cfg.Posts, cfg.PostConcurrency, cfg.PostTimeout, cfg.Progress)
	res.Conversations, res.Seed = len(ids), seed
	rep.Posts = &res
	if err != nil {
		fail("posts: %v", err)
	}
	res.Verified = true
	for _, id := range ids {
		n, err := messageCount(ctx, c, id)
		if err != nil {
			return err
		}
		if lost := before[id] + got[id] - n; lost != 0 {
			res.Lost += max(lost, 0)
			res.Verified = false
			fail("posts: conversation %s has %d messages, want %d + %d", id, n, before[id], got[id])
		}
	}
	if t.Store != nil && messagesBefore >= 0 {
		n, err := countMessages(ctx, t.Store, t.AssistantID)
		if err != nil {
			return err
		}
		if n != messagesBefore+res.Created {
			res.Verified = false
			fail("posts: the database holds %d messages, want %d + %d", n, messagesBefore, res.Created)
		}
	}
	rep.Posts = &res
	return nil
}

// findConversations finds n conversations by their order number, picked at random over the
// whole set from seed.
func (w *world) findConversations(ctx context.Context, c *client, n int, seed uint64) ([]poolConv, error) {
	r := rand.New(rand.NewPCG(seed, 99))
	var pool []poolConv
	tried := map[int64]bool{}
	deadline := time.Now().Add(5 * time.Minute)
	for len(pool) < min(n, int(w.total)) && len(tried) < 4*n+10 && time.Now().Before(deadline) {
		ord := 1 + r.Int64N(w.total)
		if tried[ord] {
			continue
		}
		tried[ord] = true
		q := url.Values{"query": {"#" + strconv.FormatInt(ord, 10)}, "limit": {"100"}}
		status, body, _, err := c.do(ctx, "GET", listPath(q), nil, "")
		if err != nil {
			return nil, err
		}
		l, err := decodeList(status, body)
		if err != nil {
			return nil, err
		}
		for _, it := range l.Items {
			if it.Ord == ord {
				pool = append(pool, poolConv{ID: it.ID, Ord: ord})
			}
		}
	}
	if len(pool) == 0 {
		return nil, errors.New("bench: no conversation found by its order number")
	}
	return pool, nil
}

// walkToDeepPage follows next_cursor (100 at a time) to the start of page `page` of 20, and
// reads that page from the store for the checks.
func (w *world) walkToDeepPage(ctx context.Context, c *client, t *Target, page int, p *Progress) error {
	maxPage := int(w.total / 20)
	page = min(page, maxPage)
	if page < 2 {
		return nil
	}
	pos := (page - 1) * 20
	cursor := ""
	done := 0
	deadline := time.Now().Add(15 * time.Minute)
	p.Start("walk to page "+strconv.Itoa(page), int64(pos))
	for done < pos {
		if time.Now().After(deadline) {
			return fmt.Errorf("bench: cursor walk to page %d not done after 15 minutes", page)
		}
		limit := min(100, pos-done)
		q := url.Values{"limit": {strconv.Itoa(limit)}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		status, body, _, err := c.do(ctx, "GET", listPath(q), nil, "")
		if err != nil {
			return err
		}
		l, err := decodeList(status, body)
		if err != nil {
			return err
		}
		if l.NextCursor == nil || len(l.Items) != limit {
			return fmt.Errorf("bench: the cursor walk ended at %d of %d", done+len(l.Items), pos)
		}
		cursor = *l.NextCursor
		done += limit
		p.Add(int64(limit))
	}
	p.Done()
	w.deepCursor, w.deepPage = cursor, page
	q := url.Values{"limit": {"20"}, "cursor": {cursor}}
	status, body, _, err := c.do(ctx, "GET", listPath(q), nil, "")
	if err != nil {
		return err
	}
	l, err := decodeList(status, body)
	if err != nil {
		return err
	}
	for _, it := range l.Items {
		w.deepIDs = append(w.deepIDs, it.ID)
	}
	if t.Store != nil {
		f, err := api.ParseListFilter(q)
		if err != nil {
			return err
		}
		pg, err := t.Store.Conversations(ctx, t.AssistantID, f)
		if err != nil {
			return err
		}
		var ids []string
		for _, it := range pg.Items {
			ids = append(ids, it.ID)
		}
		if !slices.Equal(ids, w.deepIDs) {
			return fmt.Errorf("bench: page %d differs between the API and the store", page)
		}
	}
	return nil
}

// countMessages counts the assistant's messages in the database.
func countMessages(ctx context.Context, st store.Store, assistantID string) (int64, error) {
	h, ok := st.(dbHolder)
	if !ok {
		return 0, errors.New("bench: the store does not expose its database")
	}
	q := `SELECT count(*) FROM events WHERE assistant_id = $1 AND type = 'message'`
	if st.Engine() == "sqlite" {
		q = strings.Replace(q, "$1", "?", 1)
	}
	var n int64
	err := h.DB().QueryRowContext(ctx, q, assistantID).Scan(&n)
	return n, err
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "MemTotal:" {
				n, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemBytes = n << 10
			}
		}
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.Load = strings.TrimSpace(string(b))
	}
	return m
}
