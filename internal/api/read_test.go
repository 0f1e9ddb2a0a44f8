package api_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

// The reference's own examples, verbatim.
const (
	referenceListItem = `{
"id": "conv-uuid-1234",
"ord": 42,
"created_at": "2026-01-15T10:30:00Z",
"last_message_at": "2026-01-15T10:35:00Z",
"title": "Return policy question",
"source": "widget",
"terminated": false,
"resolution_status": "open",
"has_unread_messages": true,
"supports_inbox_control": true,
"last_message_content": "What is your return policy?",
"most_frequent_language": "en",
"assignee": {
"type": "ai_assistant"
},
"visitor_name": "John",
"visitor_email": "john@example.com",
"visitor_phone_number": null,
"visitor_label": null
}`
	referenceDetailExample = `{
"id": "conv-uuid-1234",
"ord": 42,
"created_at": "2026-01-15T10:30:00Z",
"last_message_at": "2026-01-15T10:35:00Z",
"title": "Return policy question",
"source": "widget",
"terminated": false,
"resolution_status": "open",
"has_unread_messages": true,
"supports_inbox_control": true,
"last_message_content": "What is your return policy?",
"most_frequent_language": "en",
"assignee": {
"type": "ai_assistant"
},
"url": null,
"client_metadata": {"userId": 12},
"last_visitor_message_at": "2026-01-15T10:34:00Z",
"unified_analysis": {
"sentiment": "neutral",
"resolution_status": "open",
"topic": "Return policy",
"is_flagged": false,
"flag_reason": null
},
"visitor_name": "John",
"visitor_email": "john@example.com",
"visitor_phone_number": null,
"visitor_label": null
}`
	referenceEvents = `{
"items": [
{
"type": "message",
"data": {
"id": "msg-uuid-001",
"ord": 1,
"created_at": "2026-01-15T10:30:00Z",
"content": "Hello! How can I help you today?",
"author": "ai_assistant",
"handoff_state": null,
"message_insights": null,
"feedback": null,
"client_metadata": null,
"sources_generated": [],
"is_welcome": true,
"attachments": []
}
},
{
"type": "message",
"data": {
"id": "msg-uuid-002",
"ord": 2,
"created_at": "2026-01-15T10:31:00Z",
"content": "What is your return policy?",
"author": "visitor",
"handoff_state": null,
"message_insights": null,
"feedback": null,
"client_metadata": null,
"sources_generated": [],
"is_welcome": false,
"attachments": []
}
}
],
"offset": 0,
"limit": 20,
"count": 2
}`
)

// createJohn recreates the reference's example conversation: John on the widget, a welcome
// message and his question, metadata {"userId": 12}. The times are those of the reference's
// events example.
func createJohn(t testing.TB, e *apitest.Env, token string) map[string]any {
	t.Helper()
	welcome := msg("ai_assistant", "Hello! How can I help you today?", "2026-01-15T10:30:00Z")
	welcome["is_welcome"] = true
	return create(t, e, token, map[string]any{
		"source": "widget", "visitor_name": "John", "visitor_email": "john@example.com",
		"client_metadata": map[string]any{"userId": 12}, "created_at": "2026-01-15T10:30:00Z",
		"messages": []any{welcome, msg("visitor", "What is your return policy?", "2026-01-15T10:31:00Z")},
	})
}

// withGenerated returns the reference example with the values the server generates (ids,
// order numbers, analysis) and the times of our recreation put in.
func withGenerated(t testing.TB, example string, got map[string]any, overrides map[string]any) map[string]any {
	t.Helper()
	want := mustJSON(t, example)
	want["id"] = got["id"]
	for k, v := range overrides {
		want[k] = v
	}
	return want
}

func TestReferenceExample(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		created := createJohn(t, e, e.A.Write)
		id := str(t, created, "id")
		// Before any analysis: no title, no language, no unified_analysis; the last message
		// and the last visitor message are John's question at 10:31.
		generated := map[string]any{
			"ord": 1, "title": "", "most_frequent_language": "", "last_message_at": "2026-01-15T10:31:00Z",
		}

		t.Run("list item", func(t *testing.T) {
			r := call(t, e, 200, "GET", convs+"?limit=10&resolution_status=open", e.A.Read, nil)
			keysAre(t, "list envelope", obj(t, r), "items", "offset", "limit", "count", "next_cursor")
			var p page
			r.JSON(t, &p)
			if p.Count != 1 || p.Offset != 0 || p.Limit != 10 || len(p.Items) != 1 {
				t.Fatalf("envelope: count %d offset %d limit %d items %d", p.Count, p.Offset, p.Limit, len(p.Items))
			}
			item := p.Items[0]
			checkShape(t, "item", item, referenceItem)
			equalJSON(t, "list item", item, withGenerated(t, referenceListItem, item, generated))
		})

		t.Run("detail", func(t *testing.T) {
			r := call(t, e, 200, "GET", conv(id), e.A.Read, nil)
			d := obj(t, r)
			checkShape(t, "detail", d, referenceDetail)
			over := map[string]any{"last_visitor_message_at": "2026-01-15T10:31:00Z", "unified_analysis": nil, "version": d["version"], "rating": nil}
			for k, v := range generated {
				over[k] = v
			}
			equalJSON(t, "detail", d, withGenerated(t, referenceDetailExample, d, over))
			if want := `"` + strconv.Itoa(num(t, d, "version")) + `"`; r.Header.Get("ETag") != want {
				t.Errorf("ETag %q, want %q", r.Header.Get("ETag"), want)
			}
			// The create answered the same detail.
			equalJSON(t, "create response", created, d)
		})

		t.Run("events", func(t *testing.T) {
			r := call(t, e, 200, "GET", events(id)+"?limit=20", e.A.Read, nil)
			got := obj(t, r)
			keysAre(t, "events envelope", got, "items", "offset", "limit", "count", "next_cursor")
			want := mustJSON(t, referenceEvents)
			items, _ := got["items"].([]any)
			if len(items) != 2 {
				t.Fatalf("events: %s", r.Body)
			}
			for i, it := range items {
				ev := it.(map[string]any)
				keysAre(t, "event", ev, "type", "data")
				data := ev["data"].(map[string]any)
				checkShape(t, "message", data, referenceMessage)
				// Event ids are generated; the rest is the reference's.
				want["items"].([]any)[i].(map[string]any)["data"].(map[string]any)["id"] = data["id"]
			}
			want["next_cursor"] = nil
			equalJSON(t, "events", got, want)
		})
	})
}

func TestListEnvelopeKeys(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		for _, path := range []string{convs, convs + "/"} {
			m := obj(t, call(t, e, 200, "GET", path, e.A.Read, nil))
			keysAre(t, "list envelope", m, "items", "offset", "limit", "count", "next_cursor")
			equalJSON(t, "empty list", m, map[string]any{"items": []any{}, "offset": 0, "limit": 20, "count": 0, "next_cursor": nil})
		}
	})
}

// TestEmptyConversationShape checks the shapes on a conversation without any message, where
// most fields are empty.
func TestEmptyConversationShape(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		d := create(t, e, e.A.Write, map[string]any{"source": "api", "created_at": "2026-01-15T10:30:00Z"})
		checkShape(t, "detail", d, referenceDetail)
		want := map[string]any{
			"id": d["id"], "ord": 1, "created_at": "2026-01-15T10:30:00Z", "last_message_at": "2026-01-15T10:30:00Z",
			"title": "", "source": "api", "terminated": false, "resolution_status": "open", "has_unread_messages": false,
			"supports_inbox_control": false, "last_message_content": "", "most_frequent_language": "",
			"assignee": map[string]any{"type": "ai_assistant"}, "visitor_name": nil, "visitor_email": nil,
			"visitor_phone_number": nil, "visitor_label": nil, "url": nil, "client_metadata": nil,
			"last_visitor_message_at": nil, "unified_analysis": nil, "version": 1, "rating": nil,
		}
		equalJSON(t, "detail", d, want)
		p := list(t, e, e.A.Read, nil)
		checkShape(t, "item", p.Items[0], referenceItem)
		ev := timeline(t, e, e.A.Read, str(t, d, "id"))
		if ev.Count != 0 || len(ev.Items) != 0 || ev.NextCursor != nil {
			t.Errorf("events of an empty conversation: %+v", ev)
		}
	})
}

// TestTrailingSlash: list, detail, events and metadata answer 200 with and without a trailing
// slash, directly: no redirect.
func TestTrailingSlash(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, createJohn(t, e, e.A.Write), "id")
		noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		base := convs + "/" + id
		for _, path := range []string{convs, convs + "/", base, base + "/", base + "/events", base + "/events/", base + "/metadata", base + "/metadata/"} {
			req, _ := http.NewRequest("GET", e.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.A.Read)
			res, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 || res.Header.Get("Location") != "" {
				t.Errorf("GET %s: %d (Location %q), want 200 without redirect", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})
}

// TestEventsPaging walks a timeline with limit and offset, and with the extensions type and
// after_ord.
func TestEventsPaging(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		var ms []any
		for i := 1; i <= 5; i++ {
			ms = append(ms, msg("visitor", fmt.Sprintf("message %d", i), fmt.Sprintf("2026-01-15T10:3%d:00Z", i)))
		}
		id := str(t, create(t, e, e.A.Write, map[string]any{"source": "widget", "messages": ms}), "id")
		call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"resolution_status": "resolved"})

		var p page
		call(t, e, 200, "GET", events(id)+"?limit=2&offset=1", e.A.Read, nil).JSON(t, &p)
		if p.Count != 6 || p.Limit != 2 || p.Offset != 1 || len(p.Items) != 2 {
			t.Fatalf("page: %+v", p)
		}
		for i, it := range p.Items {
			data := it["data"].(map[string]any)
			if num(t, data, "ord") != i+2 || data["content"] != fmt.Sprintf("message %d", i+2) {
				t.Errorf("item %d: %v", i, data)
			}
		}
		// Default limit is 20; the timeline is oldest first with gapless ords.
		all := timeline(t, e, e.A.Read, id)
		for i, it := range all.Items {
			if num(t, it["data"].(map[string]any), "ord") != i+1 {
				t.Errorf("ord of item %d: %v", i, it)
			}
		}
		if all.Items[5]["type"] != "log" {
			t.Errorf("last event: %v", all.Items[5])
		}
		// Extension: type filter.
		call(t, e, 200, "GET", events(id)+"?type=log", e.A.Read, nil).JSON(t, &p)
		if p.Count != 1 || len(p.Items) != 1 || p.Items[0]["type"] != "log" {
			t.Errorf("type=log: %+v", p)
		}
		// Extension: keyset walk with after_ord from next_cursor.
		var seen []int
		path := events(id) + "?limit=4"
		for path != "" {
			call(t, e, 200, "GET", path, e.A.Read, nil).JSON(t, &p)
			for _, it := range p.Items {
				seen = append(seen, num(t, it["data"].(map[string]any), "ord"))
			}
			path = ""
			if p.NextCursor != nil {
				path = events(id) + "?limit=4&after_ord=" + *p.NextCursor
			}
		}
		if fmt.Sprint(seen) != "[1 2 3 4 5 6]" {
			t.Errorf("walk: %v", seen)
		}
	})
}
