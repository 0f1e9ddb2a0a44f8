package api_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/apitest"
)

func TestCreateConversation(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		r := call(t, e, 201, "POST", convs, e.A.Write, map[string]any{
			"source": "widget", "visitor_name": "Ann", "visitor_email": "ann@example.com", "visitor_phone_number": "+48 600 000 000",
			"visitor_label": "vip", "url": "https://shop.example.com/returns", "client_metadata": map[string]any{"plan": "pro", "tags": []any{"a", "b"}},
			"created_at": "2026-01-15T11:30:00+01:00",
			"messages": []any{
				msg("visitor", "first question", "2026-01-15T10:31:00Z"),
				msg("ai_assistant", "an answer", "2026-01-15T10:32:00.5Z"),
			},
		})
		d := obj(t, r)
		checkShape(t, "detail", d, referenceDetail)
		equalJSON(t, "created", d, map[string]any{
			"id": d["id"], "ord": 1, "created_at": "2026-01-15T10:30:00Z", "last_message_at": "2026-01-15T10:32:00.5Z",
			"title": "", "source": "widget", "terminated": false, "resolution_status": "open", "has_unread_messages": true,
			"supports_inbox_control": true, "last_message_content": "an answer", "most_frequent_language": "",
			"assignee": map[string]any{"type": "ai_assistant"}, "visitor_name": "Ann", "visitor_email": "ann@example.com",
			"visitor_phone_number": "+48 600 000 000", "visitor_label": "vip", "url": "https://shop.example.com/returns",
			"client_metadata":         map[string]any{"plan": "pro", "tags": []any{"a", "b"}},
			"last_visitor_message_at": "2026-01-15T10:31:00Z", "unified_analysis": nil, "version": 1, "rating": nil,
		})
		if r.Header.Get("ETag") != `"1"` {
			t.Errorf("ETag %q", r.Header.Get("ETag"))
		}
		equalJSON(t, "detail after create", detail(t, e, e.A.Read, str(t, d, "id")), d)

		// ord is sequential per assistant: A's next is 2 and 3, B starts at 1.
		if n := num(t, create(t, e, e.A.Write, map[string]any{"source": "slack"}), "ord"); n != 2 {
			t.Errorf("A's second ord %d", n)
		}
		if n := num(t, create(t, e, e.B.Write, map[string]any{"source": "slack"}), "ord"); n != 1 {
			t.Errorf("B's first ord %d", n)
		}
		if n := num(t, create(t, e, e.A.Write, map[string]any{"source": "api"}), "ord"); n != 3 {
			t.Errorf("A's third ord %d", n)
		}

		// Without times, the server's clock: created_at and last_message_at are now, in UTC.
		before := time.Now().Add(-time.Second)
		d = create(t, e, e.A.Write, map[string]any{"source": "telegram", "messages": []any{msg("human_operator", "hello", "")}})
		after := time.Now().Add(time.Second)
		for _, k := range []string{"created_at", "last_message_at"} {
			at, err := time.Parse(time.RFC3339Nano, str(t, d, k))
			if err != nil || at.Before(before) || at.After(after) || !strings.HasSuffix(str(t, d, k), "Z") {
				t.Errorf("%s = %v, want now in UTC", k, d[k])
			}
		}
		// An operator's message leaves nothing unread, and there is no visitor message.
		if d["has_unread_messages"] != false || d["last_visitor_message_at"] != nil || d["last_message_content"] != "hello" {
			t.Errorf("operator-only conversation: %v", d)
		}
	})
}

func TestUpsertByExternalID(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		m := func(ext, content, at string) map[string]any {
			x := msg("visitor", content, at)
			x["external_id"] = ext
			return x
		}
		first := create(t, e, e.A.Write, map[string]any{
			"source": "widget", "external_id": "chat-1",
			"messages": []any{m("m1", "one", "2026-01-15T10:00:00Z"), m("m2", "two", "2026-01-15T10:01:00Z")},
		})
		id := str(t, first, "id")
		// The same external_id and source: the same conversation, only m3 is new.
		again := obj(t, call(t, e, 200, "POST", convs, e.A.Write, map[string]any{
			"source": "widget", "external_id": "chat-1",
			"messages": []any{m("m1", "one", "2026-01-15T10:00:00Z"), m("m3", "three", "2026-01-15T10:02:00Z")},
		}))
		if again["id"] != id || again["ord"] != first["ord"] || again["last_message_content"] != "three" || again["last_message_at"] != "2026-01-15T10:02:00Z" {
			t.Errorf("upsert: %v", again)
		}
		tl := timeline(t, e, e.A.Read, id)
		var contents []string
		for _, it := range tl.Items {
			contents = append(contents, it["data"].(map[string]any)["content"].(string))
		}
		if tl.Count != 3 || strings.Join(contents, ",") != "one,two,three" {
			t.Errorf("timeline after upsert: count %d, %v", tl.Count, contents)
		}
		// A retry with nothing new changes nothing.
		call(t, e, 200, "POST", convs, e.A.Write, map[string]any{"source": "widget", "external_id": "chat-1"})
		if n := timeline(t, e, e.A.Read, id).Count; n != 3 {
			t.Errorf("events after an empty upsert: %d", n)
		}
		// Another source, or another assistant, is another conversation.
		if other := create(t, e, e.A.Write, map[string]any{"source": "slack", "external_id": "chat-1"}); other["id"] == id {
			t.Error("another source reused the conversation")
		}
		if other := create(t, e, e.B.Write, map[string]any{"source": "widget", "external_id": "chat-1"}); other["id"] == id {
			t.Error("another assistant reused the conversation")
		}
		if p := list(t, e, e.A.Read, nil); p.Count != 2 {
			t.Errorf("A has %d conversations, want 2", p.Count)
		}
	})
}

func TestAppendMessage(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, create(t, e, e.A.Write, map[string]any{"source": "widget", "created_at": "2026-01-15T10:00:00Z",
			"messages": []any{msg("ai_assistant", "welcome", "2026-01-15T10:00:00Z")}}), "id")

		body := map[string]any{
			"author": "visitor", "content": "I need help", "created_at": "2026-01-15T10:05:00Z", "external_id": "wamid.1",
			"client_metadata": map[string]any{"k": "v"}, "sources_generated": []any{map[string]any{"title": "KB"}},
			"attachments": []any{map[string]any{"url": "https://x.example/a.png"}},
		}
		data := obj(t, call(t, e, 201, "POST", messages(id), e.A.Write, body))
		checkShape(t, "message", data, referenceMessage)
		equalJSON(t, "appended", data, map[string]any{
			"id": data["id"], "ord": 2, "created_at": "2026-01-15T10:05:00Z", "content": "I need help", "author": "visitor",
			"handoff_state": nil, "message_insights": nil, "feedback": nil, "client_metadata": map[string]any{"k": "v"},
			"sources_generated": []any{map[string]any{"title": "KB"}}, "is_welcome": false,
			"attachments": []any{map[string]any{"url": "https://x.example/a.png"}},
		})
		// The timeline holds the same message.
		tl := timeline(t, e, e.A.Read, id)
		if tl.Count != 2 {
			t.Fatalf("timeline count %d", tl.Count)
		}
		equalJSON(t, "timeline item", tl.Items[1], map[string]any{"type": "message", "data": data})
		d := detail(t, e, e.A.Read, id)
		if d["last_message_content"] != "I need help" || d["last_message_at"] != "2026-01-15T10:05:00Z" ||
			d["last_visitor_message_at"] != "2026-01-15T10:05:00Z" || d["has_unread_messages"] != true {
			t.Errorf("derived fields after a visitor message: %v", d)
		}

		// The same external_id again: 200, the stored message, no new event.
		again := obj(t, call(t, e, 200, "POST", messages(id), e.A.Write, body))
		equalJSON(t, "repeated append", again, data)
		if n := timeline(t, e, e.A.Read, id).Count; n != 2 {
			t.Errorf("events after a repeated append: %d", n)
		}

		// The assistant's answer moves last_message_* but not the visitor's time; an
		// operator's answer marks the conversation read.
		call(t, e, 201, "POST", messages(id), e.A.Write, msg("ai_assistant", "Sure", "2026-01-15T10:06:00Z"))
		d = detail(t, e, e.A.Read, id)
		if d["last_message_content"] != "Sure" || d["last_visitor_message_at"] != "2026-01-15T10:05:00Z" || d["has_unread_messages"] != true {
			t.Errorf("after the assistant's answer: %v", d)
		}
		op := obj(t, call(t, e, 201, "POST", messages(id)+"/", e.A.Write, msg("human_operator", "Operator here", "2026-01-15T10:07:00Z")))
		if num(t, op, "ord") != 4 || op["author"] != "human_operator" {
			t.Errorf("operator message: %v", op)
		}
		if d = detail(t, e, e.A.Read, id); d["has_unread_messages"] != false || d["last_message_content"] != "Operator here" {
			t.Errorf("after the operator's answer: %v", d)
		}
		// An older message (an import) does not become the last one.
		call(t, e, 201, "POST", messages(id), e.A.Write, msg("visitor", "late arrival", "2026-01-15T09:00:00Z"))
		if d = detail(t, e, e.A.Read, id); d["last_message_content"] != "Operator here" || d["last_visitor_message_at"] != "2026-01-15T10:05:00Z" {
			t.Errorf("after an older message: %v", d)
		}
		// The new message is searchable at once.
		if p := list(t, e, e.A.Read, q("query", "arrival")); p.Count != 1 {
			t.Errorf("query for the appended text: %d", p.Count)
		}
	})
}

// logData returns the data of a timeline item, failing unless it is a log event.
func logData(t testing.TB, ev map[string]any) map[string]any {
	t.Helper()
	keysAre(t, "event", ev, "type", "data")
	if ev["type"] != "log" {
		t.Fatalf("not a log event: %v", ev)
	}
	data := ev["data"].(map[string]any)
	checkShape(t, "log", data, logShape)
	return data
}

// wantLog checks a log event: its ord, kind (one of kinds), actor, content (unless "") and
// the given details (other details may be present).
func wantLog(t testing.TB, data map[string]any, ord int, kinds []string, actor map[string]any, content string, details map[string]any) {
	t.Helper()
	if num(t, data, "ord") != ord || !slices.Contains(kinds, str(t, data, "kind")) {
		t.Errorf("log %v: want ord %d, kind in %v", data, ord, kinds)
	}
	equalJSON(t, fmt.Sprintf("log %d actor", ord), data["actor"], actor)
	if content != "" && data["content"] != content {
		t.Errorf("log %d content %q, want %q", ord, data["content"], content)
	}
	got, _ := data["details"].(map[string]any)
	for k, v := range details {
		equalJSON(t, fmt.Sprintf("log %d details.%s", ord, k), got[k], v)
	}
}

func TestPatchConversation(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, createJohn(t, e, e.A.Write), "id")
		actor := map[string]any{"type": "api_token", "id": tokenID(t, e, e.A.Write), "name": "write_all test"}
		ai := map[string]any{"type": "ai_assistant"}
		alice := map[string]any{"type": "human_operator", "id": "op-7", "name": "Alice"}
		bob := map[string]any{"type": "human_operator", "id": "op-8", "name": "Bob"}
		// An operator taking over from the AI, or giving back, may be logged as a handoff.
		assignOrHandoff := []string{"assignment", "handoff"}

		r := call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{
			"assignee": alice, "resolution_status": "resolved", "terminated": true, "title": "Refunds", "visitor_name": nil,
			"visitor_label": "vip", "visitor_phone_number": "+1 555 0100", "has_unread_messages": false,
		})
		d := obj(t, r)
		checkShape(t, "detail", d, referenceDetail)
		equalJSON(t, "PATCH answer = detail", d, detail(t, e, e.A.Read, id))
		if r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, num(t, d, "version")) || num(t, d, "version") != 2 {
			t.Errorf("version %v, ETag %q", d["version"], r.Header.Get("ETag"))
		}
		for k, v := range map[string]any{
			"assignee": alice, "resolution_status": "resolved", "terminated": true, "title": "Refunds", "visitor_name": nil,
			"visitor_label": "vip", "visitor_phone_number": "+1 555 0100", "has_unread_messages": false,
			"visitor_email": "john@example.com", "last_message_content": "What is your return policy?",
			"last_message_at": "2026-01-15T10:31:00Z", "client_metadata": map[string]any{"userId": 12},
		} {
			equalJSON(t, k, d[k], v)
		}

		// Three log events follow the two messages, with the next ords, in this order.
		tl := timeline(t, e, e.A.Read, id)
		if tl.Count != 5 || len(tl.Items) != 5 {
			t.Fatalf("timeline: %d events", tl.Count)
		}
		wantLog(t, logData(t, tl.Items[2]), 3, assignOrHandoff, actor, "", map[string]any{"from": ai, "to": alice})
		wantLog(t, logData(t, tl.Items[3]), 4, []string{"resolution"}, actor, "Resolved", map[string]any{"from": "open", "to": "resolved", "assumed": false})
		wantLog(t, logData(t, tl.Items[4]), 5, []string{"termination"}, actor, "Conversation ended", map[string]any{"from": false, "to": true})

		// The same values again change nothing and log nothing.
		call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"assignee": alice, "resolution_status": "resolved", "terminated": true})
		r = call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"title": "Refunds", "visitor_name": nil})
		call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{})
		if n := timeline(t, e, e.A.Read, id).Count; n != 5 {
			t.Errorf("events after unchanged patches: %d", n)
		}
		if r.Header.Get("ETag") != `"2"` || num(t, detail(t, e, e.A.Read, id), "version") != 2 {
			t.Errorf("unchanged patches made a new version: ETag %q", r.Header.Get("ETag"))
		}

		// One operator to another is an assignment; reopening, resuming and handing back to
		// the AI are logged too.
		d = obj(t, call(t, e, 200, "PATCH", conv(id)[:len(conv(id))-1], e.A.Write, map[string]any{"assignee": bob}))
		equalJSON(t, "assignee", d["assignee"], bob)
		d = obj(t, call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{
			"resolution_status": "open", "terminated": false, "assignee": ai,
		}))
		equalJSON(t, "assignee", d["assignee"], ai)
		tl = timeline(t, e, e.A.Read, id)
		if tl.Count != 9 {
			t.Fatalf("timeline: %d events", tl.Count)
		}
		wantLog(t, logData(t, tl.Items[5]), 6, []string{"assignment"}, actor, "Assigned to Bob (was Alice)", map[string]any{"from": alice, "to": bob})
		wantLog(t, logData(t, tl.Items[6]), 7, assignOrHandoff, actor, "", map[string]any{"from": bob, "to": ai})
		wantLog(t, logData(t, tl.Items[7]), 8, []string{"resolution"}, actor, "Reopened", map[string]any{"from": "resolved", "to": "open", "assumed": false})
		wantLog(t, logData(t, tl.Items[8]), 9, []string{"termination"}, actor, "Conversation resumed", map[string]any{"from": true, "to": false})

		// To the queue: an assignment; an operator's id and name are dropped for other types.
		d = obj(t, call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"assignee": map[string]any{"type": "unassigned", "name": "ignored"}}))
		equalJSON(t, "assignee", d["assignee"], map[string]any{"type": "unassigned"})
		tl = timeline(t, e, e.A.Read, id)
		wantLog(t, logData(t, tl.Items[9]), 10, []string{"assignment"}, actor, "Assigned to the queue (was the AI assistant)",
			map[string]any{"from": ai, "to": map[string]any{"type": "unassigned"}})

		// Changed visitor fields and title change what the search finds.
		if p := list(t, e, e.A.Read, q("query", "john")); p.Count != 1 {
			t.Errorf("query john (still in the email): %d", p.Count)
		}
		call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"visitor_email": nil})
		if p := list(t, e, e.A.Read, q("query", "john")); p.Count != 0 {
			t.Errorf("query john after clearing name and email: %d", p.Count)
		}
		if p := list(t, e, e.A.Read, q("query", "refunds")); p.Count != 1 {
			t.Errorf("query by title: %d", p.Count)
		}
		// has_unread_messages can be turned on again, and the title cleared.
		d = obj(t, call(t, e, 200, "PATCH", conv(id), e.A.Write, map[string]any{"has_unread_messages": true, "title": nil}))
		if d["has_unread_messages"] != true || d["title"] != "" || d["visitor_email"] != nil {
			t.Errorf("after marking unread and clearing the title: %v", d)
		}
		if p := list(t, e, e.A.Read, q("query", "refunds")); p.Count != 0 {
			t.Errorf("query by a cleared title: %d", p.Count)
		}
	})
}

func TestDeleteConversation(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		gone := createJohn(t, e, e.A.Write)
		id := str(t, gone, "id")
		call(t, e, 200, "POST", metadata(id), e.A.Write, map[string]any{"crm": "x"})
		eventID := str(t, timeline(t, e, e.A.Read, id).Items[0]["data"].(map[string]any), "id")
		kept := str(t, create(t, e, e.A.Write, map[string]any{"source": "slack", "visitor_name": "John Keeper"}), "id")

		r := call(t, e, 204, "DELETE", conv(id), e.A.Write, nil)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %q", r.Body)
		}
		for _, c := range []struct{ method, path string }{
			{"GET", conv(id)}, {"GET", events(id)}, {"GET", metadata(id)}, {"PATCH", conv(id)},
			{"POST", messages(id)}, {"POST", metadata(id)}, {"DELETE", conv(id)},
		} {
			var body any
			if c.method == "POST" || c.method == "PATCH" {
				body = map[string]any{"author": "visitor", "content": "x"}
			}
			wantError(t, e.Do(c.method, c.path, e.A.Write, body), 404, "root", "NOT_FOUND")
		}
		// Gone from the list and every search.
		p := list(t, e, e.A.Read, nil)
		sameSet(t, "list after delete", p.ids(), []string{kept})
		for _, query := range []string{id, eventID, "#1", "return policy", "john@example.com"} {
			if p := list(t, e, e.A.Read, q("query", query)); p.Count != 0 {
				t.Errorf("query %q after delete: %v", query, p.ids())
			}
		}
		if p := list(t, e, e.A.Read, q("query", "john")); p.Count != 1 || p.Items[0]["id"] != kept {
			t.Errorf("query john: %v", p.ids())
		}
		// Order numbers are not reused.
		if n := num(t, create(t, e, e.A.Write, map[string]any{"source": "api"}), "ord"); n != 3 {
			t.Errorf("ord after a delete: %d", n)
		}
	})
}

func TestImport(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		lines := []string{
			`{"source":"widget","visitor_name":"Imp One","created_at":"2025-12-01T08:00:00Z","messages":[{"author":"visitor","content":"imported hello","created_at":"2025-12-01T08:01:00Z"}]}`,
			`{"source": "widget",`,
			`{"source":"fax"}`,
			``,
			`{"source":"slack","external_id":"imp-2","visitor_name":"Imp Two"}`,
			`[1, 2]`,
			`{"source":"api","messages":[{"author":"robot","content":"x"}]}`,
			`{"source":"slack","external_id":"imp-2","messages":[{"author":"visitor","content":"later","external_id":"x"}]}`,
		}
		r := call(t, e, 200, "POST", importP, e.A.Write, strings.Join(lines, "\r\n")+"\n")
		res := obj(t, r)
		keysAre(t, "import result", res, "imported", "failed")
		if num(t, res, "imported") != 3 {
			t.Errorf("imported %v, want 3", res["imported"])
		}
		failed, _ := res["failed"].([]any)
		wantFailed := []struct {
			line   int
			prefix string
		}{{2, "body: "}, {3, "source: "}, {6, "body: "}, {7, "messages[0].author: "}}
		if len(failed) != len(wantFailed) {
			t.Fatalf("failed: %s", r.Body)
		}
		for i, w := range wantFailed {
			f := failed[i].(map[string]any)
			keysAre(t, "failure", f, "line", "error")
			if num(t, f, "line") != w.line || !strings.HasPrefix(str(t, f, "error"), w.prefix) {
				t.Errorf("failure %d: %v, want line %d, error %q...", i, f, w.line, w.prefix)
			}
		}
		// The good lines are listed, the repeated external_id once, with its message added.
		p := list(t, e, e.A.Read, q("sort", "ord"))
		if p.Count != 2 {
			t.Fatalf("listed: %v", p.Items)
		}
		one, two := p.Items[0], p.Items[1]
		if one["visitor_name"] != "Imp One" || one["created_at"] != "2025-12-01T08:00:00Z" || one["last_message_content"] != "imported hello" {
			t.Errorf("first import: %v", one)
		}
		if two["visitor_name"] != "Imp Two" || two["last_message_content"] != "later" || two["source"] != "slack" {
			t.Errorf("second import: %v", two)
		}
		if p := list(t, e, e.A.Read, q("query", "imported hello")); p.Count != 1 {
			t.Errorf("imported text is not searchable")
		}
		// An empty import imports nothing.
		equalJSON(t, "empty import", obj(t, call(t, e, 200, "POST", importP, e.A.Write, "\n\n")), map[string]any{"imported": 0, "failed": []any{}})
	})
}

// TestConcurrentWrites: concurrent appends get gapless ords, concurrent creates distinct
// order numbers, and of concurrent writes with one If-Match exactly one wins.
func TestConcurrentWrites(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		id := str(t, create(t, e, e.A.Write, map[string]any{"source": "widget"}), "id")
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = e.Do("POST", messages(id), e.A.Write, msg("visitor", fmt.Sprintf("message %d", i), "")).Status
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s != 201 {
				t.Errorf("append %d: %d", i, s)
			}
		}
		tl := timeline(t, e, e.A.Read, id)
		seen := map[any]bool{}
		for i, it := range tl.Items {
			data := it["data"].(map[string]any)
			if num(t, data, "ord") != i+1 {
				t.Errorf("ord of event %d: %v", i, data["ord"])
			}
			seen[data["content"]] = true
		}
		if tl.Count != n || len(seen) != n {
			t.Errorf("timeline: count %d, %d distinct messages", tl.Count, len(seen))
		}

		ords := make([]int, n)
		for i := range n {
			wg.Go(func() {
				r := e.Do("POST", convs, e.A.Write, map[string]any{"source": "api"})
				if r.Status == 201 {
					var d struct{ Ord int }
					r.JSON(t, &d)
					ords[i] = d.Ord
				}
			})
		}
		wg.Wait()
		slices.Sort(ords)
		for i, o := range ords {
			if o != i+2 {
				t.Errorf("concurrent creates got ords %v, want 2..%d", ords, n+1)
				break
			}
		}

		version := fmt.Sprintf(`"%d"`, num(t, detail(t, e, e.A.Read, id), "version"))
		for i := range n {
			wg.Go(func() {
				statuses[i] = e.Do("PATCH", conv(id), e.A.Write, map[string]any{"title": fmt.Sprint("title ", i)}, "If-Match", version).Status
			})
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			switch s {
			case 200:
				won++
			case 412:
			default:
				t.Errorf("concurrent If-Match write: %d", s)
			}
		}
		if won != 1 {
			t.Errorf("%d concurrent writes with one If-Match won, want 1 (%v)", won, statuses)
		}
	})
}
