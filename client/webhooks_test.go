package client_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/webhook"
)

// startWith is start with a webhook dispatcher (quick retries) and what else cfg says.
func startWith(t *testing.T, open enginetest.Opener, cfg apitest.Config) env {
	t.Helper()
	if cfg.Webhooks == nil {
		cfg.Webhooks = &webhook.Options{Poll: 50 * time.Millisecond, Timeout: 2 * time.Second, Window: time.Minute,
			Backoff: func(int) time.Duration { return 100 * time.Millisecond }, Logger: slog.New(slog.DiscardHandler)}
	}
	e := apitest.StartWith(t, open, cfg)
	mk := func(token string) *client.Client {
		c, err := client.New(e.URL, token, client.WithHTTPClient(&http.Client{Timeout: time.Minute}))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return env{e: e, w: mk(e.A.Write), r: mk(e.A.Read), other: mk(e.B.Write)}
}

// delivered is one request a receiver got.
type delivered struct {
	header http.Header
	body   []byte
	err    error // VerifySignature's verdict
}

// hookReceiver is a webhook endpoint that checks each delivery with client.VerifySignature.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	status int
	got    []delivered
}

func newHookReceiver(t *testing.T) *hookReceiver {
	r := &hookReceiver{status: http.StatusNoContent}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		err := client.VerifySignature(r.secret, req.Header.Get(client.SignatureHeader), body, client.DefaultSignatureTolerance, time.Now())
		r.got = append(r.got, delivered{req.Header.Clone(), body, err})
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *hookReceiver) set(secret string, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secret, r.status = secret, status
}

func (r *hookReceiver) deliveries() []delivered {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWebhooks(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		ev := startWith(t, open, apitest.Config{})
		c, ctx := ev.w, t.Context()
		rcv := newHookReceiver(t)

		// Create: the secret comes once; the types are deduplicated and ordered.
		n := client.NewWebhook{URL: rcv.URL + "/parley", Description: "CRM",
			EventTypes: []string{client.ChangeMessageCreated, client.ChangeConversationCreated, client.ChangeMessageCreated}}
		hook := must[*client.Webhook](t, "Webhooks.Create")(c.Webhooks.Create(ctx, n, client.IdempotencyKey("hook-1")))
		if !strings.HasPrefix(hook.Secret, "whsec_") || !hook.SecretSet || hook.Status != client.WebhookEnabled || !hook.Enabled ||
			hook.Description != "CRM" || hook.URL != rcv.URL+"/parley" || hook.CreatedAt.IsZero() || hook.UpdatedAt.IsZero() ||
			hook.DisabledAt != nil || hook.DisabledReason != nil || hook.LastSuccessAt != nil ||
			!slices.Equal(hook.EventTypes, []string{client.ChangeConversationCreated, client.ChangeMessageCreated}) {
			t.Fatalf("Webhooks.Create: %+v", hook)
		}
		rcv.set(hook.Secret, http.StatusNoContent)
		again := must[*client.Webhook](t, "Webhooks.Create again")(c.Webhooks.Create(ctx, n, client.IdempotencyKey("hook-1")))
		if !reflect.DeepEqual(again, hook) {
			t.Errorf("a retried create answered %+v, not %+v", again, hook)
		}
		_, err := c.Webhooks.Create(ctx, client.NewWebhook{URL: rcv.URL}, client.IdempotencyKey("hook-1"))
		wantError(t, "Create(the key of another request)", err, 422, client.CodeValidation, "Idempotency-Key")
		own := must[*client.Webhook](t, "Webhooks.Create with a secret")(c.Webhooks.Create(ctx, client.NewWebhook{URL: "http://127.0.0.1:9/hook", Secret: "my-own-secret-0123456789"}))
		if own.Secret != "my-own-secret-0123456789" || len(own.EventTypes) != 0 || own.EventTypes == nil {
			t.Errorf("created with a secret: %+v", own)
		}

		// Read: the secret never again.
		got := must[*client.Webhook](t, "Webhooks.Get")(ev.r.Webhooks.Get(ctx, hook.ID))
		want := *hook
		want.Secret = ""
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("Webhooks.Get:\n%+v\nwant\n%+v", *got, want)
		}
		list := must[[]client.Webhook](t, "Webhooks.List")(ev.r.Webhooks.List(ctx))
		ids := []string{}
		for _, h := range list {
			ids = append(ids, h.ID)
			if h.Secret != "" || !h.SecretSet {
				t.Errorf("listed endpoint shows its secret: %+v", h)
			}
		}
		wantIDs := []string{hook.ID, own.ID}
		sort.Strings(ids)
		sort.Strings(wantIDs)
		if !slices.Equal(ids, wantIDs) {
			t.Errorf("Webhooks.List: %v, want %v", ids, wantIDs)
		}
		if l := must[[]client.Webhook](t, "B's Webhooks.List")(ev.other.Webhooks.List(ctx)); l == nil || len(l) != 0 {
			t.Errorf("B lists %v", l)
		}

		// Changes are delivered, signed, to the receiver.
		conv, _, err := c.Conversations.Create(ctx, client.NewConversation{Source: client.SourceAPI})
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"one", "two"} {
			if _, _, err := c.Conversations.AppendMessage(ctx, conv.ID, client.NewMessage{Author: client.AuthorVisitor, Content: text}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Conversations.SetMetadata(ctx, conv.ID, map[string]any{"plan": "pro"}); err != nil { // not subscribed to
			t.Fatal(err)
		}
		waitFor(t, "three deliveries", func() bool { return len(rcv.deliveries()) >= 3 })
		var bodies []client.WebhookEvent
		for _, d := range rcv.deliveries() {
			if d.err != nil {
				t.Errorf("delivery %s: VerifySignature: %v", d.header.Get(client.DeliveryHeader), d.err)
			}
			var we client.WebhookEvent
			if err := json.Unmarshal(d.body, &we); err != nil {
				t.Fatal(err)
			}
			if we.ID != d.header.Get(client.DeliveryHeader) || we.Type != d.header.Get(client.EventHeader) || we.Data.Conversation.ID != conv.ID {
				t.Errorf("delivery %s %s: %s", d.header.Get(client.DeliveryHeader), d.header.Get(client.EventHeader), d.body)
			}
			bodies = append(bodies, we)
		}
		if len(bodies) != 3 || bodies[0].Type != client.ChangeConversationCreated || bodies[1].Data.Message == nil ||
			bodies[1].Data.Message.Content != "one" || bodies[2].Data.Message.Content != "two" {
			t.Fatalf("delivered %+v", bodies)
		}

		// Deliveries: pages, the status filter, every page.
		waitFor(t, "the deliveries to succeed", func() bool {
			page := must[*client.DeliveryList](t, "Webhooks.Deliveries")(ev.r.Webhooks.Deliveries(ctx, hook.ID, client.DeliveryOptions{Status: client.DeliverySucceeded}))
			return page.Count == 3
		})
		page := must[*client.DeliveryList](t, "Webhooks.Deliveries(limit 2)")(ev.r.Webhooks.Deliveries(ctx, hook.ID, client.DeliveryOptions{Limit: 2}))
		if len(page.Items) != 2 || page.Count != 3 || page.Limit != 2 || page.NextCursor == nil {
			t.Fatalf("Webhooks.Deliveries(limit 2): %+v", page)
		}
		newest := page.Items[0]
		if newest.ID != bodies[2].ID || newest.WebhookID != hook.ID || newest.Type != client.ChangeMessageCreated || newest.ConversationID != conv.ID ||
			newest.Status != client.DeliverySucceeded || newest.Attempts != 1 || newest.LastStatusCode == nil || *newest.LastStatusCode != 204 ||
			newest.LastError != nil || newest.FirstAttemptAt == nil || newest.LastAttemptAt == nil || newest.CompletedAt == nil ||
			newest.NextAttemptAt != nil || newest.ChangeCreatedAt.IsZero() || newest.CreatedAt.IsZero() {
			t.Errorf("newest delivery: %+v", newest)
		}
		rest := must[*client.DeliveryList](t, "Webhooks.Deliveries(cursor)")(ev.r.Webhooks.Deliveries(ctx, hook.ID, client.DeliveryOptions{Limit: 2, Cursor: *page.NextCursor}))
		if len(rest.Items) != 1 || rest.Items[0].ID != bodies[0].ID || rest.NextCursor != nil {
			t.Errorf("second page: %+v", rest)
		}
		var walked []string
		for d, err := range ev.r.Webhooks.AllDeliveries(ctx, hook.ID, client.DeliveryOptions{Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, d.ID)
		}
		if !slices.Equal(walked, []string{bodies[2].ID, bodies[1].ID, bodies[0].ID}) {
			t.Errorf("AllDeliveries: %v", walked)
		}
		for d, err := range ev.r.Webhooks.AllDeliveries(ctx, hook.ID, client.DeliveryOptions{Status: client.DeliveryFailed}) {
			t.Errorf("failed deliveries: %+v %v", d, err)
		}

		// Redeliver: the same delivery, byte for byte.
		d := must[*client.Delivery](t, "Webhooks.Redeliver")(c.Webhooks.Redeliver(ctx, hook.ID, bodies[0].ID))
		if d.ID != bodies[0].ID || d.Status != client.DeliveryPending || d.WebhookID != hook.ID {
			t.Errorf("Webhooks.Redeliver: %+v", d)
		}
		waitFor(t, "the redelivery", func() bool { return len(rcv.deliveries()) >= 4 })
		if r := rcv.deliveries()[3]; !bytes.Equal(r.body, rcv.deliveries()[0].body) || r.err != nil {
			t.Errorf("redelivered %s (%v), first %s", r.body, r.err, rcv.deliveries()[0].body)
		}

		// Update: fields, then disable and enable; a disabled endpoint is not redelivered to.
		up := must[*client.Webhook](t, "Webhooks.Update")(c.Webhooks.Update(ctx, hook.ID, client.WebhookPatch{Description: client.Ptr(""), EventTypes: client.Ptr([]string{})}))
		if up.Description != "" || up.EventTypes == nil || len(up.EventTypes) != 0 || up.URL != hook.URL || up.UpdatedAt.Before(hook.UpdatedAt) {
			t.Errorf("Webhooks.Update: %+v", up)
		}
		off := must[*client.Webhook](t, "Webhooks.Update(disable)")(c.Webhooks.Update(ctx, hook.ID, client.WebhookPatch{Enabled: client.Ptr(false)}))
		if off.Status != client.WebhookDisabled || off.Enabled || off.DisabledReason == nil || off.DisabledAt == nil {
			t.Errorf("disabled: %+v", off)
		}
		_, err = c.Webhooks.Redeliver(ctx, hook.ID, bodies[0].ID)
		wantError(t, "Redeliver to a disabled endpoint", err, 409, client.CodeConflict, "root")
		on := must[*client.Webhook](t, "Webhooks.Update(enable)")(c.Webhooks.Update(ctx, hook.ID, client.WebhookPatch{Enabled: client.Ptr(true)}))
		if on.Status != client.WebhookEnabled || !on.Enabled || on.DisabledReason != nil || on.DisabledAt != nil {
			t.Errorf("enabled: %+v", on)
		}

		// A new secret signs the next deliveries.
		must[*client.Webhook](t, "Webhooks.Update(secret)")(c.Webhooks.Update(ctx, hook.ID, client.WebhookPatch{Secret: client.Ptr("rotated-secret-0123456789")}))
		rcv.set("rotated-secret-0123456789", http.StatusNoContent)
		before := len(rcv.deliveries())
		if _, err := c.Conversations.Update(ctx, conv.ID, client.ConversationPatch{ResolutionStatus: client.Ptr(client.StatusResolved)}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the deliveries after the rotation", func() bool { return len(rcv.deliveries()) >= before+2 }) // updated, resolved
		for _, d := range rcv.deliveries()[before:] {
			if d.err != nil {
				t.Errorf("after the rotation, %s: %v", d.header.Get(client.EventHeader), d.err)
			}
		}

		// Mistakes, scopes and other assistants.
		_, err = c.Webhooks.Create(ctx, client.NewWebhook{URL: "ftp://crm.example.com"})
		wantError(t, "Create(ftp)", err, 422, client.CodeValidation, "url")
		_, err = c.Webhooks.Create(ctx, client.NewWebhook{URL: "https://crm.example.com", EventTypes: []string{"conversation.exploded"}})
		wantError(t, "Create(unknown type)", err, 422, client.CodeValidation, "event_types")
		_, err = c.Webhooks.Update(ctx, hook.ID, client.WebhookPatch{Secret: client.Ptr("short")})
		wantError(t, "Update(short secret)", err, 422, client.CodeValidation, "secret")
		_, err = ev.r.Webhooks.Create(ctx, client.NewWebhook{URL: "https://crm.example.com"})
		wantError(t, "Create(read token)", err, 403, client.CodePermissionDenied, "root")
		_, err = ev.r.Webhooks.Redeliver(ctx, hook.ID, bodies[0].ID)
		wantError(t, "Redeliver(read token)", err, 403, client.CodePermissionDenied, "root")
		_, err = ev.r.Webhooks.Deliveries(ctx, hook.ID, client.DeliveryOptions{Status: "done"})
		wantError(t, "Deliveries(status done)", err, 400, client.CodeBadRequest, "status")
		_, err = ev.other.Webhooks.Get(ctx, hook.ID)
		if !client.IsNotFound(err) {
			t.Errorf("B gets A's endpoint: %v", err)
		}
		_, err = ev.other.Webhooks.Deliveries(ctx, hook.ID, client.DeliveryOptions{})
		wantError(t, "B's Deliveries", err, 404, client.CodeNotFound, "root")
		_, err = ev.other.Webhooks.Redeliver(ctx, hook.ID, bodies[0].ID)
		wantError(t, "B's Redeliver", err, 404, client.CodeNotFound, "root")
		_, err = c.Webhooks.Redeliver(ctx, hook.ID, hook.ID)
		wantError(t, "Redeliver(unknown delivery)", err, 404, client.CodeNotFound, "root")
		_, err = c.Webhooks.Get(ctx, "not/an id")
		wantError(t, "Get(bad id)", err, 404, client.CodeNotFound, "")

		// Delete.
		if err := c.Webhooks.Delete(ctx, own.ID, client.IdempotencyKey("delete-own")); err != nil {
			t.Fatal(err)
		}
		if err := c.Webhooks.Delete(ctx, own.ID, client.IdempotencyKey("delete-own")); err != nil {
			t.Errorf("a retried delete: %v", err)
		}
		if _, err := c.Webhooks.Get(ctx, own.ID); !client.IsNotFound(err) {
			t.Errorf("Get after Delete: %v", err)
		}
		err = c.Webhooks.Delete(ctx, own.ID)
		wantError(t, "Delete twice", err, 404, client.CodeNotFound, "root")
		if l := must[[]client.Webhook](t, "Webhooks.List after Delete")(c.Webhooks.List(ctx)); len(l) != 1 || l[0].ID != hook.ID {
			t.Errorf("after Delete: %+v", l)
		}
	})
}

// TestWebhookTypesCoverTheWire: the client's webhook types name every field the server sends.
func TestWebhookTypesCoverTheWire(t *testing.T) {
	ev := startWith(t, enginetest.SQLite, apitest.Config{})
	ctx := t.Context()
	rcv := newHookReceiver(t)
	r := ev.e.Must(201, "POST", "/v1/api_core/webhooks", ev.e.A.Write, map[string]any{"url": rcv.URL})
	var created map[string]any
	r.JSON(t, &created)
	id := created["id"].(string)
	if _, _, err := ev.w.Conversations.Create(ctx, client.NewConversation{Source: client.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a delivery", func() bool {
		l, err := ev.r.Webhooks.Deliveries(ctx, id, client.DeliveryOptions{})
		return err == nil && len(l.Items) == 1
	})
	get := func(path string) map[string]any {
		var m map[string]any
		ev.e.Must(200, "GET", path, ev.e.A.Read, nil).JSON(t, &m)
		return m
	}
	deliveries := get("/v1/api_core/webhooks/" + id + "/deliveries")
	for _, c := range []struct {
		what string
		m    map[string]any
		typ  reflect.Type
	}{
		{"created webhook", created, reflect.TypeFor[client.Webhook]()},
		{"webhook", get("/v1/api_core/webhooks/" + id), reflect.TypeFor[client.Webhook]()},
		{"deliveries", deliveries, reflect.TypeFor[client.DeliveryList]()},
		{"delivery", deliveries["items"].([]any)[0].(map[string]any), reflect.TypeFor[client.Delivery]()},
	} {
		names := jsonNames(c.typ)
		for k := range c.m {
			if !names[k] {
				t.Errorf("%s: the client's %s has no field for %q", c.what, c.typ, k)
			}
		}
	}
}
