package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

const streamP = "/v1/api_core/stream"

// sseEvent is one event of a stream; comments are the comment lines seen before it.
type sseEvent struct {
	ID, Event, Data string
	Comments        []string
}

// sseClient reads a live stream.
type sseClient struct {
	res    *http.Response
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{}
}

// openStream opens the stream; header holds name, value pairs.
func openStream(t *testing.T, e *apitest.Env, token, query string, header ...string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", e.URL+streamP+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		t.Fatalf("GET %s: %d %s", streamP+query, res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	c := &sseClient{res: res, events: make(chan sseEvent, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.events)
		rd := bufio.NewReader(res.Body)
		var ev sseEvent
		for {
			line, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.Data != "" || len(ev.Comments) > 0 {
					c.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, ":"):
				ev.Comments = append(ev.Comments, strings.TrimSpace(line[1:]))
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "id":
					ev.ID = v
				case "event":
					ev.Event = v
				case "data":
					ev.Data += v
				}
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() {
	c.cancel()
	c.res.Body.Close()
	<-c.done
}

// opening returns the stream's opening block: comments and the id the stream starts after,
// without data.
func (c *sseClient) opening(t *testing.T) sseEvent {
	t.Helper()
	select {
	case ev, ok := <-c.events:
		if !ok {
			t.Fatal("the stream ended")
		}
		if ev.Data != "" || len(ev.Comments) == 0 || !strings.HasPrefix(ev.Comments[0], "streaming the changes of assistant ") {
			t.Errorf("opening block %+v", ev)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no opening block within 10s")
	}
	return sseEvent{}
}

// next returns the next event with data (skipping comments), failing after a while.
func (c *sseClient) next(t *testing.T) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-c.events:
			if !ok {
				t.Fatal("the stream ended")
			}
			if ev.Data != "" {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within 10s")
		}
	}
}

// quiet checks that no event with data comes for a moment.
func (c *sseClient) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-c.events:
			if ok && ev.Data != "" {
				t.Errorf("unexpected event %s %s: %s", ev.ID, ev.Event, ev.Data)
			}
			if !ok {
				return
			}
		case <-timeout:
			return
		}
	}
}

// checkEvent checks an event against the change log entry it should carry.
func checkEvent(t *testing.T, ev sseEvent, assistantID string) map[string]any {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal([]byte(ev.Data), &body); err != nil {
		t.Fatalf("event data is not JSON: %s", ev.Data)
	}
	keysAre(t, "stream event", body, "id", "type", "created_at", "assistant_id", "actor", "data")
	if body["id"] != ev.ID || body["type"] != ev.Event || body["assistant_id"] != assistantID {
		t.Errorf("event id %s, event %s: body %s", ev.ID, ev.Event, ev.Data)
	}
	return body
}

func TestStream(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		A, B := e.A, e.B
		s := openStream(t, e, A.Read, "")
		if start, err := e.Store.LastChangeSeq(t.Context(), A.ID); err != nil || s.opening(t).ID != strconv.FormatInt(start, 10) {
			t.Errorf("the opening block's id is not %d, where the stream starts (%v)", start, err)
		}
		id := obj(t, call(t, e, http.StatusCreated, "POST", convs, A.Write, map[string]any{"source": "api"}))["id"].(string)
		call(t, e, http.StatusCreated, "POST", messages(id), A.Write, map[string]any{"author": "visitor", "content": "Hello"})
		call(t, e, http.StatusCreated, "POST", convs, B.Write, map[string]any{"source": "api"}) // never on A's stream

		created := s.next(t)
		body := checkEvent(t, created, A.ID)
		if created.Event != "conversation.created" || body["data"].(map[string]any)["conversation"].(map[string]any)["id"] != id ||
			body["actor"].(map[string]any)["type"] != "api_token" {
			t.Errorf("first event: %+v", created)
		}
		checkShape(t, "stream conversation", body["data"].(map[string]any)["conversation"].(map[string]any), referenceDetail)
		msg := s.next(t)
		body = checkEvent(t, msg, A.ID)
		if m, _ := body["data"].(map[string]any)["message"].(map[string]any); msg.Event != "message.created" || m["content"] != "Hello" {
			t.Errorf("second event: %+v", msg)
		} else {
			checkShape(t, "stream message", m, referenceMessage)
		}
		if a, _ := strconv.Atoi(created.ID); a <= 0 || atoi(msg.ID) <= a {
			t.Errorf("ids %s then %s", created.ID, msg.ID)
		}
		s.quiet(t, 300*time.Millisecond)
		s.close()

		// Changes while disconnected; resume from the last id seen.
		call(t, e, http.StatusOK, "PATCH", conv(id), A.Write, map[string]any{"resolution_status": "resolved"})
		call(t, e, http.StatusOK, "POST", metadata(id), A.Write, map[string]any{"plan": "pro"})
		call(t, e, http.StatusCreated, "POST", convs, B.Write, map[string]any{"source": "api"})
		last, _ := strconv.ParseInt(msg.ID, 10, 64)
		want, err := e.Store.Changes(t.Context(), A.ID, last, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) != 4 { // updated, resolved, updated, metadata.updated
			t.Fatalf("the log has %d changes since %d, want 4: %+v", len(want), last, want)
		}
		for _, resume := range []struct{ query, header string }{{"", msg.ID}, {"?last_event_id=" + msg.ID, ""}} {
			var r *sseClient
			if resume.header != "" {
				r = openStream(t, e, A.Read, "", "Last-Event-ID", resume.header)
			} else {
				r = openStream(t, e, A.Read, resume.query)
			}
			if o := r.opening(t); o.ID != msg.ID {
				t.Errorf("resumed after %s: the opening block's id is %q", msg.ID, o.ID)
			}
			for _, ch := range want {
				ev := r.next(t)
				b := checkEvent(t, ev, A.ID)
				if ev.ID != strconv.FormatInt(ch.Seq, 10) || ev.Event != ch.Type {
					t.Errorf("resumed: event %s %s, want %d %s", ev.ID, ev.Event, ch.Seq, ch.Type)
				}
				d := b["data"].(map[string]any)
				switch ch.Type {
				case "conversation.updated":
					if d["fields"] == nil {
						t.Errorf("conversation.updated without fields: %s", ev.Data)
					}
				case "metadata.updated":
					if keys, _ := d["keys"].([]any); len(keys) != 1 || keys[0] != "plan" {
						t.Errorf("metadata.updated keys: %s", ev.Data)
					}
				}
			}
			r.quiet(t, 300*time.Millisecond)
			r.close()
		}
		// From the start of the log, through the Go client, which resumes with the same
		// header; a write token reads too.
		all, _ := e.Store.Changes(t.Context(), A.ID, 0, 100)
		var got []client.StreamEvent
		for ev, err := range clientOf(t, e, A.Write).Stream.Subscribe(t.Context(), client.StreamOptions{LastEventID: "0"}) {
			if err != nil {
				t.Fatal(err)
			}
			if got = append(got, ev); len(got) == len(all) {
				break
			}
		}
		for i, ch := range all {
			ev := got[i]
			if ev.ID != strconv.FormatInt(ch.Seq, 10) || ev.Type != ch.Type || ev.AssistantID != A.ID || ev.Data.Conversation.ID != ch.ConversationID {
				t.Errorf("from 0: event %s %s, want %d %s", ev.ID, ev.Type, ch.Seq, ch.Type)
			}
			var raw map[string]any
			if err := json.Unmarshal(ev.Raw, &raw); err != nil || raw["id"] != ev.ID {
				t.Errorf("from 0: event %s carries %s", ev.ID, ev.Raw)
			}
		}
		refused := false
		for _, err := range clientOf(t, e, A.Read).Stream.Subscribe(t.Context(), client.StreamOptions{LastEventID: "-1"}) {
			clientError(t, "Subscribe(-1)", err, http.StatusBadRequest, "BAD_REQUEST", "Last-Event-ID")
			refused = true
		}
		if !refused {
			t.Error("Subscribe(-1) ended without an error")
		}

		// Mistakes.
		wantError(t, e.Do("GET", streamP, A.Read, nil, "Last-Event-ID", "abc"), http.StatusBadRequest, "Last-Event-ID", "BAD_REQUEST")
		wantError(t, e.Do("GET", streamP+"?last_event_id=-1", A.Read, nil), http.StatusBadRequest, "last_event_id", "BAD_REQUEST")
		wantError(t, e.Do("GET", streamP, "", nil), http.StatusUnauthorized, "root", "PERMISSION_DENIED")
		wantError(t, e.Do("POST", streamP, A.Write, nil), http.StatusMethodNotAllowed, "root", "METHOD_NOT_ALLOWED")
	})
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// TestStreamHeartbeat: heartbeats keep an idle stream alive; the initial request counts
// against the read rate limit.
func TestStreamHeartbeat(t *testing.T) {
	t.Parallel()
	e := apitest.Start(t, enginetest.SQLite, &api.Config{StreamHeartbeat: 50 * time.Millisecond, RateLimits: api.RateLimits{2, 100, 100}})
	s := openStream(t, e, e.A.Read, "")
	beats := 0
	timeout := time.After(5 * time.Second)
	for beats < 3 {
		select {
		case ev := <-s.events:
			for _, c := range ev.Comments {
				if c == "heartbeat" {
					beats++
				}
			}
		case <-timeout:
			t.Fatalf("%d heartbeats in 5s", beats)
		}
	}
	openStream(t, e, e.A.Read, "")
	wantError(t, e.Do("GET", streamP, e.A.Read, nil), http.StatusTooManyRequests, "root", "TOO_MANY_REQUESTS")
}
