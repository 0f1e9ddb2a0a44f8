// Package apitest starts a real Parley HTTP server on a fresh store for tests, with two
// assistants and tokens of each scope, and gives a small HTTP helper to call it.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/changefeed"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/webhook"
)

// Tenant is an assistant with one token of each scope.
type Tenant struct {
	ID    string
	Write string
	Read  string
}

// Env is a running server.
type Env struct {
	T     testing.TB
	URL   string
	Store store.Store
	A, B  Tenant
	// Feed is the change feed the store wakes (live streams and the dispatcher listen to it).
	Feed *changefeed.Hub
}

// Start runs the server on a fresh store from open, with rate limits off unless cfg says.
func Start(t testing.TB, open enginetest.Opener, cfg *api.Config) *Env {
	t.Helper()
	return StartWith(t, open, Config{API: cfg})
}

// Config is what a test server runs besides the API.
type Config struct {
	API *api.Config
	// Mounts builds the handlers mounted outside the API (server.Config.Mounts) on the
	// server's store.
	Mounts func(st store.Store) map[string]http.Handler
	// Jobs, when set, registers job handlers on a runner (with JobOptions) that works in the
	// background until the test ends, woken by the store like the real server's.
	Jobs       func(st store.Store, r *jobs.Runner)
	JobOptions jobs.Options
	// Webhooks, when set, runs a webhook dispatcher with these options (its change feed set
	// to the server's) until the test ends.
	Webhooks *webhook.Options
}

// StartWith runs the server on a fresh store from open, with what cfg adds.
func StartWith(t testing.TB, open enginetest.Opener, cfg Config) *Env {
	t.Helper()
	st := open(t)
	c := api.Config{}
	if cfg.API != nil {
		c = *cfg.API
	}
	feed := c.Changes
	if feed == nil {
		feed = changefeed.New()
		c.Changes = feed
	}
	if cs, ok := st.(interface{ SetChangeNotify(func(string)) }); ok {
		cs.SetChangeNotify(feed.Notify)
	}
	sc := server.Config{API: c}
	if cfg.Mounts != nil {
		sc.Mounts = cfg.Mounts(st)
	}
	if cfg.Jobs != nil {
		r := jobs.New(st, cfg.JobOptions)
		cfg.Jobs(st, r)
		if ws, ok := st.(interface{ SetJobNotify(func()) }); ok {
			ws.SetJobNotify(r.Wake)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = r.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	srv := server.New(st, sc)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.CloseStreams(); hs.Close() })
	if cfg.Webhooks != nil {
		opt := *cfg.Webhooks
		opt.Changes = feed
		d := webhook.New(st, opt)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); _ = d.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	e := &Env{T: t, URL: hs.URL, Store: st, Feed: feed}
	e.A = e.NewTenant("Assistant A")
	e.B = e.NewTenant("Assistant B")
	return e
}

// NewTenant creates an assistant with a write and a read token.
func (e *Env) NewTenant(name string) Tenant {
	e.T.Helper()
	ctx := context.Background()
	a, err := e.Store.CreateAssistant(ctx, name)
	if err != nil {
		e.T.Fatal(err)
	}
	return Tenant{ID: a.ID, Write: e.Token(a.ID, cv.ScopeWrite, time.Hour), Read: e.Token(a.ID, cv.ScopeRead, time.Hour)}
}

// Token mints a token for an assistant.
func (e *Env) Token(assistantID string, scope cv.Scope, ttl time.Duration) string {
	e.T.Helper()
	secret, tok := auth.NewToken(assistantID, scope, string(scope)+" test", ttl, time.Now())
	if err := e.Store.CreateToken(context.Background(), tok); err != nil {
		e.T.Fatal(err)
	}
	return secret
}

// Response is an answered request.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test when it is not JSON.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.Body)
	}
}

// Map decodes the body as a JSON object.
func (r Response) Map(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.JSON(t, &m)
	return m
}

// Do sends a request with a bearer token (none when token is ""). body may be nil, a string,
// []byte, or any value to encode as JSON.
func (e *Env) Do(method, path, token string, body any, header ...string) Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.T.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return Response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// Must is Do that fails the test unless the status is want.
func (e *Env) Must(want int, method, path, token string, body any, header ...string) Response {
	e.T.Helper()
	r := e.Do(method, path, token, body, header...)
	if r.Status != want {
		e.T.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}
