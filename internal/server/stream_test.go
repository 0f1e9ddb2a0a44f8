package server_test

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/auth"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

func streamToken(t *testing.T, st store.Store) (assistantID, token string) {
	t.Helper()
	a, err := st.CreateAssistant(t.Context(), "A")
	if err != nil {
		t.Fatal(err)
	}
	secret, tok := auth.NewToken(a.ID, cv.ScopeRead, "stream", time.Hour, time.Now())
	if err := st.CreateToken(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	return a.ID, secret
}

// readLines sends the stream's lines to a channel until it ends.
func readLines(t *testing.T, url, token string) (<-chan string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/v1/api_core/stream", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, cancel
}

// TestStreamOutlivesServerTimeouts: a live stream is not cut by the server's read and write
// timeouts, through every middleware.
func TestStreamOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	st := enginetest.SQLite(t)
	aid, token := streamToken(t, st)
	srv := server.New(st, server.Config{API: api.Config{StreamHeartbeat: 50 * time.Millisecond}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadTimeout: 200 * time.Millisecond, WriteTimeout: 200 * time.Millisecond}
	go func() { _ = hs.Serve(ln) }()
	defer func() { srv.CloseStreams(); hs.Close() }()
	lines, stop := readLines(t, "http://"+ln.Addr().String(), token)
	defer stop()
	time.Sleep(time.Second) // five times both timeouts
	if _, err := st.CreateConversations(t.Context(), aid, []cv.NewConversation{{Source: cv.SourceAPI}}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream was cut")
			}
			if l == "event: conversation.created" {
				return
			}
		case <-timeout:
			t.Fatal("no event after the server's timeouts")
		}
	}
}

// TestShutdownEndsStreams: a server shutting down ends its live streams at once rather than
// waiting for them until its shutdown timeout.
func TestShutdownEndsStreams(t *testing.T) {
	t.Parallel()
	st := enginetest.SQLite(t)
	_, token := streamToken(t, st)
	srv := server.New(st, server.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.ListenAndServe(ctx, "127.0.0.1:0", func(a net.Addr) { addr <- a.String() }) }()
	lines, stop := readLines(t, "http://"+<-addr, token)
	defer stop()
	if l := <-lines; !strings.HasPrefix(l, "retry:") {
		t.Fatalf("first line %q", l)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAndServe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not shut down with a stream open")
	}
	for range lines {
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %s", d)
	}
}
