package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// rawAuth sends a GET of the list with the Authorization header exactly as given (none when
// "").
func rawAuth(t testing.TB, e *apitest.Env, header string) apitest.Response {
	t.Helper()
	if header == "" {
		return e.Do("GET", convs, "", nil)
	}
	return e.Do("GET", convs, "", nil, "Authorization", header)
}

func TestAuthentication(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		expired := e.Token(e.A.ID, cv.ScopeWrite, time.Millisecond)
		revoked := e.Token(e.A.ID, cv.ScopeWrite, time.Hour)
		if err := e.Store.RevokeToken(context.Background(), tokenID(t, e, revoked), time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // the only sleep: let the 1 ms token expire

		headers := map[string]string{
			"no header":            "",
			"empty bearer":         "Bearer ",
			"scheme only":          "Bearer",
			"basic scheme":         "Basic " + e.A.Read,
			"token without bearer": e.A.Read,
			"unknown token":        "Bearer prly_unknownunknownunknownunknownunknownunknown",
			"too long":             "Bearer " + strings.Repeat("x", 300),
			"expired":              "Bearer " + expired,
			"revoked":              "Bearer " + revoked,
			"token and garbage":    "Bearer " + e.A.Read + " extra",
		}
		for name, h := range headers {
			r := rawAuth(t, e, h)
			if r.Status != 401 {
				t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
				continue
			}
			wantError(t, r, 401, "root", "PERMISSION_DENIED")
		}
		// Every route under /v1/api_core wants a token, writes included; nothing is written.
		for _, c := range []struct{ method, path string }{
			{"GET", convs}, {"POST", convs}, {"GET", settingP}, {"PATCH", settingP}, {"POST", importP},
			{"GET", conv("00000000-0000-0000-0000-000000000000")},
		} {
			wantError(t, e.Do(c.method, c.path, "", `{"source":"api"}`), 401, "root", "PERMISSION_DENIED")
			wantError(t, e.Do(c.method, c.path, revoked, `{"source":"api"}`), 401, "root", "PERMISSION_DENIED")
		}
		// The scheme is case-insensitive, and good tokens of both scopes read.
		call(t, e, 200, "GET", convs, "", nil, "Authorization", "bearer "+e.A.Read)
		call(t, e, 200, "GET", convs, e.A.Write, nil)
		if p := list(t, e, e.A.Read, nil); p.Count != 0 {
			t.Errorf("unauthenticated writes stored %d conversations", p.Count)
		}
	})
}

// writeEndpoints are every write route of a conversation id (and the assistant-wide ones),
// with a body each would accept.
func writeEndpoints(id string) []struct {
	method, path string
	body         any
} {
	return []struct {
		method, path string
		body         any
	}{
		{"POST", convs, map[string]any{"source": "api"}},
		{"POST", convs + "/", map[string]any{"source": "api"}},
		{"PATCH", conv(id), map[string]any{"resolution_status": "resolved"}},
		{"DELETE", conv(id), nil},
		{"POST", messages(id), map[string]any{"author": "visitor", "content": "x"}},
		{"POST", metadata(id), map[string]any{"k": 1}},
		{"PUT", metadata(id), map[string]any{"k": 1}},
		{"PATCH", metadata(id), map[string]any{"k": 1}},
		{"POST", importP, `{"source":"api"}`},
		{"PATCH", settingP, map[string]any{"link_tracking": true}},
	}
}

func TestReadScopeCannotWrite(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, createJohn(t, e, e.A.Write), "id")
		before := detail(t, e, e.A.Read, id)
		settingsBefore := obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil))
		for _, w := range writeEndpoints(id) {
			msg := wantError(t, e.Do(w.method, w.path, e.A.Read, w.body), 403, "root", "PERMISSION_DENIED")
			if msg != "Insufficient token scope. Required: write_all" {
				t.Errorf("%s %s: message %q", w.method, w.path, msg)
			}
		}
		equalJSON(t, "conversation after refused writes", detail(t, e, e.A.Read, id), before)
		equalJSON(t, "settings after refused writes", obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil)), settingsBefore)
		if p := list(t, e, e.A.Read, nil); p.Count != 1 {
			t.Errorf("list count %d after refused writes", p.Count)
		}
	})
}

// TestTenancy: assistant B sees nothing of A's by any route, and every route answers A's ids
// exactly like missing ones.
func TestTenancy(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		john := createJohn(t, e, e.A.Write)
		id := str(t, john, "id")
		other := create(t, e, e.A.Write, map[string]any{"source": "slack", "visitor_name": "Zebra Crossing", "external_id": "ext-a",
			"messages": []any{msg("visitor", "tracking number ORD-777", "2026-01-16T10:00:00Z")}})
		eventID := str(t, timeline(t, e, e.A.Read, id).Items[0]["data"].(map[string]any), "id")
		call(t, e, 200, "PATCH", settingP, e.A.Write, map[string]any{"link_tracking": true})
		before := detail(t, e, e.A.Read, id)
		eventsBefore := timeline(t, e, e.A.Read, id)

		for _, tok := range []string{e.B.Read, e.B.Write} {
			if p := list(t, e, tok, nil); p.Count != 0 || len(p.Items) != 0 {
				t.Errorf("B lists %d conversations", p.Count)
			}
			for _, query := range []string{id, strings.ToUpper(id), eventID, "#1", "1", "#2", "2", "return policy", "john", "john@example.com", "zebra", "ORD-777", "777"} {
				if p := list(t, e, tok, q("query", query)); p.Count != 0 || len(p.Items) != 0 {
					t.Errorf("B's query %q finds %v", query, p.ids())
				}
			}
			for _, v := range []string{"metadata.userId", "source"} {
				if p := list(t, e, tok, q(v, map[string]string{"metadata.userId": "12", "source": "widget"}[v])); p.Count != 0 {
					t.Errorf("B's filter %s finds %v", v, p.ids())
				}
			}
			for _, path := range []string{conv(id), events(id), metadata(id), convs + "/" + id, convs + "/" + id + "/events"} {
				wantError(t, e.Do("GET", path, tok, nil), 404, "root", "NOT_FOUND")
			}
		}
		// Writes with B's write token: 404, never 403.
		for _, w := range writeEndpoints(id) {
			if w.path == convs || w.path == convs+"/" || w.path == importP || w.path == settingP {
				continue
			}
			wantError(t, e.Do(w.method, w.path, e.B.Write, w.body), 404, "root", "NOT_FOUND")
		}
		// An upsert by B with A's external_id makes B's own conversation; B's settings are B's.
		mine := create(t, e, e.B.Write, map[string]any{"source": "slack", "external_id": "ext-a"})
		if mine["id"] == other["id"] || num(t, mine, "ord") != 1 {
			t.Errorf("B's upsert with A's external_id: %v", mine)
		}
		if s := obj(t, call(t, e, 200, "GET", settingP, e.B.Read, nil)); s["link_tracking"] != false {
			t.Errorf("B sees A's settings: %v", s)
		}
		// A's conversation is untouched.
		equalJSON(t, "A's detail", detail(t, e, e.A.Read, id), before)
		equalJSON(t, "A's events", timeline(t, e, e.A.Read, id), eventsBefore)
		if p := list(t, e, e.A.Read, nil); p.Count != 2 {
			t.Errorf("A lists %d conversations", p.Count)
		}
		// And the other way round: A cannot see B's.
		wantError(t, e.Do("GET", conv(str(t, mine, "id")), e.A.Read, nil), 404, "root", "NOT_FOUND")
	})
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		e := apitest.Start(t, open, &api.Config{RateLimits: api.RateLimits{2, 2, 1}})
		for range 2 {
			call(t, e, 200, "GET", convs, e.A.Read, nil)
		}
		r := e.Do("GET", convs, e.A.Read, nil)
		wantError(t, r, 429, "root", "TOO_MANY_REQUESTS")
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" || strings.ContainsAny(ra, ".-") {
			t.Errorf("Retry-After %q", ra)
		}
		// Reads by the same token on another route share the class; other tokens and other
		// classes are not affected.
		wantError(t, e.Do("GET", settingP, e.A.Read, nil), 429, "root", "TOO_MANY_REQUESTS")
		call(t, e, 200, "GET", convs, e.A.Write, nil)
		call(t, e, 200, "GET", convs, e.B.Read, nil)
		call(t, e, 201, "POST", convs, e.A.Write, map[string]any{"source": "api"})
		// Heavy: one import a minute.
		call(t, e, 200, "POST", importP, e.A.Write, `{"source":"api"}`)
		wantError(t, e.Do("POST", importP, e.A.Write, `{"source":"api"}`), 429, "root", "TOO_MANY_REQUESTS")
		// A refused request is not counted against the next (the bucket stays empty, not
		// negative), and unauthenticated requests are refused before the limiter.
		wantError(t, e.Do("GET", convs, "", nil), 401, "root", "PERMISSION_DENIED")
		if r := e.Do("GET", convs, e.A.Read, nil); r.Status != http.StatusTooManyRequests {
			t.Errorf("fourth read: %d", r.Status)
		}
	})
}
