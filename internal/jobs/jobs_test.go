package jobs_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

func TestQueue(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx := context.Background()
		st := open(t)
		a, err := st.CreateAssistant(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		// Three enqueues of one key coalesce into one pending job.
		for i := range 3 {
			if err := st.EnqueueJob(ctx, store.NewJob{Kind: "k", Key: "x", AssistantID: a.ID, RunAt: now.Add(time.Duration(i) * time.Millisecond)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.EnqueueJob(ctx, store.NewJob{Kind: "k", Key: "y", AssistantID: a.ID, RunAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		stats, err := st.JobStats(ctx)
		if err != nil || stats["k"]["pending"] != 2 {
			t.Fatalf("stats %v %v, want 2 pending", stats, err)
		}
		got, err := st.ClaimJobs(ctx, []string{"k"}, 10, time.Minute)
		if err != nil || len(got) != 1 || got[0].Key != "x" || got[0].Attempts != 1 {
			t.Fatalf("claim: %+v %v (want only the due job x)", got, err)
		}
		// Claimed jobs are not claimed again while their lease holds...
		if again, _ := st.ClaimJobs(ctx, []string{"k"}, 10, time.Minute); len(again) != 0 {
			t.Fatalf("claimed twice: %+v", again)
		}
		// ...a retry makes it due again, and a retry while newer work is pending drops it.
		if err := st.RetryJob(ctx, got[0].ID, time.Now().Add(-time.Second), "boom", false); err != nil {
			t.Fatal(err)
		}
		again, err := st.ClaimJobs(ctx, []string{"k"}, 10, time.Millisecond)
		if err != nil || len(again) != 1 || again[0].Attempts != 2 {
			t.Fatalf("after retry: %+v %v", again, err)
		}
		// An expired lease (a dead worker) makes the job claimable again.
		time.Sleep(5 * time.Millisecond)
		stolen, err := st.ClaimJobs(ctx, []string{"k"}, 10, time.Minute)
		if err != nil || len(stolen) != 1 || stolen[0].ID != again[0].ID {
			t.Fatalf("expired lease not reclaimed: %+v %v", stolen, err)
		}
		if err := st.CompleteJob(ctx, stolen[0].ID); err != nil {
			t.Fatal(err)
		}
		if err := st.RetryJob(ctx, stolen[0].ID, time.Now(), "late", true); err != nil {
			t.Fatal(err)
		}
		stats, _ = st.JobStats(ctx)
		if stats["k"]["pending"] != 1 || stats["k"]["running"] != 0 || stats["k"]["failed"] != 0 {
			t.Fatalf("stats after completion: %v", stats)
		}
	})
}

func TestRunnerRetriesAndRunsOnce(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx, cancel := context.WithCancel(context.Background())
		st := open(t)
		a, _ := st.CreateAssistant(ctx, "a")
		const n = 40
		var runs sync.Map
		var failures atomic.Int32
		handler := func(ctx context.Context, j store.Job) error {
			if j.Key == "flaky" && j.Attempts == 1 {
				failures.Add(1)
				return errors.New("first attempt fails")
			}
			if _, dup := runs.LoadOrStore(j.Key, true); dup {
				t.Errorf("job %s ran twice", j.Key)
			}
			return nil
		}
		for i := range n {
			key := string(rune('a'+i%26)) + string(rune('a'+i/26))
			if i == 0 {
				key = "flaky"
			}
			if err := st.EnqueueJob(ctx, store.NewJob{Kind: "k", Key: key, AssistantID: a.ID, RunAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		// Two runners (two processes sharing the database) split the work.
		var wg sync.WaitGroup
		for range 2 {
			r := jobs.New(st, jobs.Options{Workers: 3, Poll: 10 * time.Millisecond})
			r.Handle("k", handler)
			wg.Add(1)
			go func() { defer wg.Done(); _ = r.Run(ctx) }()
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			count := 0
			runs.Range(func(any, any) bool { count++; return true })
			// The flaky job waits for its backoff (about a second) before its second try.
			if count == n {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d jobs ran", count, n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		if failures.Load() != 1 {
			t.Fatalf("flaky job failed %d times, want 1", failures.Load())
		}
		stats, _ := st.JobStats(context.Background())
		if len(stats["k"]) != 0 {
			t.Fatalf("jobs left: %v", stats)
		}
	})
}

func TestRunnerOnFailAndBackoff(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st := open(t)
		a, _ := st.CreateAssistant(ctx, "a")
		var attempts sync.Map // key -> attempts seen
		handler := func(ctx context.Context, j store.Job) error {
			attempts.Store(j.Key, j.Attempts)
			if j.Key == "permanent" {
				return jobs.Permanent(errors.New("no such chat"))
			}
			return errors.New("still down")
		}
		type failure struct {
			key      string
			attempts int
			err      string
		}
		failures := make(chan failure, 10)
		var backoffs atomic.Int32
		r := jobs.New(st, jobs.Options{Poll: 5 * time.Millisecond, MaxAttempts: 3,
			Backoff: func(int) time.Duration { backoffs.Add(1); return time.Millisecond }})
		r.Handle("k", handler)
		r.OnFail("k", func(ctx context.Context, j store.Job, err error) {
			failures <- failure{j.Key, j.Attempts, err.Error()}
		})
		for _, key := range []string{"permanent", "flaky"} {
			if err := st.EnqueueJob(ctx, store.NewJob{Kind: "k", Key: key, AssistantID: a.ID, RunAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx) }()
		got := map[string]failure{}
		for len(got) < 2 {
			select {
			case f := <-failures:
				if _, dup := got[f.key]; dup {
					t.Fatalf("OnFail ran twice for %s", f.key)
				}
				got[f.key] = f
			case <-time.After(10 * time.Second):
				t.Fatalf("OnFail ran for %v only", got)
			}
		}
		cancel()
		<-done
		if f := got["permanent"]; f.attempts != 1 || f.err != "no such chat" {
			t.Errorf("permanent failure: %+v, want attempt 1 and the handler's error", f)
		}
		if f := got["flaky"]; f.attempts != 3 || f.err != "still down" {
			t.Errorf("last attempt: %+v, want attempt 3 (MaxAttempts) and the handler's error", f)
		}
		if backoffs.Load() < 2 {
			t.Errorf("the Backoff option was called %d times, want at least 2", backoffs.Load())
		}
		stats, _ := st.JobStats(context.Background())
		if stats["k"]["failed"] != 2 {
			t.Errorf("stats %v, want 2 failed", stats)
		}
	})
}

// TestRunnerBatches: a batch handler gets several jobs at once, never more than its size; two
// runners (two processes) never run a job twice; a failed job of a batch is retried alone,
// a panic fails only the job that causes it, and single-job kinds run beside the batches.
func TestRunnerBatches(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		st := open(t)
		a, _ := st.CreateAssistant(ctx, "a")
		const n, size = 60, 8
		var runs sync.Map
		var biggest, batches, flakyFails atomic.Int32
		batch := func(ctx context.Context, js []store.Job) []error {
			batches.Add(1)
			if int32(len(js)) > biggest.Load() {
				biggest.Store(int32(len(js)))
			}
			if len(js) > size {
				t.Errorf("batch of %d jobs, size %d", len(js), size)
			}
			for _, j := range js {
				if j.Key == "panics" {
					panic("boom")
				}
			}
			errs := make([]error, len(js))
			for i, j := range js {
				switch {
				case j.Key == "flaky" && j.Attempts == 1:
					flakyFails.Add(1)
					errs[i] = errors.New("first attempt fails")
					continue
				}
				if _, dup := runs.LoadOrStore(j.Key, true); dup {
					t.Errorf("job %s ran twice", j.Key)
				}
			}
			return errs
		}
		keys := []string{"flaky", "panics"}
		for i := range n - 2 {
			keys = append(keys, string(rune('a'+i%26))+string(rune('a'+i/26)))
		}
		for _, key := range keys {
			if err := st.EnqueueJob(ctx, store.NewJob{Kind: "b", Key: key, AssistantID: a.ID, RunAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.EnqueueJob(ctx, store.NewJob{Kind: "s", Key: "single", AssistantID: a.ID, RunAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		var single atomic.Int32
		var wg sync.WaitGroup
		for range 2 {
			r := jobs.New(st, jobs.Options{Workers: 2, Poll: 10 * time.Millisecond, MaxAttempts: 3, Backoff: func(int) time.Duration { return time.Millisecond }})
			r.HandleBatch("b", size, batch)
			r.Handle("s", func(context.Context, store.Job) error { single.Add(1); return nil })
			wg.Add(1)
			go func() { defer wg.Done(); _ = r.Run(ctx) }()
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			stats, err := st.JobStats(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if stats["b"]["pending"]+stats["b"]["running"]+stats["s"]["pending"]+stats["s"]["running"] == 0 {
				if stats["b"]["failed"] != 1 {
					t.Errorf("stats %v, want the panicking job failed", stats)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("jobs left: %v", stats)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		count := 0
		runs.Range(func(any, any) bool { count++; return true })
		if count != n-1 {
			t.Errorf("%d jobs done, want %d", count, n-1)
		}
		if flakyFails.Load() != 1 {
			t.Errorf("flaky job failed %d times, want 1", flakyFails.Load())
		}
		if biggest.Load() < 2 {
			t.Errorf("largest batch %d, want several jobs at once", biggest.Load())
		}
		if single.Load() != 1 {
			t.Errorf("single job ran %d times, want 1", single.Load())
		}
		t.Logf("%d batches, largest %d", batches.Load(), biggest.Load())
	})
}
