package api_test

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

func TestBadListParams(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		create(t, e, e.A.Write, map[string]any{"source": "api"})
		create(t, e, e.A.Write, map[string]any{"source": "api"})
		// A cursor of another sort order, and one that is not a cursor at all.
		ordCursor := *list(t, e, e.A.Read, q("sort", "ord", "limit", "1")).NextCursor
		fake := base64.RawURLEncoding.EncodeToString([]byte(`{"s":"","k":1}`))
		cases := []struct {
			name, value string
		}{
			{"limit", "abc"}, {"limit", "-1"}, {"limit", "0"}, {"limit", "1.5"}, {"limit", " 5"}, {"limit", "99999999999999999999999"},
			{"offset", "abc"}, {"offset", "-1"}, {"offset", "1e3"},
			{"assignee_type", "robot"}, {"assignee_type", "AI_ASSISTANT"},
			{"source", "fax"}, {"source", "widget,fax"},
			{"resolution_status", "closed"}, {"resolution_status", "Open"},
			{"sentiment", "angry"},
			{"created_timestamp_start_date", "2026-13-01"},
			{"created_timestamp_end_date", "yesterday"},
			{"created_timestamp_start_date", "2026-01-15T10:30:00"}, // no zone
			{"last_message_at_start_date", "2026-01-15T25:00:00Z"},
			{"last_message_at_end_date", "15/01/2026"},
			{"sort", "title"}, {"sort", "--ord"}, {"sort", "-"}, {"sort", "ORD"},
			{"cursor", "garbage!"}, {"cursor", ordCursor + "x"}, {"cursor", fake}, {"cursor", strings.Repeat("A", 300)},
			{"is_flagged", "maybe"}, {"has_unread_messages", "yes"}, {"terminated", "2"},
			{"query", strings.Repeat("x", 1025)},
			{"most_frequent_language", strings.TrimSuffix(strings.Repeat("en,", 33), ",")},
			{"metadata.", "x"},
		}
		for _, c := range cases {
			path := convs + "?" + url.Values{c.name: {c.value}}.Encode()
			r := e.Do("GET", path, e.A.Read, nil)
			if r.Status != 400 {
				t.Errorf("%s=%q: status %d: %s", c.name, c.value, r.Status, r.Body)
				continue
			}
			wantError(t, r, 400, c.name, "BAD_REQUEST")
		}
		// A cursor of another sort order is refused; with its own sort it works.
		wantError(t, e.Do("GET", convs+"?cursor="+ordCursor, e.A.Read, nil), 400, "cursor", "BAD_REQUEST")
		wantError(t, e.Do("GET", convs+"?sort=-ord&cursor="+ordCursor, e.A.Read, nil), 400, "cursor", "BAD_REQUEST")
		call(t, e, 200, "GET", convs+"?sort=ord&cursor="+ordCursor, e.A.Read, nil)

		// The timeline's parameters.
		id := str(t, createJohn(t, e, e.A.Write), "id")
		for _, c := range []struct{ name, value string }{
			{"limit", "0"}, {"limit", "x"}, {"offset", "-1"}, {"type", "note"}, {"type", "message,note"}, {"after_ord", "-1"}, {"after_ord", "x"},
		} {
			r := e.Do("GET", events(id)+"?"+url.Values{c.name: {c.value}}.Encode(), e.A.Read, nil)
			wantError(t, r, 400, c.name, "BAD_REQUEST")
		}
	})
}

func TestMalformedIDs(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		real := str(t, createJohn(t, e, e.A.Write), "id")
		before := detail(t, e, e.A.Read, real)
		ids := []string{
			"abc", "12345", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", strings.ReplaceAll(real, "-", ""),
			"{" + real + "}", real + "0", real[:35], "00000000-0000-0000-0000-000000000000", url.PathEscape(real + " "),
		}
		for _, id := range ids {
			for _, w := range []struct {
				method, path string
				body         any
			}{
				{"GET", conv(id), nil}, {"GET", events(id), nil}, {"GET", metadata(id), nil},
				{"PATCH", conv(id), map[string]any{"terminated": true}}, {"DELETE", conv(id), nil},
				{"POST", messages(id), map[string]any{"author": "visitor", "content": "x"}},
				{"POST", metadata(id), map[string]any{"k": 1}}, {"PUT", metadata(id), map[string]any{"k": 1}},
				{"PATCH", metadata(id), map[string]any{"k": 1}},
			} {
				r := e.Do(w.method, w.path, e.A.Write, w.body)
				if r.Status != 404 {
					t.Errorf("%s %s: %d %s", w.method, w.path, r.Status, r.Body)
					continue
				}
				wantError(t, r, 404, "root", "NOT_FOUND")
			}
		}
		equalJSON(t, "untouched", detail(t, e, e.A.Read, real), before)
	})
}

func TestBadBodies(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, createJohn(t, e, e.A.Write), "id")
		before := detail(t, e, e.A.Read, id)
		cases := []struct {
			method, path, body string
			status             int
			key                string
		}{
			// Not JSON, or not one JSON value: 400 naming the body.
			{"POST", convs, `{"source":`, 400, "body"},
			{"POST", convs, `not json`, 400, "body"},
			{"POST", convs, `{"source":"api"} {"source":"api"}`, 400, "body"},
			{"POST", convs, ``, 400, "body"},
			{"POST", convs, `[{"source":"api"}]`, 400, "body"},
			{"PATCH", conv(id), `{`, 400, "body"},
			{"PATCH", conv(id), `[]`, 400, "body"},
			{"POST", messages(id), `{"author":`, 400, "body"},
			{"PATCH", settingP, `{"link_tracking":`, 400, "body"},
			// Wrong JSON types and values: 422 naming the field.
			{"POST", convs, `{}`, 422, "source"},
			{"POST", convs, `{"visitor_name": "x"}`, 422, "source"},
			{"POST", convs, `{"source": ""}`, 422, "source"},
			{"POST", convs, `{"source": "fax"}`, 422, "source"},
			{"POST", convs, `{"source": 5}`, 422, "source"},
			{"POST", convs, `{"source": null}`, 422, "source"},
			{"POST", convs, `{"source": "api", "visitor_name": 3}`, 422, "visitor_name"},
			{"POST", convs, `{"source": "api", "visitor_email": {"a": 1}}`, 422, "visitor_email"},
			{"POST", convs, `{"source": "api", "url": false}`, 422, "url"},
			{"POST", convs, `{"source": "api", "external_id": 7}`, 422, "external_id"},
			{"POST", convs, `{"source": "api", "external_id": ""}`, 422, "external_id"},
			{"POST", convs, `{"source": "api", "client_metadata": [1]}`, 422, "client_metadata"},
			{"POST", convs, `{"source": "api", "messages": "x"}`, 422, "messages"},
			{"POST", convs, `{"source": "api", "messages": [{"content": "x"}]}`, 422, "messages[0].author"},
			{"POST", convs, `{"source": "api", "messages": [{"author": "visitor"}, {"author": "robot"}]}`, 422, "messages[1].author"},
			{"POST", convs, `{"source": "api", "messages": [{"author": "visitor", "attachments": {}}]}`, 422, "messages[0].attachments"},
			{"POST", convs, `{"source": "api", "created_at": 5}`, 422, "created_at"},
			{"POST", convs, `{"source": "api", "created_at": "yesterday"}`, 422, "created_at"},
			{"POST", convs, `{"source": "api", "messages": [{"author": "visitor", "content": 5}]}`, 422, "messages[0].content"},
			{"POST", convs, `{"source": "api", "messages": [{"author": "visitor", "created_at": "2026-01-15"}]}`, 422, "messages[0].created_at"},
			{"PATCH", conv(id), `{"terminated": "yes"}`, 422, "terminated"},
			{"PATCH", conv(id), `{"terminated": null}`, 422, "terminated"},
			{"PATCH", conv(id), `{"has_unread_messages": 1}`, 422, "has_unread_messages"},
			{"PATCH", conv(id), `{"resolution_status": "closed"}`, 422, "resolution_status"},
			{"PATCH", conv(id), `{"resolution_status": null}`, 422, "resolution_status"},
			{"PATCH", conv(id), `{"resolution_status": 1}`, 422, "resolution_status"},
			{"PATCH", conv(id), `{"assignee": "bob"}`, 422, "assignee"},
			{"PATCH", conv(id), `{"assignee": null}`, 422, "assignee"},
			{"PATCH", conv(id), `{"assignee": {"type": "robot"}}`, 422, "assignee.type"},
			{"PATCH", conv(id), `{"assignee": {}}`, 422, "assignee.type"},
			{"PATCH", conv(id), `{"assignee": {"type": "ai_assistant", "id": "op-1"}}`, 422, "assignee.id"},
			{"PATCH", conv(id), `{"title": 5}`, 422, "title"},
			{"PATCH", conv(id), `{"visitor_name": ["x"]}`, 422, "visitor_name"},
			{"PATCH", conv(id), `{"visitor_email": "` + strings.Repeat("x", 513) + `"}`, 422, "visitor_email"},
			{"POST", messages(id), `{"content": "hi"}`, 422, "author"},
			{"POST", messages(id), `{"author": "bot", "content": "hi"}`, 422, "author"},
			{"POST", messages(id), `{"author": "visitor", "content": 5}`, 422, "content"},
			{"POST", messages(id), `{"author": "visitor", "content": "` + strings.Repeat("x", 64<<10+1) + `"}`, 422, "content"},
			{"POST", messages(id), `{"author": "visitor", "is_welcome": "yes"}`, 422, "is_welcome"},
			{"POST", messages(id), `{"author": "visitor", "client_metadata": [1]}`, 422, "client_metadata"},
			{"POST", messages(id), `{"author": "visitor", "sources_generated": {}}`, 422, "sources_generated"},
			{"POST", messages(id), `{"author": "visitor", "external_id": ""}`, 422, "external_id"},
			{"POST", messages(id), `{"author": "visitor", "created_at": "yesterday"}`, 422, "created_at"},
		}
		for _, c := range cases {
			t.Run(fmt.Sprintf("%s %.60s", c.method, c.body), func(t *testing.T) {
				code := map[int]string{400: "BAD_REQUEST", 422: "VALIDATION_ERROR"}[c.status]
				wantError(t, e.Do(c.method, c.path, e.A.Write, c.body), c.status, c.key, code)
			})
		}
		// Nothing was stored or changed.
		equalJSON(t, "untouched", detail(t, e, e.A.Read, id), before)
		if p := list(t, e, e.A.Read, nil); p.Count != 1 {
			t.Errorf("bad bodies stored %d conversations", p.Count-1)
		}
		if n := timeline(t, e, e.A.Read, id).Count; n != 2 {
			t.Errorf("bad bodies added events: %d", n)
		}
	})
}

func TestBodyTooLarge(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, createJohn(t, e, e.A.Write), "id")
		before := detail(t, e, e.A.Read, id)
		huge := strings.Repeat("x", 1<<20)
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"POST", convs, map[string]any{"source": "api", "visitor_name": huge}},
			{"POST", convs, map[string]any{"source": "api", "messages": []any{msg("visitor", huge[:60<<10], ""), msg("visitor", huge, "")}}},
			{"PATCH", conv(id), map[string]any{"title": huge}},
			{"POST", messages(id), map[string]any{"author": "visitor", "content": huge}},
			{"POST", metadata(id), map[string]any{"k": huge}},
			{"PUT", metadata(id), map[string]any{"k": huge}},
			{"PATCH", metadata(id), map[string]any{"k": huge}},
			{"PATCH", settingP, map[string]any{"handoff_keywords": []string{huge}}},
		} {
			r := e.Do(c.method, c.path, e.A.Write, c.body)
			if r.Status != 413 {
				t.Errorf("%s %s: %d %.300s", c.method, c.path, r.Status, r.Body)
				continue
			}
			wantError(t, r, 413, "root", "REQUEST_TOO_LARGE")
		}
		// Nothing was stored.
		equalJSON(t, "untouched", detail(t, e, e.A.Read, id), before)
		if p := list(t, e, e.A.Read, nil); p.Count != 1 {
			t.Errorf("too-large bodies stored %d conversations", p.Count-1)
		}
		if s := obj(t, call(t, e, 200, "GET", settingP, e.A.Read, nil)); len(s["handoff_keywords"].([]any)) != 0 {
			t.Errorf("settings changed: %v", s)
		}
	})
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, createJohn(t, e, e.A.Write), "id")
		for _, path := range []string{"/v1/api_core/nope", "/v1/", "/v1/api_core", "/v1/nothing/at/all", conv(id) + "unknown", convs + "/" + id + "/events/extra"} {
			for _, tok := range []string{"", e.A.Read} {
				r := e.Do("GET", path, tok, nil)
				if r.Status != 404 {
					t.Errorf("GET %s: %d %s", path, r.Status, r.Body)
					continue
				}
				wantError(t, r, 404, "root", "NOT_FOUND")
			}
		}
		for _, c := range []struct{ method, path, allow string }{
			{"PUT", convs, "GET, POST"},
			{"DELETE", convs + "/", "GET, POST"},
			{"POST", conv(id), "GET, PATCH, DELETE"},
			{"PUT", convs + "/" + id, "GET, PATCH, DELETE"},
			{"POST", events(id), "GET"},
			{"GET", messages(id), "POST"},
			{"DELETE", metadata(id), "GET, POST, PUT, PATCH"},
			{"GET", importP, "POST"},
			{"DELETE", settingP, "GET, PATCH"},
			{"POST", settingP + "/", "GET, PATCH"},
		} {
			for _, tok := range []string{"", e.A.Write} {
				r := e.Do(c.method, c.path, tok, nil)
				if r.Status != 405 {
					t.Errorf("%s %s: %d %s", c.method, c.path, r.Status, r.Body)
					continue
				}
				wantError(t, r, 405, "root", "METHOD_NOT_ALLOWED")
				if got := r.Header.Get("Allow"); got != c.allow {
					t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
				}
			}
		}
		// Nothing was deleted by the refused DELETE.
		call(t, e, 200, "GET", conv(id), e.A.Read, nil)
	})
}

func TestIfMatch(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		d := createJohn(t, e, e.A.Write)
		id := str(t, d, "id")
		v := num(t, d, "version")
		etag := func(n int) string { return fmt.Sprintf(`"%d"`, n) }

		// Current: 200 and the next version.
		r := call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"title": "one"}, "If-Match", etag(v))
		if r.Header.Get("ETag") != etag(v+1) {
			t.Fatalf("ETag after a write: %q, want %q", r.Header.Get("ETag"), etag(v+1))
		}
		before := detail(t, e, e.A.Read, id)
		eventsBefore := timeline(t, e, e.A.Read, id).Count

		// Stale, on the conversation and on each metadata write: 412 and nothing changed.
		for _, c := range []struct {
			method, path string
			body         any
		}{
			{"PATCH", conv(id), map[string]any{"title": "two", "resolution_status": "resolved"}},
			{"POST", metadata(id), map[string]any{"k": 1}},
			{"PUT", metadata(id), map[string]any{"k": 1}},
			{"PATCH", metadata(id), map[string]any{"k": 1}},
		} {
			for _, stale := range []string{etag(v), `W/` + etag(v), etag(v + 5)} {
				wantError(t, e.Do(c.method, c.path, e.A.Write, c.body, "If-Match", stale), 412, "If-Match", "PRECONDITION_FAILED")
			}
			// Not an ETag of this API: 400.
			for _, bad := range []string{"abc", `"0"`, `"-1"`} {
				wantError(t, e.Do(c.method, c.path, e.A.Write, c.body, "If-Match", bad), 400, "If-Match", "BAD_REQUEST")
			}
		}
		equalJSON(t, "after stale writes", detail(t, e, e.A.Read, id), before)
		if n := timeline(t, e, e.A.Read, id).Count; n != eventsBefore {
			t.Errorf("stale writes added events: %d", n-eventsBefore)
		}

		// Current (strong, weak or *) on metadata and the conversation: 200.
		r = call(t, e, 200, "PATCH", metadata(id), e.A.Write, map[string]any{"k": 1}, "If-Match", etag(v+1))
		if r.Header.Get("ETag") != etag(v+2) {
			t.Errorf("metadata ETag %q", r.Header.Get("ETag"))
		}
		call(t, e, 200, "POST", metadata(id), e.A.Write, map[string]any{"k": 2}, "If-Match", `W/`+etag(v+2))
		call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"title": "three"}, "If-Match", "*")
		d = detail(t, e, e.A.Read, id)
		if d["title"] != "three" || num(t, d, "version") != v+4 {
			t.Errorf("after current writes: title %v version %v", d["title"], d["version"])
		}
		equalJSON(t, "metadata", d["client_metadata"], map[string]any{"userId": 12, "k": 2})
	})
}
