package storetest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// fresh is what every new conversation has before anything but its messages touched it.
func fresh(c cv.Conversation) cv.Conversation {
	c.ResolutionStatus = cv.StatusOpen
	c.Assignee = cv.Assignee{Type: cv.AssigneeAI}
	c.Terminated = false
	c.Title, c.MostFrequentLanguage, c.UnifiedAnalysis, c.Sentiment, c.Topic = nil, nil, nil, nil, nil
	c.IsFlagged = false
	c.Version = 1
	return c
}

// ---- CreateConversations ----

var createTests = []test{
	{"FieldsFromInput", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		nc := cv.NewConversation{
			Source:             cv.SourceWidget,
			VisitorName:        ptr("John"),
			VisitorEmail:       ptr("john@example.com"),
			VisitorPhoneNumber: ptr("+48 600 100 200"),
			VisitorLabel:       ptr("returning"),
			URL:                ptr("https://shop.example.com/cart?x=1&y=ż"),
			ClientMetadata:     meta(t, `{"userId": 12, "plan": "gold", "vip": true, "ratio": 0.25, "tags": ["a", "b"], "address": {"city": "Kraków"}}`),
			ExternalID:         ptr("ext-1"),
			CreatedAt:          tp(0),
			Messages: []cv.NewMessage{
				{Author: cv.AuthorAI, Content: "Hello! How can I help you today?", CreatedAt: tp(0), IsWelcome: true},
				{Author: cv.AuthorVisitor, Content: "What is your return policy?", CreatedAt: tp(time.Minute),
					ClientMetadata: raw(`{"page": "faq", "n": 1}`), ExternalID: ptr("m-1")},
				{Author: cv.AuthorAI, Content: "30 days, no questions asked.", CreatedAt: tp(2 * time.Minute),
					SourcesGenerated: raw(`[{"title": "Returns", "url": "https://kb.example.com/returns"}]`),
					Attachments:      raw(`[{"name": "policy.pdf", "size": 1024}]`), HandoffState: ptr("requested")},
			},
		}
		c := mustCreate(t, s, a.ID, nc)
		checkUUID(t, "ID", c.ID)
		want := fresh(cv.Conversation{
			ID: c.ID, AssistantID: a.ID, Ord: 1,
			CreatedAt: at(0), LastMessageAt: at(2 * time.Minute), LastMessageContent: "30 days, no questions asked.",
			LastVisitorMessageAt: tp(time.Minute), HasUnreadMessages: true,
			Source: cv.SourceWidget, VisitorName: nc.VisitorName, VisitorEmail: nc.VisitorEmail,
			VisitorPhoneNumber: nc.VisitorPhoneNumber, VisitorLabel: nc.VisitorLabel, URL: nc.URL,
			ClientMetadata: nc.ClientMetadata, ExternalID: nc.ExternalID,
			MessageCount: 3, EventCount: 3,
		})
		sameConversation(t, "CreateConversations", c, want)
		got := mustGet(t, s, a.ID, c.ID)
		sameConversation(t, "Conversation", got, want)
		if got.RowID != c.RowID {
			t.Errorf("RowID = %d from Conversation, %d from CreateConversations", got.RowID, c.RowID)
		}
		// Metadata numbers come back as JSON numbers decode in Go: float64.
		if v, isFloat := got.ClientMetadata["userId"].(float64); !isFloat || v != 12 {
			t.Errorf("ClientMetadata[userId] = %#v, want float64(12)", got.ClientMetadata["userId"])
		}
		if _, isMap := got.ClientMetadata["address"].(map[string]any); !isMap {
			t.Errorf("ClientMetadata[address] = %#v, want map[string]any", got.ClientMetadata["address"])
		}

		events := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "Events", events, 1, 2, 3)
		if len(events) == 3 {
			for i, m := range nc.Messages {
				checkMessageEvent(t, fmt.Sprintf("event %d", i+1), events[i], c.ID, int64(i+1), m, *m.CreatedAt)
			}
			if events[0].ID == events[1].ID || events[1].ID == events[2].ID || events[0].ID == events[2].ID {
				t.Errorf("event ids are not distinct: %s %s %s", events[0].ID, events[1].ID, events[2].ID)
			}
		}
	}},
	{"NoMessagesNoTime", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		w := startWindow()
		c := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceAPI})
		w.close()
		w.check(t, "CreatedAt", c.CreatedAt)
		want := fresh(cv.Conversation{ID: c.ID, AssistantID: a.ID, Ord: 1, Source: cv.SourceAPI,
			CreatedAt: c.CreatedAt, LastMessageAt: c.CreatedAt, LastMessageContent: ""})
		sameConversation(t, "CreateConversations", c, want)
		sameConversation(t, "Conversation", mustGet(t, s, a.ID, c.ID), want)
		p := mustEvents(t, s, a.ID, c.ID, cv.EventFilter{Limit: 10})
		if p.Count != 0 || len(p.Items) != 0 {
			t.Errorf("Events of a conversation without messages: %d items, count %d", len(p.Items), p.Count)
		}
	}},
	{"GivenCreatedAtWithoutMessages", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceAPI, CreatedAt: tp(3 * time.Hour)})
		sameTime(t, "CreatedAt", c.CreatedAt, at(3*time.Hour))
		sameTime(t, "LastMessageAt", c.LastMessageAt, at(3*time.Hour))
		if c.LastMessageContent != "" || c.LastVisitorMessageAt != nil || c.HasUnreadMessages {
			t.Errorf("no messages: LastMessageContent %q, LastVisitorMessageAt %v, HasUnread %v", c.LastMessageContent, c.LastVisitorMessageAt, c.HasUnreadMessages)
		}
	}},
	{"CreatedAtDefaultsToFirstMessage", func(t *testing.T, s store.Store) {
		// Without created_at, a conversation whose messages carry older times (an import)
		// starts with its first message, so that created_at never follows last_message_at.
		a := newAssistant(t, s)
		c := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, Messages: []cv.NewMessage{
			msg(cv.AuthorVisitor, "hi", time.Minute), msg(cv.AuthorAI, "hello", 2*time.Minute),
		}})
		sameTime(t, "CreatedAt", c.CreatedAt, at(time.Minute))
		sameTime(t, "LastMessageAt", c.LastMessageAt, at(2*time.Minute))
	}},
	{"MessagesWithoutTimeGetNow", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		w := startWindow()
		c := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(0), Messages: []cv.NewMessage{
			msg(cv.AuthorVisitor, "first"), msg(cv.AuthorAI, "second"),
		}})
		w.close()
		sameTime(t, "CreatedAt", c.CreatedAt, at(0))
		w.check(t, "LastMessageAt", c.LastMessageAt)
		if c.LastVisitorMessageAt == nil {
			t.Fatalf("LastVisitorMessageAt = nil after a visitor message")
		}
		w.check(t, "LastVisitorMessageAt", *c.LastVisitorMessageAt)
		if c.LastMessageContent != "second" {
			t.Errorf("LastMessageContent = %q, want %q (equal times: the later message wins)", c.LastMessageContent, "second")
		}
		for _, e := range allEvents(t, s, a.ID, c.ID) {
			w.check(t, fmt.Sprintf("event %d CreatedAt", e.Ord), e.CreatedAt)
		}
	}},
	{"NewestMessageByTimeWins", func(t *testing.T, s store.Store) {
		// Imports may list messages out of time order: the timeline keeps the given order, the
		// derived fields follow the newest time.
		a := newAssistant(t, s)
		c := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, CreatedAt: tp(0), Messages: []cv.NewMessage{
			msg(cv.AuthorVisitor, "latest", 5*time.Minute),
			msg(cv.AuthorAI, "middle", 3*time.Minute),
			msg(cv.AuthorVisitor, "earliest", time.Minute),
		}})
		sameTime(t, "LastMessageAt", c.LastMessageAt, at(5*time.Minute))
		if c.LastMessageContent != "latest" {
			t.Errorf("LastMessageContent = %q, want %q", c.LastMessageContent, "latest")
		}
		sameTimePtr(t, "LastVisitorMessageAt", c.LastVisitorMessageAt, tp(5*time.Minute))
		events := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "Events", events, 1, 2, 3)
		var contents []string
		for _, e := range events {
			if e.Message != nil {
				contents = append(contents, e.Message.Content)
			}
		}
		if !slices.Equal(contents, []string{"latest", "middle", "earliest"}) {
			t.Errorf("timeline contents = %q, want the given order", contents)
		}
	}},
	{"UnreadAndLastVisitorMessage", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		aiOnly := simple(t, s, a.ID, msg(cv.AuthorAI, "welcome", 0))
		if aiOnly.HasUnreadMessages || aiOnly.LastVisitorMessageAt != nil {
			t.Errorf("AI messages only: HasUnread %v, LastVisitorMessageAt %v; want false, nil", aiOnly.HasUnreadMessages, aiOnly.LastVisitorMessageAt)
		}
		withVisitor := simple(t, s, a.ID, msg(cv.AuthorAI, "welcome", 0), msg(cv.AuthorVisitor, "help", time.Minute), msg(cv.AuthorAI, "sure", 2*time.Minute))
		if !withVisitor.HasUnreadMessages {
			t.Errorf("with a visitor message: HasUnread = false")
		}
		sameTimePtr(t, "LastVisitorMessageAt", withVisitor.LastVisitorMessageAt, tp(time.Minute))
		// An operator's reply reads the conversation (conversation.ApplyMessage).
		answered := simple(t, s, a.ID, msg(cv.AuthorVisitor, "help", 0), msg(cv.AuthorOperator, "on it", time.Minute))
		if answered.HasUnreadMessages {
			t.Errorf("visitor then operator: HasUnread = true")
		}
		sameTimePtr(t, "LastVisitorMessageAt", answered.LastVisitorMessageAt, tp(0))
		for _, c := range []cv.Conversation{aiOnly, withVisitor, answered} {
			sameConversation(t, "Conversation", mustGet(t, s, a.ID, c.ID), c)
		}
	}},
	{"OrdsPerAssistant", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		var got []int64
		for range 3 {
			got = append(got, simple(t, s, a.ID).Ord)
		}
		batch := createBatch(t, s, a.ID,
			cv.NewConversation{Source: cv.SourceWidget, VisitorName: ptr("four")},
			cv.NewConversation{Source: cv.SourceSlack, VisitorName: ptr("five")},
			cv.NewConversation{Source: cv.SourceAPI, VisitorName: ptr("six")},
		)
		for i, r := range batch {
			if !r.Created {
				t.Errorf("batch[%d]: Created = false", i)
			}
			got = append(got, r.Conversation.Ord)
		}
		if batch[0].Conversation.VisitorName == nil || *batch[0].Conversation.VisitorName != "four" ||
			batch[2].Conversation.Source != cv.SourceAPI {
			t.Errorf("batch results are not in input order")
		}
		if !slices.Equal(got, seq(1, 6)) {
			t.Errorf("ords of A = %v, want 1..6 (a batch numbers in input order)", got)
		}
		if o := simple(t, s, b.ID).Ord; o != 1 {
			t.Errorf("first conversation of B has ord %d, want 1", o)
		}
		if o := simple(t, s, a.ID).Ord; o != 7 {
			t.Errorf("next conversation of A has ord %d, want 7", o)
		}
		for _, r := range batch {
			if g := mustGet(t, s, a.ID, r.Conversation.ID); g.Ord != r.Conversation.Ord {
				t.Errorf("stored ord %d, returned %d", g.Ord, r.Conversation.Ord)
			}
		}
	}},
}

// ---- external_id idempotency ----

var externalIDTests = []test{
	{"RepeatAppendsOnlyNewMessages", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		nc := func(msgs ...cv.NewMessage) cv.NewConversation {
			return cv.NewConversation{Source: cv.SourceTelegram, ExternalID: ptr("chat-42"), VisitorName: ptr("Ola"), CreatedAt: tp(0), Messages: msgs}
		}
		first := upsert(t, s, a.ID, nc(
			withExt(msg(cv.AuthorVisitor, "m1", time.Minute), "tg-1"),
			msg(cv.AuthorAI, "a2", 2*time.Minute),
		))
		if !first.Created {
			t.Fatalf("first create: Created = false")
		}
		second := upsert(t, s, a.ID, nc(
			withExt(msg(cv.AuthorVisitor, "m1 again", time.Minute), "tg-1"),
			withExt(msg(cv.AuthorVisitor, "m3", 3*time.Minute), "tg-3"),
			msg(cv.AuthorAI, "a4", 4*time.Minute),
		))
		if second.Created {
			t.Errorf("repeat: Created = true, want false")
		}
		if second.Conversation.ID != first.Conversation.ID || second.Conversation.Ord != first.Conversation.Ord {
			t.Fatalf("repeat: conversation %s #%d, want %s #%d", second.Conversation.ID, second.Conversation.Ord, first.Conversation.ID, first.Conversation.Ord)
		}
		c := second.Conversation
		if c.MessageCount != 4 || c.EventCount != 4 {
			t.Errorf("repeat: MessageCount %d, EventCount %d; want 4, 4", c.MessageCount, c.EventCount)
		}
		sameTime(t, "repeat: LastMessageAt", c.LastMessageAt, at(4*time.Minute))
		if c.LastMessageContent != "a4" {
			t.Errorf("repeat: LastMessageContent = %q, want a4", c.LastMessageContent)
		}
		sameTimePtr(t, "repeat: LastVisitorMessageAt", c.LastVisitorMessageAt, tp(3*time.Minute))
		if c.Version <= first.Conversation.Version {
			t.Errorf("repeat with new messages: Version %d, was %d; want higher", c.Version, first.Conversation.Version)
		}
		sameConversation(t, "Conversation after repeat", mustGet(t, s, a.ID, c.ID), c)

		contents := func() []string {
			var out []string
			for _, e := range allEvents(t, s, a.ID, c.ID) {
				out = append(out, e.Message.Content)
			}
			return out
		}
		if got := contents(); !slices.Equal(got, []string{"m1", "a2", "m3", "a4"}) {
			t.Errorf("timeline after repeat = %q, want [m1 a2 m3 a4]", got)
		}
		checkOrds(t, "timeline after repeat", allEvents(t, s, a.ID, c.ID), 1, 2, 3, 4)

		// Messages without external_id cannot be recognised, so a third identical request
		// appends them again; the ones with external_ids are not repeated.
		third := upsert(t, s, a.ID, nc(
			withExt(msg(cv.AuthorVisitor, "m3", 3*time.Minute), "tg-3"),
			msg(cv.AuthorAI, "a4", 4*time.Minute),
		))
		if third.Created || third.Conversation.ID != c.ID {
			t.Errorf("third: Created %v, id %s", third.Created, third.Conversation.ID)
		}
		if got := contents(); !slices.Equal(got, []string{"m1", "a2", "m3", "a4", "a4"}) {
			t.Errorf("timeline after third = %q, want [m1 a2 m3 a4 a4]", got)
		}
		if n := listIDs(t, s, a.ID, cv.Filter{}); len(n) != 1 {
			t.Errorf("assistant has %d conversations, want 1", len(n))
		}
	}},
	{"RepeatWithKnownMessagesOnly", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		nc := cv.NewConversation{Source: cv.SourceWhatsApp, ExternalID: ptr("wa-chat"), Messages: []cv.NewMessage{
			withExt(msg(cv.AuthorVisitor, "hola", time.Minute), "wamid.1"),
		}}
		first := upsert(t, s, a.ID, nc)
		again := upsert(t, s, a.ID, nc)
		if again.Created || again.Conversation.ID != first.Conversation.ID {
			t.Fatalf("repeat: Created %v, id %s; want false, %s", again.Created, again.Conversation.ID, first.Conversation.ID)
		}
		if again.Conversation.MessageCount != 1 {
			t.Errorf("repeat: MessageCount = %d, want 1", again.Conversation.MessageCount)
		}
		checkOrds(t, "timeline", allEvents(t, s, a.ID, first.Conversation.ID), 1)
	}},
	{"OtherSourceIsOtherConversation", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		w := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, ExternalID: ptr("same")})
		tg := upsert(t, s, a.ID, cv.NewConversation{Source: cv.SourceTelegram, ExternalID: ptr("same")})
		if !tg.Created || tg.Conversation.ID == w.ID {
			t.Errorf("same external_id, other source: Created %v, id %s (widget's %s); want a new conversation", tg.Created, tg.Conversation.ID, w.ID)
		}
		if tg.Conversation.Ord != 2 {
			t.Errorf("ord = %d, want 2", tg.Conversation.Ord)
		}
	}},
	{"OtherAssistantHasItsOwn", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		ca := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceSlack, ExternalID: ptr("T1-C1"),
			Messages: []cv.NewMessage{withExt(msg(cv.AuthorVisitor, "a's", 0), "ev-1")}})
		cb := upsert(t, s, b.ID, cv.NewConversation{Source: cv.SourceSlack, ExternalID: ptr("T1-C1"),
			Messages: []cv.NewMessage{withExt(msg(cv.AuthorVisitor, "b's", 0), "ev-1")}})
		if !cb.Created || cb.Conversation.ID == ca.ID || cb.Conversation.AssistantID != b.ID {
			t.Errorf("B with A's external_id: Created %v, id %s, assistant %s", cb.Created, cb.Conversation.ID, cb.Conversation.AssistantID)
		}
		if cb.Conversation.MessageCount != 1 {
			t.Errorf("B's conversation has %d messages, want 1 (message external_ids are per conversation)", cb.Conversation.MessageCount)
		}
		checkOrds(t, "A's timeline", allEvents(t, s, a.ID, ca.ID), 1)
	}},
	{"WithoutExternalIDAlwaysNew", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		nc := cv.NewConversation{Source: cv.SourceWidget, Messages: []cv.NewMessage{msg(cv.AuthorVisitor, "hi", 0)}}
		c1, c2 := mustCreate(t, s, a.ID, nc), mustCreate(t, s, a.ID, nc)
		if c1.ID == c2.ID {
			t.Errorf("two creates without external_id made one conversation")
		}
	}},
}

// ---- Conversation ----

var getTests = []test{
	{"FoundByOwnerOnly", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi", 0))
		sameConversation(t, "Conversation", mustGet(t, s, a.ID, c.ID), c)
		_, err := s.Conversation(t.Context(), b.ID, c.ID)
		wantErr(t, "Conversation by another assistant", err, cv.ErrNotFound)
	}},
	{"UnknownAndMalformedAreNotFound", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		simple(t, s, a.ID)
		for _, id := range append([]string{newUUID()}, malformedIDs...) {
			_, err := s.Conversation(t.Context(), a.ID, id)
			wantErr(t, "Conversation("+id+")", err, cv.ErrNotFound)
		}
		c := simple(t, s, a.ID)
		for _, aid := range append([]string{newUUID()}, malformedIDs...) {
			_, err := s.Conversation(t.Context(), aid, c.ID)
			wantErr(t, "Conversation with assistant "+aid, err, cv.ErrNotFound)
		}
	}},
}

// ---- Events ----

// timeline makes a conversation whose timeline is message, message, log, message, log.
func timeline(t *testing.T, s store.Store, assistantID string) cv.Conversation {
	t.Helper()
	c := simple(t, s, assistantID, msg(cv.AuthorAI, "hello", 0), msg(cv.AuthorVisitor, "help", time.Minute))
	patch(t, s, assistantID, c.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved)})
	mustAppend(t, s, assistantID, c.ID, msg(cv.AuthorVisitor, "one more thing", 2*time.Minute))
	return patch(t, s, assistantID, c.ID, 0, cv.Patch{Terminated: ptr(true)})
}

func sevenMessages(t *testing.T, s store.Store, assistantID string) cv.Conversation {
	t.Helper()
	var msgs []cv.NewMessage
	for i := range 7 {
		msgs = append(msgs, msg(cv.AuthorVisitor, fmt.Sprintf("m%d", i+1), time.Duration(i)*time.Minute))
	}
	return simple(t, s, assistantID, msgs...)
}

var eventTests = []test{
	{"Paging", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := sevenMessages(t, s, a.ID)
		for _, tc := range []struct {
			limit, offset int
			want          []int64
		}{
			{3, 0, []int64{1, 2, 3}},
			{3, 3, []int64{4, 5, 6}},
			{3, 6, []int64{7}},
			{3, 7, nil},
			{100, 0, seq(1, 7)},
			{1, 4, []int64{5}},
		} {
			p := mustEvents(t, s, a.ID, c.ID, cv.EventFilter{Limit: tc.limit, Offset: tc.offset})
			what := fmt.Sprintf("limit %d offset %d", tc.limit, tc.offset)
			checkOrds(t, what, p.Items, tc.want...)
			if p.Count != 7 {
				t.Errorf("%s: Count = %d, want 7", what, p.Count)
			}
			for _, e := range p.Items {
				if e.Message == nil || e.Message.Content != fmt.Sprintf("m%d", e.Ord) {
					t.Errorf("%s: event %d is %+v, want message m%d", what, e.Ord, e.Message, e.Ord)
				}
				sameTime(t, fmt.Sprintf("event %d CreatedAt", e.Ord), e.CreatedAt, at(time.Duration(e.Ord-1)*time.Minute))
			}
		}
	}},
	{"TypesFilter", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := timeline(t, s, a.ID)
		// 1, 2 messages; 3 resolved; 4 the visitor's message, which reopens (5); 6 terminated.
		all := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "all", all, 1, 2, 3, 4, 5, 6)
		if len(all) == 6 && (all[4].Log == nil || all[4].Log.Kind != cv.LogResolution || all[4].Log.Details["to"] != cv.StatusOpen) {
			t.Errorf("event 5 = %+v, want the reopening by the visitor's message", all[4].Log)
		}
		for _, tc := range []struct {
			types         []string
			limit, offset int
			want          []int64
			count         int64
		}{
			{[]string{cv.EventLog}, 10, 0, []int64{3, 5, 6}, 3},
			{[]string{cv.EventMessage}, 10, 0, []int64{1, 2, 4}, 3},
			{[]string{cv.EventMessage, cv.EventLog}, 10, 0, seq(1, 6), 6},
			{[]string{cv.EventTrackedLink}, 10, 0, nil, 0},
			{[]string{cv.EventLog}, 1, 1, []int64{5}, 3},
			{[]string{cv.EventMessage}, 2, 0, []int64{1, 2}, 3},
		} {
			p := mustEvents(t, s, a.ID, c.ID, cv.EventFilter{Types: tc.types, Limit: tc.limit, Offset: tc.offset})
			what := fmt.Sprintf("types %v limit %d offset %d", tc.types, tc.limit, tc.offset)
			checkOrds(t, what, p.Items, tc.want...)
			if p.Count != tc.count {
				t.Errorf("%s: Count = %d, want %d", what, p.Count, tc.count)
			}
			for _, e := range p.Items {
				if !slices.Contains(tc.types, e.Type) {
					t.Errorf("%s: event %d has type %q", what, e.Ord, e.Type)
				}
			}
		}
	}},
	{"AfterOrd", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := sevenMessages(t, s, a.ID)
		for _, tc := range []struct {
			after int64
			limit int
			want  []int64
		}{
			{0, 100, seq(1, 7)},
			{4, 2, []int64{5, 6}},
			{6, 10, []int64{7}},
			{7, 10, nil},
			{100, 10, nil},
		} {
			p := mustEvents(t, s, a.ID, c.ID, cv.EventFilter{AfterOrd: ptr(tc.after), Limit: tc.limit})
			checkOrds(t, fmt.Sprintf("after %d limit %d", tc.after, tc.limit), p.Items, tc.want...)
		}
		// Walking by AfterOrd visits every event once.
		var walked []cv.Event
		var after int64
		for range 10 {
			p := mustEvents(t, s, a.ID, c.ID, cv.EventFilter{AfterOrd: ptr(after), Limit: 3})
			if len(p.Items) == 0 {
				break
			}
			walked = append(walked, p.Items...)
			after = p.Items[len(p.Items)-1].Ord
		}
		checkOrds(t, "walk by AfterOrd", walked, seq(1, 7)...)

		tl := timeline(t, s, a.ID)
		p := mustEvents(t, s, a.ID, tl.ID, cv.EventFilter{AfterOrd: ptr(int64(2)), Types: []string{cv.EventMessage}, Limit: 10})
		checkOrds(t, "after 2, messages only", p.Items, 4)
	}},
	{"NotFound", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi", 0))
		_, err := s.Events(t.Context(), b.ID, c.ID, cv.EventFilter{Limit: 10})
		wantErr(t, "Events of another assistant's conversation", err, cv.ErrNotFound)
		for _, id := range append([]string{newUUID()}, malformedIDs...) {
			_, err := s.Events(t.Context(), a.ID, id, cv.EventFilter{Limit: 10})
			wantErr(t, "Events("+id+")", err, cv.ErrNotFound)
		}
	}},
}

// ---- AppendMessage ----

var appendTests = []test{
	{"AppendsNextOrd", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorAI, "hello", 0), msg(cv.AuthorVisitor, "help", time.Minute))
		m := cv.NewMessage{Author: cv.AuthorAI, Content: "Here you go", CreatedAt: tp(5 * time.Minute),
			ClientMetadata: raw(`{"model": "x", "tokens": 42}`), SourcesGenerated: raw(`[{"id": 1}]`),
			Attachments: raw(`[{"url": "https://x.example/y.png"}]`), ExternalID: ptr("gen-1")}
		e := mustAppend(t, s, a.ID, c.ID, m)
		checkMessageEvent(t, "appended", e, c.ID, 3, m, at(5*time.Minute))
		events := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "timeline", events, 1, 2, 3)
		if len(events) == 3 {
			checkMessageEvent(t, "stored", events[2], c.ID, 3, m, at(5*time.Minute))
			if events[2].ID != e.ID {
				t.Errorf("stored event id %s, returned %s", events[2].ID, e.ID)
			}
		}
		got := mustGet(t, s, a.ID, c.ID)
		sameTime(t, "LastMessageAt", got.LastMessageAt, at(5*time.Minute))
		if got.LastMessageContent != "Here you go" {
			t.Errorf("LastMessageContent = %q", got.LastMessageContent)
		}
		sameTimePtr(t, "LastVisitorMessageAt", got.LastVisitorMessageAt, tp(time.Minute))
		if !got.HasUnreadMessages {
			t.Errorf("an AI message cleared HasUnreadMessages")
		}
		if got.MessageCount != 3 || got.EventCount != 3 {
			t.Errorf("MessageCount %d, EventCount %d; want 3, 3", got.MessageCount, got.EventCount)
		}
		if got.Version <= c.Version {
			t.Errorf("Version = %d after an append, was %d; want higher", got.Version, c.Version)
		}
	}},
	{"VisitorAndOperator", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorAI, "welcome", 0))
		mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorVisitor, "question", 2*time.Minute))
		got := mustGet(t, s, a.ID, c.ID)
		if !got.HasUnreadMessages {
			t.Errorf("after a visitor message: HasUnread = false")
		}
		sameTimePtr(t, "LastVisitorMessageAt", got.LastVisitorMessageAt, tp(2*time.Minute))
		mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorOperator, "answer", 3*time.Minute))
		got = mustGet(t, s, a.ID, c.ID)
		if got.HasUnreadMessages {
			t.Errorf("after an operator message: HasUnread = true")
		}
		sameTimePtr(t, "LastVisitorMessageAt after operator", got.LastVisitorMessageAt, tp(2*time.Minute))
		if got.LastMessageContent != "answer" {
			t.Errorf("LastMessageContent = %q, want answer", got.LastMessageContent)
		}
		mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorAI, "anything else?", 4*time.Minute))
		if got = mustGet(t, s, a.ID, c.ID); got.HasUnreadMessages {
			t.Errorf("after an AI message: HasUnread = true")
		}
	}},
	{"OlderMessageKeepsLast", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorAI, "newest", 10*time.Minute))
		e := mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorVisitor, "late import", 5*time.Minute))
		if e.Ord != 2 {
			t.Errorf("ord = %d, want 2 (ords follow arrival, not time)", e.Ord)
		}
		mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorVisitor, "even older", 3*time.Minute))
		got := mustGet(t, s, a.ID, c.ID)
		sameTime(t, "LastMessageAt", got.LastMessageAt, at(10*time.Minute))
		if got.LastMessageContent != "newest" {
			t.Errorf("LastMessageContent = %q, want newest", got.LastMessageContent)
		}
		sameTimePtr(t, "LastVisitorMessageAt", got.LastVisitorMessageAt, tp(5*time.Minute))
	}},
	{"WithoutTimeGetsNow", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorAI, "old", 0))
		w := startWindow()
		e := mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorVisitor, "now"))
		w.close()
		w.check(t, "event CreatedAt", e.CreatedAt)
		got := mustGet(t, s, a.ID, c.ID)
		sameTime(t, "LastMessageAt", got.LastMessageAt, e.CreatedAt)
		sameTimePtr(t, "LastVisitorMessageAt", got.LastVisitorMessageAt, &e.CreatedAt)
	}},
	{"RepeatedExternalID", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, withExt(msg(cv.AuthorVisitor, "from create", 0), "ext-0"))
		first := mustAppend(t, s, a.ID, c.ID, withExt(msg(cv.AuthorVisitor, "original", time.Minute), "ext-1"))
		before := mustGet(t, s, a.ID, c.ID)

		for _, tc := range []struct {
			ext, content string
			ord          int64
		}{{"ext-1", "original", 2}, {"ext-0", "from create", 1}} {
			m := withExt(msg(cv.AuthorVisitor, "retry with other content", 9*time.Minute), tc.ext)
			ok(t, "validate", m.Validate(""))
			e, created, err := s.AppendMessage(t.Context(), a.ID, c.ID, m)
			ok(t, "AppendMessage(repeat "+tc.ext+")", err)
			if created {
				t.Errorf("repeat %s: created = true", tc.ext)
			}
			if e.Ord != tc.ord || e.Message == nil || e.Message.Content != tc.content {
				t.Errorf("repeat %s: returned event #%d %+v, want the stored #%d %q", tc.ext, e.Ord, e.Message, tc.ord, tc.content)
			}
			samePtr(t, "repeat: ExternalID", e.ExternalID, ptr(tc.ext))
			checkUUID(t, "repeat: event ID", e.ID)
		}
		m := withExt(msg(cv.AuthorVisitor, "x", time.Minute), "ext-1")
		ok(t, "validate", m.Validate(""))
		e, _, err := s.AppendMessage(t.Context(), a.ID, c.ID, m)
		ok(t, "AppendMessage(repeat)", err)
		if e.ID != first.ID {
			t.Errorf("repeat returned event %s, the stored one is %s", e.ID, first.ID)
		}
		checkOrds(t, "timeline", allEvents(t, s, a.ID, c.ID), 1, 2)
		sameConversation(t, "conversation after repeats", mustGet(t, s, a.ID, c.ID), before)

		// Message external_ids are per conversation.
		other := simple(t, s, a.ID)
		e = mustAppend(t, s, a.ID, other.ID, withExt(msg(cv.AuthorVisitor, "same id elsewhere", 0), "ext-1"))
		if e.Ord != 1 || e.ConversationID != other.ID {
			t.Errorf("ext-1 in another conversation: event #%d of %s", e.Ord, e.ConversationID)
		}
	}},
	{"NotFound", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		c := simple(t, s, a.ID)
		m := msg(cv.AuthorVisitor, "hi")
		ok(t, "validate", m.Validate(""))
		_, _, err := s.AppendMessage(t.Context(), b.ID, c.ID, m)
		wantErr(t, "AppendMessage to another assistant's conversation", err, cv.ErrNotFound)
		for _, id := range append([]string{newUUID()}, malformedIDs...) {
			_, _, err := s.AppendMessage(t.Context(), a.ID, id, m)
			wantErr(t, "AppendMessage("+id+")", err, cv.ErrNotFound)
		}
		if got := mustGet(t, s, a.ID, c.ID); got.MessageCount != 0 {
			t.Errorf("refused appends left %d messages", got.MessageCount)
		}
	}},
}

// ---- UpdateConversation ----

var errBoom = errors.New("boom")

var updateTests = []test{
	{"PatchRecordsLogs", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorAI, "hello", 0), msg(cv.AuthorVisitor, "help", time.Minute))
		p := cv.Patch{
			ResolutionStatus: ptr(cv.StatusResolved),
			Assignee:         &cv.Assignee{Type: cv.AssigneeOperator, ID: ptr("op-1"), Name: ptr("Ann")},
			Terminated:       ptr(true),
		}
		want := c
		logs := p.Apply(&want, actor)
		if len(logs) != 3 {
			t.Fatalf("suite bug: Patch.Apply made %d logs", len(logs))
		}
		want.Version = c.Version + 1
		want.EventCount = c.EventCount + 3

		w := startWindow()
		got := patch(t, s, a.ID, c.ID, c.Version, p)
		w.close()
		sameConversation(t, "UpdateConversation", got, want)
		sameConversation(t, "Conversation", mustGet(t, s, a.ID, c.ID), want)
		sameAssignee(t, "Assignee", got.Assignee, cv.Assignee{Type: cv.AssigneeOperator, ID: ptr("op-1"), Name: ptr("Ann")})

		events := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "timeline", events, 1, 2, 3, 4, 5)
		if len(events) != 5 {
			return
		}
		for i, l := range logs {
			checkLogEvent(t, fmt.Sprintf("log %d", i+3), events[i+2], c.ID, int64(i+3), l)
			w.check(t, fmt.Sprintf("log %d CreatedAt", i+3), events[i+2].CreatedAt)
		}
		// The same, spelled out as a client decodes it.
		// An operator taking over from the AI is a handoff, accepted.
		sameJSON(t, "assignment details", events[2].Log.Details, meta(t,
			`{"from": {"type": "ai_assistant"}, "to": {"type": "human_operator", "id": "op-1", "name": "Ann"}, "handoff_state": "accepted"}`))
		sameJSON(t, "resolution details", events[3].Log.Details, meta(t, `{"from": "open", "to": "resolved", "assumed": false}`))
		sameJSON(t, "termination details", events[4].Log.Details, meta(t, `{"from": false, "to": true}`))
		if _, isMap := events[2].Log.Details["to"].(map[string]any); !isMap {
			t.Errorf("assignment details.to = %#v, want a decoded object (map[string]any)", events[2].Log.Details["to"])
		}
		sameJSON(t, "actor", events[2].Log.Actor, meta(t, `{"type": "api_token", "id": "tok-suite", "name": "Suite token"}`))
		if events[2].Log.Kind != cv.LogHandoff || events[3].Log.Kind != cv.LogResolution || events[4].Log.Kind != cv.LogTermination {
			t.Errorf("log kinds = %s, %s, %s", events[2].Log.Kind, events[3].Log.Kind, events[4].Log.Kind)
		}

		// Messages after logs continue the shared ord.
		e := mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorVisitor, "thanks", 2*time.Minute))
		if e.Ord != 6 {
			t.Errorf("message after logs has ord %d, want 6", e.Ord)
		}
	}},
	{"LogDetailsDecodeAsJSON", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID)
		l := cv.Log{Kind: cv.LogRating, Actor: cv.Actor{Type: "visitor"}, Content: "Rated 4/5",
			Details: map[string]any{"score": 4, "scale": 5.0, "nested": map[string]any{"x": []any{1, "two", true, nil}}, "none": nil}}
		_, err := s.UpdateConversation(t.Context(), a.ID, c.ID, 0, func(*cv.Conversation) ([]cv.Log, error) { return []cv.Log{l}, nil })
		ok(t, "UpdateConversation", err)
		events := allEvents(t, s, a.ID, c.ID)
		if len(events) != 1 || events[0].Log == nil {
			t.Fatalf("timeline = %+v, want one log", events)
		}
		checkLogEvent(t, "log", events[0], c.ID, 1, l)
		d := events[0].Log.Details
		if v, isFloat := d["score"].(float64); !isFloat || v != 4 {
			t.Errorf("details.score = %#v, want float64(4)", d["score"])
		}
		if _, isMap := d["nested"].(map[string]any); !isMap {
			t.Errorf("details.nested = %#v, want map[string]any", d["nested"])
		}
		if v, present := d["none"]; !present || v != nil {
			t.Errorf("details.none = %#v (present %v), want a nil value", v, present)
		}
		samePtr(t, "actor.ID", events[0].Log.Actor.ID, nil)
	}},
	{"IfVersion", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi", 0))
		got := patch(t, s, a.ID, c.ID, c.Version, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved)})
		if got.Version != c.Version+1 {
			t.Errorf("Version = %d, want %d", got.Version, c.Version+1)
		}
		before := mustGet(t, s, a.ID, c.ID)
		beforeEvents := allEvents(t, s, a.ID, c.ID)
		for _, stale := range []int64{c.Version, got.Version + 1, got.Version + 100} {
			// fn may or may not run; what matters is that nothing is saved.
			_, err := s.UpdateConversation(t.Context(), a.ID, c.ID, stale, func(c *cv.Conversation) ([]cv.Log, error) {
				return (&cv.Patch{Terminated: ptr(true)}).Apply(c, actor), nil
			})
			wantErr(t, fmt.Sprintf("UpdateConversation(ifVersion %d, current %d)", stale, got.Version), err, cv.ErrPreconditionFailed)
		}
		sameConversation(t, "after stale updates", mustGet(t, s, a.ID, c.ID), before)
		if n := len(allEvents(t, s, a.ID, c.ID)); n != len(beforeEvents) {
			t.Errorf("stale updates changed the timeline: %d events, want %d", n, len(beforeEvents))
		}
		// ifVersion 0 means unconditional.
		got2 := patch(t, s, a.ID, c.ID, 0, cv.Patch{Terminated: ptr(true)})
		if got2.Version != got.Version+1 || !got2.Terminated {
			t.Errorf("unconditional update: Version %d Terminated %v; want %d true", got2.Version, got2.Terminated, got.Version+1)
		}
	}},
	{"FnErrorAborts", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi", 0))
		_, err := s.UpdateConversation(t.Context(), a.ID, c.ID, c.Version, func(c *cv.Conversation) ([]cv.Log, error) {
			logs := (&cv.Patch{Terminated: ptr(true), Title: ptr(ptr("changed"))}).Apply(c, actor)
			c.ClientMetadata = map[string]any{"k": "v"}
			return logs, fmt.Errorf("refusing: %w", errBoom)
		})
		if !errors.Is(err, errBoom) {
			t.Errorf("UpdateConversation: error = %v, want fn's error (errors.Is)", err)
		}
		sameConversation(t, "after fn failed", mustGet(t, s, a.ID, c.ID), c)
		checkOrds(t, "timeline after fn failed", allEvents(t, s, a.ID, c.ID), 1)
	}},
	{"Metadata", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi", 0))
		v := c.Version
		check := func(what string, got cv.Conversation, want string) {
			t.Helper()
			sameJSON(t, what+": returned metadata", got.ClientMetadata, raw(want))
			sameJSON(t, what+": stored metadata", mustGet(t, s, a.ID, c.ID).ClientMetadata, raw(want))
			v++
			if got.Version != v {
				t.Errorf("%s: Version = %d, want %d", what, got.Version, v)
			}
		}
		got := setMetadata(t, s, a.ID, c.ID, cv.MetadataMerge, meta(t, `{"plan": "gold", "seats": 12}`))
		check("merge", got, `{"plan": "gold", "seats": 12}`)
		stored := mustGet(t, s, a.ID, c.ID).ClientMetadata
		if n, isFloat := stored["seats"].(float64); !isFloat || n != 12 {
			t.Errorf("stored seats = %#v, want float64(12)", stored["seats"])
		}
		got = setMetadata(t, s, a.ID, c.ID, cv.MetadataMergePatch, meta(t, `{"plan": null, "tier": {"level": 2, "since": "2024"}}`))
		check("merge patch", got, `{"seats": 12, "tier": {"level": 2, "since": "2024"}}`)
		got = setMetadata(t, s, a.ID, c.ID, cv.MetadataReplace, meta(t, `{"only": true}`))
		check("replace", got, `{"only": true}`)

		events := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "timeline", events, 1, 2, 3, 4)
		wantKeys := [][]any{{"plan", "seats"}, {"plan", "tier"}, {"only", "seats", "tier"}}
		for i, e := range events[1:] {
			if e.Log == nil || e.Log.Kind != cv.LogMetadata {
				t.Errorf("event %d = %+v, want a metadata log", e.Ord, e.Log)
				continue
			}
			sameJSON(t, fmt.Sprintf("event %d details", e.Ord), e.Log.Details, map[string]any{"keys": wantKeys[i]})
		}
		// Cleared metadata reads as no metadata (nil or {}).
		setMetadata(t, s, a.ID, c.ID, cv.MetadataReplace, map[string]any{})
		if m := mustGet(t, s, a.ID, c.ID).ClientMetadata; len(m) != 0 {
			t.Errorf("metadata after replacing with {} = %v", m)
		}
	}},
	{"VisitorFieldsTitleAndRead", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, VisitorName: ptr("Jo"), VisitorEmail: ptr("jo@example.com"),
			Messages: []cv.NewMessage{msg(cv.AuthorVisitor, "hi", 0)}})
		var noEmail *string
		got := patch(t, s, a.ID, c.ID, 0, cv.Patch{
			Title: ptr(ptr("Refund question")), VisitorName: ptr(ptr("Joanna")), VisitorEmail: &noEmail,
			VisitorLabel: ptr(ptr("vip")), HasUnreadMessages: ptr(false),
		})
		want := c
		want.Title, want.VisitorName, want.VisitorEmail, want.VisitorLabel = ptr("Refund question"), ptr("Joanna"), nil, ptr("vip")
		want.HasUnreadMessages = false
		want.Version = c.Version + 1
		sameConversation(t, "UpdateConversation", got, want)
		sameConversation(t, "Conversation", mustGet(t, s, a.ID, c.ID), want)
		checkOrds(t, "timeline (these fields make no logs)", allEvents(t, s, a.ID, c.ID), 1)
	}},
	{"NotFound", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		c := simple(t, s, a.ID)
		var calls atomic.Int32
		fn := func(c *cv.Conversation) ([]cv.Log, error) {
			calls.Add(1)
			c.Terminated = true
			return nil, nil
		}
		_, err := s.UpdateConversation(t.Context(), b.ID, c.ID, 0, fn)
		wantErr(t, "UpdateConversation of another assistant's conversation", err, cv.ErrNotFound)
		for _, id := range append([]string{newUUID()}, malformedIDs...) {
			_, err := s.UpdateConversation(t.Context(), a.ID, id, 0, fn)
			wantErr(t, "UpdateConversation("+id+")", err, cv.ErrNotFound)
		}
		if n := calls.Load(); n != 0 {
			t.Errorf("fn was called %d times for conversations that are not found", n)
		}
		sameConversation(t, "untouched", mustGet(t, s, a.ID, c.ID), c)
	}},
}

// ---- concurrency ----

var concurrencyTests = []test{
	{"AppendMessages", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID)
		const n = 20
		parallel(n, func(i int) {
			m := msg(cv.AuthorVisitor, fmt.Sprintf("message %d", i), time.Duration(i)*time.Second)
			if err := m.Validate(""); err != nil {
				t.Errorf("validate: %v", err)
				return
			}
			if _, created, err := s.AppendMessage(t.Context(), a.ID, c.ID, m); err != nil || !created {
				t.Errorf("AppendMessage %d: created %v, error %v", i, created, err)
			}
		})
		events := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "timeline", events, seq(1, n)...)
		seen := map[string]bool{}
		for _, e := range events {
			if e.Message != nil {
				seen[e.Message.Content] = true
			}
		}
		if len(seen) != n {
			t.Errorf("timeline holds %d distinct messages, want %d", len(seen), n)
		}
		got := mustGet(t, s, a.ID, c.ID)
		if got.MessageCount != n || got.EventCount != n {
			t.Errorf("MessageCount %d, EventCount %d; want %d, %d", got.MessageCount, got.EventCount, n, n)
		}
		sameTime(t, "LastMessageAt", got.LastMessageAt, at((n-1)*time.Second))
		if want := fmt.Sprintf("message %d", n-1); got.LastMessageContent != want {
			t.Errorf("LastMessageContent = %q, want %q (the newest by time)", got.LastMessageContent, want)
		}
	}},
	{"MixedWrites", func(t *testing.T, s store.Store) {
		// Messages and logs share one ord sequence, also when written at once.
		a := newAssistant(t, s)
		c := simple(t, s, a.ID)
		parallel(15, func(i int) {
			var err error
			switch i % 3 {
			case 0:
				_, err = s.UpdateConversation(t.Context(), a.ID, c.ID, 0, func(c *cv.Conversation) ([]cv.Log, error) {
					next, err := cv.ApplyMetadata(c.ClientMetadata, cv.MetadataMerge, map[string]any{fmt.Sprintf("k%d", i): float64(i)})
					if err != nil {
						return nil, err
					}
					changed := cv.ChangedKeys(c.ClientMetadata, next)
					c.ClientMetadata = next
					return []cv.Log{cv.MetadataLog(actor, changed)}, nil
				})
			default:
				m := msg(cv.AuthorAI, fmt.Sprintf("m%d", i), time.Duration(i)*time.Second)
				if err = m.Validate(""); err == nil {
					_, _, err = s.AppendMessage(t.Context(), a.ID, c.ID, m)
				}
			}
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		})
		events := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "timeline", events, seq(1, 15)...)
		got := mustGet(t, s, a.ID, c.ID)
		if len(got.ClientMetadata) != 5 {
			t.Errorf("metadata has %d keys after 5 concurrent merges, want 5 (lost update?): %v", len(got.ClientMetadata), got.ClientMetadata)
		}
		if got.MessageCount != 10 || got.EventCount != 15 {
			t.Errorf("MessageCount %d, EventCount %d; want 10, 15", got.MessageCount, got.EventCount)
		}
	}},
	{"CreateConversations", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		const n = 10
		ords := make([]int64, n)
		parallel(n, func(i int) {
			nc := cv.NewConversation{Source: cv.SourceWidget, Messages: []cv.NewMessage{msg(cv.AuthorVisitor, fmt.Sprintf("c%d", i))}}
			if err := nc.Validate(); err != nil {
				t.Errorf("validate: %v", err)
				return
			}
			out, err := s.CreateConversations(t.Context(), a.ID, []cv.NewConversation{nc})
			if err != nil || len(out) != 1 {
				t.Errorf("CreateConversations %d: %d results, error %v", i, len(out), err)
				return
			}
			ords[i] = out[0].Conversation.Ord
		})
		slices.Sort(ords)
		if !slices.Equal(ords, seq(1, n)) {
			t.Errorf("ords = %v, want 1..%d", ords, n)
		}
		p := mustList(t, s, a.ID, cv.Filter{Sort: cv.SortOrd, Limit: 100})
		var listed []int64
		for _, c := range p.Items {
			listed = append(listed, c.Ord)
		}
		if !slices.Equal(listed, seq(1, n)) || p.Count != n {
			t.Errorf("listed ords = %v (count %d), want 1..%d", listed, p.Count, n)
		}
	}},
	{"CreateSameExternalID", func(t *testing.T, s store.Store) {
		// A platform retrying its webhook while the first delivery is still being stored must
		// not make two conversations nor two messages.
		a := newAssistant(t, s)
		const n = 8
		var created atomic.Int32
		got := make([]string, n)
		parallel(n, func(i int) {
			nc := cv.NewConversation{Source: cv.SourceTelegram, ExternalID: ptr("chat-1"),
				Messages: []cv.NewMessage{withExt(msg(cv.AuthorVisitor, "hello", 0), "update-1")}}
			if err := nc.Validate(); err != nil {
				t.Errorf("validate: %v", err)
				return
			}
			out, err := s.CreateConversations(t.Context(), a.ID, []cv.NewConversation{nc})
			if err != nil || len(out) != 1 {
				t.Errorf("CreateConversations %d: %d results, error %v", i, len(out), err)
				return
			}
			if out[0].Created {
				created.Add(1)
			}
			got[i] = out[0].Conversation.ID
		})
		if c := created.Load(); c != 1 {
			t.Errorf("%d of %d concurrent creates report Created, want exactly 1", c, n)
		}
		for i := range got {
			if got[i] != got[0] {
				t.Errorf("concurrent creates returned different conversations: %v", got)
				break
			}
		}
		if ids := listIDs(t, s, a.ID, cv.Filter{}); len(ids) != 1 {
			t.Fatalf("%d conversations, want 1", len(ids))
		}
		checkOrds(t, "timeline", allEvents(t, s, a.ID, got[0]), 1)
	}},
	{"AppendSameExternalID", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID)
		const n = 8
		var created atomic.Int32
		got := make([]string, n)
		parallel(n, func(i int) {
			m := withExt(msg(cv.AuthorVisitor, "once", 0), "wamid.X")
			if err := m.Validate(""); err != nil {
				t.Errorf("validate: %v", err)
				return
			}
			e, ok, err := s.AppendMessage(t.Context(), a.ID, c.ID, m)
			if err != nil {
				t.Errorf("AppendMessage %d: %v", i, err)
				return
			}
			if ok {
				created.Add(1)
			}
			got[i] = e.ID
		})
		if c := created.Load(); c != 1 {
			t.Errorf("%d of %d concurrent appends report created, want exactly 1", c, n)
		}
		for i := range got {
			if got[i] != got[0] {
				t.Errorf("concurrent appends returned different events: %v", got)
				break
			}
		}
		checkOrds(t, "timeline", allEvents(t, s, a.ID, c.ID), 1)
	}},
	{"UpdateSameVersion", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi", 0))
		patches := []cv.Patch{{ResolutionStatus: ptr(cv.StatusResolved)}, {Terminated: ptr(true)}}
		errs := make([]error, 2)
		parallel(2, func(i int) {
			_, errs[i] = s.UpdateConversation(t.Context(), a.ID, c.ID, c.Version, func(c *cv.Conversation) ([]cv.Log, error) {
				return patches[i].Apply(c, actor), nil
			})
		})
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, cv.ErrPreconditionFailed):
				t.Errorf("update %d: error = %v, want nil or ErrPreconditionFailed", i, err)
			}
		}
		if wins != 1 {
			t.Errorf("%d of 2 updates with the same ifVersion succeeded (errors %v), want exactly 1", wins, errs)
		}
		got := mustGet(t, s, a.ID, c.ID)
		if got.Version != c.Version+1 {
			t.Errorf("Version = %d, want %d", got.Version, c.Version+1)
		}
		if (got.ResolutionStatus == cv.StatusResolved) == got.Terminated {
			t.Errorf("resolved %v, terminated %v: want exactly one update applied", got.ResolutionStatus, got.Terminated)
		}
		checkOrds(t, "timeline", allEvents(t, s, a.ID, c.ID), 1, 2)
	}},
}

// ---- DeleteConversation ----

var deleteTests = []test{
	{"RemovesEverything", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c1 := simple(t, s, a.ID, msg(cv.AuthorVisitor, "apples and pears", 0))
		c2 := mustCreate(t, s, a.ID, cv.NewConversation{Source: cv.SourceWidget, VisitorName: ptr("Zygmunt"),
			ClientMetadata: meta(t, `{"plan": "gold"}`),
			Messages:       []cv.NewMessage{msg(cv.AuthorVisitor, "kumquat delivery", time.Minute)}})
		c3 := simple(t, s, a.ID, msg(cv.AuthorVisitor, "kumquat too", 2*time.Minute))
		patch(t, s, a.ID, c2.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved)})
		ev2 := allEvents(t, s, a.ID, c2.ID)
		c1, c3 = mustGet(t, s, a.ID, c1.ID), mustGet(t, s, a.ID, c3.ID)
		ev1, ev3 := allEvents(t, s, a.ID, c1.ID), allEvents(t, s, a.ID, c3.ID)

		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, c2.ID))

		_, err := s.Conversation(t.Context(), a.ID, c2.ID)
		wantErr(t, "Conversation(deleted)", err, cv.ErrNotFound)
		_, err = s.Events(t.Context(), a.ID, c2.ID, cv.EventFilter{Limit: 10})
		wantErr(t, "Events(deleted)", err, cv.ErrNotFound)
		m := msg(cv.AuthorVisitor, "late")
		ok(t, "validate", m.Validate(""))
		_, _, err = s.AppendMessage(t.Context(), a.ID, c2.ID, m)
		wantErr(t, "AppendMessage(deleted)", err, cv.ErrNotFound)
		_, err = s.UpdateConversation(t.Context(), a.ID, c2.ID, 0, func(*cv.Conversation) ([]cv.Log, error) { return nil, nil })
		wantErr(t, "UpdateConversation(deleted)", err, cv.ErrNotFound)
		wantErr(t, "DeleteConversation(deleted)", s.DeleteConversation(t.Context(), a.ID, c2.ID), cv.ErrNotFound)

		names := map[string]string{c1.ID: "c1", c2.ID: "c2", c3.ID: "c3"}
		sameIDSet(t, "Conversations", listIDs(t, s, a.ID, cv.Filter{}), []string{c1.ID, c3.ID}, names)
		for _, q := range []string{"kumquat", "Zygmunt", c2.ID, ev2[0].ID, ev2[1].ID, "#2"} {
			got := listIDs(t, s, a.ID, cv.Filter{Query: query(q)})
			if slices.Contains(got, c2.ID) {
				t.Errorf("query %q still finds the deleted conversation", q)
			}
		}
		sameIDs(t, "query kumquat", listIDs(t, s, a.ID, cv.Filter{Query: query("kumquat")}), []string{c3.ID}, names)
		sameIDs(t, "metadata plan=gold", listIDs(t, s, a.ID, cv.Filter{Metadata: map[string]string{"plan": "gold"}}), nil, names)
		sameIDs(t, "resolved", listIDs(t, s, a.ID, cv.Filter{Statuses: []string{cv.StatusResolved}}), nil, names)

		sameConversation(t, "c1 after deleting c2", mustGet(t, s, a.ID, c1.ID), c1)
		sameConversation(t, "c3 after deleting c2", mustGet(t, s, a.ID, c3.ID), c3)
		if n := len(allEvents(t, s, a.ID, c1.ID)); n != len(ev1) {
			t.Errorf("c1 has %d events, want %d", n, len(ev1))
		}
		if n := len(allEvents(t, s, a.ID, c3.ID)); n != len(ev3) {
			t.Errorf("c3 has %d events, want %d", n, len(ev3))
		}
	}},
	{"DropsPendingJobsOfEveryKind", func(t *testing.T, s store.Store) {
		// Pending jobs keyed by the deleted conversation's id go, whatever their kind; jobs of
		// other keys and jobs already running stay.
		a := newAssistant(t, s)
		keep, gone := simple(t, s, a.ID), simple(t, s, a.ID)
		kind := func(k string) string { return "delete-suite-" + k + "-" + a.ID }
		now := time.Now()
		for _, j := range []store.NewJob{
			{Kind: kind("a"), Key: gone.ID, RunAt: now.Add(time.Hour)},
			{Kind: kind("b"), Key: gone.ID, RunAt: now.Add(time.Hour)},
			{Kind: kind("a"), Key: keep.ID, RunAt: now.Add(time.Hour)},
			{Kind: kind("b"), Key: "not-a-conversation", RunAt: now.Add(time.Hour)},
			{Kind: kind("c"), Key: gone.ID, RunAt: now.Add(-time.Minute)},
		} {
			j.AssistantID = a.ID
			ok(t, "EnqueueJob", s.EnqueueJob(t.Context(), j))
		}
		claimed, err := s.ClaimJobs(t.Context(), []string{kind("c")}, 1, time.Hour)
		ok(t, "ClaimJobs", err)
		if len(claimed) != 1 {
			t.Fatalf("claimed %d jobs, want 1", len(claimed))
		}
		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, gone.ID))
		stats, err := s.JobStats(t.Context())
		ok(t, "JobStats", err)
		for k, want := range map[string]map[string]int{"a": {"pending": 1}, "b": {"pending": 1}, "c": {"running": 1}} {
			got := stats[kind(k)]
			if !maps.Equal(got, want) {
				t.Errorf("jobs of kind %s after the delete: %v, want %v", k, got, want)
			}
		}
	}},
	{"OtherAssistantCannotDelete", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "mine", 0))
		wantErr(t, "DeleteConversation by another assistant", s.DeleteConversation(t.Context(), b.ID, c.ID), cv.ErrNotFound)
		sameConversation(t, "still there", mustGet(t, s, a.ID, c.ID), c)
		checkOrds(t, "timeline still there", allEvents(t, s, a.ID, c.ID), 1)
	}},
	{"UnknownAndMalformedAreNotFound", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		simple(t, s, a.ID)
		for _, id := range append([]string{newUUID()}, malformedIDs...) {
			wantErr(t, "DeleteConversation("+id+")", s.DeleteConversation(t.Context(), a.ID, id), cv.ErrNotFound)
		}
		if n := len(listIDs(t, s, a.ID, cv.Filter{})); n != 1 {
			t.Errorf("%d conversations left, want 1", n)
		}
	}},
	{"OrdsAreNotReused", func(t *testing.T, s store.Store) {
		// Decided: an order number names one conversation forever, so deleting the newest
		// conversation does not hand its number to the next one ("#3" in an old ticket must
		// not lead to somebody else's conversation).
		a := newAssistant(t, s)
		simple(t, s, a.ID)
		simple(t, s, a.ID)
		c3 := simple(t, s, a.ID)
		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, c3.ID))
		if o := simple(t, s, a.ID).Ord; o != 4 {
			t.Errorf("ord after deleting #3 = %d, want 4", o)
		}
	}},
	{"ExternalIDIsFreed", func(t *testing.T, s store.Store) {
		// Deleting removes everything derived from the conversation, its external_id included:
		// the same external_id afterwards starts a new conversation.
		a := newAssistant(t, s)
		nc := cv.NewConversation{Source: cv.SourceSlack, ExternalID: ptr("T1-C9"), Messages: []cv.NewMessage{withExt(msg(cv.AuthorVisitor, "hi", 0), "ev-1")}}
		c := mustCreate(t, s, a.ID, nc)
		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, c.ID))
		again := upsert(t, s, a.ID, nc)
		if !again.Created || again.Conversation.ID == c.ID {
			t.Errorf("after delete: Created %v, id %s (deleted %s); want a new conversation", again.Created, again.Conversation.ID, c.ID)
		}
		if again.Conversation.MessageCount != 1 {
			t.Errorf("after delete: MessageCount %d, want 1", again.Conversation.MessageCount)
		}
	}},
}
