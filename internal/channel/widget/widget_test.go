package widget_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/changefeed"
	"github.com/parleyhq/parley/internal/channel/widget"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

const (
	shop  = "https://shop.example"
	other = "https://evil.example"
)

func TestScript(t *testing.T) {
	t.Parallel()
	e := start(t, enginetest.SQLite, widget.Options{})
	r := e.Must(http.StatusOK, "GET", "/widget.js", "", nil)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") {
		t.Errorf("Content-Type = %q", ct)
	}
	if !bytes.Equal(r.Body, widget.Script()) || len(r.Body) == 0 {
		t.Error("GET /widget.js is not the embedded script")
	}
	if len(r.Body) > 15<<10 {
		t.Errorf("widget.js is %d bytes, over the 15 KB budget", len(r.Body))
	}
	// No CDN, no loaded code: the only URL in it is the example in its opening comment.
	if n := bytes.Count(r.Body, []byte("://")); n != 1 || bytes.Contains(r.Body, []byte("import(")) || bytes.Contains(r.Body, []byte("eval(")) {
		t.Errorf("widget.js names %d URLs or loads code", n)
	}
	etag := r.Header.Get("ETag")
	if etag == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers = %v", r.Header)
	}
	e.Must(http.StatusNotModified, "GET", "/widget.js", "", nil, "If-None-Match", etag)
	if got := widget.Snippet("https://parley.example/", "abc"); got != `<script src="https://parley.example/widget.js" data-assistant="abc" async></script>` {
		t.Errorf("Snippet = %s", got)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, widget.Options{})
		e.settings(e.A, `{"channels": {"widget": {"allowed_origins": ["`+shop+`"]}}}`)

		r := e.w("POST", e.A.ID, "/sessions", shop, "", map[string]any{
			"name": "  Ada Lovelace ", "email": "ada@example.com", "url": shop + "/pricing?plan=pro#faq",
		})
		if r.Status != http.StatusCreated {
			t.Fatalf("start: %d %s", r.Status, r.Body)
		}
		if r.Header.Get("Access-Control-Allow-Origin") != shop || !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("CORS headers = %v", r.Header)
		}
		out := r.Map(t)
		token, _ := out["token"].(string)
		id, _ := out["conversation_id"].(string)
		if !strings.HasPrefix(token, widget.TokenPrefix) || len(token) < 40 || strings.HasPrefix(token, auth.Prefix) {
			t.Errorf("token = %q, want a pws_ session token", token)
		}
		if _, err := strconv.ParseInt(out["cursor"].(string), 10, 64); err != nil {
			t.Errorf("cursor = %v", out["cursor"])
		}
		// Only the hash is stored, and it finds the session.
		ws, err := e.Store.WidgetSession(context.Background(), e.A.ID, auth.Hash(token))
		if err != nil || ws.ConversationID != id {
			t.Fatalf("WidgetSession by the token's hash = %+v, %v", ws, err)
		}

		// The API shows the conversation: source widget, the page URL, the pre-chat fields.
		c := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id, e.A.Read, nil).Map(t)
		for k, want := range map[string]any{"source": "widget", "url": shop + "/pricing?plan=pro#faq", "visitor_name": "Ada Lovelace",
			"visitor_email": "ada@example.com", "supports_inbox_control": true} {
			if c[k] != want {
				t.Errorf("conversation %s = %v, want %v", k, c[k], want)
			}
		}

		// Pre-chat fields are optional; a page URL that is not http(s) is dropped.
		_, id2, _ := e.session(e.A.ID, shop, map[string]any{"url": "javascript:alert(1)"})
		c2 := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id2, e.A.Read, nil).Map(t)
		if c2["url"] != nil || c2["visitor_name"] != nil || c2["visitor_email"] != nil {
			t.Errorf("conversation without pre-chat fields = %v", c2)
		}

		// Refused bodies store nothing.
		for _, bad := range []struct {
			body   any
			status int
			field  string
		}{
			{map[string]any{"email": "not an email"}, 422, "email"},
			{map[string]any{"email": "Ada <ada@example.com>"}, 422, "email"},
			{map[string]any{"name": strings.Repeat("n", 201)}, 422, "name"},
			{map[string]any{"name": 42}, 422, "name"},
			{"{not json", 400, "body"},
			{"[]", 400, "body"},
			{`{"name": "` + strings.Repeat("x", 20000) + `"}`, 413, "root"},
		} {
			r := e.w("POST", e.A.ID, "/sessions", shop, "", bad.body)
			if r.Status != bad.status || !bytes.Contains(r.Body, []byte(`"`+bad.field+`"`)) {
				t.Errorf("start with %v: %d %s, want %d naming %s", bad.body, r.Status, r.Body, bad.status, bad.field)
			}
		}
		list := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations?source=widget", e.A.Read, nil).Map(t)
		if list["count"] != float64(2) {
			t.Errorf("%v widget conversations, want 2", list["count"])
		}

		// Unknown and malformed assistants are 404.
		for _, a := range []string{"00000000-0000-4000-8000-000000000000", "nope"} {
			if r := e.w("POST", a, "/sessions", shop, "", "{}"); r.Status != http.StatusNotFound {
				t.Errorf("start on assistant %s: %d", a, r.Status)
			}
		}
		if r := e.w("GET", e.A.ID, "/nothing", shop, "", nil); r.Status != http.StatusNotFound {
			t.Errorf("unknown widget path: %d", r.Status)
		}
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, widget.Options{})
		e.settings(e.A, `{"channels": {"widget": {"allowed_origins": ["`+shop+`/", "http://localhost:3000"]}}}`)
		token, _, _ := e.session(e.A.ID, shop, "{}")

		// Refused origins get 403 on every endpoint, preflights included, and no CORS header.
		for _, origin := range []string{other, "", "null", "https://shop.example.evil.com", "http://shop.example"} {
			for _, c := range []struct{ method, path, token string }{
				{"POST", "/sessions", ""}, {"GET", "/messages", token}, {"POST", "/messages", token},
				{"GET", "/stream?token=" + token, ""}, {"OPTIONS", "/sessions", ""}, {"OPTIONS", "/messages", ""},
			} {
				var body any
				if c.method == "POST" {
					body = `{"content": "hi"}`
				}
				r := e.w(c.method, e.A.ID, c.path, origin, c.token, body, "Access-Control-Request-Method", "POST")
				if r.Status != http.StatusForbidden || r.Header.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("%s %s from %q: %d (ACAO %q), want 403", c.method, c.path, origin, r.Status, r.Header.Get("Access-Control-Allow-Origin"))
				}
			}
		}
		if h := e.Must(http.StatusOK, "GET", "/widget/"+e.A.ID+"/messages", token, nil, "Origin", shop).Map(t); len(h["messages"].([]any)) != 0 {
			t.Errorf("refused requests wrote messages: %v", h)
		}

		// An allowed origin (compared without case, default port or slash) gets its preflight.
		for _, origin := range []string{shop, "HTTPS://Shop.Example:443", "http://localhost:3000"} {
			r := e.w("OPTIONS", e.A.ID, "/messages", origin, "", nil, "Access-Control-Request-Method", "POST",
				"Access-Control-Request-Headers", "authorization,content-type")
			if r.Status != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != origin ||
				!strings.Contains(r.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
				!strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") {
				t.Errorf("preflight from %s: %d %v", origin, r.Status, r.Header)
			}
		}

		// An empty list allows any origin (B has none).
		for _, origin := range []string{other, ""} {
			r := e.w("POST", e.B.ID, "/sessions", origin, "", "{}")
			if r.Status != http.StatusCreated || r.Header.Get("Access-Control-Allow-Origin") != origin {
				t.Errorf("start on B from %q: %d, ACAO %q", origin, r.Status, r.Header.Get("Access-Control-Allow-Origin"))
			}
		}
	})
}

func TestMessagesAndHistory(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, widget.Options{})
		token, id, _ := e.session(e.A.ID, shop, map[string]any{"name": "Ada"})

		// The author is always the visitor, whatever the body says.
		r := e.w("POST", e.A.ID, "/messages", shop, token, map[string]any{"content": "Hello, is anyone there?", "author": "human_operator"})
		if r.Status != http.StatusCreated {
			t.Fatalf("post: %d %s", r.Status, r.Body)
		}
		m := r.Map(t)
		if m["author"] != "visitor" || m["content"] != "Hello, is anyone there?" || m["id"] == "" || m["ord"] != float64(1) {
			t.Errorf("posted message = %v", m)
		}
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{"author": "human_operator", "content": "Hi Ada!"})

		h := e.Must(http.StatusOK, "GET", "/widget/"+e.A.ID+"/messages", token, nil, "Origin", shop).Map(t)
		msgs := h["messages"].([]any)
		if len(msgs) != 2 || h["conversation_id"] != id || h["visitor_name"] != "Ada" {
			t.Fatalf("history = %v", h)
		}
		for i, want := range []struct{ author, content string }{{"visitor", "Hello, is anyone there?"}, {"human_operator", "Hi Ada!"}} {
			got := msgs[i].(map[string]any)
			if got["author"] != want.author || got["content"] != want.content {
				t.Errorf("history[%d] = %v, want %+v", i, got, want)
			}
			for _, k := range []string{"id", "ord", "created_at"} {
				if _, ok := got[k]; !ok {
					t.Errorf("history[%d] has no %s", i, k)
				}
			}
			if _, ok := got["message_insights"]; ok {
				t.Errorf("history[%d] shows internal fields: %v", i, got)
			}
		}
		// The visitor's message is in the conversation, as the visitor's.
		c := e.Must(http.StatusOK, "GET", "/v1/api_core/conversations/"+id, e.A.Read, nil).Map(t)
		if c["last_visitor_message_at"] == nil || c["last_message_content"] != "Hi Ada!" {
			t.Errorf("conversation after the messages = %v", c)
		}

		// Bad messages.
		for _, bad := range []struct {
			body   any
			status int
		}{
			{map[string]any{"content": "   "}, 422}, {map[string]any{}, 422}, {map[string]any{"content": strings.Repeat("a", widget.MaxMessageBytes+1)}, 422},
			{map[string]any{"content": 1}, 422}, {"nope", 400},
		} {
			if r := e.w("POST", e.A.ID, "/messages", shop, token, bad.body); r.Status != bad.status {
				t.Errorf("post %v: %d %s, want %d", bad.body, r.Status, r.Body, bad.status)
			}
		}

		// Without a session, with an API token, with a made-up one: 401.
		for _, tok := range []string{"", e.A.Write, widget.TokenPrefix + "made-up", token + "x"} {
			for _, c := range []struct{ method, path string }{{"GET", "/messages"}, {"POST", "/messages"}} {
				if r := e.w(c.method, e.A.ID, c.path, shop, tok, `{"content": "x"}`); r.Status != http.StatusUnauthorized {
					t.Errorf("%s %s with token %.12q: %d", c.method, c.path, tok, r.Status)
				}
			}
		}
		if r := e.w("GET", e.A.ID, "/stream", shop, "", nil); r.Status != http.StatusUnauthorized {
			t.Errorf("stream without a token: %d", r.Status)
		}

		// A session holds one conversation: another visitor's token reads only its own, and a
		// token of assistant A means nothing at assistant B.
		token2, id2, _ := e.session(e.A.ID, shop, "{}")
		e.w("POST", e.A.ID, "/messages", shop, token2, map[string]any{"content": "second visitor"})
		h2 := e.Must(http.StatusOK, "GET", "/widget/"+e.A.ID+"/messages", token2, nil, "Origin", shop).Map(t)
		if h2["conversation_id"] != id2 || len(h2["messages"].([]any)) != 1 || h2["messages"].([]any)[0].(map[string]any)["content"] != "second visitor" {
			t.Errorf("second visitor's history = %v", h2)
		}
		if r := e.w("GET", e.B.ID, "/messages", shop, token, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("A's session at B: %d", r.Status)
		}
		s := e.openStream(e.B.ID, shop, token, "", "")
		if s.res.StatusCode != http.StatusUnauthorized {
			t.Errorf("A's session streaming at B: %d", s.res.StatusCode)
		}
	})
}

func TestStream(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, widget.Options{Poll: 50 * time.Millisecond})
		e.settings(e.A, `{"channels": {"widget": {"allowed_origins": ["`+shop+`"]}}, "link_tracking": true}`)
		token, id, cursor := e.session(e.A.ID, shop, "{}")
		other, otherID, _ := e.session(e.A.ID, shop, "{}")

		s := e.openStream(e.A.ID, shop, token, "&after="+cursor, "")
		if s.res.StatusCode != http.StatusOK || s.res.Header.Get("Content-Type") != "text/event-stream" ||
			s.res.Header.Get("Access-Control-Allow-Origin") != shop {
			t.Fatalf("stream: %d %v", s.res.StatusCode, s.res.Header)
		}
		reply := func(content string) {
			e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{"author": "human_operator", "content": content})
		}
		// An operator's reply through the API, with a tracked link.
		reply("Here you go: https://docs.example.com/returns")
		ev := s.next(t)
		m := message(t, ev)
		if m["author"] != "human_operator" || !strings.HasPrefix(m["content"].(string), "Here you go: "+e.URL+"/l/") {
			t.Errorf("streamed reply = %v", m)
		}
		first, err := strconv.ParseInt(ev.ID, 10, 64)
		if err != nil {
			t.Fatalf("event id %q is not a change seq", ev.ID)
		}
		// The visitor's own message comes too (another tab shows it); another conversation's
		// messages do not.
		e.w("POST", e.A.ID, "/messages", shop, other, map[string]any{"content": "not yours"})
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+otherID+"/messages", e.A.Write, map[string]any{"author": "ai_assistant", "content": "not yours either"})
		e.w("POST", e.A.ID, "/messages", shop, token, map[string]any{"content": "thanks"})
		if m := message(t, s.next(t)); m["author"] != "visitor" || m["content"] != "thanks" {
			t.Errorf("streamed visitor message = %v", m)
		}
		s.none(t, 300*time.Millisecond)
		s.close()

		// Replies while the browser was away come on reconnect (Last-Event-ID), in order,
		// without the ones it had.
		reply("one")
		reply("two")
		s2 := e.openStream(e.A.ID, shop, token, "&after="+cursor, strconv.FormatInt(first, 10))
		got := []string{}
		var lastID int64
		for i := 0; i < 3; i++ {
			ev := s2.next(t)
			got = append(got, message(t, ev)["content"].(string))
			id, _ := strconv.ParseInt(ev.ID, 10, 64)
			if id <= lastID {
				t.Errorf("event ids not increasing: %d after %d", id, lastID)
			}
			lastID = id
		}
		if strings.Join(got, "|") != "thanks|one|two" {
			t.Errorf("resumed stream = %q, want thanks|one|two", got)
		}
		// ...and live ones after that.
		reply("three")
		if m := message(t, s2.next(t)); m["content"] != "three" {
			t.Errorf("live after resume = %v", m)
		}
		s2.none(t, 200*time.Millisecond)

		// Deleting the conversation ends the stream and the session.
		e.Must(http.StatusNoContent, "DELETE", "/v1/api_core/conversations/"+id, e.A.Write, nil)
		if ev := s2.next(t); ev.Event != "end" {
			t.Errorf("after the deletion: %+v, want end", ev)
		}
		if r := e.w("GET", e.A.ID, "/messages", shop, token, nil); r.Status != http.StatusUnauthorized {
			t.Errorf("history of a deleted conversation: %d", r.Status)
		}
	})
}

// TestStreamWakesOnCommit: with the change feed, a reply written in this process reaches the
// stream at once, not at the next poll (here: never).
func TestStreamWakesOnCommit(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := start(t, open, widget.Options{Poll: time.Hour, Changes: changefeed.New()})
		token, id, cursor := e.session(e.A.ID, "", "{}")
		s := e.openStream(e.A.ID, "", token, "&after="+cursor, "")
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{"author": "ai_assistant", "content": "at once"})
		if m := message(t, s.next(t)); m["content"] != "at once" {
			t.Errorf("streamed = %v", m)
		}
	})
}

// TestStreamLimits: a stream resuming from too far back is told to reload the history; one
// client address has a bounded number of streams open.
func TestStreamLimits(t *testing.T) {
	t.Parallel()
	e := start(t, enginetest.SQLite, widget.Options{Poll: 50 * time.Millisecond, MaxCatchUp: 2, MaxStreamsPerAddr: 2})
	token, id, cursor := e.session(e.A.ID, "", "{}")
	for _, c := range []string{"one", "two", "three"} {
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", e.A.Write, map[string]any{"author": "ai_assistant", "content": c})
	}
	s := e.openStream(e.A.ID, "", token, "&after="+cursor, "")
	ev := s.next(t)
	last, _ := e.Store.LastChangeSeq(context.Background(), e.A.ID)
	if ev.Event != "reset" || ev.ID != strconv.FormatInt(last, 10) {
		t.Errorf("resuming 3+ entries back with MaxCatchUp 2: %+v, want reset at %d", ev, last)
	}
	e.openStream(e.A.ID, "", token, "", "")
	if third := e.openStream(e.A.ID, "", token, "", ""); third.res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a third stream from one address: %d", third.res.StatusCode)
	}
	s.close()
	// Once the server has noticed the closed stream, there is room for another.
	deadline := time.Now().Add(5 * time.Second)
	for {
		again := e.openStream(e.A.ID, "", token, "", "")
		if again.res.StatusCode == http.StatusOK {
			break
		}
		again.close()
		if time.Now().After(deadline) {
			t.Fatalf("a stream after one closed: %d", again.res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStreamEndsOnShutdown(t *testing.T) {
	t.Parallel()
	done := make(chan struct{})
	e := start(t, enginetest.SQLite, widget.Options{Done: done, Heartbeat: 50 * time.Millisecond})
	token, _, _ := e.session(e.A.ID, "", "{}")
	s := e.openStream(e.A.ID, "", token, "", "")
	close(done)
	select {
	case _, ok := <-s.events:
		for ok {
			_, ok = <-s.events
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the stream outlived the server's shutdown signal")
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	e := start(t, enginetest.SQLite, widget.Options{
		Sessions: widget.Limit{Every: time.Hour, Burst: 2}, Messages: widget.Limit{Every: time.Hour, Burst: 3},
	})
	token, _, _ := e.session(e.A.ID, "", "{}")
	token2, _, _ := e.session(e.A.ID, "", "{}")
	r := e.w("POST", e.A.ID, "/sessions", "", "", "{}")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("third session from one address: %d %v", r.Status, r.Header)
	}
	for i := 0; i < 3; i++ {
		if r := e.w("POST", e.A.ID, "/messages", "", token, `{"content": "hi"}`); r.Status != http.StatusCreated {
			t.Fatalf("message %d: %d", i, r.Status)
		}
	}
	if r := e.w("POST", e.A.ID, "/messages", "", token, `{"content": "hi"}`); r.Status != http.StatusTooManyRequests {
		t.Errorf("fourth message of a session: %d", r.Status)
	}
	if r := e.w("POST", e.A.ID, "/messages", "", token2, `{"content": "hi"}`); r.Status != http.StatusCreated {
		t.Errorf("another session's message: %d", r.Status)
	}
}
