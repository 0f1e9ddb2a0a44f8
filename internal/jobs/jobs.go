// Package jobs runs durable background work from the store's job table: analysis now, and
// later deliveries and sweeps. Jobs survive restarts (a job whose worker died is claimed again
// when its lease runs out), are retried with exponential backoff, and are claimed once even
// with several processes on one PostgreSQL database.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

// Handler does one job. An error retries it later; wrap it with Permanent to give up at once.
// ErrCompleted says the handler removed the job itself (in the transaction that saved its work).
type Handler func(ctx context.Context, j store.Job) error

// BatchHandler does several jobs of one kind at once (claimed together, completed together):
// work whose cost is mostly the transactions around it. It returns one error per job, in the
// order of js: nil (done: the runner completes it), ErrCompleted (done, and the handler
// removed the job itself, in the transaction that saved its work), or an error, which retries
// that job alone, as a Handler's does.
type BatchHandler func(ctx context.Context, js []store.Job) []error

// ErrCompleted is a handler's answer for a job that it completed itself.
var ErrCompleted = errors.New("jobs: completed by the handler")

// FailHandler learns that a job failed for good (a permanent error, or its last attempt),
// with the error of that attempt; it runs before the job is marked failed.
type FailHandler func(ctx context.Context, j store.Job, err error)

type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// Permanent marks an error that retrying cannot fix.
func Permanent(err error) error { return permanent{err} }

// IsPermanent reports whether err (or an error it wraps) was marked with Permanent.
func IsPermanent(err error) bool { return errors.As(err, new(permanent)) }

// Options tune a Runner.
type Options struct {
	// Workers is how many jobs of the kinds with a Handler run at once (default 2), and how
	// many batches of each kind with a BatchHandler: a backlog of batched work (analysis)
	// never holds up the others (channel replies).
	Workers     int
	Poll        time.Duration // how often to look for due jobs when not woken (default 250ms)
	Lease       time.Duration // how long a claimed job is ours before others may take it (default 2m)
	MaxAttempts int           // attempts before a job fails for good (default 12)
	// Backoff is the wait before the next attempt after `attempts` failed ones (default:
	// the package's Backoff). Tests shorten it.
	Backoff func(attempts int) time.Duration
	Logger  *slog.Logger
}

// Runner claims and runs jobs.
type Runner struct {
	st       store.Store
	opt      Options
	handlers map[string]Handler
	batches  map[string]batchKind
	onFail   map[string]FailHandler
	wake     chan struct{}
	lastWake atomic.Int64
	log      *slog.Logger
}

// New returns a runner on st.
func New(st store.Store, opt Options) *Runner {
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	if opt.Lease <= 0 {
		opt.Lease = 2 * time.Minute
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 12
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Backoff == nil {
		opt.Backoff = Backoff
	}
	return &Runner{st: st, opt: opt, handlers: map[string]Handler{}, batches: map[string]batchKind{}, onFail: map[string]FailHandler{}, wake: make(chan struct{}, 1), log: opt.Logger}
}

// Handle registers the handler of a kind. Call before Run.
func (r *Runner) Handle(kind string, h Handler) { r.handlers[kind] = h }

type batchKind struct {
	size int
	h    BatchHandler
}

// HandleBatch registers the batch handler of a kind: it gets up to size due jobs at a time
// (fewer when fewer are due: a batch never waits to fill up). Call before Run.
func (r *Runner) HandleBatch(kind string, size int, h BatchHandler) {
	r.batches[kind] = batchKind{size: max(1, size), h: h}
}

// OnFail registers what to do when a job of kind fails for good. Call before Run.
func (r *Runner) OnFail(kind string, h FailHandler) { r.onFail[kind] = h }

// Wake makes the runner look for due jobs now (cheap; never blocks). The store calls it when
// it has enqueued work (a new message, ...), so it also tells that writes are coming in: see
// LastWake.
func (r *Runner) Wake() {
	r.lastWake.Store(time.Now().UnixNano())
	r.poke()
}

// LastWake is when Wake was last called (zero: never): background work that should yield to
// ingestion (the analysis) looks at it.
func (r *Runner) LastWake() time.Time {
	if n := r.lastWake.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Backoff is the wait before attempt n+1: 2^n seconds with jitter, at most an hour.
func Backoff(attempts int) time.Duration {
	d := time.Second << min(attempts, 12)
	d = min(d, time.Hour)
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Run works until ctx ends, then lets the jobs in hand finish and returns.
func (r *Runner) Run(ctx context.Context) error {
	var kinds, batchKinds []string
	for k := range r.handlers {
		kinds = append(kinds, k)
	}
	for k := range r.batches {
		batchKinds = append(batchKinds, k)
	}
	sort.Strings(batchKinds)
	slots := make(chan struct{}, r.opt.Workers)
	batchSlots := map[string]chan struct{}{}
	for _, k := range batchKinds {
		batchSlots[k] = make(chan struct{}, r.opt.Workers)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	claim := func(kinds []string, n int) []store.Job {
		jobs, err := r.st.ClaimJobs(ctx, kinds, n, r.opt.Lease)
		if err != nil && ctx.Err() == nil {
			r.log.Error("claim jobs", "err", err)
		}
		return jobs
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-r.wake:
		}
		for more := true; more; {
			more = false
			// Single jobs first: they are the ones someone waits for (channel replies).
			if free := r.opt.Workers - len(slots); free > 0 && len(kinds) > 0 {
				jobs := claim(kinds, free)
				for _, j := range jobs {
					slots <- struct{}{}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer func() { <-slots; r.poke() }()
						r.run(j)
					}()
				}
				more = more || len(jobs) == free
			}
			for _, k := range batchKinds {
				bs, b := batchSlots[k], r.batches[k]
				if len(bs) == cap(bs) {
					continue
				}
				jobs := claim([]string{k}, b.size)
				if len(jobs) == 0 {
					continue
				}
				bs <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-bs; r.poke() }()
					r.runBatch(b.h, jobs)
				}()
				more = more || len(jobs) == b.size
			}
			if ctx.Err() != nil {
				break
			}
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(r.opt.Poll)
	}
}

// runBatch does a batch of jobs and records each outcome: the done ones in one statement.
func (r *Runner) runBatch(h BatchHandler, js []store.Job) {
	hctx, cancel := context.WithTimeout(context.Background(), r.opt.Lease)
	defer cancel()
	errs := r.safeBatch(hctx, h, js)
	ctx, cancelBook := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelBook()
	done := make([]int64, 0, len(js))
	for i, j := range js {
		if errs[i] == nil {
			done = append(done, j.ID)
		}
	}
	if len(done) > 0 {
		if err := r.st.CompleteJobs(ctx, done); err != nil {
			r.log.Error("complete jobs", "kind", js[0].Kind, "jobs", len(done), "err", err)
		}
	}
	for i, j := range js {
		if errs[i] != nil && !errors.Is(errs[i], ErrCompleted) {
			r.failedAttempt(ctx, j, errs[i])
		}
	}
}

// safeBatch runs h on js. When it panics, each job runs again alone, so that only the job
// that panics fails (for good); a handler that answers with the wrong number of errors fails
// every job of the batch (to be retried).
func (r *Runner) safeBatch(ctx context.Context, h BatchHandler, js []store.Job) (errs []error) {
	defer func() {
		if v := recover(); v != nil {
			if len(js) == 1 {
				r.log.Error("job panicked", "kind", js[0].Kind, "key", js[0].Key, "panic", v)
				errs = []error{Permanent(errors.New("panic in job handler"))}
				return
			}
			errs = make([]error, len(js))
			for i := range js {
				errs[i] = r.safeBatch(ctx, h, js[i:i+1])[0]
			}
		}
	}()
	errs = h(ctx, js)
	if len(errs) != len(js) {
		err := fmt.Errorf("batch handler returned %d results for %d jobs", len(errs), len(js))
		errs = make([]error, len(js))
		for i := range errs {
			errs[i] = err
		}
	}
	return errs
}

// run does one job. It runs to the end even when the runner is stopping (a graceful shutdown
// finishes the work in hand); the lease bounds how long that may take.
func (r *Runner) run(j store.Job) {
	hctx, cancel := context.WithTimeout(context.Background(), r.opt.Lease)
	defer cancel()
	err := r.safe(hctx, j)
	// The bookkeeping has its own deadline: a handler that used up its lease must still be
	// recorded as failed (or done).
	ctx, cancelBook := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelBook()
	if errors.Is(err, ErrCompleted) {
		return
	}
	if err == nil {
		if err := r.st.CompleteJob(ctx, j.ID); err != nil {
			r.log.Error("complete job", "kind", j.Kind, "key", j.Key, "err", err)
		}
		return
	}
	r.failedAttempt(ctx, j, err)
}

// failedAttempt records a failed attempt of j: retried later with backoff, or failed for good.
func (r *Runner) failedAttempt(ctx context.Context, j store.Job, err error) {
	final := j.Attempts >= r.opt.MaxAttempts || IsPermanent(err)
	r.log.Warn("job failed", "kind", j.Kind, "key", j.Key, "attempt", j.Attempts, "final", final, "err", err)
	if final {
		r.failed(ctx, j, err)
	}
	if rerr := r.st.RetryJob(ctx, j.ID, time.Now().Add(r.opt.Backoff(j.Attempts)), err.Error(), final); rerr != nil {
		r.log.Error("reschedule job", "kind", j.Kind, "key", j.Key, "err", rerr)
	}
}

// failed runs the kind's FailHandler, if any, guarding against its panics.
func (r *Runner) failed(ctx context.Context, j store.Job, err error) {
	h := r.onFail[j.Kind]
	if h == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("job failure handler panicked", "kind", j.Kind, "key", j.Key, "panic", v)
		}
	}()
	h(ctx, j, err)
}

func (r *Runner) safe(ctx context.Context, j store.Job) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Permanent(errors.New("panic in job handler"))
			r.log.Error("job panicked", "kind", j.Kind, "key", j.Key, "panic", v)
		}
	}()
	h := r.handlers[j.Kind]
	if h == nil {
		return Permanent(errors.New("no handler for kind " + j.Kind))
	}
	return h(ctx, j)
}
