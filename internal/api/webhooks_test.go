package api_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/apitest"
)

const hooks = "/v1/api_core/webhooks"

var webhookShape = shape{
	"id": "string", "url": "string", "description": "string", "event_types": "array", "status": "string", "enabled": "bool",
	"disabled_reason": "string|null", "disabled_at": "time|null", "last_success_at": "time|null", "secret_set": "bool",
	"created_at": "time", "updated_at": "time",
}

// clientError checks that err is a *client.Error with the status, code and field.
func clientError(t testing.TB, what string, err error, status int, code, field string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("%s: %v, want a *client.Error", what, err)
	}
	if ce.Status != status || ce.Code != code || ce.Field != field || ce.Message == "" || len(ce.Errors) != 1 || len(ce.Errors[field]) != 1 {
		t.Errorf("%s: %d %s %s %q %v, want %d %s %s", what, ce.Status, ce.Code, ce.Field, ce.Message, ce.Errors, status, code, field)
	}
}

func TestWebhookEndpoints(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		A, B := e.A, e.B
		ctx := t.Context()
		aw, ar, bw, br := clientOf(t, e, A.Write), clientOf(t, e, A.Read), clientOf(t, e, B.Write), clientOf(t, e, B.Read)
		// Create: the secret is generated and shown once.
		r := call(t, e, http.StatusCreated, "POST", hooks, A.Write, map[string]any{
			"url": "https://crm.example.com/parley", "description": "CRM", "event_types": []string{"message.created", "conversation.resolved", "message.created"},
		})
		created := obj(t, r)
		secret, _ := created["secret"].(string)
		if !strings.HasPrefix(secret, "whsec_") || len(secret) < 40 {
			t.Errorf("create shows secret %q, want a generated whsec_ secret", secret)
		}
		delete(created, "secret")
		checkShape(t, "created webhook", created, webhookShape)
		id := created["id"].(string)
		if r.Header.Get("Location") != hooks+"/"+id {
			t.Errorf("Location %q", r.Header.Get("Location"))
		}
		if created["status"] != "enabled" || created["enabled"] != true || created["secret_set"] != true ||
			strings.Join(toStrings(created["event_types"]), ",") != "conversation.resolved,message.created" {
			t.Errorf("created %v", created)
		}
		// Never shown again.
		for _, path := range []string{hooks, hooks + "/", hooks + "/" + id, hooks + "/" + id + "/"} {
			b := call(t, e, http.StatusOK, "GET", path, A.Read, nil).Body
			if strings.Contains(string(b), secret) || strings.Contains(string(b), `"secret"`) {
				t.Errorf("GET %s shows the secret: %s", path, b)
			}
		}
		list := obj(t, call(t, e, http.StatusOK, "GET", hooks, A.Read, nil))
		keysAre(t, "list", list, "items")
		if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != id {
			t.Errorf("list %v", list)
		}
		if items, err := br.Webhooks.List(ctx); err != nil || len(items) != 0 {
			t.Errorf("B sees A's endpoints: %v %v", items, err)
		}
		if got, err := ar.Webhooks.Get(ctx, id); err != nil || got.ID != id || got.Secret != "" || !got.SecretSet || got.Description != "CRM" ||
			!slices.Equal(got.EventTypes, []string{"conversation.resolved", "message.created"}) {
			t.Errorf("Webhooks.Get: %+v %v", got, err)
		}
		// A chosen secret; every type.
		mine, err := aw.Webhooks.Create(ctx, client.NewWebhook{URL: "http://127.0.0.1:9/x", Secret: "my-own-secret-0123456789"})
		if err != nil || mine.Secret != "my-own-secret-0123456789" || mine.EventTypes == nil || len(mine.EventTypes) != 0 || mine.Description != "" {
			t.Errorf("created with a secret: %+v %v", mine, err)
		}

		// Update: fields, secret rotation (write-only), disable and enable.
		up := obj(t, call(t, e, http.StatusOK, "PATCH", hooks+"/"+id, A.Write, map[string]any{
			"url": "https://crm.example.com/v2", "description": "", "event_types": []string{}, "secret": "rotated-secret-0123456789", "secret_set": true,
		}))
		checkShape(t, "updated webhook", up, webhookShape)
		if up["url"] != "https://crm.example.com/v2" || up["description"] != "" || len(up["event_types"].([]any)) != 0 {
			t.Errorf("updated %v", up)
		}
		off := obj(t, call(t, e, http.StatusOK, "PATCH", hooks+"/"+id+"/", A.Write, map[string]any{"enabled": false}))
		if off["status"] != "disabled" || off["enabled"] != false || off["disabled_reason"] == nil || off["disabled_at"] == nil {
			t.Errorf("disabled %v", off)
		}
		on, err := aw.Webhooks.Update(ctx, id, client.WebhookPatch{Enabled: client.Ptr(true)})
		if err != nil || on.Status != "enabled" || !on.Enabled || on.DisabledReason != nil || on.DisabledAt != nil {
			t.Errorf("enabled %+v %v", on, err)
		}
		if off, err := aw.Webhooks.Update(ctx, mine.ID, client.WebhookPatch{Enabled: client.Ptr(false)}); err != nil || off.Status != "disabled" || off.Enabled ||
			off.DisabledReason == nil || *off.DisabledReason == "" || off.DisabledAt == nil {
			t.Errorf("disabled through the client: %+v %v", off, err)
		}

		// Mistakes.
		for _, bad := range []struct {
			body  any
			field string
		}{
			{map[string]any{}, "url"},
			{map[string]any{"url": "ftp://x.example"}, "url"},
			{map[string]any{"url": "crm.example.com/hook"}, "url"},
			{map[string]any{"url": "https://user:pw@crm.example.com/"}, "url"},
			{map[string]any{"url": "https://crm.example.com/#x"}, "url"},
			{map[string]any{"url": "https://crm.example.com/", "event_types": []string{"conversation.exploded"}}, "event_types"},
			{map[string]any{"url": "https://crm.example.com/", "event_types": "message.created"}, "event_types"},
			{map[string]any{"url": "https://crm.example.com/", "secret": "short"}, "secret"},
			{map[string]any{"url": "https://crm.example.com/", "description": strings.Repeat("d", 501)}, "description"},
			{map[string]any{"url": "https://crm.example.com/", "enabled": false}, "enabled"},
			{map[string]any{"url": 7}, "url"},
		} {
			wantError(t, e.Do("POST", hooks, A.Write, bad.body), http.StatusUnprocessableEntity, bad.field, "VALIDATION_ERROR")
		}
		wantError(t, e.Do("POST", hooks, A.Write, "{"), http.StatusBadRequest, "body", "BAD_REQUEST")
		wantError(t, e.Do("PATCH", hooks+"/"+id, A.Write, map[string]any{"url": "mailto:x@example.com"}), http.StatusUnprocessableEntity, "url", "VALIDATION_ERROR")
		wantError(t, e.Do("PATCH", hooks+"/"+id, A.Write, map[string]any{"enabled": "yes"}), http.StatusUnprocessableEntity, "enabled", "VALIDATION_ERROR")

		// Scopes: read_all reads but does not change.
		wantError(t, e.Do("POST", hooks, A.Read, map[string]any{"url": "https://crm.example.com/"}), http.StatusForbidden, "root", "PERMISSION_DENIED")
		wantError(t, e.Do("PATCH", hooks+"/"+id, A.Read, map[string]any{"enabled": false}), http.StatusForbidden, "root", "PERMISSION_DENIED")
		wantError(t, e.Do("DELETE", hooks+"/"+id, A.Read, nil), http.StatusForbidden, "root", "PERMISSION_DENIED")
		wantError(t, e.Do("POST", hooks+"/"+id+"/deliveries/"+id+"/redeliver", A.Read, nil), http.StatusForbidden, "root", "PERMISSION_DENIED")
		_, err = ar.Webhooks.Update(ctx, id, client.WebhookPatch{Description: client.Ptr("x")})
		clientError(t, "Update(read token)", err, http.StatusForbidden, "PERMISSION_DENIED", "root")
		clientError(t, "Delete(read token)", ar.Webhooks.Delete(ctx, id), http.StatusForbidden, "PERMISSION_DENIED", "root")
		_, err = ar.Webhooks.Redeliver(ctx, id, id)
		clientError(t, "Redeliver(read token)", err, http.StatusForbidden, "PERMISSION_DENIED", "root")
		if page, err := ar.Webhooks.Deliveries(ctx, id, client.DeliveryOptions{}); err != nil || page.Items == nil || len(page.Items) != 0 || page.Count != 0 || page.NextCursor != nil {
			t.Errorf("deliveries of a new endpoint: %+v %v", page, err)
		}
		wantError(t, e.Do("GET", hooks, "", nil), http.StatusUnauthorized, "root", "PERMISSION_DENIED")

		// Another assistant's endpoint, and ids that cannot exist, are 404s.
		for _, path := range []string{hooks + "/" + id, hooks + "/not-an-id", hooks + "/" + strings.ToUpper(id)} {
			wantError(t, e.Do("GET", path, B.Read, nil), http.StatusNotFound, "root", "NOT_FOUND")
		}
		wantError(t, e.Do("PATCH", hooks+"/"+id, B.Write, map[string]any{"enabled": false}), http.StatusNotFound, "root", "NOT_FOUND")
		wantError(t, e.Do("DELETE", hooks+"/"+id, B.Write, nil), http.StatusNotFound, "root", "NOT_FOUND")
		wantError(t, e.Do("GET", hooks+"/"+id+"/deliveries", B.Read, nil), http.StatusNotFound, "root", "NOT_FOUND")
		_, err = bw.Webhooks.Redeliver(ctx, id, id)
		clientError(t, "B's Redeliver", err, http.StatusNotFound, "NOT_FOUND", "root")
		_, err = bw.Webhooks.Get(ctx, id)
		clientError(t, "B's Get", err, http.StatusNotFound, "NOT_FOUND", "root")

		// Deliveries: the envelope, parameters.
		page := obj(t, call(t, e, http.StatusOK, "GET", hooks+"/"+id+"/deliveries/?status=failed&limit=5", A.Read, nil))
		keysAre(t, "deliveries page", page, "items", "offset", "limit", "count", "next_cursor")
		for _, q := range []string{"?status=done", "?limit=0", "?cursor=x", "?cursor=-3", "?offset=20"} {
			r := e.Do("GET", hooks+"/"+id+"/deliveries"+q, A.Read, nil)
			if r.Status != http.StatusBadRequest {
				t.Errorf("deliveries%s: %d %s", q, r.Status, r.Body)
			}
		}
		for _, bad := range []struct {
			opts  client.DeliveryOptions
			field string
		}{{client.DeliveryOptions{Status: "done"}, "status"}, {client.DeliveryOptions{Cursor: "x"}, "cursor"}} {
			_, err := ar.Webhooks.Deliveries(ctx, id, bad.opts)
			clientError(t, "Deliveries "+bad.field, err, http.StatusBadRequest, "BAD_REQUEST", bad.field)
		}

		// Delete.
		call(t, e, http.StatusNoContent, "DELETE", hooks+"/"+id, A.Write, nil)
		wantError(t, e.Do("GET", hooks+"/"+id, A.Read, nil), http.StatusNotFound, "root", "NOT_FOUND")
		wantError(t, e.Do("DELETE", hooks+"/"+id, A.Write, nil), http.StatusNotFound, "root", "NOT_FOUND")
		if err := aw.Webhooks.Delete(ctx, mine.ID); err != nil {
			t.Errorf("Webhooks.Delete: %v", err)
		}
		clientError(t, "Delete twice", aw.Webhooks.Delete(ctx, mine.ID), http.StatusNotFound, "NOT_FOUND", "root")
		if items, err := ar.Webhooks.List(ctx); err != nil || len(items) != 0 {
			t.Errorf("after deleting both: %+v %v", items, err)
		}

		// At most 20 endpoints.
		for range 20 {
			if _, err := aw.Webhooks.Create(ctx, client.NewWebhook{URL: "https://crm.example.com/"}); err != nil {
				t.Fatal(err)
			}
		}
		wantError(t, e.Do("POST", hooks, A.Write, map[string]any{"url": "https://crm.example.com/"}), http.StatusConflict, "root", "CONFLICT")
		_, err = aw.Webhooks.Create(ctx, client.NewWebhook{URL: "https://crm.example.com/"})
		clientError(t, "the 21st endpoint", err, http.StatusConflict, "CONFLICT", "root")
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
