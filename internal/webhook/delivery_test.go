package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
	"github.com/parleyhq/parley/internal/webhook"
)

const hooksPath = "/v1/api_core/webhooks"

// fastRetries are dispatcher options for tests: a short timeout, quick retries.
func fastRetries(window time.Duration) webhook.Options {
	return webhook.Options{Workers: 4, Poll: 50 * time.Millisecond, Timeout: 300 * time.Millisecond, Window: window,
		Backoff: func(int) time.Duration { return 100 * time.Millisecond }, Logger: slog.New(slog.DiscardHandler)}
}

// writer makes changes through the API of whichever node is up.
type writer struct {
	t   *testing.T
	env *apitest.Env
	tok string
}

func (w writer) create(messages ...string) string {
	w.t.Helper()
	var msgs []any
	for _, m := range messages {
		msgs = append(msgs, map[string]any{"author": "visitor", "content": m})
	}
	var c struct {
		ID string `json:"id"`
	}
	w.env.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", w.tok, map[string]any{"source": "api", "messages": msgs}).JSON(w.t, &c)
	return c.ID
}

func (w writer) message(id, content string) {
	w.t.Helper()
	w.env.Must(http.StatusCreated, "POST", "/v1/api_core/conversations/"+id+"/messages", w.tok, map[string]any{"author": "visitor", "content": content})
}

func (w writer) patch(id string, body map[string]any) {
	w.t.Helper()
	w.env.Must(http.StatusOK, "PATCH", "/v1/api_core/conversations/"+id, w.tok, body)
}

func (w writer) metadata(id string, keys map[string]any) {
	w.t.Helper()
	w.env.Must(http.StatusOK, "POST", "/v1/api_core/conversations/"+id+"/metadata", w.tok, keys)
}

func (w writer) delete(id string) {
	w.t.Helper()
	w.env.Must(http.StatusNoContent, "DELETE", "/v1/api_core/conversations/"+id, w.tok, nil)
}

// apiClient is a Go client of a node with a token.
func apiClient(t *testing.T, e *apitest.Env, token string) *client.Client {
	t.Helper()
	c, err := client.New(e.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createHook creates an endpoint through the API and returns its id and secret.
func createHook(t *testing.T, e *apitest.Env, token string, body map[string]any) (id, secret string) {
	t.Helper()
	var h struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	e.Must(http.StatusCreated, "POST", hooksPath, token, body).JSON(t, &h)
	if h.ID == "" || !strings.HasPrefix(h.Secret, "whsec_") && body["secret"] == nil {
		t.Fatalf("create answer without id or secret: %+v", h)
	}
	return h.ID, h.Secret
}

// TestDownSlowUpAcrossRestart: a receiver that is down, then slow (beyond the timeout), then
// up gets every change exactly as signed, in order per conversation, with nothing lost across
// a restart of the server and the dispatcher on the same store, and nothing of another
// assistant.
func TestDownSlowUpAcrossRestart(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		st := open(t)
		opt := fastRetries(time.Minute)
		first := startNode(t, st, opt)
		env := &apitest.Env{T: t, URL: first.URL, Store: st}
		A, B := env.NewTenant("A"), env.NewTenant("B")
		a, b := writer{t, env, A.Write}, writer{t, env, B.Write}
		rcv := newReceiver(t)
		hookID, secret := createHook(t, env, A.Write, map[string]any{"url": rcv.URL(), "description": "CRM"})
		rcv.setSecret(secret)
		var bGot atomic.Int32 // B's endpoint gets B's changes, A's receiver never does
		bRcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("Parley-Event"), ".") {
				t.Errorf("B's receiver: %v", r.Header)
			}
			bGot.Add(1)
		}))
		defer bRcv.Close()
		createHook(t, env, B.Write, map[string]any{"url": bRcv.URL})
		start := time.Now()

		// Down: connections refused.
		c1 := a.create("Where is my order?")
		c2 := a.create()
		a.message(c1, "It is ORD-1")
		a.message(c2, "Hello")
		a.patch(c2, map[string]any{"resolution_status": "resolved"})
		a.metadata(c1, map[string]any{"crm_id": "C-1"})
		b.create("another assistant")
		eventually(t, 10*time.Second, "a failed attempt while the receiver is down", func() bool {
			for _, d := range deliveries(t, env, A.Read, hookID) {
				if d["attempts"].(float64) >= 2 && d["last_error"] != nil && d["last_status_code"] == nil {
					return true
				}
			}
			return false
		})

		// Slow: it answers after twice the timeout.
		rcv.up(modeSlow, 2*opt.Timeout)
		a.message(c1, "Any news?")
		c3 := a.create("A third one")
		eventually(t, 10*time.Second, "a timed-out attempt", func() bool {
			for _, d := range deliveries(t, env, A.Read, hookID) {
				if e, _ := d["last_error"].(string); strings.Contains(e, "timed out") {
					return true
				}
			}
			return false
		})

		// Restart mid-way: stop the dispatcher and the server, start new ones on the store.
		first.stop()
		second := startNode(t, st, opt)
		env.URL = second.URL
		a.message(c3, "after the restart")
		a.patch(c1, map[string]any{"assignee": map[string]any{"type": "unassigned"}, "title": "Order question"})
		a.delete(c2)
		b.message(b.create("b again"), "more b")

		// Up.
		rcv.setMode(modeUp, 0)
		log, err := st.Changes(t.Context(), A.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var ds []map[string]any
		defer func() {
			if t.Failed() {
				for _, d := range ds {
					t.Logf("delivery %v", d)
				}
			}
		}()
		eventually(t, 20*time.Second, "every delivery succeeded", func() bool {
			ds = deliveries(t, env, A.Read, hookID)
			if len(ds) != len(log) {
				return false
			}
			for _, d := range ds {
				if d["status"] != store.DeliverySucceeded {
					return false
				}
			}
			return true
		})
		took := time.Since(start)
		accepted, requests, problems := rcv.snapshot()
		for _, p := range problems {
			t.Errorf("receiver: %s", p)
		}

		// Every change of A's log, delivered, as signed, with the body it first had.
		bySeq := map[int64]store.Delivery{}
		byID := map[string]store.Delivery{}
		page, err := st.WebhookDeliveries(t.Context(), A.ID, hookID, store.DeliveryFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Items {
			full, err := st.WebhookDelivery(t.Context(), A.ID, hookID, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			bySeq[d.Change.Seq], byID[d.ID] = full, full
		}
		firstSeen := map[string]received{}
		var order []received
		for _, r := range accepted {
			d, ok := byID[r.ID]
			if !ok {
				t.Errorf("received %s (%s), not a delivery of A's endpoint", r.ID, r.Event)
				continue
			}
			if !bytes.Equal(r.Body, d.Body) {
				t.Errorf("delivery %s: received %s, stored %s", r.ID, r.Body, d.Body)
			}
			if _, seen := firstSeen[r.ID]; !seen {
				firstSeen[r.ID] = r
				order = append(order, r)
			}
		}
		types := map[string]int{}
		for _, ch := range log {
			d, ok := bySeq[ch.Seq]
			if !ok {
				t.Errorf("change %d (%s) has no delivery", ch.Seq, ch.Type)
				continue
			}
			if _, ok := firstSeen[d.ID]; !ok {
				t.Errorf("change %d (%s): delivery %s never reached the receiver", ch.Seq, ch.Type, d.ID)
			}
			types[ch.Type]++
			var ev client.WebhookEvent
			if err := json.Unmarshal(d.Body, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Type != ch.Type || ev.AssistantID != A.ID || ev.Data.Conversation.ID != ch.ConversationID || ev.Actor.Type != ch.Actor.Type ||
				!ev.CreatedAt.Equal(ch.CreatedAt.Truncate(time.Microsecond)) && !ev.CreatedAt.Equal(ch.CreatedAt) {
				t.Errorf("change %d: body %s", ch.Seq, d.Body)
			}
			switch ch.Type {
			case cv.ChangeMessageCreated:
				if ch.ConversationID == c2 {
					break // deleted before its first attempt: the conversation is gone, with its messages
				}
				if ev.Data.Message == nil || ev.Data.Message.Content == "" || ev.Data.Message.ID != *ch.EventID {
					t.Errorf("message.created without its message: %s", d.Body)
				}
			case cv.ChangeConversationUpdated:
				if len(ev.Data.Fields) == 0 {
					t.Errorf("conversation.updated without fields: %s", d.Body)
				}
			case cv.ChangeMetadataUpdated:
				if !slices.Equal(ev.Data.Keys, []string{"crm_id"}) {
					t.Errorf("metadata.updated keys %v: %s", ev.Data.Keys, d.Body)
				}
			case cv.ChangeConversationDeleted:
				if !bytes.Contains(d.Body, []byte(`"conversation":{"id":"`+ch.ConversationID+`"}`)) {
					t.Errorf("conversation.deleted: %s", d.Body)
				}
			}
		}
		for _, typ := range []string{cv.ChangeConversationCreated, cv.ChangeMessageCreated, cv.ChangeConversationUpdated,
			cv.ChangeConversationResolved, cv.ChangeMetadataUpdated, cv.ChangeConversationDeleted} {
			if types[typ] == 0 {
				t.Errorf("the scenario made no %s change", typ)
			}
		}
		bLog, err := st.Changes(t.Context(), B.ID, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, "B's changes delivered to B's endpoint", func() bool { return int(bGot.Load()) >= len(bLog) })
		// In order per conversation.
		last := map[string]int64{}
		for _, r := range order {
			d := byID[r.ID]
			if d.Change.Seq <= last[d.Change.ConversationID] {
				t.Errorf("conversation %s: change %d reached the receiver after change %d", d.Change.ConversationID, d.Change.Seq, last[d.Change.ConversationID])
			}
			last[d.Change.ConversationID] = d.Change.Seq
		}
		// The signatures verify only the bytes sent: a tampered body fails.
		r := accepted[0]
		tampered := bytes.Replace(r.Body, []byte(`"type":"`), []byte(`"type":"x`), 1)
		if err := client.VerifySignature(secret, r.Signature, tampered, client.DefaultSignatureTolerance, time.Now()); err != client.ErrSignatureMismatch {
			t.Errorf("tampered body: VerifySignature = %v, want ErrSignatureMismatch", err)
		}
		t.Logf("%s: %d changes delivered in %s; %d requests in all (down, slow, restart, up), %d accepted", st.Engine(), len(log), took.Round(time.Millisecond), requests, len(accepted))
	})
}

// TestDisabledAfterTheWindow: an endpoint that fails for the whole retry window is disabled
// and says so; enabled again it catches up, and a failed delivery can be sent again by hand.
func TestDisabledAfterTheWindow(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		st := open(t)
		n := startNode(t, st, fastRetries(time.Second))
		env := &apitest.Env{T: t, URL: n.URL, Store: st}
		A := env.NewTenant("A")
		a := writer{t, env, A.Write}
		rcv := newReceiver(t)
		rcv.up(modeFailing, 0)
		hookID, secret := createHook(t, env, A.Write, map[string]any{"url": rcv.URL(), "event_types": []string{"conversation.created", "message.created"}})
		rcv.setSecret(secret)
		c := a.create()
		// The endpoint and its deliveries, through the Go client.
		ctx := t.Context()
		aw, ar := apiClient(t, env, A.Write), apiClient(t, env, A.Read)
		hook := func() *client.Webhook {
			h, err := ar.Webhooks.Get(ctx, hookID)
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		eventually(t, 15*time.Second, "the endpoint disabled", func() bool { return hook().Status == client.WebhookDisabled })
		h := hook()
		if h.DisabledReason == nil || !strings.Contains(*h.DisabledReason, "failed for 1s") || !strings.Contains(*h.DisabledReason, "HTTP 500") {
			t.Errorf("disabled_reason %v", h.DisabledReason)
		}
		if h.DisabledAt == nil || h.Enabled {
			t.Errorf("disabled endpoint: %+v", h)
		}
		failed, err := ar.Webhooks.Deliveries(ctx, hookID, client.DeliveryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ds := failed.Items
		if len(ds) != 1 || ds[0].Status != client.DeliveryFailed || ds[0].Attempts < 3 || ds[0].LastStatusCode == nil || *ds[0].LastStatusCode != 500 ||
			ds[0].LastError == nil || !strings.HasPrefix(*ds[0].LastError, "HTTP 500: receiver is failing") || ds[0].CompletedAt == nil {
			t.Fatalf("deliveries of the disabled endpoint: %+v", ds)
		}
		failedID := ds[0].ID
		redeliver := hooksPath + "/" + hookID + "/deliveries/" + failedID + "/redeliver"
		env.Must(http.StatusConflict, "POST", redeliver, A.Write, nil)
		if _, err := aw.Webhooks.Redeliver(ctx, hookID, failedID); !client.IsStatus(err, http.StatusConflict) {
			t.Errorf("Redeliver to a disabled endpoint: %v", err)
		}

		// A change while disabled is kept for later; the receiver is fixed; enabled again.
		a.message(c, "while disabled")
		before, _, _ := rcv.snapshot()
		rcv.setMode(modeUp, 0)
		enabled, err := aw.Webhooks.Update(ctx, hookID, client.WebhookPatch{Enabled: client.Ptr(true)})
		if err != nil || enabled.Status != client.WebhookEnabled || enabled.DisabledReason != nil || enabled.DisabledAt != nil {
			t.Errorf("enabled again: %+v %v", enabled, err)
		}
		eventually(t, 10*time.Second, "the change made while disabled delivered", func() bool {
			got, _, _ := rcv.snapshot()
			return len(got) > len(before)
		})
		// The failed delivery, by hand.
		d, err := aw.Webhooks.Redeliver(ctx, hookID, failedID)
		if err != nil || d.ID != failedID || d.Status != client.DeliveryPending {
			t.Errorf("redeliver answered %+v %v", d, err)
		}
		eventually(t, 10*time.Second, "the redelivered delivery succeeded", func() bool {
			for x, err := range ar.Webhooks.AllDeliveries(ctx, hookID, client.DeliveryOptions{}) {
				if err != nil {
					t.Fatal(err)
				}
				if x.ID == failedID {
					return x.Status == client.DeliverySucceeded
				}
			}
			return false
		})
		// Redelivering a success sends the same delivery, byte for byte.
		env.Must(http.StatusAccepted, "POST", redeliver, A.Write, nil)
		eventually(t, 10*time.Second, "the delivery received twice", func() bool {
			got, _, _ := rcv.snapshot()
			n := 0
			for _, r := range got {
				if r.ID == failedID {
					n++
				}
			}
			return n == 2
		})
		got, _, problems := rcv.snapshot()
		for _, p := range problems {
			t.Errorf("receiver: %s", p)
		}
		var bodies [][]byte
		for _, r := range got {
			if r.ID == failedID {
				bodies = append(bodies, r.Body)
			}
		}
		if !bytes.Equal(bodies[0], bodies[1]) {
			t.Errorf("redelivery changed the body:\n%s\n%s", bodies[0], bodies[1])
		}
		// Deliveries of other assistants' endpoints and unknown ids are 404s.
		B := env.NewTenant("B")
		env.Must(http.StatusNotFound, "POST", redeliver, B.Write, nil)
		env.Must(http.StatusNotFound, "GET", hooksPath+"/"+hookID+"/deliveries", B.Read, nil)
		env.Must(http.StatusNotFound, "POST", hooksPath+"/"+hookID+"/deliveries/"+hookID+"/redeliver", A.Write, nil)
	})
}

// TestNoRedirects: a delivery goes to the endpoint's URL only; a redirect is a failed attempt.
func TestNoRedirects(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/stolen", http.StatusTemporaryRedirect))
	defer redirect.Close()
	st := enginetest.SQLite(t)
	n := startNode(t, st, fastRetries(time.Minute))
	env := &apitest.Env{T: t, URL: n.URL, Store: st}
	A := env.NewTenant("A")
	hookID, _ := createHook(t, env, A.Write, map[string]any{"url": redirect.URL})
	writer{t, env, A.Write}.create()
	eventually(t, 10*time.Second, "a failed attempt", func() bool {
		ds := deliveries(t, env, A.Read, hookID)
		return len(ds) == 1 && ds[0]["last_status_code"] != nil
	})
	d := deliveries(t, env, A.Read, hookID)[0]
	if d["last_status_code"].(float64) != 307 || !strings.Contains(d["last_error"].(string), "not followed") || d["status"] != "pending" {
		t.Errorf("after a redirect: %v", d)
	}
	if elsewhere.Load() != 0 {
		t.Error("the redirect was followed to another host")
	}
}

// TestLargeAnswerIsNotRead: the answer's body is read up to a cap, not to its end.
func TestLargeAnswerIsNotRead(t *testing.T) {
	t.Parallel()
	var wrote atomic.Int64
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for range 1024 { // 32 MiB
			n, err := w.Write(chunk)
			wrote.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer big.Close()
	st := enginetest.SQLite(t)
	n := startNode(t, st, fastRetries(time.Minute))
	env := &apitest.Env{T: t, URL: n.URL, Store: st}
	A := env.NewTenant("A")
	hookID, _ := createHook(t, env, A.Write, map[string]any{"url": big.URL})
	writer{t, env, A.Write}.create()
	eventually(t, 10*time.Second, "delivered", func() bool {
		ds := deliveries(t, env, A.Read, hookID)
		return len(ds) == 1 && ds[0]["status"] == "succeeded"
	})
	if w := wrote.Load(); w > 16<<20 {
		t.Errorf("the receiver wrote %d bytes before the dispatcher hung up", w)
	}
}

func TestCheckURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"https://hooks.example.com/parley", true},
		{"http://127.0.0.1:8080/x?y=1", true},
		{"", false},
		{"hooks.example.com/parley", false},
		{"ftp://hooks.example.com/", false},
		{"https://user:pass@hooks.example.com/", false},
		{"https://token@hooks.example.com/", false},
		{"https:///path", false},
		{"https://hooks.example.com/#frag", false},
		{"javascript:alert(1)", false},
		{"https://" + strings.Repeat("a", 2100) + ".example", false},
	} {
		err := webhook.CheckURL("url", tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("CheckURL(%.40q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
	if _, err := webhook.CheckEventTypes("event_types", []string{"message.created", "conversation.exploded"}); err == nil {
		t.Error("unknown event type accepted")
	}
	got, err := webhook.CheckEventTypes("event_types", []string{"message.created", "conversation.created", "message.created"})
	if err != nil || !slices.Equal(got, []string{"conversation.created", "message.created"}) {
		t.Errorf("CheckEventTypes = %v, %v", got, err)
	}
}

// TestSignMatchesTheClient: the dispatcher's signature is what the client's verifier checks.
func TestSignMatchesTheClient(t *testing.T) {
	body := []byte(`{"id":"x"}`)
	now := time.Unix(1767225600, 0)
	h := webhook.Sign("whsec_k", now, body)
	if !strings.HasPrefix(h, "t=1767225600,v1=") || len(h) != len("t=1767225600,v1=")+64 {
		t.Errorf("Sign = %q", h)
	}
	if err := client.VerifySignature("whsec_k", h, body, time.Minute, now); err != nil {
		t.Errorf("VerifySignature(Sign) = %v", err)
	}
	if s := webhook.NewSecret(); !strings.HasPrefix(s, "whsec_") || len(s) != 6+43 || s == webhook.NewSecret() {
		t.Errorf("NewSecret = %q", s)
	}
	if d := webhook.DefaultBackoff(1); d < 2500*time.Millisecond || d > 5*time.Second {
		t.Errorf("first backoff %s", d)
	}
	if d := webhook.DefaultBackoff(40); d > time.Hour || d < 30*time.Minute {
		t.Errorf("backoff after 40 failures %s, want at most an hour", d)
	}
}

// openTwice opens two stores on one database, as two processes would.
func openTwice(t *testing.T, engine string) (store.Store, store.Store) {
	t.Helper()
	var open func() store.Store
	switch engine {
	case "sqlite":
		dir := t.TempDir()
		open = func() store.Store {
			s, err := sqlite.Open(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	default:
		url := enginetest.PostgresSchemaURL(t)
		open = func() store.Store {
			s, err := postgres.Open(context.Background(), url, nil, postgres.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	s1, s2 := open(), open()
	t.Cleanup(func() { s1.Close(); s2.Close() })
	return s1, s2
}

// TestTwoProcesses: two processes on one database, each with its dispatcher, deliver every
// change once, in order per conversation.
func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	for engine := range enginetest.Engines() {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			s1, s2 := openTwice(t, engine)
			opt := fastRetries(time.Minute)
			opt.Workers, opt.Timeout = 3, 5*time.Second
			n1, n2 := startNode(t, s1, opt), startNode(t, s2, opt)
			e1 := &apitest.Env{T: t, URL: n1.URL, Store: s1}
			e2 := &apitest.Env{T: t, URL: n2.URL, Store: s2}
			A := e1.NewTenant("A")
			w1, w2 := writer{t, e1, A.Write}, writer{t, e2, A.Write}
			rcv := newReceiver(t)
			rcv.up(modeUp, 0)
			hookID, secret := createHook(t, e1, A.Write, map[string]any{"url": rcv.URL(), "event_types": []string{"conversation.created", "message.created"}})
			rcv.setSecret(secret)
			var convs []string
			for i := range 4 {
				convs = append(convs, w1.create())
				w2.message(convs[i], "first")
			}
			for round := range 5 {
				for i, c := range convs {
					if (i+round)%2 == 0 {
						w1.message(c, fmt.Sprintf("round %d", round))
					} else {
						w2.message(c, fmt.Sprintf("round %d", round))
					}
				}
			}
			want := 4 + 4 + 5*4
			eventually(t, 20*time.Second, "every delivery succeeded", func() bool {
				ds := deliveries(t, e2, A.Read, hookID)
				if len(ds) != want {
					return false
				}
				for _, d := range ds {
					if d["status"] != "succeeded" {
						return false
					}
				}
				return true
			})
			got, _, problems := rcv.snapshot()
			for _, p := range problems {
				t.Errorf("receiver: %s", p)
			}
			seen := map[string]int{}
			for _, r := range got {
				seen[r.ID]++
			}
			if len(seen) != want {
				t.Errorf("%d distinct deliveries received, want %d", len(seen), want)
			}
			page, err := s1.WebhookDeliveries(t.Context(), A.ID, hookID, store.DeliveryFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			seq := map[string]store.Delivery{}
			for _, d := range page.Items {
				seq[d.ID] = d
			}
			for id, n := range seen {
				// Twice only after an attempt that failed (it timed out under load, say): two
				// processes never send one delivery at once.
				if n > seq[id].Attempts {
					t.Errorf("delivery %s received %d times in %d attempts (last error %v)", id, n, seq[id].Attempts, seq[id].LastError)
				}
			}
			last := map[string]int64{}
			for _, r := range got {
				d := seq[r.ID]
				if seen[r.ID] > 1 && d.Change.Seq == last[d.Change.ConversationID] {
					continue
				}
				if d.Change.Seq <= last[d.Change.ConversationID] {
					t.Errorf("conversation %s: change %d after %d", d.Change.ConversationID, d.Change.Seq, last[d.Change.ConversationID])
				}
				last[d.Change.ConversationID] = d.Change.Seq
			}
		})
	}
}

// TestSlowReceiverDoesNotHoldUpOthers: one endpoint takes at most PerEndpoint of the senders,
// so a receiver that answers slowly delays only its own deliveries.
func TestSlowReceiverDoesNotHoldUpOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)
	var fast atomic.Int32
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fast.Add(1) }))
	defer quick.Close()
	st := enginetest.SQLite(t)
	opt := fastRetries(time.Minute)
	opt.Workers, opt.PerEndpoint, opt.Timeout = 4, 2, 30*time.Second
	n := startNode(t, st, opt)
	env := &apitest.Env{T: t, URL: n.URL, Store: st}
	A := env.NewTenant("A")
	createHook(t, env, A.Write, map[string]any{"url": slow.URL, "event_types": []string{"conversation.created"}})
	w := writer{t, env, A.Write}
	for range 6 {
		w.create()
	}
	time.Sleep(300 * time.Millisecond) // the slow endpoint's deliveries are in flight
	createHook(t, env, A.Write, map[string]any{"url": quick.URL, "event_types": []string{"conversation.created"}})
	for range 4 {
		w.create()
	}
	eventually(t, 5*time.Second, "the fast endpoint's deliveries, while the slow one hangs", func() bool { return fast.Load() == 4 })
}
