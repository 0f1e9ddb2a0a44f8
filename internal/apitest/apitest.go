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
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
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
}

// Start runs the server on a fresh store from open, with rate limits off unless cfg says.
func Start(t testing.TB, open enginetest.Opener, cfg *api.Config) *Env {
	t.Helper()
	st := open(t)
	c := api.Config{}
	if cfg != nil {
		c = *cfg
	}
	srv := server.New(st, server.Config{API: c})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &Env{T: t, URL: hs.URL, Store: st}
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
