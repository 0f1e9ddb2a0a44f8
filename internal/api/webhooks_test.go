package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

const hooks = "/v1/api_core/webhooks"

var webhookShape = shape{
	"id": "string", "url": "string", "description": "string", "event_types": "array", "status": "string", "enabled": "bool",
	"disabled_reason": "string|null", "disabled_at": "time|null", "last_success_at": "time|null", "secret_set": "bool",
	"created_at": "time", "updated_at": "time",
}

func TestWebhookEndpoints(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		A, B := e.A, e.B
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
		if items := obj(t, call(t, e, http.StatusOK, "GET", hooks, B.Read, nil))["items"].([]any); len(items) != 0 {
			t.Errorf("B sees A's endpoints: %v", items)
		}
		// A chosen secret; every type.
		mine := obj(t, call(t, e, http.StatusCreated, "POST", hooks+"/", A.Write, map[string]any{"url": "http://127.0.0.1:9/x", "secret": "my-own-secret-0123456789"}))
		if mine["secret"] != "my-own-secret-0123456789" || len(mine["event_types"].([]any)) != 0 || mine["description"] != "" {
			t.Errorf("created with a secret: %v", mine)
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
		on := obj(t, call(t, e, http.StatusOK, "PATCH", hooks+"/"+id, A.Write, map[string]any{"enabled": true}))
		if on["status"] != "enabled" || on["disabled_reason"] != nil || on["disabled_at"] != nil {
			t.Errorf("enabled %v", on)
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
		call(t, e, http.StatusOK, "GET", hooks+"/"+id+"/deliveries", A.Read, nil)
		wantError(t, e.Do("GET", hooks, "", nil), http.StatusUnauthorized, "root", "PERMISSION_DENIED")

		// Another assistant's endpoint, and ids that cannot exist, are 404s.
		for _, path := range []string{hooks + "/" + id, hooks + "/not-an-id", hooks + "/" + strings.ToUpper(id)} {
			wantError(t, e.Do("GET", path, B.Read, nil), http.StatusNotFound, "root", "NOT_FOUND")
		}
		wantError(t, e.Do("PATCH", hooks+"/"+id, B.Write, map[string]any{"enabled": false}), http.StatusNotFound, "root", "NOT_FOUND")
		wantError(t, e.Do("DELETE", hooks+"/"+id, B.Write, nil), http.StatusNotFound, "root", "NOT_FOUND")
		wantError(t, e.Do("GET", hooks+"/"+id+"/deliveries", B.Read, nil), http.StatusNotFound, "root", "NOT_FOUND")

		// Deliveries: the envelope, parameters.
		page := obj(t, call(t, e, http.StatusOK, "GET", hooks+"/"+id+"/deliveries/?status=failed&limit=5", A.Read, nil))
		keysAre(t, "deliveries page", page, "items", "offset", "limit", "count", "next_cursor")
		for _, q := range []string{"?status=done", "?limit=0", "?cursor=x", "?cursor=-3"} {
			r := e.Do("GET", hooks+"/"+id+"/deliveries"+q, A.Read, nil)
			if r.Status != http.StatusBadRequest {
				t.Errorf("deliveries%s: %d %s", q, r.Status, r.Body)
			}
		}

		// Delete.
		call(t, e, http.StatusNoContent, "DELETE", hooks+"/"+id, A.Write, nil)
		wantError(t, e.Do("GET", hooks+"/"+id, A.Read, nil), http.StatusNotFound, "root", "NOT_FOUND")
		wantError(t, e.Do("DELETE", hooks+"/"+id, A.Write, nil), http.StatusNotFound, "root", "NOT_FOUND")

		// At most 20 endpoints.
		for range 19 {
			call(t, e, http.StatusCreated, "POST", hooks, A.Write, map[string]any{"url": "https://crm.example.com/"})
		}
		wantError(t, e.Do("POST", hooks, A.Write, map[string]any{"url": "https://crm.example.com/"}), http.StatusConflict, "root", "CONFLICT")
	})
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
