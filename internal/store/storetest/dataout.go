package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// ---- EachConversation: the walk behind exports ----

// each collects what EachConversation yields.
func each(t *testing.T, s store.Store, assistantID string, f cv.Filter) []cv.Conversation {
	t.Helper()
	var out []cv.Conversation
	ok(t, "EachConversation", s.EachConversation(t.Context(), assistantID, f, func(c *cv.Conversation) error {
		out = append(out, *c)
		return nil
	}))
	return out
}

var eachTests = []test{
	{"SameAsTheList", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		for _, tc := range []struct {
			name string
			f    cv.Filter
		}{
			{"default order", cv.Filter{}},
			{"ord", cv.Filter{Sort: cv.SortOrd}},
			{"-created_at", cv.Filter{Sort: cv.SortCreatedAt, Desc: true}},
			{"source", cv.Filter{Sources: []string{cv.SourceWidget, cv.SourceAPI}, Sort: cv.SortCreatedAt}},
			{"metadata", cv.Filter{Metadata: map[string]string{"plan": "gold"}}},
			{"query", cv.Filter{Query: query("question")}},
			{"nothing", cv.Filter{Sources: []string{"email"}}},
			// Paging fields mean nothing to a walk.
			{"paging ignored", cv.Filter{Limit: 1, Offset: 2, Cursor: &cv.Cursor{Sort: cv.SortOrd, Key: 99, RowID: 99}}},
		} {
			list := tc.f
			list.Limit, list.Offset, list.Cursor = cv.MaxLimit, 0, nil
			want := listIDs(t, s, f.a.ID, list)
			sameIDs(t, tc.name, ids(each(t, s, f.a.ID, tc.f)), want, f.names)
		}
		got := each(t, s, f.a.ID, cv.Filter{Sort: cv.SortOrd})
		if len(got) == 5 {
			sameConversation(t, "EachConversation c2", got[0], mustGet(t, s, f.a.ID, f.c2.ID))
		}
	}},
	{"ManyPages", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		other := newAssistant(t, s)
		const n = 1100 // more than two pages of the walk
		batch := make([]cv.NewConversation, n)
		for i := range batch {
			// Creation times repeat, so that the row id has to break ties across pages.
			batch[i] = cv.NewConversation{Source: cv.SourceAPI, CreatedAt: tp(time.Duration(i/7) * time.Minute)}
		}
		createBatch(t, s, a.ID, batch...)
		createBatch(t, s, other.ID, batch[:10]...)
		for _, f := range []cv.Filter{{Sort: cv.SortCreatedAt}, {Sort: cv.SortCreatedAt, Desc: true}, {Sort: cv.SortOrd, Desc: true}, {}} {
			got := each(t, s, a.ID, f)
			if len(got) != n {
				t.Fatalf("%+v: EachConversation yielded %d conversations, want %d", f, len(got), n)
			}
			sort := cmpOr(f.Sort, cv.SortLastMessageAt)
			if i := keyOrdered(got, sort, f.Desc); i >= 0 {
				t.Errorf("%+v: out of order at %d", f, i)
			}
			seen := map[string]bool{}
			for _, c := range got {
				if seen[c.ID] || c.AssistantID != a.ID {
					t.Fatalf("%+v: %s twice or of another assistant", f, c.ID)
				}
				seen[c.ID] = true
			}
		}
	}},
	{"StopsAtTheFirstError", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		stop := errors.New("stop")
		calls := 0
		err := s.EachConversation(t.Context(), f.a.ID, cv.Filter{}, func(*cv.Conversation) error {
			if calls++; calls == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 2 {
			t.Errorf("EachConversation = %v after %d calls, want the callback's error after 2", err, calls)
		}
	}},
	{"UnknownAssistant", func(t *testing.T, s store.Store) {
		newListFixture(t, s)
		if got := each(t, s, newUUID(), cv.Filter{}); len(got) != 0 {
			t.Errorf("a random assistant id yields %d conversations", len(got))
		}
		err := s.EachConversation(t.Context(), "nope", cv.Filter{}, func(*cv.Conversation) error { return nil })
		wantErr(t, "EachConversation(malformed id)", err, cv.ErrNotFound)
	}},
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ---- MetadataKeys: the CSV export's columns ----

var metadataKeyTests = []test{
	{"DistinctSortedFiltered", func(t *testing.T, s store.Store) {
		f := newListFixture(t, s)
		other := newAssistant(t, s)
		mustCreate(t, s, other.ID, cv.NewConversation{Source: cv.SourceAPI, ClientMetadata: meta(t, `{"secret_key": 1}`)})
		keys := func(fl cv.Filter, limit int) []string {
			t.Helper()
			k, err := s.MetadataKeys(t.Context(), f.a.ID, fl, limit)
			ok(t, "MetadataKeys", err)
			return k
		}
		all := []string{"a.b", "back\\slash", "big", "it's", "n", "plan", "q\"uote", "seats", "vip", "with space", "ключ"}
		if got := keys(cv.Filter{}, 100); !slices.Equal(got, all) {
			t.Errorf("MetadataKeys = %q, want %q (byte order, distinct)", got, all)
		}
		if got := keys(cv.Filter{Sources: []string{cv.SourceWidget}}, 100); !slices.Equal(got, []string{"plan", "seats", "vip"}) {
			t.Errorf("MetadataKeys(widget) = %q", got)
		}
		if got := keys(cv.Filter{Metadata: map[string]string{"plan": "gold"}, Sort: cv.SortOrd, Limit: 1, Offset: 3}, 100); !slices.Equal(got, []string{"plan", "seats", "vip"}) {
			t.Errorf("MetadataKeys(plan=gold) = %q", got)
		}
		if got := keys(cv.Filter{Sources: []string{cv.SourceSlack}}, 100); got == nil || len(got) != 0 {
			t.Errorf("MetadataKeys(no metadata) = %#v, want an empty list", got)
		}
		if got := keys(cv.Filter{}, 2); !slices.Equal(got, all[:2]) {
			t.Errorf("MetadataKeys(limit 2) = %q, want %q", got, all[:2])
		}
		// Keys removed from every conversation are gone.
		setMetadata(t, s, f.a.ID, f.c5.ID, cv.MetadataReplace, map[string]any{"zz": map[string]any{"nested": 1}})
		if got := keys(cv.Filter{}, 100); !slices.Equal(got, []string{"plan", "seats", "vip", "zz"}) {
			t.Errorf("MetadataKeys after a replace = %q", got)
		}
	}},
}

// ---- Analytics ----

// analyticsFixture makes conversations over several days and every dimension: sources,
// analysis (sentiment, topic, language, flags), assignees, resolutions, handoffs of every
// kind, and tracked-link clicks.
func analyticsFixture(t *testing.T, s store.Store) cv.Assistant {
	t.Helper()
	ctx := t.Context()
	a := newAssistant(t, s)
	other := newAssistant(t, s)
	mustCreate(t, s, other.ID, cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(0), Messages: []cv.NewMessage{msg(cv.AuthorVisitor, "other", 0)}})
	day := 24 * time.Hour
	// base is Monday 2025-03-10 09:00 UTC.
	type spec struct {
		at     time.Duration
		source string
		msgs   []cv.NewMessage
	}
	specs := []spec{
		{0, cv.SourceWidget, []cv.NewMessage{msg(cv.AuthorVisitor, "hi"), msg(cv.AuthorAI, "hello")}},
		{time.Hour, cv.SourceWidget, []cv.NewMessage{msg(cv.AuthorVisitor, "need a person")}},
		{14*time.Hour + 30*time.Minute, cv.SourceSlack, []cv.NewMessage{msg(cv.AuthorVisitor, "late"), msg(cv.AuthorOperator, "here")}}, // 23:30 UTC Monday
		{6*day + 14*time.Hour + 45*time.Minute, cv.SourceTelegram, []cv.NewMessage{msg(cv.AuthorVisitor, "sunday night")}},              // Sunday 23:45 UTC
		{7 * day, cv.SourceAPI, nil}, // next Monday
		{22*day - 9*time.Hour - 30*time.Minute, cv.SourceWidget, []cv.NewMessage{msg(cv.AuthorVisitor, "march 31st"), msg(cv.AuthorAI, "ok")}}, // 2025-03-31 23:30 UTC
		{23 * day, cv.SourceWhatsApp, []cv.NewMessage{msg(cv.AuthorVisitor, "april"), msg(cv.AuthorAI, "yes"), msg(cv.AuthorAI, "link")}},
		{23*day + time.Hour, cv.SourceWidget, []cv.NewMessage{msg(cv.AuthorVisitor, "imported"), {Author: cv.AuthorOperator, Content: "taken", HandoffState: ptr(cv.HandoffAccepted)}}},
	}
	var cs []cv.Conversation
	link := cv.NewLink{ID: linkID(), URL: "https://shop.example/track"}
	for i, sp := range specs {
		for j := range sp.msgs {
			sp.msgs[j].CreatedAt = tp(sp.at + time.Duration(j)*time.Minute)
		}
		if i == 6 { // a tracked link in the last AI message
			sp.msgs[2].Links = []cv.NewLink{link}
		}
		cs = append(cs, mustCreate(t, s, a.ID, cv.NewConversation{Source: sp.source, CreatedAt: tp(sp.at), Messages: sp.msgs}))
	}
	for range 3 {
		_, err := s.ClickLink(ctx, link.ID)
		ok(t, "ClickLink", err)
	}
	// A visitor asks for a human: the conversation goes to the queue.
	human := msg(cv.AuthorVisitor, "a human please", time.Hour+time.Minute)
	human.RequestsHuman = true
	mustAppend(t, s, a.ID, cs[1].ID, human)
	// An operator takes over; another is assigned and given back to the AI (a handoff log
	// towards the AI does not count).
	patch(t, s, a.ID, cs[4].ID, 0, cv.Patch{Assignee: &cv.Assignee{Type: cv.AssigneeOperator, ID: ptr("op-1"), Name: ptr("Ann")}, ResolutionStatus: ptr(cv.StatusResolved)})
	patch(t, s, a.ID, cs[0].ID, 0, cv.Patch{Assignee: &cv.Assignee{Type: cv.AssigneeUnassigned}})
	patch(t, s, a.ID, cs[0].ID, 0, cv.Patch{Assignee: &cv.Assignee{Type: cv.AssigneeAI}, ResolutionStatus: ptr(cv.StatusResolved)})
	// Analysis of some.
	analyse := func(c cv.Conversation, sentiment, topic, lang string, flagged bool) {
		_, err := s.SaveAnalysis(ctx, a.ID, c.ID, cv.Analysis{Unified: raw(fmt.Sprintf(`{"sentiment":%q,"topic":%q,"is_flagged":%v}`, sentiment, topic, flagged)),
			Sentiment: &sentiment, Topic: &topic, Language: &lang, IsFlagged: flagged})
		ok(t, "SaveAnalysis", err)
	}
	analyse(cs[0], "positive", "Returns", "en", false)
	analyse(cs[1], "negative", "Returns", "en", true)
	analyse(cs[2], "neutral", "Shipping", "de", false)
	analyse(cs[5], "negative", "Shipping", "en", true)
	analyse(cs[6], "positive", "Returns", "fr", false)
	setMetadata(t, s, a.ID, cs[6].ID, cv.MetadataMerge, map[string]any{"plan": "pro"})
	setMetadata(t, s, a.ID, cs[1].ID, cv.MetadataMerge, map[string]any{"plan": "pro"})
	return a
}

// model computes what Analytics must answer from the conversations and their timelines.
func model(t *testing.T, s store.Store, assistantID string, q cv.AnalyticsQuery) cv.Analytics {
	t.Helper()
	loc := q.Location
	if loc == nil {
		loc = time.UTC
	}
	groups := map[string]*cv.Group{}
	var out cv.Analytics
	for _, c := range each(t, s, assistantID, q.Filter) {
		var n cv.Counts
		n.Conversations = 1
		handed := c.Assignee.Type == cv.AssigneeOperator
		for _, e := range allEvents(t, s, assistantID, c.ID) {
			switch {
			case e.Message != nil:
				n.Messages++
			case e.TrackedLink != nil:
				n.TrackedLinkClicks++
			}
			handed = handed || cv.ShowsHuman(&e)
		}
		if handed {
			n.HandedOff = 1
		}
		if c.IsFlagged {
			n.Flagged = 1
		}
		out.Total.Add(n)
		if len(q.GroupBy) == 0 {
			continue
		}
		key := make([]*string, len(q.GroupBy))
		local := c.CreatedAt.In(loc)
		for i, g := range q.GroupBy {
			var v *string
			switch g {
			case cv.GroupDay:
				v = ptr(local.Format("2006-01-02"))
			case cv.GroupWeek:
				d := local
				for d.Weekday() != time.Monday {
					d = d.AddDate(0, 0, -1)
				}
				v = ptr(d.Format("2006-01-02"))
			case cv.GroupMonth:
				v = ptr(fmt.Sprintf("%04d-%02d", local.Year(), local.Month()))
			case cv.GroupSentiment:
				v = c.Sentiment
			case cv.GroupTopic:
				v = c.Topic
			case cv.GroupSource:
				v = &c.Source
			case cv.GroupLanguage:
				v = c.MostFrequentLanguage
			case cv.GroupAssigneeType:
				v = &c.Assignee.Type
			case cv.GroupResolutionStatus:
				v = &c.ResolutionStatus
			}
			key[i] = v
		}
		id := fmt.Sprint(deref(key))
		if groups[id] == nil {
			groups[id] = &cv.Group{Key: key}
		}
		groups[id].Add(n)
	}
	out.Groups = []cv.Group{}
	for _, id := range slices.Sorted(maps.Keys(groups)) {
		out.Groups = append(out.Groups, *groups[id])
	}
	slices.SortFunc(out.Groups, func(a, b cv.Group) int {
		for i := range a.Key {
			switch x, y := a.Key[i], b.Key[i]; {
			case x == nil && y == nil:
			case x == nil:
				return 1
			case y == nil:
				return -1
			case *x != *y:
				return strings.Compare(*x, *y)
			}
		}
		return 0
	})
	return out
}

func deref(key []*string) []string {
	out := make([]string, len(key))
	for i, k := range key {
		out[i] = "<none>"
		if k != nil {
			out[i] = "=" + *k
		}
	}
	return out
}

func showAnalytics(a cv.Analytics) string {
	var sb strings.Builder
	for _, g := range a.Groups {
		fmt.Fprintf(&sb, "\n  %v %+v", deref(g.Key), g.Counts)
	}
	fmt.Fprintf(&sb, "\n  total %+v", a.Total)
	return sb.String()
}

// checkAnalytics compares Analytics with the model, for q as it is and with a filter that
// matches every conversation but that only the conversations have (last_message_at), so that
// a store that answers some queries from a summary is checked both ways.
func checkAnalytics(t *testing.T, s store.Store, assistantID string, q cv.AnalyticsQuery) cv.Analytics {
	t.Helper()
	got, err := s.Analytics(t.Context(), assistantID, q)
	ok(t, "Analytics", err)
	want := model(t, s, assistantID, q)
	if showAnalytics(got) != showAnalytics(want) {
		t.Errorf("Analytics(group by %v, tz %v, filter %+v):%s\nwant:%s", q.GroupBy, q.Location, q.Filter, showAnalytics(got), showAnalytics(want))
	}
	if got.Groups == nil {
		t.Errorf("Analytics.Groups is nil, want an empty list")
	}
	if q.Filter.LastFrom == nil {
		all := q
		all.Filter.LastFrom = ptr(time.Unix(0, 0))
		again, err := s.Analytics(t.Context(), assistantID, all)
		ok(t, "Analytics", err)
		if showAnalytics(again) != showAnalytics(got) {
			t.Errorf("Analytics(group by %v, filter %+v) with and without a filter that matches everything:%s\nand%s", q.GroupBy, q.Filter, showAnalytics(again), showAnalytics(got))
		}
	}
	return got
}

var analyticsTests = []test{
	{"AgreesWithTheConversations", func(t *testing.T, s store.Store) {
		a := analyticsFixture(t, s)
		filters := []cv.Filter{
			{},
			{Sources: []string{cv.SourceWidget}},
			{IsFlagged: ptr(true)},
			{Metadata: map[string]string{"plan": "pro"}},
			{CreatedFrom: tp(0), CreatedTo: tp(7 * 24 * time.Hour)},
			{Query: query("april")},
			{Sentiments: []string{"negative", "positive"}, Sort: cv.SortOrd, Limit: 1},
		}
		for _, f := range filters {
			checkAnalytics(t, s, a.ID, cv.AnalyticsQuery{Filter: f})
			for _, g := range cv.GroupBys {
				checkAnalytics(t, s, a.ID, cv.AnalyticsQuery{Filter: f, GroupBy: []string{g}})
			}
		}
		for _, gs := range [][]string{{cv.GroupDay, cv.GroupSource}, {cv.GroupSentiment, cv.GroupWeek}, {cv.GroupAssigneeType, cv.GroupResolutionStatus}, {cv.GroupMonth, cv.GroupTopic}} {
			checkAnalytics(t, s, a.ID, cv.AnalyticsQuery{GroupBy: gs})
		}
	}},
	{"HandPickedNumbers", func(t *testing.T, s store.Store) {
		a := analyticsFixture(t, s)
		got, err := s.Analytics(t.Context(), a.ID, cv.AnalyticsQuery{})
		ok(t, "Analytics", err)
		// 8 conversations, 14 messages (13 created + the request for a human); handed off:
		// the request (1), the operator's reply (2), the takeover (4), the accepted import
		// (7); flagged 1 and 5; three clicks.
		want := cv.Counts{Conversations: 8, Messages: 14, HandedOff: 4, Flagged: 2, TrackedLinkClicks: 3}
		if got.Total != want || len(got.Groups) != 0 {
			t.Errorf("Analytics() = %+v with %d groups, want %+v and none", got.Total, len(got.Groups), want)
		}
		got, err = s.Analytics(t.Context(), a.ID, cv.AnalyticsQuery{GroupBy: []string{cv.GroupWeek}})
		ok(t, "Analytics", err)
		weeks := []string{}
		for _, g := range got.Groups {
			weeks = append(weeks, *g.Key[0]+fmt.Sprintf("=%d", g.Conversations))
		}
		if w := []string{"2025-03-10=4", "2025-03-17=1", "2025-03-31=3"}; !slices.Equal(weeks, w) {
			t.Errorf("weeks %v, want %v", weeks, w)
		}
	}},
	{"TimeZones", func(t *testing.T, s store.Store) {
		a := analyticsFixture(t, s)
		for _, name := range []string{"Europe/Amsterdam", "America/Los_Angeles", "Asia/Kathmandu", "Asia/Tokyo"} {
			loc, err := time.LoadLocation(name)
			if err != nil {
				t.Skipf("no time zone data: %v", err)
			}
			for _, g := range []string{cv.GroupDay, cv.GroupWeek, cv.GroupMonth} {
				checkAnalytics(t, s, a.ID, cv.AnalyticsQuery{GroupBy: []string{g}, Location: loc})
			}
			checkAnalytics(t, s, a.ID, cv.AnalyticsQuery{GroupBy: []string{cv.GroupDay, cv.GroupSource}, Location: loc})
		}
		// 23:30 UTC on Monday the 10th is the 11th in Amsterdam.
		ams, _ := time.LoadLocation("Europe/Amsterdam")
		got, err := s.Analytics(t.Context(), a.ID, cv.AnalyticsQuery{GroupBy: []string{cv.GroupDay}, Location: ams, Filter: cv.Filter{Sources: []string{cv.SourceSlack}}})
		ok(t, "Analytics", err)
		if len(got.Groups) != 1 || *got.Groups[0].Key[0] != "2025-03-11" {
			t.Errorf("slack conversation in Amsterdam: %s", showAnalytics(got))
		}
	}},
	{"Counters", func(t *testing.T, s store.Store) {
		// The counters follow every way an event comes in.
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi"))
		total := func() cv.Counts {
			got, err := s.Analytics(t.Context(), a.ID, cv.AnalyticsQuery{})
			ok(t, "Analytics", err)
			return got.Total
		}
		if n := total(); n.HandedOff != 0 || n.TrackedLinkClicks != 0 || n.Messages != 1 {
			t.Fatalf("fresh: %+v", n)
		}
		l := cv.NewLink{ID: linkID(), URL: "https://example.com/"}
		mustAppend(t, s, a.ID, c.ID, withLinks(msg(cv.AuthorAI, "see https://x/l/"+l.ID), l))
		_, err := s.ClickLink(t.Context(), l.ID)
		ok(t, "ClickLink", err)
		if n := total(); n.HandedOff != 0 || n.TrackedLinkClicks != 1 || n.Messages != 2 {
			t.Errorf("after a click: %+v", n)
		}
		_, _, err = s.AddLog(t.Context(), a.ID, c.ID, cv.Log{Kind: cv.LogHandoff, Actor: actor, Content: "asked",
			Details: map[string]any{"handoff_state": cv.HandoffRequested}}, nil)
		ok(t, "AddLog", err)
		if n := total(); n.HandedOff != 1 {
			t.Errorf("after a handoff log: %+v", n)
		}
		// Deleting the conversation takes its counts with it.
		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, c.ID))
		if n := total(); n != (cv.Counts{}) {
			t.Errorf("after the delete: %+v", n)
		}
	}},
	{"BadQueries", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		for _, gs := range [][]string{{"hour"}, {cv.GroupDay, cv.GroupDay}, {cv.GroupDay, cv.GroupSource, cv.GroupTopic}} {
			if _, err := s.Analytics(t.Context(), a.ID, cv.AnalyticsQuery{GroupBy: gs}); err == nil {
				t.Errorf("Analytics(group by %v) succeeded", gs)
			}
		}
		_, err := s.Analytics(t.Context(), "nope", cv.AnalyticsQuery{})
		wantErr(t, "Analytics(malformed assistant)", err, cv.ErrNotFound)
		got, err := s.Analytics(t.Context(), newUUID(), cv.AnalyticsQuery{GroupBy: []string{cv.GroupDay}})
		ok(t, "Analytics(unknown assistant)", err)
		if got.Total != (cv.Counts{}) || len(got.Groups) != 0 {
			t.Errorf("Analytics(unknown assistant) = %+v", got)
		}
	}},
}
