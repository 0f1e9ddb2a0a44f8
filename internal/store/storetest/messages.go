package storetest

import (
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// ---- what channels need: lookups by the platform's ids, edits, log events ----

// chat creates a telegram conversation for chat with one visitor message per (id, text) pair.
func chat(t *testing.T, s store.Store, assistantID, chatID string, msgs ...string) cv.Conversation {
	t.Helper()
	nc := cv.NewConversation{Source: cv.SourceTelegram, ExternalID: ptr(chatID), NewIfTerminated: true, VisitorName: ptr("Ann")}
	for i := 0; i+1 < len(msgs); i += 2 {
		m := withExt(msg(cv.AuthorVisitor, msgs[i+1], time.Duration(i)*time.Minute), msgs[i])
		m.FromChannel = true
		nc.Messages = append(nc.Messages, m)
	}
	return upsert(t, s, assistantID, nc).Conversation
}

var channelTests = []test{
	{"EventByID", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := chat(t, s, a.ID, "100", "100:1", "hello", "100:2", "there")
		events := allEvents(t, s, a.ID, c.ID)
		got, err := s.Event(t.Context(), a.ID, c.ID, events[1].ID)
		ok(t, "Event", err)
		checkMessageEvent(t, "Event", got, c.ID, 2, withExt(msg(cv.AuthorVisitor, "there"), "100:2"), events[1].CreatedAt)
		other := newAssistant(t, s)
		_, err = s.Event(t.Context(), other.ID, c.ID, events[1].ID)
		wantErr(t, "Event of another assistant", err, cv.ErrNotFound)
		d := chat(t, s, a.ID, "200", "200:1", "x")
		_, err = s.Event(t.Context(), a.ID, d.ID, events[1].ID)
		wantErr(t, "Event of another conversation", err, cv.ErrNotFound)
		_, err = s.Event(t.Context(), a.ID, c.ID, "nope")
		wantErr(t, "Event with a malformed id", err, cv.ErrNotFound)
	}},
	{"ConversationByExternalID", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := chat(t, s, a.ID, "100", "100:1", "hello")
		got, err := s.ConversationByExternalID(t.Context(), a.ID, cv.SourceTelegram, "100")
		ok(t, "ConversationByExternalID", err)
		sameConversation(t, "ConversationByExternalID", got, mustGet(t, s, a.ID, c.ID))
		for name, q := range map[string][3]string{
			"other source":    {a.ID, cv.SourceSlack, "100"},
			"other id":        {a.ID, cv.SourceTelegram, "101"},
			"other assistant": {newAssistant(t, s).ID, cv.SourceTelegram, "100"},
			"malformed":       {"x", cv.SourceTelegram, "100"},
		} {
			_, err := s.ConversationByExternalID(t.Context(), q[0], q[1], q[2])
			wantErr(t, "ConversationByExternalID, "+name, err, cv.ErrNotFound)
		}
		// A terminated chat lets go of the id when the next visitor message starts a new
		// conversation: from then on the id names the new one.
		patch(t, s, a.ID, c.ID, 0, cv.Patch{Terminated: ptr(true)})
		d := chat(t, s, a.ID, "100", "100:2", "again")
		if d.ID == c.ID {
			t.Fatalf("a message to a terminated chat did not start a new conversation")
		}
		got, err = s.ConversationByExternalID(t.Context(), a.ID, cv.SourceTelegram, "100")
		ok(t, "ConversationByExternalID after a new start", err)
		if got.ID != d.ID {
			t.Errorf("ConversationByExternalID = %s, want the new conversation %s", got.ID, d.ID)
		}
	}},
	{"MessageByExternalID", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := chat(t, s, a.ID, "100", "100:1", "hello", "100:2", "there")
		got, err := s.MessageByExternalID(t.Context(), a.ID, cv.SourceTelegram, "100:2")
		ok(t, "MessageByExternalID", err)
		events := allEvents(t, s, a.ID, c.ID)
		checkMessageEvent(t, "MessageByExternalID", got, c.ID, 2, withExt(msg(cv.AuthorVisitor, "there"), "100:2"), events[1].CreatedAt)
		if got.ID != events[1].ID {
			t.Errorf("MessageByExternalID found %s, want %s", got.ID, events[1].ID)
		}
		// Found in a conversation that no longer holds the chat, too.
		patch(t, s, a.ID, c.ID, 0, cv.Patch{Terminated: ptr(true)})
		chat(t, s, a.ID, "100", "100:3", "new start")
		got, err = s.MessageByExternalID(t.Context(), a.ID, cv.SourceTelegram, "100:1")
		ok(t, "MessageByExternalID in an ended conversation", err)
		if got.ConversationID != c.ID || got.ID != events[0].ID {
			t.Errorf("MessageByExternalID = %s in %s, want %s in %s", got.ID, got.ConversationID, events[0].ID, c.ID)
		}
		for name, q := range map[string][3]string{
			"other source":    {a.ID, cv.SourceWhatsApp, "100:1"},
			"unknown":         {a.ID, cv.SourceTelegram, "100:9"},
			"other assistant": {newAssistant(t, s).ID, cv.SourceTelegram, "100:1"},
		} {
			_, err := s.MessageByExternalID(t.Context(), q[0], q[1], q[2])
			wantErr(t, "MessageByExternalID, "+name, err, cv.ErrNotFound)
		}
		// Log events with an external id are not messages.
		_, _, err = s.AddLog(t.Context(), a.ID, c.ID, cv.Log{Kind: cv.LogDeleted, Actor: cv.Actor{Type: "system"}}, ptr("log-1"))
		ok(t, "AddLog", err)
		_, err = s.MessageByExternalID(t.Context(), a.ID, cv.SourceTelegram, "log-1")
		wantErr(t, "MessageByExternalID of a log event", err, cv.ErrNotFound)
	}},
	{"EditMessage", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := chat(t, s, a.ID, "100", "100:1", "where is my parcel", "100:2", "it is ORD-0012345")
		events := allEvents(t, s, a.ID, c.ID)
		before := mustGet(t, s, a.ID, c.ID)
		visitor := cv.Actor{Type: cv.AuthorVisitor, Name: ptr("Ann")}
		ctx := cv.WithActor(t.Context(), visitor)

		// Editing the first message: its content changes, last_message_content does not.
		ev, changed, err := s.EditMessage(ctx, a.ID, c.ID, events[0].ID, "where is my banana")
		ok(t, "EditMessage", err)
		if !changed || ev.ID != events[0].ID || ev.Message.Content != "where is my banana" {
			t.Errorf("EditMessage = %s %q changed %v; want %s, the new text, true", ev.ID, ev.Message.Content, changed, events[0].ID)
		}
		got := mustGet(t, s, a.ID, c.ID)
		if got.LastMessageContent != "it is ORD-0012345" || got.MessageCount != 2 || got.EventCount != 3 || got.Version != before.Version+1 {
			t.Errorf("after editing the first message: last %q, messages %d, events %d, version %d; want the second's text, 2, 3, %d",
				got.LastMessageContent, got.MessageCount, got.EventCount, got.Version, before.Version+1)
		}
		all := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "Events after the edit", all, 1, 2, 3)
		if len(all) == 3 {
			m := withExt(msg(cv.AuthorVisitor, "where is my banana"), "100:1")
			checkMessageEvent(t, "edited message", all[0], c.ID, 1, m, events[0].CreatedAt)
			checkLogEvent(t, "edit log", all[2], c.ID, 3, cv.Log{Kind: cv.LogEdited, Actor: visitor, Content: "Message edited",
				Details: map[string]any{"message_id": events[0].ID, "from": "where is my parcel", "to": "where is my banana"}})
		}
		// The search document follows: the old word is gone, the new one found.
		find := func(q string, want ...cv.Conversation) {
			t.Helper()
			sameIDSet(t, "query "+q, listIDs(t, s, a.ID, cv.Filter{Query: query(q)}), ids(want), map[string]string{c.ID: "chat"})
		}
		find("parcel")
		find("banana", c)
		find("0012345", c)

		// The same text again is no edit.
		_, changed, err = s.EditMessage(ctx, a.ID, c.ID, events[0].ID, "where is my banana")
		ok(t, "EditMessage with the same text", err)
		if changed {
			t.Errorf("EditMessage with the same text: changed = true")
		}
		if n := len(allEvents(t, s, a.ID, c.ID)); n != 3 {
			t.Errorf("the same text added events: %d, want 3", n)
		}

		// Editing the last message changes last_message_content.
		_, changed, err = s.EditMessage(ctx, a.ID, c.ID, events[1].ID, "it is ORD-0099999")
		ok(t, "EditMessage of the last message", err)
		got = mustGet(t, s, a.ID, c.ID)
		if !changed || got.LastMessageContent != "it is ORD-0099999" {
			t.Errorf("after editing the last message: changed %v, last %q", changed, got.LastMessageContent)
		}
		find("0012345")
		find("0099999", c)
		find("banana", c)

		// Errors: not a message, unknown ids, another assistant.
		_, _, err = s.EditMessage(ctx, a.ID, c.ID, all[2].ID, "x")
		wantErr(t, "EditMessage of a log event", err, cv.ErrNotFound)
		_, _, err = s.EditMessage(ctx, a.ID, c.ID, newUUID(), "x")
		wantErr(t, "EditMessage of an unknown message", err, cv.ErrNotFound)
		_, _, err = s.EditMessage(ctx, newAssistant(t, s).ID, c.ID, events[0].ID, "x")
		wantErr(t, "EditMessage of another assistant", err, cv.ErrNotFound)
	}},
	{"AddLog", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := chat(t, s, a.ID, "100", "100:1", "hello")
		before := mustGet(t, s, a.ID, c.ID)
		l := cv.Log{Kind: cv.LogDeliveryErr, Actor: cv.Actor{Type: "system"}, Content: "Reply not delivered",
			Details: map[string]any{"error": "chat not found", "message_id": "m"}}
		ev, created, err := s.AddLog(t.Context(), a.ID, c.ID, l, ptr("delivery-1"))
		ok(t, "AddLog", err)
		if !created {
			t.Errorf("AddLog: created = false for a new log")
		}
		checkLogEvent(t, "AddLog", ev, c.ID, 2, l)
		samePtr(t, "AddLog ExternalID", ev.ExternalID, ptr("delivery-1"))
		// The same external id again: the stored event, nothing added.
		again, created, err := s.AddLog(t.Context(), a.ID, c.ID, cv.Log{Kind: cv.LogDeliveryErr, Content: "other"}, ptr("delivery-1"))
		ok(t, "AddLog again", err)
		if created || again.ID != ev.ID {
			t.Errorf("AddLog again: created %v, id %s; want false, %s", created, again.ID, ev.ID)
		}
		// Without an external id every call adds one.
		_, created, err = s.AddLog(t.Context(), a.ID, c.ID, l, nil)
		ok(t, "AddLog without an external id", err)
		if !created {
			t.Errorf("AddLog without an external id: created = false")
		}
		all := allEvents(t, s, a.ID, c.ID)
		checkOrds(t, "Events", all, 1, 2, 3)
		got := mustGet(t, s, a.ID, c.ID)
		// Records, not changes of the conversation: the version (the ETag) stays.
		if got.EventCount != 3 || got.MessageCount != 1 || got.Version != before.Version || got.LastMessageContent != "hello" {
			t.Errorf("after two logs: events %d, messages %d, version %d, last %q; want 3, 1, %d, hello",
				got.EventCount, got.MessageCount, got.Version, got.LastMessageContent, before.Version)
		}
		// A later change numbers its events after them.
		ev2 := mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorVisitor, "again"))
		if ev2.Ord != 4 {
			t.Errorf("a message after two logs has ord %d, want 4", ev2.Ord)
		}
		_, _, err = s.AddLog(t.Context(), newAssistant(t, s).ID, c.ID, l, nil)
		wantErr(t, "AddLog of another assistant", err, cv.ErrNotFound)
	}},
}
