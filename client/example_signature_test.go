package client_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/parleyhq/parley/client"
)

// Receive webhooks: verify the signature over the raw body, then handle the event. This is
// the recipe of docs/integrations.md ("Receive webhooks"), copied there verbatim.
func ExampleVerifySignature() {
	secret := "whsec_Wk5wZ2Fzc2VjcmV0LXNob3duLW9uY2U" // shown once, when the endpoint was created

	// recipe:start
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		sig := r.Header.Get(client.SignatureHeader) // Parley-Signature
		if err := client.VerifySignature(secret, sig, body, client.DefaultSignatureTolerance, time.Now()); err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var ev client.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		// Deliveries come at least once: skip an ev.ID you have already handled.
		fmt.Println(ev.Type, ev.Data.Conversation.ID, ev.Actor.Type)
		w.WriteHeader(http.StatusNoContent) // answer 2xx within 10 seconds
	})
	// recipe:end

	// What Parley sends (its dispatcher signs with the same secret).
	body := `{"id":"0197a0c3-5b1e-7c2a-9d40-2f6b8e1a4c10","type":"conversation.resolved","created_at":"2026-01-15T10:30:00Z",` +
		`"assistant_id":"0197a0c3-0000-7000-8000-000000000001","actor":{"type":"api_token","id":"tok","name":"CRM"},` +
		`"data":{"conversation":{"id":"0197a0c3-1111-7000-8000-000000000002"}}}`
	signature := signForExample(secret, time.Now(), body)
	send := func(body string) int {
		req := httptest.NewRequest("POST", "/parley", strings.NewReader(body))
		req.Header.Set(client.SignatureHeader, signature)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		return rec.Code
	}
	fmt.Println(send(body))
	fmt.Println(send(strings.Replace(body, "resolved", "deleted", 1))) // tampered with
	// Output:
	// conversation.resolved 0197a0c3-1111-7000-8000-000000000002 api_token
	// 204
	// 401
}
