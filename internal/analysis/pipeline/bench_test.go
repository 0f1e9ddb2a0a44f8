package pipeline_test

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/pipeline"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// The data size of BenchmarkPipeline: go test ./internal/analysis/pipeline -run X
// -bench Pipeline -benchtime 1x -count 5 -pipeline.conversations 20000
var (
	benchConversations = flag.Int("pipeline.conversations", 2000, "conversations of BenchmarkPipeline")
	benchSingle        = flag.Bool("pipeline.single", false, "BenchmarkPipeline: register Pipeline.Handle (one job at a time) instead of Register (batches)")
)

// BenchmarkPipeline measures the analysis end to end through the job queue, on each engine,
// wired as `parley serve` wires it:
//
//   - backlog: N conversations of 8 messages are imported with no runner (a server whose
//     analysis is behind, or an import before the runner starts); then the runner starts and
//     the time until no analysis job is left gives conversations analysed per second (convs/s),
//     and this process' CPU time per conversation (cpu-µs/conv; not the PostgreSQL server's).
//   - import: the same import (batches of 70, two at a time, as the HTTP import of the load
//     benchmark) with no analysis running: import-convs/s.
//   - import+analysis: the same import while the runner analyses what comes in; import-convs/s
//     compared with the one above is how much the analysis slows ingestion down. The analysis
//     backlog left when the import ends is drained and reported too (convs/s, of the whole run).
//
// Each iteration opens a fresh store; run with -benchtime 1x and -count for medians.
func BenchmarkPipeline(b *testing.B) {
	engines := enginetest.Engines()
	names := make([]string, 0, len(engines))
	for n := range engines {
		names = append(names, n)
	}
	sort.Strings(names)
	n := *benchConversations
	convs := benchInput(n)
	for _, name := range names {
		open := engines[name]
		b.Run(name, func(b *testing.B) {
			b.Run("backlog", func(b *testing.B) {
				var total, cpu time.Duration
				for range b.N {
					b.StopTimer()
					st, a := benchStore(b, open)
					benchImport(b, st, a, convs)
					// Every job is due AnalyzeDelay after its conversation was written.
					time.Sleep(time.Second)
					b.StartTimer()
					start, cpu0 := time.Now(), cpuTime()
					stop := startRunner(st)
					drain(b, st, 30*time.Minute)
					total += time.Since(start)
					cpu += cpuTime() - cpu0
					b.StopTimer()
					stop()
					checkAnalysed(b, st, a, n)
				}
				b.ReportMetric(float64(n*b.N)/total.Seconds(), "convs/s")
				b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-µs/conv")
			})
			b.Run("import", func(b *testing.B) {
				var total time.Duration
				for range b.N {
					b.StopTimer()
					st, a := benchStore(b, open)
					b.StartTimer()
					total += benchImport(b, st, a, convs)
				}
				b.ReportMetric(float64(n*b.N)/total.Seconds(), "import-convs/s")
			})
			b.Run("import+analysis", func(b *testing.B) {
				var imp, all time.Duration
				for range b.N {
					b.StopTimer()
					st, a := benchStore(b, open)
					stop := startRunner(st)
					b.StartTimer()
					start := time.Now()
					imp += benchImport(b, st, a, convs)
					drain(b, st, 30*time.Minute)
					all += time.Since(start)
					b.StopTimer()
					stop()
					checkAnalysed(b, st, a, n)
				}
				b.ReportMetric(float64(n*b.N)/imp.Seconds(), "import-convs/s")
				b.ReportMetric(float64(n*b.N)/all.Seconds(), "convs/s")
			})
		})
	}
}

// cpuTime is the CPU time (user and system) this process has used: on a busy machine a
// steadier figure than the wall clock. It leaves out the PostgreSQL server's.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var benchTopics = json.RawMessage(`{"topics": [
 {"name": "Shipping", "description": "delivery, tracking, address", "examples": ["where is my order", "change the delivery address", "my parcel has not arrived"]},
 {"name": "Billing", "description": "payments, invoices, refunds", "examples": ["I was charged twice", "can I pay with PayPal", "when do I get my refund"]},
 {"name": "Account", "description": "login and password", "examples": ["I can't log in", "reset my password", "delete my account"]}]}`)

// benchInput is n conversations of 8 messages (analysis.SampleInputs: five scripts in four
// languages, each with its own order number), in the past, as an import brings them.
func benchInput(n int) []cv.NewConversation {
	out := make([]cv.NewConversation, n)
	for i, in := range analysis.SampleInputs(n) {
		c := cv.NewConversation{Source: "api"}
		for _, m := range in.Messages {
			at := m.CreatedAt
			nm := cv.NewMessage{Author: m.Author, Content: m.Content, CreatedAt: &at}
			if m.HasSources {
				nm.SourcesGenerated = json.RawMessage(`[{"url": "https://example.com/help"}]`)
			}
			c.Messages = append(c.Messages, nm)
		}
		c.CreatedAt = c.Messages[0].CreatedAt
		out[i] = c
	}
	return out
}

func benchStore(b *testing.B, open enginetest.Opener) (store.Store, string) {
	b.Helper()
	st := open(b)
	a, err := st.CreateAssistant(context.Background(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.SaveSettings(context.Background(), a.ID, benchTopics); err != nil {
		b.Fatal(err)
	}
	return st, a.ID
}

// benchImport writes convs in batches of 70, two batches at a time, and returns how long it took.
func benchImport(b *testing.B, st store.Store, assistantID string, convs []cv.NewConversation) time.Duration {
	b.Helper()
	const batch, workers = 70, 2
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(batch)) - batch
				if i >= len(convs) {
					return
				}
				in := make([]cv.NewConversation, 0, batch)
				for _, c := range convs[i:min(i+batch, len(convs))] {
					c.Messages = append([]cv.NewMessage(nil), c.Messages...)
					if err := c.Validate(); err != nil {
						errs <- err
						return
					}
					in = append(in, c)
				}
				if _, err := st.CreateConversations(context.Background(), assistantID, in); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	return d
}

var benchAnalyzer = sync.OnceValue(analysis.New)

// startRunner starts the job runner with the analysis, as `parley serve` does.
func startRunner(st store.Store) (stop func()) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	runner := jobs.New(st, jobs.Options{Logger: log})
	p := &pipeline.Pipeline{Store: st, Analyzer: benchAnalyzer(), Logger: log}
	if *benchSingle {
		runner.Handle(store.JobAnalyze, p.Handle)
	} else {
		p.Register(runner)
	}
	if ws, ok := st.(interface{ SetJobNotify(func()) }); ok {
		ws.SetJobNotify(runner.Wake)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = runner.Run(ctx) }()
	return func() {
		cancel()
		<-done
		if ws, ok := st.(interface{ SetJobNotify(func()) }); ok {
			ws.SetJobNotify(nil)
		}
	}
}

// drain waits until no analysis job is pending or running.
func drain(b *testing.B, st store.Store, limit time.Duration) {
	b.Helper()
	deadline := time.Now().Add(limit)
	for {
		stats, err := st.JobStats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		a := stats[store.JobAnalyze]
		if a["failed"] > 0 {
			b.Fatalf("%d analysis jobs failed", a["failed"])
		}
		if a["pending"]+a["running"] == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("analysis jobs left after %s: %v", limit, a)
		}
		// (Counting the jobs reads them all: not too often.)
		time.Sleep(100 * time.Millisecond)
	}
}

// checkAnalysed checks that every conversation has its analysis, and the first 50 their
// message insights.
func checkAnalysed(b *testing.B, st store.Store, assistantID string, n int) {
	b.Helper()
	ctx := context.Background()
	seen := 0
	err := st.EachConversation(ctx, assistantID, cv.Filter{}, func(c *cv.Conversation) error {
		seen++
		if len(c.UnifiedAnalysis) == 0 || c.Title == nil || c.Topic == nil {
			b.Fatalf("conversation %s not analysed: %s", c.ID, c.UnifiedAnalysis)
		}
		if seen > 50 {
			return nil
		}
		ev, err := st.Events(ctx, assistantID, c.ID, cv.EventFilter{Types: []string{cv.EventMessage}, Limit: 20})
		if err != nil {
			return err
		}
		for _, e := range ev.Items {
			if len(e.Message.MessageInsights) == 0 || string(e.Message.MessageInsights) == "null" {
				b.Fatalf("message %s of %s has no insights", e.ID, c.ID)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if seen != n {
		b.Fatalf("%d conversations, want %d", seen, n)
	}
}
