package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// cutter is a transport whose connections a test can cut, and hold off while cut: a network
// that fails between the client and the real server. It records each stream request's
// Last-Event-ID header.
type cutter struct {
	mu      sync.Mutex
	conns   []net.Conn
	held    chan struct{} // closed when connecting is allowed again; nil: not held
	opened  chan struct{} // gets a value when a stream request has its answer
	lastIDs []string
	base    http.RoundTripper
}

func newCutter() *cutter {
	c := &cutter{opened: make(chan struct{}, 100)}
	dial := &net.Dialer{}
	c.base = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c.mu.Lock()
		held := c.held
		c.mu.Unlock()
		if held != nil {
			select {
			case <-held:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		conn, err := dial.DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()
		}
		return conn, err
	}}
	return c
}

func (c *cutter) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := c.base.RoundTrip(req)
	if err == nil && res.StatusCode == http.StatusOK {
		c.mu.Lock()
		c.lastIDs = append(c.lastIDs, req.Header.Get("Last-Event-ID"))
		c.mu.Unlock()
		c.opened <- struct{}{}
	}
	return res, err
}

// cut closes every connection and holds new ones off until release.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = make(chan struct{})
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cutter) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.held)
	c.held = nil
}

// waitOpen waits for the next stream request to be answered and returns its Last-Event-ID.
func (c *cutter) waitOpen(t *testing.T) string {
	t.Helper()
	select {
	case <-c.opened:
	case <-time.After(15 * time.Second):
		t.Fatal("the stream did not (re)connect within 15s")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastIDs[len(c.lastIDs)-1]
}

// subscription runs Subscribe in the background.
type subscription struct {
	events chan client.StreamEvent
	err    chan error // the error it yielded, or nil when it ended without one
	cancel context.CancelFunc
}

func subscribe(t *testing.T, c *client.Client, opts client.StreamOptions) *subscription {
	ctx, cancel := context.WithCancel(t.Context())
	s := &subscription{events: make(chan client.StreamEvent, 100), err: make(chan error, 1), cancel: cancel}
	go func() {
		for ev, err := range c.Stream.Subscribe(ctx, opts) {
			if err != nil {
				s.err <- err
				return
			}
			s.events <- ev
		}
		s.err <- nil
	}()
	t.Cleanup(cancel)
	return s
}

// next returns the next event, failing after 15 seconds.
func (s *subscription) next(t *testing.T) client.StreamEvent {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case err := <-s.err:
		t.Fatalf("the subscription ended: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("no event within 15s")
	}
	return client.StreamEvent{}
}

// quiet checks that no event comes for a moment.
func (s *subscription) quiet(t *testing.T) {
	t.Helper()
	select {
	case ev := <-s.events:
		t.Errorf("unexpected event %s %s", ev.ID, ev.Type)
	case <-time.After(300 * time.Millisecond):
	}
}

// brief shows an event in tests' messages.
func brief(ev client.StreamEvent) string { return ev.ID + " " + ev.Type + " " + string(ev.Raw) }

// wantLog checks that events are exactly the change log of the assistant after seq after.
func wantLog(t *testing.T, e *apitest.Env, after string, events []client.StreamEvent) {
	t.Helper()
	seq, _ := strconv.ParseInt(after, 10, 64)
	log, err := e.Store.Changes(t.Context(), e.A.ID, seq, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, ch := range log {
		want = append(want, strconv.FormatInt(ch.Seq, 10)+" "+ch.Type)
	}
	for _, ev := range events {
		got = append(got, ev.ID+" "+ev.Type)
	}
	if !slices.Equal(got, want) {
		t.Errorf("events after %s:\n %v\nthe change log:\n %v", after, got, want)
	}
}

// TestStream: a subscription sees every change of its assistant once, in order, across
// connections cut before its first event and in the middle, resuming with Last-Event-ID;
// a new subscription resumes from an id kept from an earlier one.
func TestStream(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		ev := start(t, open, nil)
		e, w, ctx := ev.e, ev.w, t.Context()
		link := newCutter()
		r, err := client.New(e.URL, e.A.Read, client.WithHTTPClient(&http.Client{Transport: link}))
		if err != nil {
			t.Fatal(err)
		}
		sub := subscribe(t, r, client.StreamOptions{RetryDelay: 20 * time.Millisecond})
		if id := link.waitOpen(t); id != "" {
			t.Errorf("the first request has Last-Event-ID %q", id)
		}
		start, err := e.Store.LastChangeSeq(ctx, e.A.ID)
		if err != nil {
			t.Fatal(err)
		}

		// Cut before the first event: what changes meanwhile still comes.
		link.cut()
		conv, _, err := w.Conversations.Create(ctx, client.NewConversation{Source: client.SourceAPI})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := w.Conversations.AppendMessage(ctx, conv.ID, client.NewMessage{Author: client.AuthorVisitor, Content: "Hello"}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ev.other.Conversations.Create(ctx, client.NewConversation{Source: client.SourceAPI}); err != nil { // never on A's stream
			t.Fatal(err)
		}
		link.release()
		if id := link.waitOpen(t); id != strconv.FormatInt(start, 10) {
			t.Errorf("reconnected with Last-Event-ID %q, want %d, where the stream started", id, start)
		}
		var got []client.StreamEvent
		created, msg := sub.next(t), sub.next(t)
		got = append(got, created, msg)
		if created.Type != client.ChangeConversationCreated || created.Data.Conversation.ID != conv.ID || created.Actor.Type != "api_token" ||
			created.AssistantID != e.A.ID || created.CreatedAt.IsZero() || created.Data.Conversation.Source != client.SourceAPI {
			t.Errorf("first event: %s", brief(created))
		}
		if msg.Type != client.ChangeMessageCreated || msg.Data.Message == nil || msg.Data.Message.Content != "Hello" || msg.Data.Message.Author != client.AuthorVisitor {
			t.Errorf("second event: %s", brief(msg))
		}
		var raw map[string]any
		if err := json.Unmarshal(msg.Raw, &raw); err != nil || raw["id"] != msg.ID || raw["type"] != msg.Type {
			t.Errorf("Raw %s (%v)", msg.Raw, err)
		}

		// Live, then cut in the middle: resumes after the last event it yielded.
		if _, err := w.Conversations.SetMetadata(ctx, conv.ID, map[string]any{"plan": "pro"}); err != nil {
			t.Fatal(err)
		}
		updated, meta := sub.next(t), sub.next(t)
		got = append(got, updated, meta)
		if updated.Type != client.ChangeConversationUpdated || !slices.Equal(updated.Data.Fields, []string{"client_metadata"}) ||
			meta.Type != client.ChangeMetadataUpdated || !slices.Equal(meta.Data.Keys, []string{"plan"}) || meta.Data.Conversation.ClientMetadata["plan"] != "pro" {
			t.Errorf("metadata events: %s, %s", brief(updated), brief(meta))
		}
		link.cut()
		if _, err := w.Conversations.Update(ctx, conv.ID, client.ConversationPatch{ResolutionStatus: client.Ptr(client.StatusResolved)}); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			if _, _, err := w.Conversations.AppendMessage(ctx, conv.ID, client.NewMessage{Author: client.AuthorAI, Content: "reply " + strconv.Itoa(i)}); err != nil {
				t.Fatal(err)
			}
		}
		link.release()
		if id := link.waitOpen(t); id != meta.ID {
			t.Errorf("reconnected with Last-Event-ID %q, want %s, the last event seen", id, meta.ID)
		}
		for range 5 { // updated, resolved, three messages
			got = append(got, sub.next(t))
		}
		sub.quiet(t)
		wantLog(t, e, strconv.FormatInt(start, 10), got)
		if u := got[4]; u.Type != client.ChangeConversationUpdated || !slices.Contains(u.Data.Fields, "resolution_status") {
			t.Errorf("conversation.updated: %s", brief(u))
		}

		// Stop; later, a new subscription resumes from the last id handled.
		sub.cancel()
		if err := <-sub.err; err != nil {
			t.Errorf("a cancelled subscription yielded %v", err)
		}
		last := got[len(got)-1].ID
		if err := w.Conversations.Delete(ctx, conv.ID); err != nil {
			t.Fatal(err)
		}
		var resumed []client.StreamEvent
		for ev, err := range r.Stream.Subscribe(ctx, client.StreamOptions{LastEventID: last}) {
			if err != nil {
				t.Fatal(err)
			}
			resumed = append(resumed, ev)
			break // the loop can end the subscription
		}
		link.waitOpen(t)
		wantLog(t, e, last, resumed)
		if len(resumed) != 1 || resumed[0].Type != client.ChangeConversationDeleted || resumed[0].Data.Conversation.ID != conv.ID {
			t.Errorf("resumed: %d events", len(resumed))
		}
		// From the oldest change kept; a write token reads too.
		whole, err := e.Store.Changes(ctx, e.A.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var all []client.StreamEvent
		for ev, err := range w.Stream.Subscribe(ctx, client.StreamOptions{LastEventID: "0"}) {
			if err != nil {
				t.Fatal(err)
			}
			if all = append(all, ev); len(all) == len(whole) {
				break
			}
		}
		if len(whole) < len(got)+1 {
			t.Errorf("the change log has %d entries, the stream yielded %d", len(whole), len(got)+1)
		}
		wantLog(t, e, "0", all)
	})
}

// TestStreamErrors: refusals end a subscription with the *client.Error; unreachable servers
// after MaxFailures; cancelling ends it without an error.
func TestStreamErrors(t *testing.T) {
	t.Parallel()
	ev := start(t, enginetest.SQLite, &api.Config{RateLimits: api.RateLimits{1, 100, 100}})
	ctx := t.Context()
	first := func(c *client.Client, opts client.StreamOptions) error {
		t.Helper()
		for ev, err := range c.Stream.Subscribe(ctx, opts) {
			if err == nil {
				t.Fatalf("an event %s", brief(ev))
			}
			return err
		}
		return nil
	}
	err := first(ev.r, client.StreamOptions{LastEventID: "abc"})
	wantError(t, "Subscribe(bad LastEventID)", err, 400, client.CodeBadRequest, "Last-Event-ID")
	bad, _ := client.New(ev.e.URL, "prly_not-a-token")
	wantError(t, "Subscribe(bad token)", first(bad, client.StreamOptions{}), 401, client.CodePermissionDenied, "root")

	// Rate limited: a failure like any other (retried after Retry-After; see backoff's test).
	if e := wantError(t, "Subscribe(rate limited)", first(ev.r, client.StreamOptions{MaxFailures: 1}), 429, client.CodeTooManyRequests, "root"); e.RetryAfter == 0 {
		t.Error("no Retry-After")
	}

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	down, _ := client.New("http://"+ln.Addr().String(), "t")
	began := time.Now()
	err = first(down, client.StreamOptions{MaxFailures: 3, RetryDelay: 10 * time.Millisecond})
	var ne *net.OpError
	if !errors.As(err, &ne) {
		t.Errorf("Subscribe(nothing listening): %v", err)
	}
	if took := time.Since(began); took < 30*time.Millisecond { // 10ms, then 20ms
		t.Errorf("three attempts took %s: no backoff", took)
	}
	// Not an event stream: not retried.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html>a login page</html>"))
	}))
	defer page.Close()
	html, _ := client.New(page.URL, "t")
	if err := first(html, client.StreamOptions{}); err == nil {
		t.Error("an HTML page taken for a stream")
	}
	// Not valid data: an error, not a reconnection.
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("id: 7\nevent: message.created\ndata: {not json\n\n"))
	}))
	defer junk.Close()
	j, _ := client.New(junk.URL, "t")
	if err := first(j, client.StreamOptions{}); err == nil {
		t.Error("an event that is not JSON was accepted")
	}

	// Cancelled: ends without an error, also while waiting to retry.
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	for _, err := range down.Stream.Subscribe(cctx, client.StreamOptions{RetryDelay: time.Hour}) {
		t.Errorf("a cancelled subscription yielded %v", err)
	}
}

// TestStreamIdle: a connection that stays silent past IdleTimeout is replaced, resuming where
// it was, and the change made meanwhile comes once.
func TestStreamIdle(t *testing.T) {
	t.Parallel()
	ev := start(t, enginetest.SQLite, &api.Config{StreamHeartbeat: time.Hour})
	link := newCutter()
	r, _ := client.New(ev.e.URL, ev.e.A.Read, client.WithHTTPClient(&http.Client{Transport: link}))
	sub := subscribe(t, r, client.StreamOptions{IdleTimeout: 400 * time.Millisecond, RetryDelay: 10 * time.Millisecond})
	link.waitOpen(t)
	if id := link.waitOpen(t); id != "0" { // no heartbeat: replaced, after the id the stream started at
		t.Errorf("the silent stream reconnected with Last-Event-ID %q", id)
	}
	conv, _, err := ev.w.Conversations.Create(t.Context(), client.NewConversation{Source: client.SourceWidget})
	if err != nil {
		t.Fatal(err)
	}
	if got := sub.next(t); got.Type != client.ChangeConversationCreated || got.Data.Conversation.ID != conv.ID {
		t.Errorf("after reconnecting: %+v", got)
	}
	sub.quiet(t)
}
