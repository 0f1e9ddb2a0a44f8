package bench_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/bench"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// TestBenchmarkSmall runs the whole benchmark on 300 conversations on every engine, with no
// timing assertions: it checks that it still runs and that every answer is right (everything
// loaded, no POST lost, each read kind found what it must).
func TestBenchmarkSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 300 conversations through HTTP")
	}
	ds, err := bench.PrepareDataset(bench.DatasetOptions{Seed: 7, Conversations: 300,
		End: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Span: 2 * 365 * 24 * time.Hour, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"rare", "medium", "common", "order"} {
		if len(ds.Facts.Words[kind]) == 0 {
			t.Fatalf("no %s queries chosen", kind)
		}
		for _, w := range ds.Facts.Words[kind] {
			if w.Count == 0 {
				t.Errorf("%s query %q finds nothing", kind, w.Query)
			}
		}
	}
	if c := ds.Facts.Words["common"][0].Count; c*10 < int64(ds.Facts.Conversations) {
		t.Errorf("the common word %q matches %d of %d conversations, want > 10%%", ds.Facts.Words["common"][0].Query, c, ds.Facts.Conversations)
	}
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		st := open(t)
		ctx := context.Background()
		target, err := bench.StartServer(ctx, st, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		cfg := bench.Config{ImportBatch: 70, ImportConcurrency: 2, Posts: 300, PostConcurrency: 32, Requests: 8, Warmup: 1,
			ReadConcurrency: 2, Runs: 1, MixedDuration: 500 * time.Millisecond, MixedConcurrency: 8, PoolSize: 20, PostPool: 40, Floor: true,
			KindTimeout: time.Minute}
		rep, err := bench.Run(ctx, cfg, target, ds)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		rep.WriteTable(&out)
		t.Log("\n" + out.String())
		for _, f := range rep.Failures {
			t.Error(f)
		}
		if rep.Load == nil || rep.Load.Conversations != 300 || rep.Load.Failed != 0 {
			t.Errorf("load = %+v, want 300 conversations", rep.Load)
		}
		if rep.Posts == nil || rep.Posts.Created != 300 || !rep.Posts.Verified || rep.Posts.Lost != 0 {
			t.Errorf("posts = %+v, want 300 created and verified", rep.Posts)
		}
		for _, ph := range []string{"load", "posts", "reads", "mixed"} {
			if c, ok := rep.CPU[ph]; !ok || c.Seconds <= 0 || c.Bench <= 0 || c.Machine <= 0 {
				t.Errorf("CPU of phase %s = %+v, %v: want its length and the benchmark's and the machine's use", ph, c, ok)
			}
		}
		seen := map[string]bool{}
		for _, k := range rep.Kinds {
			seen[k.Kind] = true
			if k.API.N == 0 || k.API.Errors > 0 {
				t.Errorf("%s: %d answers, %d errors", k.Kind, k.API.N, k.API.Errors)
			}
			if k.Floor == nil || k.Floor.N == 0 || k.Floor.Errors > 0 {
				t.Errorf("%s: floor %+v", k.Kind, k.Floor)
			}
		}
		for _, k := range bench.Kinds {
			if !seen[k] {
				t.Errorf("kind %s did not run", k)
			}
		}
		if rep.Mixed == nil || rep.Mixed.Requests == 0 || rep.Mixed.All.Errors > 0 {
			t.Errorf("mixed = %+v", rep.Mixed)
		}
		if rep.DB == nil || rep.DB.Bytes == 0 {
			t.Errorf("db size = %+v", rep.DB)
		}
	})
}
