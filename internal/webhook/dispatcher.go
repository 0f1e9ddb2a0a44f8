package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/changefeed"
	"github.com/parleyhq/parley/internal/store"
)

// Options tune a Dispatcher. The zero value is the production setting.
type Options struct {
	// Workers is how many deliveries are sent at once (default 4); PerEndpoint about how many
	// of them one endpoint may take (default 2; never more than twice that), so that a slow
	// receiver cannot hold up the others.
	Workers     int
	PerEndpoint int
	// Poll is how often to look for work when not woken (default 500ms): the change log of
	// other processes, retries coming due.
	Poll time.Duration
	// Timeout bounds one attempt, from connecting to reading the answer (default 10s).
	Timeout time.Duration
	// Window is how long a delivery is retried after its first attempt (default 24h). A
	// delivery still failing at its end fails for good, and disables its endpoint unless the
	// endpoint has had a success since that delivery's first attempt.
	Window time.Duration
	// Backoff is the wait after the n-th failed attempt (default: 5s doubling to 1h, with
	// jitter).
	Backoff func(n int) time.Duration
	// Lease is how long a claimed delivery is this process's before another may take it
	// (default Timeout plus a minute).
	Lease time.Duration
	// Batch bounds the changes one endpoint queues per pass (default 500).
	Batch int
	// MaxResponseBytes bounds how much of an answer is read (default 64 KiB).
	MaxResponseBytes int64
	// Client sends the requests (default: a client that never follows redirects).
	Client *http.Client
	// Changes wakes the dispatcher when changes commit in this process (nil: poll only).
	Changes *changefeed.Hub
	Logger  *slog.Logger
	Now     func() time.Time
}

// DefaultBackoff is 5s after the first failure, doubling up to an hour, with jitter (between
// half and the whole of it).
func DefaultBackoff(n int) time.Duration {
	d := 5 * time.Second << min(max(n-1, 0), 10)
	d = min(d, time.Hour)
	return d/2 + rand.N(d/2+1)
}

// Dispatcher queues and sends webhook deliveries. Run one per process.
type Dispatcher struct {
	st   store.Store
	opt  Options
	log  *slog.Logger
	wake chan struct{}
}

// New returns a dispatcher on st.
func New(st store.Store, opt Options) *Dispatcher {
	if opt.Workers <= 0 {
		opt.Workers = 4
	}
	if opt.PerEndpoint <= 0 {
		opt.PerEndpoint = 2
	}
	if opt.Poll <= 0 {
		opt.Poll = 500 * time.Millisecond
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Window <= 0 {
		opt.Window = 24 * time.Hour
	}
	if opt.Backoff == nil {
		opt.Backoff = DefaultBackoff
	}
	if opt.Lease <= 0 {
		opt.Lease = opt.Timeout + time.Minute
	}
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	if opt.MaxResponseBytes <= 0 {
		opt.MaxResponseBytes = 64 << 10
	}
	if opt.Client == nil {
		opt.Client = NewClient()
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Dispatcher{st: st, opt: opt, log: opt.Logger, wake: make(chan struct{}, 1)}
}

// NewClient returns the HTTP client of deliveries: proxies from the environment, no cookies,
// and no redirects (a 3xx answer is a failed attempt; the endpoint's URL should be updated).
func NewClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 4
	t.ResponseHeaderTimeout = 0 // the attempt's context bounds it
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Wake makes the dispatcher look for work now (cheap; never blocks).
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx ends, then lets the attempts in flight finish (each is bounded by the
// timeout) and returns.
func (d *Dispatcher) Run(ctx context.Context) error {
	var changes <-chan struct{}
	if d.opt.Changes != nil {
		sub := d.opt.Changes.Subscribe("")
		defer sub.Close()
		changes = sub.C
	}
	slots := make(chan struct{}, d.opt.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	reset := func(after time.Duration) {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(after)
	}
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-d.wake:
		case <-changes:
			// A busy assistant commits all the time: look at most every minGap for them.
			if wait := minGap - time.Since(last); wait > 0 {
				reset(wait)
				continue
			}
		}
		d.pass(ctx, slots, &wg)
		last = time.Now()
		reset(d.opt.Poll)
	}
}

// minGap is the least time between two passes woken by commits.
const minGap = 20 * time.Millisecond

// pass queues new deliveries and starts as many due ones as there are free workers.
func (d *Dispatcher) pass(ctx context.Context, slots chan struct{}, wg *sync.WaitGroup) {
	if n, err := d.st.QueueWebhookDeliveries(ctx, d.opt.Batch); err != nil {
		if ctx.Err() == nil {
			d.log.Error("queue webhook deliveries", "err", err)
		}
	} else if n > 0 {
		d.Wake() // there may be more behind
	}
	for {
		free := d.opt.Workers - len(slots)
		if free == 0 || ctx.Err() != nil {
			return
		}
		// At most PerEndpoint a claim, so that one endpoint stays under twice its cap. A claim
		// is not cancelled half-way by a shutdown: rows claimed but never sent would wait for
		// their lease to run out.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		claimed, err := d.st.ClaimWebhookDeliveries(cctx, min(free, d.opt.PerEndpoint), d.opt.PerEndpoint, d.opt.Lease)
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("claim webhook deliveries", "err", err)
			}
			return
		}
		for _, c := range claimed {
			slots <- struct{}{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-slots; d.Wake() }()
				d.deliver(c)
			}()
		}
		if len(claimed) == 0 {
			return
		}
	}
}

// deliver makes one attempt and records it. It runs to the end even when the dispatcher is
// stopping; the timeout bounds it.
func (d *Dispatcher) deliver(c store.ClaimedDelivery) {
	ctx, cancel := context.WithTimeout(context.Background(), d.opt.Timeout+30*time.Second)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			d.log.Error("webhook delivery panicked", "delivery", c.ID, "panic", v)
		}
	}()
	a := d.attempt(ctx, c)
	now := a.At
	if !a.Succeeded {
		first := now
		if c.FirstAttemptAt != nil {
			first = *c.FirstAttemptAt
		}
		end := first.Add(d.opt.Window)
		if now.Before(end) {
			a.RetryAt = now.Add(d.opt.Backoff(c.Attempts + 1))
			if a.RetryAt.After(end) {
				a.RetryAt = end
			}
		} else {
			a.DisableReason = fmt.Sprintf("Deliveries failed for %s since %s; last error: %s",
				d.opt.Window, first.UTC().Format(time.RFC3339), a.Error)
		}
		d.log.Warn("webhook delivery failed", "delivery", c.ID, "webhook", c.WebhookID, "attempt", c.Attempts+1,
			"final", a.RetryAt.IsZero(), "err", a.Error)
	}
	if err := d.st.FinishWebhookDelivery(ctx, c.ID, a); err != nil {
		d.log.Error("record webhook delivery", "delivery", c.ID, "err", err)
	}
}

// attempt sends c once.
func (d *Dispatcher) attempt(ctx context.Context, c store.ClaimedDelivery) store.DeliveryAttempt {
	body := c.Body
	if body == nil {
		b, err := Render(ctx, d.st, c.Change, c.ID)
		if err != nil {
			return store.DeliveryAttempt{At: d.opt.Now(), Error: "render: " + err.Error()}
		}
		body = b
	}
	rctx, cancel := context.WithTimeout(ctx, d.opt.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return store.DeliveryAttempt{At: d.opt.Now(), Body: body, Error: "bad URL: " + err.Error()}
	}
	sent := d.opt.Now()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderDelivery, c.ID)
	req.Header.Set(HeaderEvent, c.Change.Type)
	req.Header.Set(HeaderSignature, Sign(c.Secret, sent, body))
	res, err := d.opt.Client.Do(req)
	a := store.DeliveryAttempt{At: sent, Body: body}
	if err != nil {
		a.Error = describe(err, rctx, d.opt.Timeout)
		return a
	}
	defer res.Body.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(res.Body, head)
	_, rerr := io.Copy(io.Discard, io.LimitReader(res.Body, d.opt.MaxResponseBytes-int64(n)))
	a.StatusCode = res.StatusCode
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		if rerr != nil && rctx.Err() != nil {
			// The answer came but its body did not finish in time: the receiver has the
			// delivery; count it.
			d.log.Debug("webhook answer body cut off", "delivery", c.ID)
		}
		a.Succeeded = true
	case res.StatusCode >= 300 && res.StatusCode < 400:
		a.Error = fmt.Sprintf("HTTP %d redirect to %q (not followed: update the endpoint's URL)", res.StatusCode, res.Header.Get("Location"))
	default:
		a.Error = fmt.Sprintf("HTTP %d", res.StatusCode)
		if snippet := strings.TrimSpace(strings.ToValidUTF8(string(head[:n]), "")); snippet != "" {
			a.Error += ": " + snippet
		}
	}
	return a
}

// describe words a transport error for the deliveries list.
func describe(err error, ctx context.Context, timeout time.Duration) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("timed out after %s", timeout)
	}
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}
