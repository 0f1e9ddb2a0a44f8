package client_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// env is a server on each engine with clients of assistant A (write and read tokens) and B.
type env struct {
	e           *apitest.Env
	w, r, other *client.Client
}

func start(t *testing.T, open enginetest.Opener, cfg *api.Config) env {
	t.Helper()
	e := apitest.Start(t, open, cfg)
	mk := func(token string) *client.Client {
		c, err := client.New(e.URL+"/", token, client.WithHTTPClient(&http.Client{Timeout: time.Minute}), client.WithUserAgent("client-test"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return env{e: e, w: mk(e.A.Write), r: mk(e.A.Read), other: mk(e.B.Write)}
}

func must[T any](t *testing.T, what string) func(T, error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// wantError checks that err is a *client.Error with the status, code and field.
func wantError(t *testing.T, what string, err error, status int, code, field string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T), want a *client.Error", what, err, err)
	}
	if e.Status != status || code != "" && e.Code != code || field != "" && e.Field != field {
		t.Errorf("%s: %d %s %s (%s), want %d %s %s", what, e.Status, e.Code, e.Field, e.Message, status, code, field)
	}
	if e.Message == "" || !strings.Contains(e.Error(), e.Message) {
		t.Errorf("%s: Error() = %q", what, e.Error())
	}
	return e
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "parley.example.com", "ftp://x", "http://", "://"} {
		if _, err := client.New(bad, "t"); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	c, err := client.New("https://parley.example.com/base/", "t")
	if err != nil || c.BaseURL() != "https://parley.example.com/base" {
		t.Errorf("New: %v %v", c, err)
	}
}

// TestEveryMethod drives every method of the client against a real server, on each engine.
func TestEveryMethod(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		t.Parallel()
		ev := start(t, open, nil)
		c, ctx := ev.w, t.Context()

		// Settings.
		st := must[*client.Settings](t, "Settings.Get")(c.Settings.Get(ctx))
		if st.RatingActive == nil || !*st.RatingActive || len(st.Raw) == 0 {
			t.Errorf("Settings.Get: %+v", st)
		}
		st = must[*client.Settings](t, "Settings.Patch")(c.Settings.Patch(ctx, map[string]any{
			"topics": []map[string]any{{"name": "Returns", "description": "Sending back", "examples": []string{"refund"}}}, "auto_resolve_after": "24h"}))
		if len(st.Topics) != 1 || st.Topics[0].Name != "Returns" || st.AutoResolveAfter == nil || *st.AutoResolveAfter != "24h" {
			t.Errorf("Settings.Patch: %+v", st)
		}
		st = must[*client.Settings](t, "Settings.Patch null")(c.Settings.Patch(ctx, map[string]any{"auto_resolve_after": nil}))
		if st.AutoResolveAfter != nil {
			t.Errorf("Settings.Patch(null): %+v", st)
		}
		st = must[*client.Settings](t, "Settings.Patch llm")(c.Settings.Patch(ctx, map[string]any{
			"llm": map[string]any{"base_url": "http://127.0.0.1:9/v1", "model": "small", "api_key": "sk-test-key", "timeout_ms": 2000}}))
		if l := st.LLM; l == nil || l.BaseURL != "http://127.0.0.1:9/v1" || l.Model != "small" || !l.APIKeySet || !l.Enabled ||
			l.TimeoutMS == nil || *l.TimeoutMS != 2000 || strings.Contains(string(st.Raw), "sk-test-key") {
			t.Errorf("Settings.Patch(llm): %+v %s", l, st.Raw)
		}
		if st = must[*client.Settings](t, "Settings.Patch llm null")(c.Settings.Patch(ctx, map[string]any{"llm": nil})); st.LLM != nil {
			t.Errorf("Settings.Patch(llm null): %+v", st.LLM)
		}
		_, err := c.Settings.Patch(ctx, map[string]any{"colour": "blue"})
		wantError(t, "Settings.Patch(unknown)", err, 422, client.CodeValidation, "colour")
		_, err = ev.r.Settings.Patch(ctx, map[string]any{"link_tracking": true})
		wantError(t, "Settings.Patch(read token)", err, 403, client.CodePermissionDenied, "")

		// Operators.
		op, err := ev.e.Store.CreateOperator(ctx, "Ann Operator", "ann@example.com", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := ev.e.Store.AddMembership(ctx, op.ID, ev.e.A.ID, cv.RoleOperator); err != nil {
			t.Fatal(err)
		}
		ops := must[[]client.Operator](t, "Operators.List")(ev.r.Operators.List(ctx))
		if len(ops) != 1 || ops[0].ID != op.ID || ops[0].Name != "Ann Operator" || ops[0].Role != "operator" {
			t.Errorf("Operators.List: %+v", ops)
		}
		if ops := must[[]client.Operator](t, "Operators.List B")(ev.other.Operators.List(ctx)); len(ops) != 0 {
			t.Errorf("B's operators: %+v", ops)
		}

		// Create, idempotently.
		n := client.NewConversation{Source: client.SourceWidget, VisitorName: client.Ptr("Ada"), URL: client.Ptr("https://shop.example/returns"),
			ClientMetadata: map[string]any{"plan": "pro"}, ExternalID: client.Ptr("session-1"),
			Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "Return policy?", ExternalID: client.Ptr("m1"), ClientMetadata: map[string]any{"page": "/returns"}}}}
		d, created, err := c.Conversations.Create(ctx, n, client.IdempotencyKey("create-1"))
		if err != nil || !created || d.Source != "widget" || *d.VisitorName != "Ada" || d.ClientMetadata["plan"] != "pro" || d.Version == 0 {
			t.Fatalf("Create: %+v %v %v", d, created, err)
		}
		again, created, err := c.Conversations.Create(ctx, n, client.IdempotencyKey("create-1"))
		if err != nil || !created || again.ID != d.ID {
			t.Errorf("Create replayed: %+v %v %v", again, created, err)
		}
		again, created, err = c.Conversations.Create(ctx, n)
		if err != nil || created || again.ID != d.ID {
			t.Errorf("Create(same external_id): %+v %v %v", again, created, err)
		}
		_, _, err = c.Conversations.Create(ctx, client.NewConversation{Source: "fax"})
		wantError(t, "Create(fax)", err, 422, client.CodeValidation, "source")
		_, _, err = ev.r.Conversations.Create(ctx, n)
		wantError(t, "Create(read token)", err, 403, client.CodePermissionDenied, "")

		// Append, idempotently; feedback.
		m, created, err := c.Conversations.AppendMessage(ctx, d.ID, client.NewMessage{Author: client.AuthorAI, Content: "30 days.", ExternalID: client.Ptr("m2"),
			SourcesGenerated: json.RawMessage(`[{"title":"Returns"}]`)})
		if err != nil || !created || m.Content != "30 days." || m.Author != client.AuthorAI || string(m.SourcesGenerated) != `[{"title":"Returns"}]` {
			t.Fatalf("AppendMessage: %+v %v %v", m, created, err)
		}
		m2, created, err := c.Conversations.AppendMessage(ctx, d.ID, client.NewMessage{Author: client.AuthorAI, Content: "30 days.", ExternalID: client.Ptr("m2")})
		if err != nil || created || m2.ID != m.ID {
			t.Errorf("AppendMessage(same external_id): %+v %v %v", m2, created, err)
		}
		fb := must[*client.MessageEvent](t, "SetFeedback")(c.Conversations.SetFeedback(ctx, d.ID, m.ID, "positive", client.Ptr("Helpful")))
		if fb.Feedback == nil || fb.Feedback.Rating != "positive" || *fb.Feedback.Comment != "Helpful" || fb.Feedback.CreatedAt == nil {
			t.Errorf("SetFeedback: %+v", fb.Feedback)
		}
		_, err = c.Conversations.SetFeedback(ctx, d.ID, m.ID, "meh", nil)
		wantError(t, "SetFeedback(meh)", err, 422, client.CodeValidation, "rating")

		// Get, Update with If-Match, Rate.
		got := must[*client.ConversationDetail](t, "Get")(c.Conversations.Get(ctx, d.ID))
		if got.LastMessageContent != "30 days." || got.URL == nil || got.LastVisitorMessageAt == nil || got.UnifiedAnalysis != nil {
			t.Errorf("Get: %+v", got)
		}
		up, err := c.Conversations.Update(ctx, d.ID, client.ConversationPatch{
			Assignee: &client.Assignee{Type: client.AssigneeOperator, ID: &op.ID}, ResolutionStatus: client.Ptr(client.StatusResolved),
			Title: client.Set("Returns"), VisitorName: client.Null[string](), HasUnreadMessages: client.Ptr(false)}, client.IfMatch(got.Version))
		if err != nil || up.Assignee.Name == nil || *up.Assignee.Name != "Ann Operator" || up.Title != "Returns" || up.VisitorName != nil || up.Version <= got.Version {
			t.Fatalf("Update: %+v %v", up, err)
		}
		_, err = c.Conversations.Update(ctx, d.ID, client.ConversationPatch{Terminated: client.Ptr(true)}, client.IfMatch(got.Version))
		wantError(t, "Update(stale If-Match)", err, 412, client.CodePreconditionFailed, "If-Match")
		_, err = c.Conversations.Update(ctx, d.ID, client.ConversationPatch{ResolutionStatus: client.Ptr("closed")})
		wantError(t, "Update(closed)", err, 422, client.CodeValidation, "resolution_status")
		rated := must[*client.ConversationDetail](t, "Rate")(c.Conversations.Rate(ctx, d.ID, 5, client.Ptr("Great"), client.IfMatch(up.Version)))
		if rated.Rating == nil || rated.Rating.Score != 5 || *rated.Rating.Comment != "Great" {
			t.Errorf("Rate: %+v", rated.Rating)
		}
		_, err = c.Conversations.Rate(ctx, d.ID, 9, nil)
		wantError(t, "Rate(9)", err, 422, client.CodeValidation, "score")

		// Metadata: get, set, replace, merge-patch, If-Match.
		md := must[*client.Metadata](t, "Metadata")(c.Conversations.Metadata(ctx, d.ID))
		if md.Metadata["plan"] != "pro" || md.Version != rated.Version {
			t.Errorf("Metadata: %+v (version %d, detail %d)", md, md.Version, rated.Version)
		}
		md = must[*client.Metadata](t, "SetMetadata")(c.Conversations.SetMetadata(ctx, d.ID, map[string]any{"crm_id": "C-1"}, client.IfMatch(md.Version)))
		if md.Metadata["plan"] != "pro" || md.Metadata["crm_id"] != "C-1" {
			t.Errorf("SetMetadata: %+v", md.Metadata)
		}
		md = must[*client.Metadata](t, "ReplaceMetadata")(c.Conversations.ReplaceMetadata(ctx, d.ID, map[string]any{"tier": map[string]any{"level": 2.0, "name": "gold"}}))
		if !reflect.DeepEqual(md.Metadata, map[string]any{"tier": map[string]any{"level": 2.0, "name": "gold"}}) {
			t.Errorf("ReplaceMetadata: %+v", md.Metadata)
		}
		md = must[*client.Metadata](t, "PatchMetadata")(c.Conversations.PatchMetadata(ctx, d.ID, map[string]any{"tier": map[string]any{"name": nil}, "plan": "free"}))
		if !reflect.DeepEqual(md.Metadata, map[string]any{"tier": map[string]any{"level": 2.0}, "plan": "free"}) {
			t.Errorf("PatchMetadata: %+v", md.Metadata)
		}
		_, err = c.Conversations.SetMetadata(ctx, d.ID, map[string]any{"k": 1}, client.IfMatch(1))
		wantError(t, "SetMetadata(stale)", err, 412, client.CodePreconditionFailed, "")

		// Events: a page, types, every page.
		page := must[*client.EventList](t, "Events")(c.Conversations.Events(ctx, d.ID, client.EventOptions{Limit: 2}))
		if page.Count < 5 || len(page.Items) != 2 || page.NextCursor == nil || page.Items[0].Message == nil || page.Items[0].Ord != 1 {
			t.Fatalf("Events: %+v", page)
		}
		var all []client.Event
		for e, err := range c.Conversations.AllEvents(ctx, d.ID) {
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
		}
		if int64(len(all)) != page.Count {
			t.Errorf("AllEvents: %d events, count %d", len(all), page.Count)
		}
		kinds := map[string]bool{}
		for i, e := range all {
			if e.Ord != int64(i+1) || e.ID == "" || e.CreatedAt.IsZero() {
				t.Errorf("event %d: %+v", i, e)
			}
			if e.Log != nil {
				kinds[e.Log.Kind] = true
				if e.Log.Actor.Type != "api_token" {
					t.Errorf("log actor %+v", e.Log.Actor)
				}
			}
		}
		for _, k := range []string{"assignment", "handoff", "resolution", "metadata", "rating"} {
			if k != "assignment" && !kinds[k] {
				t.Errorf("no %s log in %v", k, kinds)
			}
		}
		logs := must[*client.EventList](t, "Events(log)")(c.Conversations.Events(ctx, d.ID, client.EventOptions{Types: []string{client.EventLog}, Offset: 1, AfterOrd: nil}))
		for _, e := range logs.Items {
			if e.Type != client.EventLog || e.Log == nil {
				t.Errorf("Events(type=log): %+v", e)
			}
		}
		after := int64(2)
		rest := must[*client.EventList](t, "Events(after_ord)")(c.Conversations.Events(ctx, d.ID, client.EventOptions{AfterOrd: &after, Limit: 100}))
		if len(rest.Items) != len(all)-2 || rest.Items[0].Ord != 3 {
			t.Errorf("Events(after_ord=2): %d items", len(rest.Items))
		}
		// An event re-encodes to what the server sent.
		raw := ev.e.Must(200, "GET", "/v1/api_core/conversations/"+d.ID+"/events?limit=100", ev.e.A.Read, nil)
		var wire struct{ Items []json.RawMessage }
		if err := json.Unmarshal(raw.Body, &wire); err != nil {
			t.Fatal(err)
		}
		for i, item := range wire.Items {
			b, err := json.Marshal(all[i])
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(b, item) {
				t.Errorf("event %d re-encodes as\n%s\nthe server sent\n%s", i, b, item)
			}
		}

		// Import.
		res := must[*client.ImportResult](t, "Import")(c.Conversations.Import(ctx, strings.NewReader(
			`{"source":"email","external_id":"e-1","created_at":"2025-12-01T10:00:00Z","messages":[{"author":"visitor","content":"Invoice?","created_at":"2025-12-01T10:00:00Z"}]}`+"\n\n"+`{"source":"fax"}`+"\n")))
		if res.Imported != 1 || len(res.Failed) != 1 || res.Failed[0].Line != 3 || !strings.Contains(res.Failed[0].String(), "line 3") {
			t.Errorf("Import: %+v", res)
		}
		res = must[*client.ImportResult](t, "ImportConversations")(c.Conversations.ImportConversations(ctx, []client.NewConversation{
			{Source: client.SourceSlack, CreatedAt: ptrTime(time.Date(2025, 12, 2, 9, 0, 0, 0, time.UTC)),
				Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "hi", CreatedAt: ptrTime(time.Date(2025, 12, 2, 9, 0, 0, 0, time.UTC))}}},
			{Source: client.SourceAPI, ClientMetadata: map[string]any{"plan": "pro"}},
		}))
		if res.Imported != 2 || len(res.Failed) != 0 {
			t.Errorf("ImportConversations: %+v", res)
		}

		// List, every filter, paging, All.
		list := must[*client.ConversationList](t, "List")(ev.r.Conversations.List(ctx, client.ListOptions{}))
		if list.Count != 4 || len(list.Items) != 4 || list.Limit != 20 || list.NextCursor != nil {
			t.Errorf("List: count %d, %d items, limit %d", list.Count, len(list.Items), list.Limit)
		}
		cases := []struct {
			f    client.Filter
			want int64
		}{
			{client.Filter{Sources: []string{"email", "slack"}}, 2},
			{client.Filter{Query: "Invoice"}, 1},
			{client.Filter{AssigneeTypes: []string{client.AssigneeOperator}, AssigneeIDs: []string{op.ID}}, 1},
			{client.Filter{ResolutionStatuses: []string{client.StatusResolved}}, 1},
			{client.Filter{CreatedStart: "2025-12-01", CreatedEnd: client.Date(time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC))}, 1},
			{client.Filter{LastMessageStart: client.Instant(time.Date(2025, 12, 2, 8, 0, 0, 0, time.UTC)), LastMessageEnd: "2025-12-02"}, 1},
			{client.Filter{Metadata: map[string]string{"plan": "pro"}}, 1},
			{client.Filter{HasUnreadMessages: client.Ptr(true), Terminated: client.Ptr(false)}, 2},
			{client.Filter{IsFlagged: client.Ptr(false), Languages: []string{"en"}, Sentiments: []string{"neutral"}, Topics: []string{"Returns"}}, 0},
		}
		for _, tc := range cases {
			l := must[*client.ConversationList](t, "List(filter)")(c.Conversations.List(ctx, client.ListOptions{Filter: tc.f}))
			if l.Count != tc.want {
				t.Errorf("List(%+v): count %d, want %d", tc.f, l.Count, tc.want)
			}
		}
		l := must[*client.ConversationList](t, "List(offset)")(c.Conversations.List(ctx, client.ListOptions{Sort: client.SortOrd, Limit: 2, Offset: 1}))
		if len(l.Items) != 2 || l.Items[0].Ord != 2 || l.Offset != 1 {
			t.Errorf("List(offset 1): %+v", l)
		}
		var ords []int64
		for conv, err := range c.Conversations.All(ctx, client.ListOptions{Sort: client.SortOrdDesc, Limit: 1}) {
			if err != nil {
				t.Fatal(err)
			}
			ords = append(ords, conv.Ord)
		}
		if !slices.Equal(ords, []int64{4, 3, 2, 1}) {
			t.Errorf("All: %v", ords)
		}
		for conv, err := range c.Conversations.All(ctx, client.ListOptions{}) {
			if err != nil || conv.ID == "" {
				t.Fatal(conv, err)
			}
			break // stopping early is fine
		}
		_, err = c.Conversations.List(ctx, client.ListOptions{Cursor: "nope"})
		wantError(t, "List(bad cursor)", err, 400, client.CodeBadRequest, "cursor")
		for _, err := range c.Conversations.All(ctx, client.ListOptions{Filter: client.Filter{Sources: []string{"fax"}}}) {
			wantError(t, "All(fax)", err, 400, client.CodeBadRequest, "source")
		}

		// Export: CSV, NDJSON, NDJSON with events.
		body := must[io.ReadCloser](t, "Export csv")(c.Conversations.Export(ctx, client.ExportOptions{Format: client.FormatCSV, Sort: client.SortOrd}))
		rows, err := csv.NewReader(body).ReadAll()
		body.Close()
		if err != nil || len(rows) != 5 || rows[0][0] != "id" || rows[1][0] != d.ID || !slices.Contains(rows[0], "metadata.tier") {
			t.Errorf("Export csv: %v %v", rows, err)
		}
		var exported []*client.ExportedConversation
		for x, err := range c.Conversations.ExportEach(ctx, client.ExportOptions{Filter: client.Filter{Sources: []string{"widget"}}, IncludeEvents: true}) {
			if err != nil {
				t.Fatal(err)
			}
			exported = append(exported, x)
		}
		if len(exported) != 1 || exported[0].ID != d.ID || len(exported[0].Events) != len(all) || exported[0].Rating == nil {
			t.Errorf("ExportEach: %+v", exported)
		}
		body = must[io.ReadCloser](t, "Export ndjson")(c.Conversations.Export(ctx, client.ExportOptions{}))
		var n2 int
		for x, err := range client.DecodeNDJSON(body) {
			if err != nil || x.ID == "" || x.Events != nil {
				t.Fatal(x, err)
			}
			n2++
		}
		body.Close()
		if n2 != 4 {
			t.Errorf("DecodeNDJSON: %d conversations", n2)
		}
		_, err = c.Conversations.Export(ctx, client.ExportOptions{Format: "xml"})
		wantError(t, "Export(xml)", err, 400, client.CodeBadRequest, "format")
		_, err = c.Conversations.Export(ctx, client.ExportOptions{Format: client.FormatCSV, IncludeEvents: true})
		wantError(t, "Export(csv with events)", err, 400, client.CodeBadRequest, "include")

		// Analytics.
		a := must[*client.Analytics](t, "Analytics")(ev.r.Analytics.Get(ctx, client.AnalyticsOptions{GroupBy: []string{client.GroupSource, client.GroupMonth}, TZ: "Europe/Amsterdam"}))
		if a.Total.Conversations != 4 || len(a.Groups) != 4 || a.TZ != "Europe/Amsterdam" || !slices.Equal(a.GroupBy, []string{"source", "month"}) {
			t.Errorf("Analytics: %+v", a)
		}
		if g := a.Groups[0]; g.KeyOf(client.GroupSource) != "api" || g.KeyOf("nothing") != "" || g.Conversations != 1 {
			t.Errorf("Analytics first group: %+v", g)
		}
		a = must[*client.Analytics](t, "Analytics(filter)")(c.Analytics.Get(ctx, client.AnalyticsOptions{Filter: client.Filter{Sources: []string{"widget"}}}))
		if a.Total.Conversations != 1 || a.Total.HandedOff != 1 || a.Total.HandoffShare != 1 || a.Total.Messages != 2 || len(a.Groups) != 0 {
			t.Errorf("Analytics(widget): %+v", a)
		}
		_, err = c.Analytics.Get(ctx, client.AnalyticsOptions{GroupBy: []string{"hour"}})
		wantError(t, "Analytics(hour)", err, 400, client.CodeBadRequest, "group_by")
		_, err = c.Analytics.Get(ctx, client.AnalyticsOptions{TZ: "Mars/Olympus"})
		wantError(t, "Analytics(tz)", err, 400, client.CodeBadRequest, "tz")

		// Isolation, delete.
		_, err = ev.other.Conversations.Get(ctx, d.ID)
		if !client.IsNotFound(err) {
			t.Errorf("B reads A's conversation: %v", err)
		}
		wantError(t, "Get(B)", err, 404, client.CodeNotFound, "root")
		err = ev.r.Conversations.Delete(ctx, d.ID)
		wantError(t, "Delete(read token)", err, 403, "", "")
		if err := c.Conversations.Delete(ctx, d.ID, client.IdempotencyKey("del-1")); err != nil {
			t.Fatal(err)
		}
		if err := c.Conversations.Delete(ctx, d.ID); !client.IsNotFound(err) {
			t.Errorf("Delete twice: %v", err)
		}
		if _, err := c.Conversations.Metadata(ctx, d.ID); !client.IsStatus(err, 404) {
			t.Errorf("Metadata of a deleted conversation: %v", err)
		}
		_, err = c.Conversations.Events(ctx, "not-a-uuid", client.EventOptions{})
		wantError(t, "Events(not a uuid)", err, 404, client.CodeNotFound, "")
	})
}

func ptrTime(t time.Time) *time.Time { return &t }

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

// TestTypesCoverTheWire checks that the client's types name every field the server sends, so
// that a field added to the API without the client fails here.
func TestTypesCoverTheWire(t *testing.T) {
	ev := start(t, enginetest.SQLite, nil)
	ctx := t.Context()
	d, _, err := ev.w.Conversations.Create(ctx, client.NewConversation{Source: client.SourceWidget, Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "hi"}}})
	if err != nil {
		t.Fatal(err)
	}
	check := func(what, path string, typ reflect.Type, pick func(map[string]any) map[string]any) {
		t.Helper()
		r := ev.e.Must(200, "GET", path, ev.e.A.Read, nil)
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatal(err)
		}
		if pick != nil {
			m = pick(m)
		}
		names := jsonNames(typ)
		var missing []string
		for k := range m {
			if !names[k] {
				missing = append(missing, k)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: the client's %s has no field for %v", what, typ, missing)
		}
	}
	first := func(m map[string]any) map[string]any { return m["items"].([]any)[0].(map[string]any) }
	data := func(m map[string]any) map[string]any { return first(m)["data"].(map[string]any) }
	conv := "/v1/api_core/conversations"
	check("list", conv, reflect.TypeFor[client.ConversationList](), nil)
	check("list item", conv, reflect.TypeFor[client.Conversation](), first)
	check("detail", conv+"/"+d.ID, reflect.TypeFor[client.ConversationDetail](), nil)
	check("events", conv+"/"+d.ID+"/events", reflect.TypeFor[client.EventList](), nil)
	check("message", conv+"/"+d.ID+"/events", reflect.TypeFor[client.MessageEvent](), data)
	check("analytics", "/v1/api_core/analytics?group_by=day", reflect.TypeFor[client.Analytics](), nil)
	check("analytics group", "/v1/api_core/analytics?group_by=day", reflect.TypeFor[client.Group](), func(m map[string]any) map[string]any {
		return m["groups"].([]any)[0].(map[string]any)
	})
	check("settings", "/v1/api_core/settings", reflect.TypeFor[client.Settings](), nil)
}

// jsonNames are the JSON names of a struct's fields, embedded structs' included.
func jsonNames(t reflect.Type) map[string]bool {
	out := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			for k := range jsonNames(f.Type) {
				out[k] = true
			}
			continue
		}
		if name != "" && name != "-" {
			out[name] = true
		}
	}
	return out
}

// TestErrors checks errors that do not come in the envelope, and rate limits.
func TestErrors(t *testing.T) {
	ev := start(t, enginetest.SQLite, &api.Config{RateLimits: api.RateLimits{1, 1, 1}})
	ctx := t.Context()
	if _, err := ev.r.Conversations.List(ctx, client.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err := ev.r.Conversations.List(ctx, client.ListOptions{})
	e := wantError(t, "List over the limit", err, 429, client.CodeTooManyRequests, "root")
	if e.RetryAfter < time.Second {
		t.Errorf("RetryAfter %s", e.RetryAfter)
	}
	if _, err := ev.r.Conversations.Export(ctx, client.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = ev.r.Conversations.Export(ctx, client.ExportOptions{})
	wantError(t, "Export over the heavy limit", err, 429, client.CodeTooManyRequests, "")

	bad, _ := client.New(ev.e.URL, "prly_not-a-token")
	_, err = bad.Settings.Get(ctx)
	wantError(t, "unknown token", err, 401, client.CodePermissionDenied, "root")

	// A server that does not answer in the envelope.
	plain, _ := client.New(ev.e.URL+"/nothing-here", "t")
	_, err = plain.Settings.Get(ctx)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != 404 || ce.Message == "" {
		t.Errorf("a plain 404: %v", err)
	}
	// A cancelled context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ev.w.Conversations.List(cctx, client.ListOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
