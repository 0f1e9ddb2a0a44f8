package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// listFixture is five conversations of one assistant whose created_at order, last_message_at
// order and ord order all differ:
//
//	name ord created  last      source    status    assignee        unread terminated metadata
//	c1   2   t0       t0+5h     widget    open      ai_assistant    true   false      plan=gold seats=12 vip=true
//	c2   1   t0+1h    t0+1h5m   slack     resolved  human_operator  false  false      -
//	c3   4   t0+2h    t0+2h     telegram  open      unassigned      false  true       -
//	c4   3   t0+3h    t0+3h2m   widget    open      ai_assistant    false  false      plan=silver seats=3 vip=false
//	c5   5   t0+4h    t0+4h1m   api       open      ai_assistant    true   false      odd keys
type listFixture struct {
	a                  cv.Assistant
	c1, c2, c3, c4, c5 cv.Conversation
	names              map[string]string
}

func newListFixture(t *testing.T, s store.Store) *listFixture {
	t.Helper()
	f := &listFixture{a: newAssistant(t, s)}
	aid := f.a.ID
	f.c2 = mustCreate(t, s, aid, cv.NewConversation{Source: cv.SourceSlack, CreatedAt: tp(time.Hour), Messages: []cv.NewMessage{
		msg(cv.AuthorAI, "welcome", time.Hour), msg(cv.AuthorAI, "still here?", time.Hour+5*time.Minute)}})
	f.c1 = mustCreate(t, s, aid, cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(0),
		ClientMetadata: meta(t, `{"plan": "gold", "seats": 12, "vip": true}`),
		Messages:       []cv.NewMessage{msg(cv.AuthorVisitor, "hello", time.Minute), msg(cv.AuthorAI, "hi", 5*time.Hour)}})
	f.c4 = mustCreate(t, s, aid, cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(3 * time.Hour),
		ClientMetadata: meta(t, `{"plan": "silver", "seats": 3, "vip": false}`),
		Messages: []cv.NewMessage{msg(cv.AuthorVisitor, "question", 3*time.Hour+time.Minute),
			msg(cv.AuthorOperator, "answer", 3*time.Hour+2*time.Minute)}})
	f.c3 = mustCreate(t, s, aid, cv.NewConversation{Source: cv.SourceTelegram, CreatedAt: tp(2 * time.Hour)})
	f.c5 = mustCreate(t, s, aid, cv.NewConversation{Source: cv.SourceAPI, CreatedAt: tp(4 * time.Hour),
		ClientMetadata: meta(t, `{"a.b": "dotted", "with space": "yes", "ключ": "значение", "q\"uote": "x", "back\\slash": "z", "it's": "y", "n": 1.5, "big": 12345678901}`),
		Messages:       []cv.NewMessage{msg(cv.AuthorVisitor, "api ping", 4*time.Hour+time.Minute)}})
	f.c2 = patch(t, s, aid, f.c2.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved),
		Assignee: &cv.Assignee{Type: cv.AssigneeOperator, ID: ptr("op-1"), Name: ptr("Ann")}})
	f.c3 = patch(t, s, aid, f.c3.ID, 0, cv.Patch{Terminated: ptr(true), Assignee: &cv.Assignee{Type: cv.AssigneeUnassigned}})
	f.names = map[string]string{f.c1.ID: "c1", f.c2.ID: "c2", f.c3.ID: "c3", f.c4.ID: "c4", f.c5.ID: "c5"}
	for _, c := range f.all() {
		if c.Version == 0 {
			t.Fatalf("suite bug: fixture conversation not set")
		}
	}
	if f.c2.Ord != 1 || f.c1.Ord != 2 || f.c4.Ord != 3 || f.c3.Ord != 4 || f.c5.Ord != 5 {
		t.Fatalf("fixture ords c1..c5 = %d %d %d %d %d, want 2 1 4 3 5", f.c1.Ord, f.c2.Ord, f.c3.Ord, f.c4.Ord, f.c5.Ord)
	}
	return f
}

func (f *listFixture) all() []cv.Conversation { return []cv.Conversation{f.c1, f.c2, f.c3, f.c4, f.c5} }

func (f *listFixture) ids(cs ...cv.Conversation) []string {
	if cs == nil {
		return []string{}
	}
	return ids(cs)
}

type listCase struct {
	name string
	f    cv.Filter
	want []cv.Conversation
}

// checkCases runs filter cases; ordered compares in order, else as sets.
func (f *listFixture) checkCases(t *testing.T, s store.Store, ordered bool, cases []listCase) {
	t.Helper()
	for _, tc := range cases {
		got := listIDs(t, s, f.a.ID, tc.f)
		if ordered {
			sameIDs(t, tc.name, got, ids(tc.want), f.names)
		} else {
			sameIDSet(t, tc.name, got, ids(tc.want), f.names)
		}
	}
}

var listTests = []test{
	{"DefaultOrderAndPaging", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		newestFirst := []cv.Conversation{f.c1, f.c5, f.c4, f.c3, f.c2}
		// The reference's default order (newest last_message_at first) is what the API asks
		// for with Sort "" (last_message_at) and Desc.
		f.checkCases(t, s, true, []listCase{{"newest last_message_at first", cv.Filter{Desc: true}, newestFirst}})
		for _, tc := range []struct {
			limit, offset int
			want          []cv.Conversation
		}{
			{2, 0, newestFirst[0:2]},
			{2, 1, newestFirst[1:3]},
			{2, 4, newestFirst[4:]},
			{2, 5, nil},
			{3, 100, nil},
			{1, 2, newestFirst[2:3]},
		} {
			p := mustList(t, s, f.a.ID, cv.Filter{Desc: true, Limit: tc.limit, Offset: tc.offset})
			what := fmt.Sprintf("limit %d offset %d", tc.limit, tc.offset)
			sameIDs(t, what, ids(p.Items), ids(tc.want), f.names)
			if p.Count != 5 {
				t.Errorf("%s: Count = %d, want 5 (all matches, whatever the page)", what, p.Count)
			}
		}
		p := mustList(t, s, f.a.ID, cv.Filter{Desc: true, Limit: 2, Sources: []string{cv.SourceWidget, cv.SourceAPI}})
		sameIDs(t, "filtered page", ids(p.Items), ids([]cv.Conversation{f.c1, f.c5}), f.names)
		if p.Count != 3 {
			t.Errorf("filtered page: Count = %d, want 3", p.Count)
		}
	}},
	{"ItemsAreWholeConversations", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		p := mustList(t, s, f.a.ID, cv.Filter{Limit: 100})
		for _, item := range p.Items {
			want := mustGet(t, s, f.a.ID, item.ID)
			sameConversation(t, "list item "+f.names[item.ID], item, want)
			if item.RowID != want.RowID {
				t.Errorf("list item %s: RowID %d, Conversation has %d", f.names[item.ID], item.RowID, want.RowID)
			}
		}
	}},
	{"Sort", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		byCreated := []cv.Conversation{f.c1, f.c2, f.c3, f.c4, f.c5}
		byOrd := []cv.Conversation{f.c2, f.c1, f.c4, f.c3, f.c5}
		byLast := []cv.Conversation{f.c2, f.c3, f.c4, f.c5, f.c1}
		rev := func(cs []cv.Conversation) []cv.Conversation { r := slices.Clone(cs); slices.Reverse(r); return r }
		f.checkCases(t, s, true, []listCase{
			{"created_at", cv.Filter{Sort: cv.SortCreatedAt}, byCreated},
			{"-created_at", cv.Filter{Sort: cv.SortCreatedAt, Desc: true}, rev(byCreated)},
			{"ord", cv.Filter{Sort: cv.SortOrd}, byOrd},
			{"-ord", cv.Filter{Sort: cv.SortOrd, Desc: true}, rev(byOrd)},
			{"last_message_at", cv.Filter{Sort: cv.SortLastMessageAt}, byLast},
			{"-last_message_at", cv.Filter{Sort: cv.SortLastMessageAt, Desc: true}, rev(byLast)},
			// Sort "" is last_message_at (conversation.Filter), Desc decides the direction.
			{"sort empty", cv.Filter{}, byLast},
			{"sort empty, desc", cv.Filter{Desc: true}, rev(byLast)},
			{"ord, widget only", cv.Filter{Sort: cv.SortOrd, Sources: []string{cv.SourceWidget}}, []cv.Conversation{f.c1, f.c4}},
			{"-created_at, page", cv.Filter{Sort: cv.SortCreatedAt, Desc: true, Limit: 2, Offset: 1}, []cv.Conversation{f.c4, f.c3}},
		})
	}},
	{"Filters", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		c1, c2, c3, c4, c5 := f.c1, f.c2, f.c3, f.c4, f.c5
		all := f.all()
		f.checkCases(t, s, false, []listCase{
			{"no filter", cv.Filter{}, all},
			{"assignee ai", cv.Filter{AssigneeTypes: []string{cv.AssigneeAI}}, []cv.Conversation{c1, c4, c5}},
			{"assignee operator", cv.Filter{AssigneeTypes: []string{cv.AssigneeOperator}}, []cv.Conversation{c2}},
			{"assignee unassigned", cv.Filter{AssigneeTypes: []string{cv.AssigneeUnassigned}}, []cv.Conversation{c3}},
			{"assignee operator,unassigned", cv.Filter{AssigneeTypes: []string{cv.AssigneeOperator, cv.AssigneeUnassigned}}, []cv.Conversation{c2, c3}},
			{"assignee id op-1", cv.Filter{AssigneeIDs: []string{"op-1"}}, []cv.Conversation{c2}},
			{"assignee id op-2", cv.Filter{AssigneeIDs: []string{"op-2"}}, nil},
			{"source widget", cv.Filter{Sources: []string{cv.SourceWidget}}, []cv.Conversation{c1, c4}},
			{"source widget,slack", cv.Filter{Sources: []string{cv.SourceWidget, cv.SourceSlack}}, []cv.Conversation{c1, c2, c4}},
			{"source telegram,api", cv.Filter{Sources: []string{cv.SourceTelegram, cv.SourceAPI}}, []cv.Conversation{c3, c5}},
			{"source email", cv.Filter{Sources: []string{"email"}}, nil},
			{"status resolved", cv.Filter{Statuses: []string{cv.StatusResolved}}, []cv.Conversation{c2}},
			{"status open", cv.Filter{Statuses: []string{cv.StatusOpen}}, []cv.Conversation{c1, c3, c4, c5}},
			{"status open,resolved", cv.Filter{Statuses: []string{cv.StatusOpen, cv.StatusResolved}}, all},
			{"terminated", cv.Filter{Terminated: ptr(true)}, []cv.Conversation{c3}},
			{"not terminated", cv.Filter{Terminated: ptr(false)}, []cv.Conversation{c1, c2, c4, c5}},
			{"unread", cv.Filter{HasUnread: ptr(true)}, []cv.Conversation{c1, c5}},
			{"read", cv.Filter{HasUnread: ptr(false)}, []cv.Conversation{c2, c3, c4}},
			{"not flagged", cv.Filter{IsFlagged: ptr(false)}, all},
			{"flagged", cv.Filter{IsFlagged: ptr(true)}, nil},
			// Language, sentiment and topic come from analysis, which has not run.
			{"language en", cv.Filter{Languages: []string{"en"}}, nil},
			{"sentiment", cv.Filter{Sentiments: []string{"negative", "neutral", "positive"}}, nil},
			{"topic", cv.Filter{Topics: []string{"Billing"}}, nil},

			{"widget and unread", cv.Filter{Sources: []string{cv.SourceWidget}, HasUnread: ptr(true)}, []cv.Conversation{c1}},
			{"widget and resolved", cv.Filter{Sources: []string{cv.SourceWidget}, Statuses: []string{cv.StatusResolved}}, nil},
			{"open, ai, created from 2h", cv.Filter{Statuses: []string{cv.StatusOpen}, AssigneeTypes: []string{cv.AssigneeAI}, CreatedFrom: tp(2 * time.Hour)}, []cv.Conversation{c4, c5}},
			{"slack,telegram not terminated", cv.Filter{Sources: []string{cv.SourceSlack, cv.SourceTelegram}, Terminated: ptr(false)}, []cv.Conversation{c2}},
			{"gold and api", cv.Filter{Metadata: map[string]string{"plan": "gold"}, Sources: []string{cv.SourceAPI}}, nil},
			{"gold, unread, not flagged, open", cv.Filter{Metadata: map[string]string{"plan": "gold"}, HasUnread: ptr(true), IsFlagged: ptr(false), Statuses: []string{cv.StatusOpen}}, []cv.Conversation{c1}},
		})
	}},
	{"UnassignedView", func(t *testing.T, s store.Store) {
		// The inbox's Unassigned view: open and unassigned, newest message first, walked by
		// cursor; and the assignee type alone, in both directions.
		a := newAssistant(t, s)
		var unassigned, human []cv.Conversation
		names := map[string]string{}
		for i := range 12 {
			c := simple(t, s, a.ID, msg(cv.AuthorVisitor, fmt.Sprintf("message %d", i), time.Duration(i*7%12)*time.Minute))
			p := cv.Patch{}
			switch i % 4 {
			case 0:
				p.Assignee = &cv.Assignee{Type: cv.AssigneeUnassigned}
			case 1:
				p.Assignee = &cv.Assignee{Type: cv.AssigneeUnassigned}
				if i == 5 {
					p.ResolutionStatus = ptr(cv.StatusResolved)
				}
			case 2:
				p.Assignee = &cv.Assignee{Type: cv.AssigneeOperator, ID: ptr("op-1"), Name: ptr("Ann")}
			}
			if p.Assignee != nil {
				c = patch(t, s, a.ID, c.ID, 0, p)
			}
			names[c.ID] = fmt.Sprintf("c%d", i)
			switch {
			case c.Assignee.Type == cv.AssigneeUnassigned:
				unassigned = append(unassigned, c)
			case c.Assignee.Type == cv.AssigneeOperator:
				human = append(human, c)
			}
		}
		byLast := func(cs []cv.Conversation, desc bool, keep func(cv.Conversation) bool) []string {
			cs = slices.Clone(cs)
			slices.SortFunc(cs, func(x, y cv.Conversation) int {
				r := cmp.Or(x.LastMessageAt.Compare(y.LastMessageAt), cmp.Compare(x.RowID, y.RowID))
				if desc {
					return -r
				}
				return r
			})
			var ids []string
			for _, c := range cs {
				if keep(c) {
					ids = append(ids, c.ID)
				}
			}
			return ids
		}
		open := func(c cv.Conversation) bool { return c.ResolutionStatus == cv.StatusOpen }
		all := func(cv.Conversation) bool { return true }
		view := cv.Filter{Statuses: []string{cv.StatusOpen}, AssigneeTypes: []string{cv.AssigneeUnassigned}, Desc: true}
		want := byLast(unassigned, true, open)
		if len(want) != 5 {
			t.Fatalf("suite bug: %d open unassigned conversations, want 5", len(want))
		}
		var got []string
		for _, c := range walk(t, s, a.ID, view, 2, int64(len(want))) {
			got = append(got, c.ID)
		}
		sameIDs(t, "Unassigned view by cursor", got, want, names)
		sameIDs(t, "Unassigned view", listIDs(t, s, a.ID, view), want, names)
		for _, desc := range []bool{false, true} {
			f := cv.Filter{AssigneeTypes: []string{cv.AssigneeUnassigned}, Desc: desc}
			sameIDs(t, fmt.Sprintf("assignee unassigned, desc %v", desc), listIDs(t, s, a.ID, f), byLast(unassigned, desc, all), names)
			f = cv.Filter{AssigneeTypes: []string{cv.AssigneeOperator}, Statuses: []string{cv.StatusOpen}, Desc: desc}
			sameIDs(t, fmt.Sprintf("assignee operator, open, desc %v", desc), listIDs(t, s, a.ID, f), byLast(human, desc, open), names)
		}
	}},
	{"TopicFilter", func(t *testing.T, s store.Store) {
		// Topics come from analyses; a conversation not analysed has none. Counted and listed
		// newest first, alone and with a status.
		a := newAssistant(t, s)
		names := map[string]string{}
		var byTopic [2][]cv.Conversation
		for i := range 9 {
			c := simple(t, s, a.ID, msg(cv.AuthorVisitor, fmt.Sprintf("question %d", i), time.Duration(i)*time.Minute))
			names[c.ID] = fmt.Sprintf("c%d", i)
			if i == 8 {
				break // not analysed
			}
			_, err := s.SaveAnalysis(t.Context(), a.ID, c.ID, analysisOf(t, s, a.ID, c, i))
			ok(t, "SaveAnalysis", err)
			if i%4 == 1 {
				patch(t, s, a.ID, c.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved)})
			}
			byTopic[i%2] = append(byTopic[i%2], mustGet(t, s, a.ID, c.ID))
		}
		ids := func(cs []cv.Conversation, keep func(cv.Conversation) bool) []string {
			var out []string
			for i := len(cs) - 1; i >= 0; i-- { // created a minute apart: newest message last
				if keep(cs[i]) {
					out = append(out, cs[i].ID)
				}
			}
			return out
		}
		all := func(cv.Conversation) bool { return true }
		open := func(c cv.Conversation) bool { return c.ResolutionStatus == cv.StatusOpen }
		both := append(slices.Clone(byTopic[0]), byTopic[1]...)
		slices.SortFunc(both, func(x, y cv.Conversation) int { return x.LastMessageAt.Compare(y.LastMessageAt) })
		for _, c := range []struct {
			name string
			f    cv.Filter
			want []string
		}{
			{"Topic 0", cv.Filter{Topics: []string{"Topic 0"}, Desc: true}, ids(byTopic[0], all)},
			{"Topic 1", cv.Filter{Topics: []string{"Topic 1"}, Desc: true}, ids(byTopic[1], all)},
			{"Topic 1, open", cv.Filter{Topics: []string{"Topic 1"}, Statuses: []string{cv.StatusOpen}, Desc: true}, ids(byTopic[1], open)},
			{"Topic 0 and 1", cv.Filter{Topics: []string{"Topic 0", "Topic 1"}, Desc: true}, ids(both, all)},
			{"no such topic", cv.Filter{Topics: []string{"Topic 9"}, Desc: true}, nil},
		} {
			sameIDs(t, c.name, listIDs(t, s, a.ID, c.f), c.want, names)
			if n := mustList(t, s, a.ID, c.f).Count; n != int64(len(c.want)) {
				t.Errorf("%s: Count = %d, want %d", c.name, n, len(c.want))
			}
		}
	}},
	{"TimeBounds", func(t *testing.T, s store.Store) {
		// From is inclusive, To exclusive, at microsecond precision.
		f := newListFixture(t, s)
		c1, c2, c3, c4, c5 := f.c1, f.c2, f.c3, f.c4, f.c5
		h, m, us := time.Hour, time.Minute, time.Microsecond
		f.checkCases(t, s, false, []listCase{
			{"created from 1h", cv.Filter{CreatedFrom: tp(h)}, []cv.Conversation{c2, c3, c4, c5}},
			{"created to 1h", cv.Filter{CreatedTo: tp(h)}, []cv.Conversation{c1}},
			{"created to 1h+1µs", cv.Filter{CreatedTo: tp(h + us)}, []cv.Conversation{c1, c2}},
			{"created from 1h+1µs", cv.Filter{CreatedFrom: tp(h + us)}, []cv.Conversation{c3, c4, c5}},
			{"created [1h, 3h)", cv.Filter{CreatedFrom: tp(h), CreatedTo: tp(3 * h)}, []cv.Conversation{c2, c3}},
			{"created [3h, 3h)", cv.Filter{CreatedFrom: tp(3 * h), CreatedTo: tp(3 * h)}, nil},
			{"created from 4h+1µs", cv.Filter{CreatedFrom: tp(4*h + us)}, nil},
			{"created to t0", cv.Filter{CreatedTo: tp(0)}, nil},
			{"last from 3h2m", cv.Filter{LastFrom: tp(3*h + 2*m)}, []cv.Conversation{c1, c4, c5}},
			{"last to 3h2m", cv.Filter{LastTo: tp(3*h + 2*m)}, []cv.Conversation{c2, c3}},
			{"last [2h, 4h1m)", cv.Filter{LastFrom: tp(2 * h), LastTo: tp(4*h + m)}, []cv.Conversation{c3, c4}},
			{"last from 5h", cv.Filter{LastFrom: tp(5 * h)}, []cv.Conversation{c1}},
			{"last to 1h5m", cv.Filter{LastTo: tp(h + 5*m)}, nil},
			{"last to 1h5m+1µs", cv.Filter{LastTo: tp(h + 5*m + us)}, []cv.Conversation{c2}},
			{"created [0, 2h), last from 2h", cv.Filter{CreatedFrom: tp(0), CreatedTo: tp(2 * h), LastFrom: tp(2 * h)}, []cv.Conversation{c1}},
			// Bounds in another zone mean the same instant.
			{"created from 1h in +02:00", cv.Filter{CreatedFrom: ptr(at(h).In(time.FixedZone("CEST", 2*3600)))}, []cv.Conversation{c2, c3, c4, c5}},
		})
	}},
	{"Metadata", func(t *testing.T, s store.Store) {
		// metadata.<key>=<value> compares the value's text: strings as they are, numbers and
		// booleans as JSON writes them.
		f := newListFixture(t, s)
		c1, c4, c5 := f.c1, f.c4, f.c5
		md := func(kv ...string) cv.Filter {
			m := map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return cv.Filter{Metadata: m}
		}
		f.checkCases(t, s, false, []listCase{
			{"plan=gold", md("plan", "gold"), []cv.Conversation{c1}},
			{"plan=GOLD", md("plan", "GOLD"), nil},
			{"plan=silver", md("plan", "silver"), []cv.Conversation{c4}},
			{"plan=bronze", md("plan", "bronze"), nil},
			{"seats=12", md("seats", "12"), []cv.Conversation{c1}},
			{"seats=3", md("seats", "3"), []cv.Conversation{c4}},
			{"vip=true", md("vip", "true"), []cv.Conversation{c1}},
			{"vip=false", md("vip", "false"), []cv.Conversation{c4}},
			{"missing=x", md("missing", "x"), nil},
			{"plan=gold&vip=true", md("plan", "gold", "vip", "true"), []cv.Conversation{c1}},
			{"plan=gold&seats=3", md("plan", "gold", "seats", "3"), nil},
			{"n=1.5", md("n", "1.5"), []cv.Conversation{c5}},
			{"big=12345678901", md("big", "12345678901"), []cv.Conversation{c5}},
			// Keys are the client's text: none of them may break the query.
			{"a.b=dotted", md("a.b", "dotted"), []cv.Conversation{c5}},
			{"with space=yes", md("with space", "yes"), []cv.Conversation{c5}},
			{"ключ=значение", md("ключ", "значение"), []cv.Conversation{c5}},
			{`q"uote=x`, md(`q"uote`, "x"), []cv.Conversation{c5}},
			{"it's=y", md("it's", "y"), []cv.Conversation{c5}},
			{`back\slash=z`, md(`back\slash`, "z"), []cv.Conversation{c5}},
			{"a=dotted (not a path)", md("a", "dotted"), nil},
		})
		// Metadata set later through UpdateConversation is filtered at once.
		setMetadata(t, s, f.a.ID, f.c2.ID, cv.MetadataMerge, meta(t, `{"plan": "gold", "seats": 12}`))
		f.checkCases(t, s, false, []listCase{
			{"plan=gold after update", md("plan", "gold"), []cv.Conversation{c1, f.c2}},
			{"seats=12 after update", md("seats", "12"), []cv.Conversation{c1, f.c2}},
		})
		setMetadata(t, s, f.a.ID, f.c1.ID, cv.MetadataMergePatch, meta(t, `{"plan": null}`))
		f.checkCases(t, s, false, []listCase{{"plan=gold after deleting c1's plan", md("plan", "gold"), []cv.Conversation{f.c2}}})
	}},
	{"FiltersFollowUpdates", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		patch(t, s, f.a.ID, f.c1.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved), HasUnreadMessages: ptr(false)})
		mustAppend(t, s, f.a.ID, f.c2.ID, msg(cv.AuthorVisitor, "back again", 6*time.Hour))
		f.checkCases(t, s, false, []listCase{
			// c2 was resolved; the visitor's new message reopened it.
			{"resolved", cv.Filter{Statuses: []string{cv.StatusResolved}}, []cv.Conversation{f.c1}},
			{"unread", cv.Filter{HasUnread: ptr(true)}, []cv.Conversation{f.c2, f.c5}},
			{"last from 6h", cv.Filter{LastFrom: tp(6 * time.Hour)}, []cv.Conversation{f.c2}},
		})
		f.checkCases(t, s, true, []listCase{
			{"newest first after append", cv.Filter{Desc: true, Limit: 2}, []cv.Conversation{f.c2, f.c1}},
		})
	}},
}

// ---- keyset paging ----

// keysetFixture makes 13 conversations whose created_at and last_message_at values repeat,
// so that only a tie-breaker orders them; every fifth is a slack conversation.
func keysetFixture(t *testing.T, s store.Store) (cv.Assistant, map[string]string) {
	t.Helper()
	a := newAssistant(t, s)
	names := map[string]string{}
	var created []cv.Conversation
	for i := range 13 {
		source := cv.SourceWidget
		if i%5 == 4 {
			source = cv.SourceSlack
		}
		c := mustCreate(t, s, a.ID, cv.NewConversation{Source: source, CreatedAt: tp(time.Duration(i/4) * time.Hour),
			Messages: []cv.NewMessage{msg(cv.AuthorVisitor, fmt.Sprintf("k%d", i), 10*time.Hour+time.Duration(i%3)*time.Minute)}})
		names[c.ID] = fmt.Sprintf("k%d", i)
		created = append(created, c)
	}
	// Rewrite some rows, so that their physical order (PostgreSQL moves updated rows) is no
	// longer their insertion order: only an explicit tie-breaker keeps the order stable.
	for _, i := range []int{0, 5, 2, 8, 1, 12} {
		patch(t, s, a.ID, created[i].ID, 0, cv.Patch{Title: ptr(ptr(fmt.Sprintf("title %d", i)))})
	}
	return a, names
}

// walk pages through f with Cursor, limit items a page, and returns what it saw.
func walk(t *testing.T, s store.Store, assistantID string, f cv.Filter, limit int, total int64) []cv.Conversation {
	t.Helper()
	var seen []cv.Conversation
	f.Limit, f.Cursor = limit, nil
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatalf("cursor walk does not end")
		}
		p := mustList(t, s, assistantID, f)
		if p.Count != total {
			t.Errorf("cursor page %d: Count = %d, want %d (all matches)", page, p.Count, total)
		}
		if len(p.Items) > limit {
			t.Fatalf("cursor page %d has %d items, limit %d", page, len(p.Items), limit)
		}
		seen = append(seen, p.Items...)
		if p.NextCursor == nil {
			if int64(len(seen)) < total {
				t.Errorf("NextCursor = nil after %d of %d items", len(seen), total)
			}
			return seen
		}
		if len(p.Items) == 0 {
			t.Fatalf("cursor page %d is empty but has a NextCursor", page)
		}
		f.Cursor = p.NextCursor
		f.Offset = 3 // ignored when a cursor is given
	}
}

// keyOrdered reports the first place where cs breaks the sort order, or -1.
func keyOrdered(cs []cv.Conversation, sort string, desc bool) int {
	for i := 1; i < len(cs); i++ {
		a, b := cv.SortKey(&cs[i-1], sort), cv.SortKey(&cs[i], sort)
		if (!desc && a > b) || (desc && a < b) {
			return i
		}
	}
	return -1
}

var keysetTests = []test{
	{"WalkMatchesOffsetPaging", func(t *testing.T, s store.Store) {
		a, names := keysetFixture(t, s)
		for _, sort := range []string{"", cv.SortLastMessageAt, cv.SortCreatedAt, cv.SortOrd} {
			for _, desc := range []bool{false, true} {
				for _, sources := range [][]string{nil, {cv.SourceWidget}} {
					f := cv.Filter{Sort: sort, Desc: desc, Sources: sources}
					what := fmt.Sprintf("sort %q desc %v sources %v", sort, desc, sources)
					f.Limit = 100
					ref := mustList(t, s, a.ID, f)
					if want := map[bool]int64{true: 11, false: 13}[sources != nil]; ref.Count != want || int64(len(ref.Items)) != want {
						t.Errorf("%s: %d items, Count %d; want %d", what, len(ref.Items), ref.Count, want)
					}
					key := sort
					if key == "" {
						key = cv.SortLastMessageAt
					}
					if i := keyOrdered(ref.Items, key, desc); i >= 0 {
						t.Errorf("%s: item %d is out of order", what, i)
					}
					if ref.NextCursor != nil {
						t.Errorf("%s: NextCursor on a page that holds every match", what)
					}
					// Offset paging, three at a time, sees the same order: ties are broken
					// the same way on every query.
					var byOffset []cv.Conversation
					for off := 0; off < len(ref.Items)+3; off += 3 {
						f.Limit, f.Offset = 3, off
						byOffset = append(byOffset, mustList(t, s, a.ID, f).Items...)
					}
					f.Offset = 0
					sameIDs(t, what+": offset paging", ids(byOffset), ids(ref.Items), names)
					for _, limit := range []int{1, 3, 4} {
						got := walk(t, s, a.ID, f, limit, ref.Count)
						sameIDs(t, fmt.Sprintf("%s: cursor walk by %d", what, limit), ids(got), ids(ref.Items), names)
					}
				}
			}
		}
	}},
	{"NextCursorOnlyWhenMore", func(t *testing.T, s store.Store) {
		a, _ := keysetFixture(t, s)
		f := cv.Filter{Desc: true, Limit: 13}
		if p := mustList(t, s, a.ID, f); len(p.Items) != 13 || p.NextCursor != nil {
			t.Errorf("limit = total: %d items, NextCursor %v; want 13, nil", len(p.Items), p.NextCursor)
		}
		f.Limit = 12
		p := mustList(t, s, a.ID, f)
		if len(p.Items) != 12 || p.NextCursor == nil {
			t.Fatalf("limit = total-1: %d items, NextCursor %v; want 12, a cursor", len(p.Items), p.NextCursor)
		}
		f.Cursor = p.NextCursor
		p = mustList(t, s, a.ID, f)
		if len(p.Items) != 1 || p.NextCursor != nil {
			t.Errorf("last page: %d items, NextCursor %v; want 1, nil", len(p.Items), p.NextCursor)
		}
		// Pages of exactly the limit: the last full page has no cursor.
		f = cv.Filter{Sort: cv.SortOrd, Sources: []string{cv.SourceSlack}, Limit: 1}
		p = mustList(t, s, a.ID, f)
		if len(p.Items) != 1 || p.NextCursor == nil {
			t.Fatalf("slack page 1: %d items, NextCursor %v", len(p.Items), p.NextCursor)
		}
		f.Cursor = p.NextCursor
		p = mustList(t, s, a.ID, f)
		if len(p.Items) != 1 || p.NextCursor != nil {
			t.Errorf("slack page 2 (exactly the last): %d items, NextCursor %v; want 1, nil", len(p.Items), p.NextCursor)
		}
	}},
	{"InsertDuringWalk", func(t *testing.T, s store.Store) {
		// New conversations ahead of the cursor do not shift a keyset walk, as they would an
		// offset walk.
		a, names := keysetFixture(t, s)
		f := cv.Filter{Sort: cv.SortCreatedAt, Desc: true, Limit: 5}
		ref := listIDs(t, s, a.ID, cv.Filter{Sort: cv.SortCreatedAt, Desc: true})
		p := mustList(t, s, a.ID, f)
		seen := ids(p.Items)
		for i := range 3 {
			c := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(time.Duration(20+i) * time.Hour)})
			names[c.ID] = fmt.Sprintf("new%d", i)
		}
		for p.NextCursor != nil {
			f.Cursor = p.NextCursor
			p = mustList(t, s, a.ID, f)
			seen = append(seen, ids(p.Items)...)
		}
		sameIDs(t, "walk with inserts ahead", seen, ref, names)
	}},
}
