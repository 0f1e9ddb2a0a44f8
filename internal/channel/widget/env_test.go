package widget_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/channel/widget"
	"github.com/parleyhq/parley/internal/links"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// env is a whole Parley server (API, widget, tracked links) on a fresh store.
type env struct {
	*apitest.Env
	t *testing.T
}

// start runs the server with the widget options opt (its PublicURL is the server's own URL).
func start(t *testing.T, open enginetest.Opener, opt widget.Options) *env {
	t.Helper()
	var wh *widget.Handler
	e := apitest.StartServer(t, open, func(st store.Store, url string) server.Config {
		opt.PublicURL = url
		if opt.Changes != nil {
			st.(interface{ SetChangeNotify(func(string)) }).SetChangeNotify(opt.Changes.Notify)
		}
		wh = widget.New(st, opt)
		m := wh.Routes()
		m[links.Pattern] = links.NewHandler(st, nil)
		return server.Config{API: api.Config{PublicURL: url}, Mounts: m}
	})
	t.Cleanup(wh.Stop)
	return &env{Env: e, t: t}
}

// settings PATCHes the settings of tenant a through the API.
func (e *env) settings(a apitest.Tenant, patch string) {
	e.t.Helper()
	e.Must(http.StatusOK, "PATCH", "/v1/api_core/settings", a.Write, patch)
}

// w calls a widget endpoint of assistant from origin ("" sends no Origin) with a session token.
func (e *env) w(method, assistant, path, origin, token string, body any, header ...string) apitest.Response {
	e.t.Helper()
	if origin != "" {
		header = append(header, "Origin", origin)
	}
	return e.Do(method, "/widget/"+assistant+path, token, body, header...)
}

// session starts a session and returns its token and conversation id.
func (e *env) session(assistant, origin string, body any) (token, conversationID, cursor string) {
	e.t.Helper()
	r := e.w("POST", assistant, "/sessions", origin, "", body)
	if r.Status != http.StatusCreated {
		e.t.Fatalf("start session: %d %s", r.Status, r.Body)
	}
	var out struct{ Token, Conversation_ID, Cursor string }
	r.JSON(e.t, &out)
	return out.Token, out.Conversation_ID, out.Cursor
}

// event is one Server-Sent Event.
type event struct{ ID, Event, Data string }

// stream is an open event stream.
type stream struct {
	res    *http.Response
	events chan event
	cancel context.CancelFunc
}

// openStream connects to the live stream; lastID, when not "", is sent as Last-Event-ID.
func (e *env) openStream(assistant, origin, token, query, lastID string) *stream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := e.URL + "/widget/" + assistant + "/stream?token=" + token + query
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	s := &stream{res: res, events: make(chan event, 100), cancel: cancel}
	e.t.Cleanup(s.close)
	if res.StatusCode != http.StatusOK {
		return s
	}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Event != "" || ev.Data != "" {
					s.events <- ev
				}
				ev = event{}
			case strings.HasPrefix(line, "id: "):
				ev.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.Data = line[6:]
			}
		}
	}()
	return s
}

func (s *stream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next waits for the next event.
func (s *stream) next(t *testing.T) event {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return event{}
}

// none checks that no event comes within d.
func (s *stream) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
	case <-time.After(d):
	}
}

// message decodes a message event.
func message(t *testing.T, ev event) map[string]any {
	t.Helper()
	if ev.Event != "message" {
		t.Fatalf("event %q, want message: %+v", ev.Event, ev)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &m); err != nil {
		t.Fatalf("event data is not JSON: %q", ev.Data)
	}
	return m
}
