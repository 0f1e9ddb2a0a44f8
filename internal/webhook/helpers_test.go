package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/changefeed"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/webhook"
)

// node is one Parley process: an HTTP server and a webhook dispatcher on a store.
type node struct {
	URL  string
	stop func()
}

// startNode starts a server and a dispatcher on st; stop ends both, like a process shutting
// down: the dispatcher finishes the attempts in flight, the server its requests.
func startNode(t *testing.T, st store.Store, opt webhook.Options) *node {
	t.Helper()
	feed := changefeed.New()
	if cs, ok := st.(interface{ SetChangeNotify(func(string)) }); ok {
		cs.SetChangeNotify(feed.Notify)
	}
	srv := server.New(st, server.Config{API: api.Config{Changes: feed}})
	hs := httptest.NewServer(srv.Handler())
	opt.Changes = feed
	d := webhook.New(st, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	var once sync.Once
	n := &node{URL: hs.URL, stop: func() {
		once.Do(func() {
			cancel()
			<-done
			srv.CloseStreams()
			hs.Close()
		})
	}}
	t.Cleanup(n.stop)
	return n
}

// Receiver modes.
const (
	modeUp      = iota // answers 204 at once
	modeSlow           // answers after longer than the dispatcher's timeout
	modeFailing        // answers 500
)

// received is one delivery a receiver accepted.
type received struct {
	ID, Event, Signature string
	Body                 []byte
	At                   time.Time
}

// receiver is a webhook endpoint on 127.0.0.1 that verifies every request with the client's
// VerifySignature, and can be down (nothing listening), slow, failing or up.
type receiver struct {
	t      *testing.T
	addr   string
	secret string

	mu       sync.Mutex
	mode     int
	slow     time.Duration
	hs       *http.Server
	accepted []received
	requests int
	problems []string
}

// newReceiver reserves an address and starts down (nothing listens there).
func newReceiver(t *testing.T) *receiver {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, addr: ln.Addr().String()}
	ln.Close()
	t.Cleanup(r.down)
	return r
}

func (r *receiver) URL() string { return "http://" + r.addr + "/hooks/parley" }

func (r *receiver) setSecret(s string) { r.mu.Lock(); r.secret = s; r.mu.Unlock() }

func (r *receiver) setMode(m int, slow time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mode, r.slow = m, slow
}

// up starts listening (on the address reserved at first).
func (r *receiver) up(mode int, slow time.Duration) {
	r.setMode(mode, slow)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.hs != nil {
		return
	}
	var ln net.Listener
	var err error
	for range 50 { // the port was ours a moment ago; wait for it if the kernel is slow
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		r.t.Fatalf("receiver: listen again on %s: %v", r.addr, err)
	}
	r.hs = &http.Server{Handler: http.HandlerFunc(r.serve)}
	go func() { _ = r.hs.Serve(ln) }()
}

// down stops listening: connections are refused.
func (r *receiver) down() {
	r.mu.Lock()
	hs := r.hs
	r.hs = nil
	r.mu.Unlock()
	if hs != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests++
	mode, slow, secret := r.mode, r.slow, r.secret
	r.mu.Unlock()
	problem := func(format string, args ...any) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.problems = append(r.problems, req.Header.Get(webhook.HeaderDelivery)+": "+fmt.Sprintf(format, args...))
	}
	if err != nil {
		problem("read body: %v", err)
	}
	sig := req.Header.Get(client.SignatureHeader)
	if err := client.VerifySignature(secret, sig, body, client.DefaultSignatureTolerance, time.Now()); err != nil {
		problem("signature %q does not verify: %v", sig, err)
	}
	var ev client.WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		problem("body is not a webhook event: %v", err)
	}
	switch {
	case req.Method != http.MethodPost:
		problem("method %s", req.Method)
	case req.Header.Get("Content-Type") != "application/json":
		problem("Content-Type %q", req.Header.Get("Content-Type"))
	case req.Header.Get("User-Agent") != webhook.UserAgent:
		problem("User-Agent %q", req.Header.Get("User-Agent"))
	case req.Header.Get(client.DeliveryHeader) != ev.ID || ev.ID == "":
		problem("Parley-Delivery %q, body id %q", req.Header.Get(client.DeliveryHeader), ev.ID)
	case req.Header.Get(client.EventHeader) != ev.Type:
		problem("Parley-Event %q, body type %q", req.Header.Get(client.EventHeader), ev.Type)
	}
	switch mode {
	case modeSlow:
		select {
		case <-time.After(slow):
		case <-req.Context().Done():
		}
		w.WriteHeader(http.StatusOK)
	case modeFailing:
		http.Error(w, "receiver is failing", http.StatusInternalServerError)
	default:
		r.mu.Lock()
		r.accepted = append(r.accepted, received{ID: ev.ID, Event: ev.Type, Signature: sig, Body: body, At: time.Now()})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

func (r *receiver) snapshot() (accepted []received, requests int, problems []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.accepted...), r.requests, append([]string(nil), r.problems...)
}

// eventually polls cond until it holds or the time runs out.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", within, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// deliveries lists every delivery of an endpoint through the API.
func deliveries(t *testing.T, e *apitest.Env, token, webhookID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	path := "/v1/api_core/webhooks/" + webhookID + "/deliveries?limit=100"
	for next := ""; ; {
		p := path
		if next != "" {
			p += "&cursor=" + next
		}
		var page struct {
			Items      []map[string]any `json:"items"`
			NextCursor *string          `json:"next_cursor"`
		}
		e.Must(http.StatusOK, "GET", p, token, nil).JSON(t, &page)
		out = append(out, page.Items...)
		if page.NextCursor == nil {
			return out
		}
		next = *page.NextCursor
	}
}
