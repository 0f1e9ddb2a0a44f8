package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/parleyhq/parley/internal/apitest"
)

// fixture is a set of conversations of assistant A, by name.
type fixture struct {
	e   *apitest.Env
	ids map[string]string // name -> id
}

func (f fixture) names(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id
		for n, v := range f.ids {
			if v == id {
				out[i] = n
			}
		}
	}
	return out
}

// newFixture creates five conversations of assistant A that differ in every filtered field:
//
//	c1 widget   created 01-15 10:30  last 01-15 10:32  open, ai, unread, José Álvarez, ORD-0012345, metadata plan=pro userId=12 vip=true
//	c2 slack    created 01-15 23:59:59  last 01-16 00:00:30  open, ai, unread, Maria, café crème brûlée, metadata plan=free
//	c3 telegram created 01-16 00:00  last 01-16 08:00  resolved, human_operator, read, terminated, return policy
//	c4 whatsapp created 01-14 12:00  no messages (last = created)  open, unassigned, read
//	c5 widget   created 01-17 09:00  last 01-17 09:05  open, ai, read (operator message)
func newFixture(t testing.TB, e *apitest.Env) fixture {
	t.Helper()
	f := fixture{e: e, ids: map[string]string{}}
	add := func(name string, body map[string]any) {
		f.ids[name] = str(t, create(t, e, e.A.Write, body), "id")
	}
	add("c1", map[string]any{
		"source": "widget", "created_at": "2026-01-15T10:30:00Z", "visitor_name": "José Álvarez", "visitor_email": "jose@example.com",
		"client_metadata": map[string]any{"plan": "pro", "userId": 12, "vip": true},
		"messages": []any{
			msg("visitor", "Where is my order ORD-0012345?", "2026-01-15T10:31:00Z"),
			msg("ai_assistant", "It shipped yesterday.", "2026-01-15T10:32:00Z"),
		},
	})
	add("c2", map[string]any{
		"source": "slack", "created_at": "2026-01-15T23:59:59Z", "visitor_name": "Maria", "visitor_email": "maria.lopez@example.org",
		"client_metadata": map[string]any{"plan": "free"},
		"messages":        []any{msg("visitor", "Café crème brûlée recipe please", "2026-01-16T00:00:30Z")},
	})
	add("c3", map[string]any{
		"source": "telegram", "created_at": "2026-01-16T00:00:00Z",
		"messages": []any{msg("visitor", "What is your return policy?", "2026-01-16T08:00:00Z")},
	})
	call(t, e, 200, "PATCH", conv(f.ids["c3"]), e.A.Write, map[string]any{
		"resolution_status": "resolved", "terminated": true, "has_unread_messages": false,
		"assignee": map[string]any{"type": "human_operator", "id": "op-1", "name": "Alice"},
	})
	add("c4", map[string]any{"source": "whatsapp", "created_at": "2026-01-14T12:00:00Z"})
	call(t, e, 200, "PATCH", conv(f.ids["c4"]), e.A.Write, map[string]any{"assignee": map[string]any{"type": "unassigned"}})
	add("c5", map[string]any{
		"source": "widget", "created_at": "2026-01-17T09:00:00Z",
		"messages": []any{msg("human_operator", "Hello from support", "2026-01-17T09:05:00Z")},
	})
	return f
}

// expect checks that the list with query v holds exactly the named conversations and that
// count says so.
func (f fixture) expect(t *testing.T, v url.Values, names ...string) {
	t.Helper()
	p := list(t, f.e, f.e.A.Read, v)
	sameSet(t, "?"+v.Encode(), f.names(p.ids()), names)
	if p.Count != len(names) {
		t.Errorf("?%s: count %d, want %d", v.Encode(), p.Count, len(names))
	}
}

func TestListFilters(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		f := newFixture(t, e)
		cases := []struct {
			query url.Values
			want  []string
		}{
			{nil, []string{"c1", "c2", "c3", "c4", "c5"}},
			// Reference filters.
			{q("assignee_type", "ai_assistant"), []string{"c1", "c2", "c5"}},
			{q("assignee_type", "human_operator"), []string{"c3"}},
			{q("assignee_type", "unassigned"), []string{"c4"}},
			{q("source", "widget"), []string{"c1", "c5"}},
			{q("source", "whatsapp"), []string{"c4"}},
			{q("source", "email"), nil},
			{q("resolution_status", "open"), []string{"c1", "c2", "c4", "c5"}},
			{q("resolution_status", "resolved"), []string{"c3"}},
			{q("created_timestamp_start_date", "2026-01-15"), []string{"c1", "c2", "c3", "c5"}},
			{q("created_timestamp_end_date", "2026-01-15"), []string{"c1", "c2", "c4"}}, // the whole day, 23:59:59 included
			{q("created_timestamp_start_date", "2026-01-15", "created_timestamp_end_date", "2026-01-15"), []string{"c1", "c2"}},
			{q("created_timestamp_start_date", "2026-01-15T10:30:00Z"), []string{"c1", "c2", "c3", "c5"}}, // inclusive
			{q("created_timestamp_start_date", "2026-01-15T10:30:00.000001Z"), []string{"c2", "c3", "c5"}},
			{q("created_timestamp_start_date", "2026-01-15T10:30:00.0000001Z"), []string{"c2", "c3", "c5"}}, // 100 ns after c1
			{q("created_timestamp_end_date", "2026-01-15T10:29:59.9999999Z"), []string{"c4"}},               // 100 ns before c1
			{q("created_timestamp_start_date", "2026-01-15T11:30:00+01:00"), []string{"c1", "c2", "c3", "c5"}},
			{q("created_timestamp_end_date", "2026-01-15T10:30:00Z"), []string{"c1", "c4"}}, // a date-time end includes that instant
			{q("created_timestamp_end_date", "2026-01-16T00:00:00Z"), []string{"c1", "c2", "c3", "c4"}},
			{q("created_timestamp_end_date", "2026-01-15T23:59:58Z"), []string{"c1", "c4"}},
			{q("last_message_at_start_date", "2026-01-16"), []string{"c2", "c3", "c5"}},
			{q("last_message_at_end_date", "2026-01-15"), []string{"c1", "c4"}},
			{q("last_message_at_start_date", "2026-01-16", "last_message_at_end_date", "2026-01-16"), []string{"c2", "c3"}},
			{q("last_message_at_start_date", "2026-01-15T10:32:00Z", "last_message_at_end_date", "2026-01-16T00:00:30Z"), []string{"c1", "c2"}},
			{q("most_frequent_language", "en"), nil}, // nothing is analysed yet
			// Extensions: comma lists and repeated parameters.
			{q("source", "slack,widget"), []string{"c1", "c2", "c5"}},
			{q("source", "slack", "source", "telegram"), []string{"c2", "c3"}},
			{q("assignee_type", "human_operator,unassigned"), []string{"c3", "c4"}},
			{q("resolution_status", "open,resolved"), []string{"c1", "c2", "c3", "c4", "c5"}},
			{q("is_flagged", "true"), nil},
			{q("is_flagged", "false"), []string{"c1", "c2", "c3", "c4", "c5"}},
			{q("has_unread_messages", "true"), []string{"c1", "c2"}},
			{q("has_unread_messages", "false"), []string{"c3", "c4", "c5"}},
			{q("terminated", "true"), []string{"c3"}},
			{q("terminated", "false"), []string{"c1", "c2", "c4", "c5"}},
			{q("metadata.plan", "pro"), []string{"c1"}},
			{q("metadata.plan", "free"), []string{"c2"}},
			{q("metadata.userId", "12"), []string{"c1"}},
			{q("metadata.vip", "true"), []string{"c1"}},
			{q("metadata.plan", "none"), nil},
			{q("metadata.missing", "x"), nil},
			{q("metadata.plan", "pro", "metadata.userId", "12"), []string{"c1"}},
			{q("metadata.plan", "pro", "metadata.userId", "13"), nil},
			// Everything combines.
			{q("source", "widget", "has_unread_messages", "true"), []string{"c1"}},
			{q("source", "widget,slack", "created_timestamp_end_date", "2026-01-15", "resolution_status", "open"), []string{"c1", "c2"}},
			{q("metadata.plan", "pro", "source", "slack"), nil},
		}
		for _, c := range cases {
			f.expect(t, c.query, c.want...)
		}
	})
}

func TestListSort(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		f := newFixture(t, e)
		cases := []struct {
			sort string
			want []string
		}{
			{"", []string{"c5", "c3", "c2", "c1", "c4"}}, // newest last_message_at first
			{"-last_message_at", []string{"c5", "c3", "c2", "c1", "c4"}},
			{"last_message_at", []string{"c4", "c1", "c2", "c3", "c5"}},
			{"created_at", []string{"c4", "c1", "c2", "c3", "c5"}},
			{"-created_at", []string{"c5", "c3", "c2", "c1", "c4"}},
			{"ord", []string{"c1", "c2", "c3", "c4", "c5"}},
			{"-ord", []string{"c5", "c4", "c3", "c2", "c1"}},
		}
		for _, c := range cases {
			v := url.Values{}
			if c.sort != "" {
				v.Set("sort", c.sort)
			}
			got := f.names(list(t, e, e.A.Read, v).ids())
			if !slices.Equal(got, c.want) {
				t.Errorf("sort=%q: %v, want %v", c.sort, got, c.want)
			}
		}
		// ord is sequential per assistant, in creation order.
		for i, name := range []string{"c1", "c2", "c3", "c4", "c5"} {
			if got := num(t, detail(t, e, e.A.Read, f.ids[name]), "ord"); got != i+1 {
				t.Errorf("%s: ord %d, want %d", name, got, i+1)
			}
		}
	})
}

// walk follows next_cursor from the first page and returns every id in the order seen,
// checking that every page tells the total count.
func walk(t *testing.T, e *apitest.Env, v url.Values, limit, total int) []string {
	t.Helper()
	var seen []string
	v.Set("limit", fmt.Sprint(limit))
	for pages := 0; ; pages++ {
		if pages > total+1 {
			t.Fatalf("walk ?%s does not end", v.Encode())
		}
		p := list(t, e, e.A.Read, v)
		if p.Count != total || p.Limit != limit || p.Offset != 0 {
			t.Errorf("page %d of ?%s: count %d limit %d offset %d", pages, v.Encode(), p.Count, p.Limit, p.Offset)
		}
		if len(p.Items) > limit {
			t.Fatalf("page of %d items, limit %d", len(p.Items), limit)
		}
		seen = append(seen, p.ids()...)
		if p.NextCursor == nil {
			return seen
		}
		if len(p.Items) != limit {
			t.Errorf("a short page (%d items) has a next_cursor", len(p.Items))
		}
		v.Set("cursor", *p.NextCursor)
	}
}

func TestCursorWalk(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		// Nine conversations, several sharing created_at and last_message_at, so that the
		// walk has to break ties.
		for i := range 9 {
			at := fmt.Sprintf("2026-01-1%dT10:00:00Z", 1+i/3)
			create(t, e, e.A.Write, map[string]any{
				"source": []string{"widget", "slack"}[i%2], "created_at": at,
				"messages": []any{msg("visitor", fmt.Sprintf("hello %d", i), at)},
			})
		}
		for _, sort := range []string{"", "last_message_at", "-last_message_at", "created_at", "-created_at", "ord", "-ord"} {
			for _, filter := range []url.Values{{}, q("source", "widget")} {
				base := url.Values{}
				for k, v := range filter {
					base[k] = v
				}
				if sort != "" {
					base.Set("sort", sort)
				}
				all := list(t, e, e.A.Read, cloneValues(base, "limit", "100"))
				for _, limit := range []int{1, 2, 4} {
					got := walk(t, e, cloneValues(base), limit, all.Count)
					if !slices.Equal(got, all.ids()) {
						t.Errorf("?%s walked by %d:\n got  %v\n want %v", base.Encode(), limit, got, all.ids())
					}
				}
			}
		}
	})
}

func cloneValues(v url.Values, pairs ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		out.Set(pairs[i], pairs[i+1])
	}
	return out
}

func TestListLimitAndOffset(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		var lines []string
		for i := range 25 {
			lines = append(lines, fmt.Sprintf(`{"source":"api","created_at":"2026-01-01T00:%02d:00Z"}`, i))
		}
		r := call(t, e, 200, "POST", importP, e.A.Write, strings.Join(lines, "\n"))
		equalJSON(t, "import", obj(t, r), map[string]any{"imported": 25, "failed": []any{}})

		byOrd := func(p page) []int {
			var out []int
			for _, it := range p.Items {
				out = append(out, num(t, it, "ord"))
			}
			return out
		}
		cases := []struct {
			query              url.Values
			limit, offset, n   int
			first              int // ord of the first item under sort=ord
			nextCursorExpected bool
		}{
			{q(), 20, 0, 20, 1, true},
			{q("limit", "500"), 100, 0, 25, 1, false},
			{q("limit", "100"), 100, 0, 25, 1, false},
			{q("limit", "5"), 5, 0, 5, 1, true},
			{q("offset", "20"), 20, 20, 5, 21, false},
			{q("limit", "5", "offset", "23"), 5, 23, 2, 24, false},
			{q("offset", "25"), 20, 25, 0, 0, false},
			{q("offset", "1000"), 20, 1000, 0, 0, false},
		}
		for _, c := range cases {
			v := cloneValues(c.query, "sort", "ord")
			p := list(t, e, e.A.Read, v)
			if p.Limit != c.limit || p.Offset != c.offset || p.Count != 25 || len(p.Items) != c.n {
				t.Errorf("?%s: limit %d offset %d count %d items %d; want %d %d 25 %d", v.Encode(), p.Limit, p.Offset, p.Count, len(p.Items), c.limit, c.offset, c.n)
				continue
			}
			if c.n > 0 && byOrd(p)[0] != c.first {
				t.Errorf("?%s: first ord %d, want %d", v.Encode(), byOrd(p)[0], c.first)
			}
			if (p.NextCursor != nil) != c.nextCursorExpected {
				t.Errorf("?%s: next_cursor %v", v.Encode(), p.NextCursor)
			}
		}
	})
}

func TestQuery(t *testing.T) {
	each(t, func(t *testing.T, e *apitest.Env) {
		f := newFixture(t, e)
		c3events := timeline(t, e, e.A.Read, f.ids["c3"])
		messageID := str(t, c3events.Items[0]["data"].(map[string]any), "id")
		logID := str(t, c3events.Items[len(c3events.Items)-1]["data"].(map[string]any), "id")
		cases := []struct {
			query string
			want  []string
		}{
			{f.ids["c1"], []string{"c1"}},
			{strings.ToUpper(f.ids["c1"]), []string{"c1"}},
			{" " + f.ids["c2"] + " ", []string{"c2"}},
			{messageID, []string{"c3"}},
			{logID, []string{"c3"}},
			{"00000000-0000-0000-0000-000000000000", nil},
			{"#3", []string{"c3"}},
			{"3", []string{"c3"}},
			{"#4", []string{"c4"}},
			{"#99", nil},
			{"ORD-0012345", []string{"c1"}},
			{"ord-0012345", []string{"c1"}},
			{"0012345", []string{"c1"}},
			{"order ORD-0012345", []string{"c1"}},
			{"retur", []string{"c3"}},      // the last word matches as a prefix
			{"return pol", []string{"c3"}}, // ...
			{"retur policy", nil},          // ...but only the last word
			{"RETURN POLICY", []string{"c3"}},
			{"cafe creme", []string{"c2"}},
			{"CAFÉ", []string{"c2"}},
			{"brulee", []string{"c2"}},
			{"Crème Brûlée", []string{"c2"}},
			{"shipped yesterday", []string{"c1"}}, // the assistant's words count too
			{"policy shipped", nil},               // every word must match
			{"jose alvarez", []string{"c1"}},      // visitor name, accents folded
			{"ÁLVAREZ", []string{"c1"}},
			{"maria", []string{"c2"}},
			{"maria.lopez@example.org", []string{"c2"}}, // visitor email
			{"jose@example.com", []string{"c1"}},
			{"example", []string{"c1", "c2"}},
			{"hello from support", []string{"c5"}},
			{"nothingmatcheshere", nil},
		}
		for _, c := range cases {
			f.expect(t, q("query", c.query), c.want...)
		}
		// A query combines with the filters.
		f.expect(t, q("query", "example", "source", "slack"), "c2")
		f.expect(t, q("query", "#3", "resolution_status", "open"))
		// A query without letters or digits asks for nothing and lists everything.
		f.expect(t, q("query", "  -- "), "c1", "c2", "c3", "c4", "c5")
	})
}
