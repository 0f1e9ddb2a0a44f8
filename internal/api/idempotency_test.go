package api_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

func TestIdempotencyKey(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		e := apitest.Start(t, open, nil)
		body := map[string]any{"source": "api", "messages": []any{map[string]any{"author": "visitor", "content": "hello"}}}
		first := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, body, "Idempotency-Key", "k1")
		again := e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.A.Write, body, "Idempotency-Key", "k1")
		if string(first.Body) != string(again.Body) || again.Header.Get("Idempotent-Replayed") != "true" ||
			again.Header.Get("ETag") == "" || again.Header.Get("ETag") != first.Header.Get("ETag") || again.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("retry was not replayed:\n%s\n%s", first.Body, again.Body)
		}
		// The same key with another body is refused; another assistant's key space is its own.
		e.Must(http.StatusUnprocessableEntity, "POST", "/v1/api_core/conversations", e.A.Write, map[string]any{"source": "widget"}, "Idempotency-Key", "k1")
		e.Must(http.StatusCreated, "POST", "/v1/api_core/conversations", e.B.Write, body, "Idempotency-Key", "k1")

		// Concurrent retries of one request store one conversation.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := e.Do("POST", "/v1/api_core/conversations", e.A.Write, body, "Idempotency-Key", "k2")
				if r.Status != http.StatusCreated && r.Status != http.StatusConflict {
					t.Errorf("concurrent retry: %d %s", r.Status, r.Body)
				}
			}()
		}
		wg.Wait()
		var list struct{ Count int }
		e.Must(http.StatusOK, "GET", "/v1/api_core/conversations", e.A.Read, nil).JSON(t, &list)
		if list.Count != 2 {
			t.Fatalf("assistant A has %d conversations, want 2", list.Count)
		}
	})
}
