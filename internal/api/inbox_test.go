package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// eachInbox runs fn on every engine with a server that judges handoff requests as
// `parley serve` does.
func eachInbox(t *testing.T, fn func(t *testing.T, e *apitest.Env)) {
	t.Helper()
	t.Parallel()
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		fn(t, apitest.Start(t, open, &api.Config{RequestsHuman: analysis.IsHandoffRequest}))
	})
}

// lastLog returns the newest log event of a conversation.
func lastLog(t *testing.T, e *apitest.Env, id string) map[string]any {
	t.Helper()
	var page struct{ Items []map[string]any }
	call(t, e, http.StatusOK, "GET", events(id)+"?type=log&limit=100", e.A.Read, nil).JSON(t, &page)
	if len(page.Items) == 0 {
		t.Fatalf("no log events")
	}
	return page.Items[len(page.Items)-1]["data"].(map[string]any)
}

func listIDs(t *testing.T, e *apitest.Env, query string) []string {
	t.Helper()
	var page struct{ Items []struct{ ID string } }
	call(t, e, http.StatusOK, "GET", convs+"?"+query, e.A.Read, nil).JSON(t, &page)
	var ids []string
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// TestDayOfSupport runs the inbox through the API alone: queue, take over, reply, resolve,
// reopen, give back, rate; every step checked in the detail, the timeline and the filters.
func TestDayOfSupport(t *testing.T) {
	eachInbox(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		op, err := e.Store.CreateOperator(ctx, "Ann Operator", "ann@example.com", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Store.AddMembership(ctx, op.ID, e.A.ID, "operator"); err != nil {
			t.Fatal(err)
		}
		d := obj(t, call(t, e, http.StatusCreated, "POST", convs, e.A.Write, map[string]any{
			"source": "widget", "visitor_name": "Zoe",
			"messages": []any{
				map[string]any{"author": "ai_assistant", "content": "Hi! How can I help?", "is_welcome": true},
				map[string]any{"author": "visitor", "content": "This bot is useless, I want a human please"},
			},
		}))
		id := d["id"].(string)
		if d["assignee"].(map[string]any)["type"] != "unassigned" {
			t.Fatalf("after a request for a human: assignee %v, want unassigned", d["assignee"])
		}
		var ev struct{ Items []map[string]any }
		call(t, e, http.StatusOK, "GET", events(id), e.A.Read, nil).JSON(t, &ev)
		if got := ev.Items[1]["data"].(map[string]any)["handoff_state"]; got != "requested" {
			t.Fatalf("visitor message handoff_state = %v, want requested", got)
		}
		l := ev.Items[2]["data"].(map[string]any)
		if ev.Items[2]["type"] != "log" || l["kind"] != "handoff" || l["actor"].(map[string]any)["type"] != "visitor" ||
			l["details"].(map[string]any)["handoff_state"] != "requested" {
			t.Fatalf("handoff log = %v", ev.Items[2])
		}
		// The handoff queue finds it.
		if got := listIDs(t, e, "assignee_type=unassigned&resolution_status=open"); len(got) != 1 || got[0] != id {
			t.Fatalf("queue = %v", got)
		}

		// Ann takes it over: her name comes from the operator record.
		d = obj(t, call(t, e, http.StatusOK, "PATCH", conv(id), e.A.Write, map[string]any{"assignee": map[string]any{"type": "human_operator", "id": op.ID}}))
		if a := d["assignee"].(map[string]any); a["type"] != "human_operator" || a["id"] != op.ID || a["name"] != "Ann Operator" {
			t.Fatalf("assignee after take-over = %v", a)
		}
		l = lastLog(t, e, id)
		if l["kind"] != "handoff" || l["details"].(map[string]any)["handoff_state"] != "accepted" || l["actor"].(map[string]any)["type"] != "api_token" {
			t.Fatalf("take-over log = %v", l)
		}
		if got := listIDs(t, e, "assignee_id="+op.ID); len(got) != 1 {
			t.Fatalf("assignee_id filter = %v", got)
		}
		if got := listIDs(t, e, "assignee_type=unassigned"); len(got) != 0 {
			t.Fatalf("still in the queue: %v", got)
		}

		// Her reply reads the conversation.
		call(t, e, http.StatusCreated, "POST", messages(id), e.A.Write, map[string]any{"author": "human_operator", "content": "Hi Zoe, Ann here."})
		d = obj(t, call(t, e, http.StatusOK, "GET", conv(id), e.A.Read, nil))
		if d["has_unread_messages"] != false {
			t.Fatalf("unread after the operator's reply")
		}
		// Resolve; a visitor message reopens; marking read clears unread.
		call(t, e, http.StatusOK, "PATCH", conv(id), e.A.Write, map[string]any{"resolution_status": "resolved"})
		if l := lastLog(t, e, id); l["kind"] != "resolution" || l["details"].(map[string]any)["assumed"] != false {
			t.Fatalf("resolve log = %v", l)
		}
		call(t, e, http.StatusCreated, "POST", messages(id), e.A.Write, map[string]any{"author": "visitor", "content": "one more question"})
		d = obj(t, call(t, e, http.StatusOK, "GET", conv(id), e.A.Read, nil))
		if d["resolution_status"] != "open" || d["has_unread_messages"] != true {
			t.Fatalf("after a new visitor message: %v / unread %v", d["resolution_status"], d["has_unread_messages"])
		}
		if l := lastLog(t, e, id); l["kind"] != "resolution" || l["details"].(map[string]any)["to"] != "open" || l["actor"].(map[string]any)["type"] != "visitor" {
			t.Fatalf("reopen log = %v", l)
		}
		call(t, e, http.StatusOK, "PATCH", conv(id), e.A.Write, map[string]any{"has_unread_messages": false})
		if got := listIDs(t, e, "has_unread_messages=true"); len(got) != 0 {
			t.Fatalf("unread after marking read: %v", got)
		}
		// Give it back to the AI.
		call(t, e, http.StatusOK, "PATCH", conv(id), e.A.Write, map[string]any{"assignee": map[string]any{"type": "ai_assistant"}})
		if l := lastLog(t, e, id); l["kind"] != "handoff" || l["details"].(map[string]any)["handoff_state"] != "returned" {
			t.Fatalf("give-back log = %v", l)
		}

		// Feedback on the operator's message, a rating of the conversation.
		call(t, e, http.StatusOK, "GET", events(id)+"?type=message", e.A.Read, nil).JSON(t, &ev)
		msgID := ev.Items[2]["data"].(map[string]any)["id"].(string)
		fb := obj(t, call(t, e, http.StatusOK, "PUT", messages(id)+"/"+msgID+"/feedback", e.A.Write, map[string]any{"rating": "positive", "comment": "quick!"}))
		if f := fb["feedback"].(map[string]any); f["rating"] != "positive" || f["comment"] != "quick!" {
			t.Fatalf("feedback = %v", fb["feedback"])
		}
		call(t, e, http.StatusOK, "GET", events(id)+"?type=message", e.A.Read, nil).JSON(t, &ev)
		if ev.Items[2]["data"].(map[string]any)["feedback"] == nil {
			t.Fatalf("feedback not in the timeline")
		}
		wantError(t, call(t, e, http.StatusUnprocessableEntity, "PUT", messages(id)+"/"+msgID+"/feedback", e.A.Write, map[string]any{"rating": "meh"}), 422, "rating", "VALIDATION_ERROR")
		call(t, e, http.StatusNotFound, "PUT", messages(id)+"/"+id+"/feedback", e.A.Write, map[string]any{"rating": "positive"})

		d = obj(t, call(t, e, http.StatusOK, "POST", conv(id)+"rating", e.A.Write, map[string]any{"score": 4, "comment": "good"}))
		if r := d["rating"].(map[string]any); r["score"] != float64(4) || r["comment"] != "good" {
			t.Fatalf("rating = %v", d["rating"])
		}
		if l := lastLog(t, e, id); l["kind"] != "rating" || l["details"].(map[string]any)["score"] != float64(4) {
			t.Fatalf("rating log = %v", l)
		}
		wantError(t, call(t, e, http.StatusUnprocessableEntity, "POST", conv(id)+"rating", e.A.Write, map[string]any{"score": 6}), 422, "score", "VALIDATION_ERROR")
		call(t, e, http.StatusOK, "PATCH", settingP, e.A.Write, map[string]any{"rating_active": false})
		wantError(t, call(t, e, http.StatusConflict, "POST", conv(id)+"rating", e.A.Write, map[string]any{"score": 5}), 409, "root", "CONFLICT")

		// Read-only tokens write nothing, another assistant sees nothing.
		for _, w := range []struct{ method, path string }{
			{"PUT", messages(id) + "/" + msgID + "/feedback"}, {"POST", conv(id) + "rating"},
		} {
			r := call(t, e, http.StatusForbidden, w.method, w.path, e.A.Read, map[string]any{"rating": "positive", "score": 3})
			if !strings.Contains(string(r.Body), "Insufficient token scope. Required: write_all") {
				t.Fatalf("%s %s with read token: %s", w.method, w.path, r.Body)
			}
			call(t, e, http.StatusNotFound, w.method, w.path, e.B.Write, map[string]any{"rating": "positive", "score": 3})
		}
		var ops struct {
			Items []map[string]any
			Count int
		}
		call(t, e, http.StatusOK, "GET", "/v1/api_core/operators", e.A.Read, nil).JSON(t, &ops)
		if ops.Count != 1 || ops.Items[0]["id"] != op.ID || ops.Items[0]["name"] != "Ann Operator" {
			t.Fatalf("operators = %+v", ops)
		}
		call(t, e, http.StatusOK, "GET", "/v1/api_core/operators", e.B.Read, nil).JSON(t, &ops)
		if ops.Count != 0 {
			t.Fatalf("assistant B sees A's operators: %+v", ops)
		}
	})
}

// TestTakeOverRace: two operators take the same conversation at once with the same If-Match;
// exactly one wins, the others get 412 and change nothing.
func TestTakeOverRace(t *testing.T) {
	eachInbox(t, func(t *testing.T, e *apitest.Env) {
		r := call(t, e, http.StatusCreated, "POST", convs, e.A.Write, map[string]any{"source": "api",
			"messages": []any{map[string]any{"author": "visitor", "content": "hello"}}})
		id, etag := obj(t, r)["id"].(string), r.Header.Get("ETag")
		const n = 8
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := e.Do("PATCH", conv(id), e.A.Write, map[string]any{"assignee": map[string]any{"type": "human_operator", "id": fmt.Sprintf("op-%d", i), "name": fmt.Sprintf("Operator %d", i)}}, "If-Match", etag)
				statuses[i] = res.Status
			}()
		}
		wg.Wait()
		wins, winner := 0, -1
		for i, s := range statuses {
			switch s {
			case http.StatusOK:
				wins++
				winner = i
			case http.StatusPreconditionFailed:
			default:
				t.Fatalf("status %d", s)
			}
		}
		if wins != 1 {
			t.Fatalf("%d winners (%v), want exactly 1", wins, statuses)
		}
		d := obj(t, call(t, e, http.StatusOK, "GET", conv(id), e.A.Read, nil))
		if d["assignee"].(map[string]any)["id"] != fmt.Sprintf("op-%d", winner) {
			t.Fatalf("assignee %v, winner %d", d["assignee"], winner)
		}
		var logs struct{ Count int }
		call(t, e, http.StatusOK, "GET", events(id)+"?type=log", e.A.Read, nil).JSON(t, &logs)
		if logs.Count != 1 {
			t.Fatalf("%d log events, want 1", logs.Count)
		}
	})
}

// TestUnchangedPatchIsNoChange: a PATCH that changes nothing adds no log and keeps the version.
func TestUnchangedPatchIsNoChange(t *testing.T) {
	eachInbox(t, func(t *testing.T, e *apitest.Env) {
		d := obj(t, call(t, e, http.StatusCreated, "POST", convs, e.A.Write, map[string]any{"source": "api"}))
		id, v := d["id"].(string), d["version"]
		d = obj(t, call(t, e, http.StatusOK, "PATCH", conv(id), e.A.Write, map[string]any{"resolution_status": "open", "assignee": map[string]any{"type": "ai_assistant"}}))
		if d["version"] != v {
			t.Fatalf("version %v -> %v on a no-op patch", v, d["version"])
		}
		var logs struct{ Count int }
		call(t, e, http.StatusOK, "GET", events(id)+"?type=log", e.A.Read, nil).JSON(t, &logs)
		if logs.Count != 0 {
			t.Fatalf("%d logs for a no-op", logs.Count)
		}
	})
}
