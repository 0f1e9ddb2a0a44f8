package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyhq/parley/client"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/apitest"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

const exportP = "/v1/api_core/conversations/export"

// clientOf returns a client of assistant A with the given token.
func clientOf(t testing.TB, e *apitest.Env, token string) *client.Client {
	t.Helper()
	c, err := client.New(e.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// seedExport writes conversations that fill every CSV column in awkward ways: commas, quotes,
// newlines and formulas in text, nested and odd metadata keys, an analysis, a rating, an
// operator as assignee. It returns the conversations' ids by name.
func seedExport(t *testing.T, e *apitest.Env) map[string]string {
	t.Helper()
	ctx := t.Context()
	c := clientOf(t, e, e.A.Write)
	ids := map[string]string{}
	day := func(d, h int) *time.Time { v := time.Date(2026, 1, d, h, 0, 0, 0, time.UTC); return &v }
	mk := func(name string, n client.NewConversation) string {
		t.Helper()
		d, _, err := c.Conversations.Create(ctx, n)
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		ids[name] = d.ID
		return d.ID
	}
	rich := mk("rich", client.NewConversation{Source: client.SourceWidget, CreatedAt: day(10, 9),
		VisitorName: client.Ptr(`Zoë "Z" O'Neil`), VisitorEmail: client.Ptr("zoe@example.com"), VisitorPhoneNumber: client.Ptr("+31 6 1234"),
		VisitorLabel: client.Ptr("VIP, gold"), URL: client.Ptr("https://shop.example/a?b=1,2"),
		ClientMetadata: map[string]any{"plan": "pro", "seats": 12, "vip": true, "tags": []any{"a", "b"}, "nested": map[string]any{"x": map[string]any{"y": 1.5}},
			"comma,key": "v, with \"quotes\"\nand a newline", "empty": "", "nothing": nil, "ключ": "значение"},
		Messages: []client.NewMessage{
			{Author: client.AuthorVisitor, Content: "=HYPERLINK(\"http://evil\")", CreatedAt: day(10, 9)},
			{Author: client.AuthorAI, Content: "Line one,\nline \"two\"\r\nand ☃", CreatedAt: day(10, 10)},
		}})
	mk("plain", client.NewConversation{Source: client.SourceSlack, CreatedAt: day(11, 8),
		Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "hello", CreatedAt: day(11, 8)}}})
	mk("api", client.NewConversation{Source: client.SourceAPI, CreatedAt: day(12, 8), ClientMetadata: map[string]any{"plan": "free", "crm": "C-9"}})
	mk("late", client.NewConversation{Source: client.SourceWidget, CreatedAt: day(13, 8), ClientMetadata: map[string]any{"plan": "pro"},
		Messages: []client.NewMessage{{Author: client.AuthorVisitor, Content: "order ORD-77 missing", CreatedAt: day(13, 8)}}})

	// The analysis, an operator, a rating, an ended conversation.
	sentiment, topic, lang, title := "negative", "Returns, refunds", "en", "Odd \"title\""
	if _, err := e.Store.SaveAnalysis(ctx, e.A.ID, rich, cv.Analysis{
		Unified: json.RawMessage(`{"sentiment":"negative","resolution_status":"unresolved","topic":"Returns, refunds","is_flagged":true,` +
			`"flag_reason":"Asked for a human","summary":"Wants money back","keywords":["refund"]}`),
		Sentiment: &sentiment, Topic: &topic, Language: &lang, Title: &title, IsFlagged: true,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Conversations.Update(ctx, rich, client.ConversationPatch{Assignee: &client.Assignee{Type: client.AssigneeOperator, ID: client.Ptr("op-7"), Name: client.Ptr("Sam, the operator")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Conversations.Rate(ctx, rich, 4, client.Ptr("Good, \"quick\"")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Conversations.Update(ctx, ids["plain"], client.ConversationPatch{ResolutionStatus: client.Ptr(client.StatusResolved), Terminated: client.Ptr(true)}); err != nil {
		t.Fatal(err)
	}
	// Another assistant's conversation never shows.
	if _, _, err := clientOf(t, e, e.B.Write).Conversations.Create(ctx, client.NewConversation{Source: client.SourceWidget, ClientMetadata: map[string]any{"secret": 1}}); err != nil {
		t.Fatal(err)
	}
	return ids
}

// getRaw answers a GET with its body, checking the status.
func getRaw(t *testing.T, e *apitest.Env, token, path string, want int) apitest.Response {
	t.Helper()
	r := e.Do("GET", path, token, nil)
	if r.Status != want {
		t.Fatalf("GET %s: %d, want %d: %.500s", path, r.Status, want, r.Body)
	}
	return r
}

// listAll walks the list endpoint with the query (plus a cursor) and returns every item.
func listAll(t *testing.T, e *apitest.Env, token string, query url.Values) []map[string]any {
	t.Helper()
	var out []map[string]any
	v := maps.Clone(query)
	if v == nil {
		v = url.Values{}
	}
	v.Set("limit", "100")
	for {
		var p page
		getRaw(t, e, token, convs+"?"+v.Encode(), 200).JSON(t, &p)
		out = append(out, p.Items...)
		if p.NextCursor == nil {
			return out
		}
		v.Set("cursor", *p.NextCursor)
	}
}

// wholeTimeline reads every event of a conversation through the events endpoint.
func wholeTimeline(t *testing.T, e *apitest.Env, token, id string) []any {
	t.Helper()
	out := []any{}
	after := ""
	for {
		path := events(id) + "?limit=100"
		if after != "" {
			path += "&after_ord=" + after
		}
		var p struct {
			Items      []any   `json:"items"`
			NextCursor *string `json:"next_cursor"`
		}
		getRaw(t, e, token, path, 200).JSON(t, &p)
		out = append(out, p.Items...)
		if p.NextCursor == nil {
			return out
		}
		after = *p.NextCursor
	}
}

// expectedCells is what a CSV row must hold for a detail object, computed from the JSON the
// detail endpoint answers (not from the server's own export code).
func expectedCells(d map[string]any, keys []string) []string {
	text := func(v any) string {
		switch x := v.(type) {
		case nil:
			return ""
		case string:
			return x
		case bool:
			return strconv.FormatBool(x)
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	a, _ := d["assignee"].(map[string]any)
	ua, _ := d["unified_analysis"].(map[string]any)
	rt, _ := d["rating"].(map[string]any)
	if rt == nil {
		rt = map[string]any{}
	}
	out := []string{}
	for _, k := range []string{"id", "ord", "created_at", "last_message_at", "title", "source", "terminated", "resolution_status",
		"has_unread_messages", "supports_inbox_control", "last_message_content", "most_frequent_language"} {
		out = append(out, text(d[k]))
	}
	out = append(out, text(a["type"]), text(a["id"]), text(a["name"]))
	for _, k := range []string{"visitor_name", "visitor_email", "visitor_phone_number", "visitor_label", "url", "last_visitor_message_at", "version"} {
		out = append(out, text(d[k]))
	}
	for _, k := range []string{"sentiment", "resolution_status", "topic", "is_flagged", "flag_reason", "summary"} {
		out = append(out, text(ua[k]))
	}
	out = append(out, text(rt["score"]), text(rt["comment"]), text(rt["created_at"]))
	md, _ := d["client_metadata"].(map[string]any)
	for _, k := range keys {
		out = append(out, text(md[k]))
	}
	return out
}

func TestExportRoutes(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		// Before any conversation: an empty NDJSON body, a CSV header.
		r := getRaw(t, e, e.A.Read, exportP, 200)
		if len(r.Body) != 0 || r.Header.Get("Content-Type") != "application/x-ndjson" {
			t.Errorf("empty export: %q %q", r.Header.Get("Content-Type"), r.Body)
		}
		r = getRaw(t, e, e.A.Read, exportP+"/?format=csv", 200)
		if want := strings.Join(api.CSVColumns, ",") + "\n"; string(r.Body) != want {
			t.Errorf("empty CSV export:\n%q\nwant\n%q", r.Body, want)
		}
		// The literal path wins over /conversations/{id}, with and without the slash; ids
		// still reach the detail.
		id := create(t, e, e.A.Write, map[string]any{"source": "api"})["id"].(string)
		for _, p := range []string{exportP, exportP + "/", exportP + "?format=ndjson"} {
			r := getRaw(t, e, e.A.Read, p, 200)
			if r.Header.Get("Content-Type") != "application/x-ndjson" || !bytes.Contains(r.Body, []byte(id)) {
				t.Errorf("GET %s: %q %s", p, r.Header.Get("Content-Type"), r.Body)
			}
		}
		getRaw(t, e, e.A.Read, conv(id), 200)
		getRaw(t, e, e.A.Read, convs+"/"+id, 200)
		// Idempotency-Key is for writes: an export with one streams as any other, every time.
		for range 2 {
			r := e.Do("GET", exportP, e.A.Write, nil, "Idempotency-Key", "export-1")
			if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "" || !bytes.Contains(r.Body, []byte(id)) {
				t.Errorf("export with an Idempotency-Key: %d %v %s", r.Status, r.Header, r.Body)
			}
		}
		if r := e.Do("HEAD", exportP+"?format=csv", e.A.Read, nil); r.Status != 200 || len(r.Body) != 0 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Errorf("HEAD export: %d %v %q", r.Status, r.Header, r.Body)
		}
		// Export is read-only: other methods on its path are the conversation's (a 404 for
		// an id that is not one) or 405.
		wantError(t, e.Do("DELETE", exportP, e.A.Write, nil), 404, "root", "NOT_FOUND")
		wantError(t, e.Do("POST", exportP, e.A.Write, map[string]any{}), 405, "root", "METHOD_NOT_ALLOWED")
		wantError(t, e.Do("GET", exportP, "", nil), 401, "root", "PERMISSION_DENIED")
	})
}

func TestExportBadParams(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		for _, tc := range []struct{ q, key string }{
			{"format=xml", "format"},
			{"format=csv&include=events", "include"},
			{"include=timeline", "include"},
			{"limit=10", "limit"},
			{"offset=5", "offset"},
			{"cursor=abc", "cursor"},
			{"source=fax", "source"},
			{"sort=newest", "sort"},
			{"created_timestamp_start_date=yesterday", "created_timestamp_start_date"},
		} {
			msg := wantError(t, e.Do("GET", exportP+"?"+tc.q, e.A.Read, nil), 400, tc.key, "BAD_REQUEST")
			if tc.key == "limit" && !strings.Contains(msg, "every matching conversation") {
				t.Errorf("limit: %q does not say why", msg)
			}
		}
	})
}

func TestExportFormats(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		ids := seedExport(t, e)
		names := map[string]string{}
		for n, id := range ids {
			names[id] = n
		}
		details := map[string]map[string]any{}
		for _, id := range ids {
			details[id] = detail(t, e, e.A.Read, id)
		}
		keys := []string{"comma,key", "crm", "empty", "nested", "nothing", "plan", "seats", "tags", "vip", "ключ"}

		// CSV: a header, then a row per conversation in the list's order, cell by cell.
		r := getRaw(t, e, e.A.Read, exportP+"?format=csv", 200)
		if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="conversations-`) || !strings.HasSuffix(cd, `.csv"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v\n%s", err, r.Body)
		}
		header := slices.Clone(api.CSVColumns)
		for _, k := range keys {
			header = append(header, "metadata."+k)
		}
		if !slices.Equal(rows[0], header) {
			t.Fatalf("header:\n got  %q\n want %q", rows[0], header)
		}
		order := listAll(t, e, e.A.Read, nil)
		if len(rows)-1 != len(order) {
			t.Fatalf("%d rows, the list has %d", len(rows)-1, len(order))
		}
		// The file keeps a carriage return inside a field as it is; encoding/csv's reader
		// drops the one before a newline, so compare as that reader sees it.
		if !bytes.Contains(r.Body, []byte("line \"\"two\"\"\r\nand")) {
			t.Errorf("the CSV does not keep the message's CRLF")
		}
		crlf := strings.NewReplacer("\r\n", "\n")
		for i, item := range order {
			want := expectedCells(details[item["id"].(string)], keys)
			for j := range want {
				want[j] = crlf.Replace(want[j])
			}
			if !slices.Equal(rows[i+1], want) {
				for j := range want {
					if j < len(rows[i+1]) && rows[i+1][j] != want[j] {
						t.Errorf("row %d (%s) column %s: %q, want %q", i+1, names[item["id"].(string)], header[j], rows[i+1][j], want[j])
					}
				}
				if len(rows[i+1]) != len(want) {
					t.Errorf("row %d has %d cells, want %d", i+1, len(rows[i+1]), len(want))
				}
			}
		}
		// Spot checks, against literals.
		rich := rows[slices.IndexFunc(rows, func(r []string) bool { return r[0] == ids["rich"] })]
		cell := func(name string) string { return rich[slices.Index(header, name)] }
		for col, want := range map[string]string{
			"assignee_type": "human_operator", "assignee_name": "Sam, the operator", "sentiment": "negative",
			"analysis_resolution_status": "unresolved", "topic": "Returns, refunds", "is_flagged": "true", "flag_reason": "Asked for a human",
			"analysis_summary": "Wants money back", "rating_score": "4", "rating_comment": `Good, "quick"`, "metadata.seats": "12", "metadata.vip": "true",
			"metadata.tags": `["a","b"]`, "metadata.nested": `{"x":{"y":1.5}}`, "metadata.nothing": "", "metadata.crm": "",
			"metadata.comma,key": "v, with \"quotes\"\nand a newline", "last_message_content": "Line one,\nline \"two\"\nand ☃",
			"visitor_name": `Zoë "Z" O'Neil`, "title": `Odd "title"`,
		} {
			if got := cell(col); got != want {
				t.Errorf("rich %s = %q, want %q", col, got, want)
			}
		}

		// NDJSON: each line is the detail object, in the list's order.
		r = getRaw(t, e, e.A.Read, exportP+"?format=ndjson", 200)
		if cd := r.Header.Get("Content-Disposition"); !strings.HasSuffix(cd, `.ndjson"`) {
			t.Errorf("Content-Disposition %q", cd)
		}
		lines := bytes.Split(bytes.TrimSuffix(r.Body, []byte("\n")), []byte("\n"))
		if len(lines) != len(order) || !bytes.HasSuffix(r.Body, []byte("\n")) {
			t.Fatalf("%d lines, want %d", len(lines), len(order))
		}
		for i, line := range lines {
			var got map[string]any
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			id := order[i]["id"].(string)
			checkShape(t, "NDJSON line", got, referenceDetail)
			equalJSON(t, "NDJSON line of "+names[id], got, details[id])
		}

		// With the timeline: the detail plus "events", every event as the events endpoint
		// answers it.
		r = getRaw(t, e, e.A.Read, exportP+"?include=events&sort=ord", 200)
		lines = bytes.Split(bytes.TrimSuffix(r.Body, []byte("\n")), []byte("\n"))
		for _, line := range lines {
			var got map[string]any
			if err := json.Unmarshal(line, &got); err != nil {
				t.Fatal(err)
			}
			id := got["id"].(string)
			evs := got["events"]
			delete(got, "events")
			equalJSON(t, "NDJSON line with events of "+names[id], got, details[id])
			equalJSON(t, "events of "+names[id], evs, wholeTimeline(t, e, e.A.Read, id))
		}

		// Filters and sort: the same conversations, in the same order, as the list.
		for _, qs := range []string{"sort=ord", "sort=-created_at&source=widget,slack", "metadata.plan=pro", "query=ORD-77",
			"is_flagged=true", "resolution_status=resolved&terminated=true", "created_timestamp_start_date=2026-01-11&created_timestamp_end_date=2026-01-12",
			"sentiment=negative&topic=Returns,%20refunds", "assignee_type=human_operator&assignee_id=op-7", "source=email"} {
			v, _ := url.ParseQuery(qs)
			var want []string
			for _, it := range listAll(t, e, e.A.Read, v) {
				want = append(want, it["id"].(string))
			}
			var got []string
			r := getRaw(t, e, e.A.Read, exportP+"?format=csv&"+qs, 200)
			rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows[1:] {
				got = append(got, row[0])
			}
			if !slices.Equal(got, want) {
				t.Errorf("export?%s: %v, the list %v", qs, got, want)
			}
			// The metadata columns are those of the matching conversations only.
			if qs == "source=email" && len(rows[0]) != len(api.CSVColumns) {
				t.Errorf("export?%s: header %v", qs, rows[0])
			}
		}

		// Another assistant sees only its own.
		r = getRaw(t, e, e.B.Read, exportP+"?format=csv", 200)
		if rows, _ := csv.NewReader(bytes.NewReader(r.Body)).ReadAll(); len(rows) != 2 || rows[0][len(rows[0])-1] != "metadata.secret" {
			t.Errorf("B's export: %q", r.Body)
		}
	})
}

// countingStore counts the timeline pages read and can make the export's walk fail after a
// number of conversations.
type countingStore struct {
	store.Store
	events   atomic.Int64
	failFrom int
}

func (s *countingStore) Events(ctx context.Context, assistantID, conversationID string, f cv.EventFilter) (cv.EventPage, error) {
	s.events.Add(1)
	return s.Store.Events(ctx, assistantID, conversationID, f)
}

var errBroken = errors.New("the disk is on fire")

func (s *countingStore) EachConversation(ctx context.Context, assistantID string, f cv.Filter, fn func(*cv.Conversation) error) error {
	n := 0
	return s.Store.EachConversation(ctx, assistantID, f, func(c *cv.Conversation) error {
		if n++; s.failFrom > 0 && n > s.failFrom {
			return errBroken
		}
		return fn(c)
	})
}

// bulk writes n small conversations straight into the store.
func bulk(t testing.TB, st store.Store, assistantID string, n int) {
	t.Helper()
	batch := make([]cv.NewConversation, 0, 1000)
	for i := range n {
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		batch = append(batch, cv.NewConversation{Source: cv.SourceAPI, CreatedAt: &at,
			Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: fmt.Sprintf("message %d", i), CreatedAt: &at}}})
		if len(batch) == cap(batch) || i == n-1 {
			for j := range batch {
				if err := batch[j].Validate(); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := st.CreateConversations(context.Background(), assistantID, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// TestExportStopsWhenTheClientGoesAway: a client that hangs up mid-export stops the walk.
func TestExportStopsWhenTheClientGoesAway(t *testing.T) {
	t.Parallel()
	var cs *countingStore
	e := apitest.Start(t, func(t testing.TB) store.Store { cs = &countingStore{Store: enginetest.SQLite(t)}; return cs }, nil)
	const n = 3000
	bulk(t, cs.Store, e.A.ID, n)
	ctx, cancel := context.WithCancel(t.Context())
	body, err := clientOf(t, e, e.A.Read).Conversations.Export(ctx, client.ExportOptions{IncludeEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := body.Read(make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	cancel()
	body.Close()
	// The walk ends soon after; it does not read the remaining timelines.
	var last int64 = -1
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		now := cs.events.Load()
		if now == last {
			break
		}
		last = now
	}
	if last >= n || last < 0 {
		t.Errorf("the export went on after the client left: %d of %d timelines read", last, n)
	}
}

// TestExportFailureCutsTheStream: a failure after the first byte never looks like a whole
// export: the connection is cut, and readers get an error, not a clean end.
func TestExportFailureCutsTheStream(t *testing.T) {
	t.Parallel()
	var cs *countingStore
	e := apitest.Start(t, func(t testing.TB) store.Store {
		cs = &countingStore{Store: enginetest.SQLite(t), failFrom: 700}
		return cs
	}, nil)
	bulk(t, cs.Store, e.A.ID, 1200)
	c := clientOf(t, e, e.A.Read)
	n := 0
	var last error
	for x, err := range c.Conversations.ExportEach(t.Context(), client.ExportOptions{}) {
		if err != nil {
			last = err
			break
		}
		if x.ID != "" {
			n++
		}
	}
	if last == nil || n > 700 {
		t.Errorf("read %d conversations and then %v; want an error after at most 700", n, last)
	}
	// The same through plain HTTP, for CSV: the body ends in an error.
	req, _ := http.NewRequest("GET", e.URL+exportP+"?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+e.A.Read)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	rows := 0
	rd := csv.NewReader(bufio.NewReader(res.Body))
	for {
		_, err := rd.Read()
		if err == io.EOF {
			t.Fatalf("the CSV ended cleanly after %d rows", rows)
		}
		if err != nil {
			break
		}
		rows++
	}
	if rows > 701 {
		t.Errorf("%d rows before the error", rows)
	}
}
