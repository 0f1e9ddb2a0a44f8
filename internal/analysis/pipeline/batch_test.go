package pipeline_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/analysis/pipeline"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// TestBatchesSurviveCrash: the batched analysis (Register) takes a backlog; a process dies
// holding a batch; another finishes the backlog: every conversation and every message is
// analysed, the live conversations get their later look, and nothing is left or failed.
func TestBatchesSurviveCrash(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		st := open(t)
		ctx := context.Background()
		a, _ := st.CreateAssistant(ctx, "a")
		const n, live = 150, 10
		convs := create(t, st, a.ID, demo.Generate(7, n-live, time.Now().Add(-2*time.Hour), 24*time.Hour)...)
		// Conversations still going on: each gets a later look once it has been quiet.
		convs = append(convs, create(t, st, a.ID, demo.Generate(8, live, time.Now().Add(-time.Minute), time.Minute)...)...)
		p := &pipeline.Pipeline{Store: st, Analyzer: shared()}

		// The first process analyses two batches, then dies holding the third.
		crashed := make(chan struct{})
		defer close(crashed)
		var batches atomic.Int32
		ctx1, kill := context.WithCancel(ctx)
		// (Its logs are of the dead process finishing against a closed store.)
		quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
		r1 := jobs.New(st, jobs.Options{Workers: 1, Poll: 10 * time.Millisecond, Lease: 2 * time.Second, Logger: quiet})
		r1.HandleBatch(store.JobAnalyze, pipeline.BatchSize, func(ctx context.Context, js []store.Job) []error {
			if batches.Add(1) > 2 {
				<-crashed
			}
			return p.HandleBatch(ctx, js)
		})
		go r1.Run(ctx1)
		waitFor(t, "first batches", 60*time.Second, func() bool { return batches.Load() >= 3 })
		kill()

		ctx2, stop := context.WithCancel(ctx)
		defer stop()
		r2 := jobs.New(st, jobs.Options{Poll: 10 * time.Millisecond, Lease: 2 * time.Second})
		p.Register(r2)
		go r2.Run(ctx2)
		waitFor(t, "backlog", 120*time.Second, func() bool {
			s, _ := st.JobStats(ctx)
			// What is left pending are the later looks at the live conversations.
			return s[store.JobAnalyze]["pending"] == live && s[store.JobAnalyze]["running"] == 0
		})
		s, _ := st.JobStats(ctx)
		if s[store.JobAnalyze]["failed"] != 0 {
			t.Errorf("jobs %v", s)
		}
		for _, c := range convs {
			got, err := st.Conversation(ctx, a.ID, c.ID)
			if err != nil || got.UnifiedAnalysis == nil || got.Title == nil || got.Version != c.Version {
				t.Fatalf("conversation %d: analysis %s, title %v, version %d (was %d), %v", c.Ord, got.UnifiedAnalysis, got.Title, got.Version, c.Version, err)
			}
			ev, err := st.Events(ctx, a.ID, c.ID, cv.EventFilter{Types: []string{cv.EventMessage}, Limit: 200})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ev.Items {
				if len(e.Message.MessageInsights) == 0 || string(e.Message.MessageInsights) == "null" {
					t.Fatalf("conversation %d, message %d: no insights", c.Ord, e.Ord)
				}
			}
		}
	})
}

// TestHandleCompletesOnce: one job at a time (Handle), a saved analysis completes its job in
// its transaction; the runner neither retries it nor logs a failure.
func TestHandleCompletesOnce(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		st := open(t)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a, _ := st.CreateAssistant(ctx, "a")
		convs := create(t, st, a.ID, demo.Generate(9, 5, time.Now().Add(-2*time.Hour), time.Hour)...)
		var logs lockedBuffer
		r := jobs.New(st, jobs.Options{Poll: 10 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		r.Handle(store.JobAnalyze, (&pipeline.Pipeline{Store: st, Analyzer: shared()}).Handle)
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx) }()
		waitFor(t, "analysis", 60*time.Second, func() bool {
			s, _ := st.JobStats(ctx)
			return len(s[store.JobAnalyze]) == 0
		})
		cancel()
		<-done
		for _, c := range convs {
			if got, err := st.Conversation(context.Background(), a.ID, c.ID); err != nil || got.UnifiedAnalysis == nil {
				t.Errorf("conversation %d not analysed (%v)", c.Ord, err)
			}
		}
		if logs.String() != "" {
			t.Errorf("runner logged:\n%s", logs.String())
		}
	})
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
