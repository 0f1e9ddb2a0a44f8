package apitest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/changefeed"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/webhook"
)

// Local is a whole Parley server on a fresh SQLite database in a temporary folder, for
// examples and tools that have no *testing.T: one assistant with a write and a read token.
// Like the real server, it sends webhooks (a dispatcher polling every 50ms, woken by the
// change feed) and serves live streams.
type Local struct {
	URL         string
	AssistantID string
	WriteToken  string
	ReadToken   string
	Store       store.Store
	close       func()
}

// StartLocal starts a Local server. Close it when done: that removes its folder.
func StartLocal() (*Local, error) {
	dir, err := os.MkdirTemp("", "parley-local-")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	feed := changefeed.New()
	st.SetChangeNotify(feed.Notify)
	srv := server.New(st, server.Config{Logger: quiet, API: api.Config{Changes: feed, Logger: quiet}})
	hs := httptest.NewServer(srv.Handler())
	d := webhook.New(st, webhook.Options{Changes: feed, Poll: 50 * time.Millisecond, Logger: quiet})
	bg, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(bg) }()
	l := &Local{URL: hs.URL, Store: st, close: func() {
		stop()
		<-done
		srv.CloseStreams()
		hs.Close()
		st.Close()
		os.RemoveAll(dir)
	}}
	a, err := st.CreateAssistant(ctx, "Local")
	if err != nil {
		l.Close()
		return nil, err
	}
	l.AssistantID = a.ID
	for _, tk := range []struct {
		scope cv.Scope
		dst   *string
	}{{cv.ScopeWrite, &l.WriteToken}, {cv.ScopeRead, &l.ReadToken}} {
		secret, tok := auth.NewToken(a.ID, tk.scope, string(tk.scope)+" local", time.Hour, time.Now())
		if err := st.CreateToken(ctx, tok); err != nil {
			l.Close()
			return nil, err
		}
		*tk.dst = secret
	}
	return l, nil
}

// Close stops the server and removes its database.
func (l *Local) Close() { l.close() }
