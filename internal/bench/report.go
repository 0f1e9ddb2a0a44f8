package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// target is the goal for a kind: p50 and p99 bounds in milliseconds (0: none).
type target struct{ p50, p99 float64 }

var targets = map[string]target{
	KindListNewest: {3, 15}, KindListFiltered: {20, 0}, KindQueryUUID: {2, 0}, KindQueryOrd: {2, 0},
	KindTextRare: {30, 150}, KindTextMedium: {30, 150}, KindTextOrder: {30, 150}, KindTextCommon: {300, 0},
	KindDetail: {2, 0}, KindEvents: {3, 0}, KindAnalytics: {200, 0}, KindInbox: {100, 0},
}

func (t target) String() string {
	var parts []string
	if t.p50 > 0 {
		parts = append(parts, fmt.Sprintf("p50<=%g", t.p50))
	}
	if t.p99 > 0 {
		parts = append(parts, fmt.Sprintf("p99<=%g", t.p99))
	}
	return strings.Join(parts, " ")
}

func (t target) met(s Stats) bool {
	return (t.p50 == 0 || s.P50 <= t.p50) && (t.p99 == 0 || s.P99 <= t.p99)
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "NO"
}

func mb(b int64) string { return fmt.Sprintf("%.0f MB", float64(b)/(1<<20)) }

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes the report as readable tables.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "Parley benchmark, %s, engine %s\n", r.Date.Format("2006-01-02 15:04 MST"), r.Engine)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s RAM, %s, load average at start %s\n", r.Machine.CPUs, r.Machine.Model, mb(r.Machine.MemBytes), r.Machine.Go, r.Machine.Load)
	fmt.Fprintf(w, "data: %d conversations, %d messages (seed %d, %s to %s), NDJSON %s\n\n", r.Dataset.Conversations, r.Dataset.Messages,
		r.Dataset.Seed, r.Dataset.From.Format("2006-01-02"), r.Dataset.To.Format("2006-01-02"), mb(r.Dataset.NDJSONBytes))

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "write\tn\tseconds\tconv/s\tmsg/s\ttarget\tmet\t")
	if l := r.Load; l != nil {
		fmt.Fprintf(tw, "import (batch %d, conc %d)\t%d\t%.1f\t%.0f\t%.0f\t>=50000 msg/s\t%s\t\n", l.BatchSize, l.Concurrency, l.Conversations, l.Seconds, l.ConversationsPS, l.MessagesPS, yes(l.MessagesPS >= 50000))
	}
	if a := r.Analysis; a != nil {
		fmt.Fprintf(tw, "analysis backlog after the load\t%d\t%.1f\t%.0f\t\t\t\t\n", a.Jobs, a.Seconds, a.PerSecond)
	}
	if p := r.Posts; p != nil {
		fmt.Fprintf(tw, "single-message POSTs (conc %d)\t%d\t%.1f\t\t%.0f\t>=3000 msg/s, none lost\t%s\t\n", p.Concurrency, p.Created, p.Seconds, p.PerSecond, yes(p.PerSecond >= 3000 && p.Verified && p.Lost == 0))
	}
	tw.Flush()
	if p := r.Posts; p != nil {
		fmt.Fprintf(w, "  POSTs to %d conversations (seed %d): latency p50 %.2f ms, p99 %.2f ms; errors %d; lost %d; verified %v\n", p.Conversations, p.Seed, p.Stats.P50, p.Stats.P99, p.Errors, p.Lost, p.Verified)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "reads (concurrency %d, %d requests a kind per run, medians of %d runs; times in ms)\n", r.Settings.ReadConcurrency, r.Settings.Requests, r.Settings.Runs)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "kind\tp50\tp95\tp99\tfloor p50\tfloor p99\tAPI/floor\t<=1.5x+1ms\ttarget\tmet\t")
	var page1 float64
	for _, k := range r.Kinds {
		if k.Kind == KindPage1 {
			page1 = k.API.P50
		}
	}
	for _, k := range r.Kinds {
		fp50, fp99, ratio, within := "-", "-", "-", "-"
		if k.Floor != nil {
			fp50, fp99, ratio, within = fmt.Sprintf("%.2f", k.Floor.P50), fmt.Sprintf("%.2f", k.Floor.P99), fmt.Sprintf("%.2f", k.Ratio), yes(k.WithinOverhead)
		}
		tg, met := targets[k.Kind].String(), "-"
		if t, ok := targets[k.Kind]; ok {
			met = yes(t.met(k.API))
		}
		name := k.Kind
		if k.Kind == KindPageDeep {
			name = fmt.Sprintf("page_%d", k.Page)
			tg = "<=2x page_1"
			if page1 > 0 {
				met = fmt.Sprintf("%s (%.2fx)", yes(k.API.P50 <= 2*page1), k.API.P50/page1)
			}
		}
		if k.API.Errors > 0 {
			met += fmt.Sprintf(" [%d errors]", k.API.Errors)
		}
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, k.API.P50, k.API.P95, k.API.P99, fp50, fp99, ratio, within, tg, met)
	}
	tw.Flush()
	for _, k := range r.Kinds {
		if len(k.Queries) > 0 {
			fmt.Fprintf(w, "  %s: %s\n", k.Kind, strings.Join(k.Queries, ", "))
		}
	}
	fmt.Fprintln(w)
	if m := r.Mixed; m != nil {
		fmt.Fprintf(w, "mixed reads, concurrency %d, %.0f s: %d requests, %.0f requests/s (target >= 3000: %s); p50 %.2f ms, p99 %.2f ms, errors %d\n\n",
			m.Concurrency, m.Seconds, m.Requests, m.RPS, yes(m.RPS >= 3000), m.All.P50, m.All.P99, m.All.Errors)
	}
	fmt.Fprintf(w, "peak RSS %s (target <= 300 MB: %s); by phase:", mb(r.PeakRSS), yes(r.PeakRSS > 0 && r.PeakRSS <= 300<<20))
	for _, ph := range []string{"load", "posts", "reads", "mixed"} {
		if m, ok := r.Memory[ph]; ok {
			fmt.Fprintf(w, " %s %s", ph, mb(m.Peak))
			if m.GoTotal > 0 {
				fmt.Fprintf(w, " (Go %s)", mb(m.GoTotal))
			}
		}
	}
	fmt.Fprintln(w)
	r.writeCPU(w)
	if r.DB != nil {
		fmt.Fprintf(w, "database size %s:", mb(r.DB.Bytes))
		for k, v := range r.DB.Parts {
			fmt.Fprintf(w, " %s %s", k, mb(v))
		}
		fmt.Fprintln(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(r.Failures) > 0 {
		fmt.Fprintf(w, "\n%d CHECK FAILURES:\n", len(r.Failures))
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	} else {
		fmt.Fprintln(w, "all checks passed: counts loaded = generated, no POST lost, every read found what it must")
	}
}

// writeCPU prints where each phase's processor time went, and the server's CPU time per
// operation of the write phases and the mixed load.
func (r *Report) writeCPU(w io.Writer) {
	if len(r.CPU) == 0 {
		return
	}
	fmt.Fprintf(w, "CPU in cores (server / load generator / whole machine, of %d):", r.Machine.CPUs)
	for _, ph := range []string{"load", "analysis", "posts", "reads", "mixed"} {
		if c, ok := r.CPU[ph]; ok {
			fmt.Fprintf(w, " %s %.2f / %.2f / %.2f", ph, c.Server, c.Bench, c.Machine)
		}
	}
	fmt.Fprintln(w)
	var per []string
	perOp := func(what, ph string, n float64) {
		if c, ok := r.CPU[ph]; ok && c.Server > 0 && n > 0 {
			per = append(per, fmt.Sprintf("%s %.0f µs", what, c.Server*c.Seconds/n*1e6))
		}
	}
	if l := r.Load; l != nil {
		perOp("imported message", "load", float64(l.Messages))
	}
	if p := r.Posts; p != nil {
		perOp("POST", "posts", float64(p.Created))
	}
	if m := r.Mixed; m != nil {
		perOp("mixed read", "mixed", float64(m.Requests))
	}
	if len(per) > 0 {
		fmt.Fprintf(w, "server CPU time per %s\n", strings.Join(per, ", per "))
	}
}
