package storetest

import (
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// newWidgetSession creates a widget conversation and its session.
func newWidgetSession(t *testing.T, s store.Store, assistantID string, hash []byte, n cv.NewConversation) (store.WidgetSession, cv.Conversation) {
	t.Helper()
	if err := n.Validate(); err != nil {
		t.Fatalf("suite bug: NewConversation does not validate: %v", err)
	}
	ws, c, err := s.CreateWidgetSession(t.Context(), assistantID, n, hash)
	ok(t, "CreateWidgetSession", err)
	return ws, c
}

var widgetTests = []test{
	{"CreateAndFind", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		hash := randomHash()
		w := startWindow()
		ws, c := newWidgetSession(t, s, a.ID, hash, cv.NewConversation{
			Source: cv.SourceWidget, VisitorName: ptr("Ada"), VisitorEmail: ptr("ada@example.com"),
			URL: ptr("https://shop.example.com/pricing?plan=pro"),
		})
		w.close()
		checkUUID(t, "session ID", ws.ID)
		if ws.AssistantID != a.ID || ws.ConversationID != c.ID {
			t.Errorf("session = %+v, want assistant %s and conversation %s", ws, a.ID, c.ID)
		}
		w.check(t, "session CreatedAt", ws.CreatedAt)
		got := mustGet(t, s, a.ID, c.ID)
		if got.Source != cv.SourceWidget || got.MessageCount != 0 {
			t.Errorf("conversation source %q with %d messages, want widget with none", got.Source, got.MessageCount)
		}
		samePtr(t, "visitor_name", got.VisitorName, ptr("Ada"))
		samePtr(t, "visitor_email", got.VisitorEmail, ptr("ada@example.com"))
		samePtr(t, "url", got.URL, ptr("https://shop.example.com/pricing?plan=pro"))

		found, err := s.WidgetSession(t.Context(), a.ID, hash)
		ok(t, "WidgetSession", err)
		if found.ID != ws.ID || found.ConversationID != c.ID || found.AssistantID != a.ID {
			t.Errorf("WidgetSession = %+v, want %+v", found, ws)
		}
		sameTime(t, "found CreatedAt", found.CreatedAt, ws.CreatedAt)

		changes, err := s.Changes(t.Context(), a.ID, 0, 10)
		ok(t, "Changes", err)
		if len(changes) != 1 || changes[0].Type != cv.ChangeConversationCreated || changes[0].ConversationID != c.ID {
			t.Errorf("changes = %+v, want one conversation.created", changes)
		}
	}},
	{"UnknownHashAndOtherAssistant", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		hash := randomHash()
		newWidgetSession(t, s, a.ID, hash, cv.NewConversation{Source: cv.SourceWidget})
		_, err := s.WidgetSession(t.Context(), a.ID, randomHash())
		wantErr(t, "unknown hash", err, cv.ErrNotFound)
		_, err = s.WidgetSession(t.Context(), b.ID, hash)
		wantErr(t, "another assistant's session", err, cv.ErrNotFound)
		_, err = s.WidgetSession(t.Context(), a.ID, nil)
		wantErr(t, "empty hash", err, cv.ErrNotFound)
		for _, id := range malformedIDs {
			_, err = s.WidgetSession(t.Context(), id, hash)
			wantErr(t, "assistant "+id, err, cv.ErrNotFound)
		}
		_, _, err = s.CreateWidgetSession(t.Context(), newUUID(), cv.NewConversation{Source: cv.SourceWidget}, randomHash())
		wantErr(t, "unknown assistant", err, cv.ErrNotFound)
	}},
	{"HashIsUnique", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		hash := randomHash()
		newWidgetSession(t, s, a.ID, hash, cv.NewConversation{Source: cv.SourceWidget})
		if _, _, err := s.CreateWidgetSession(t.Context(), a.ID, cv.NewConversation{Source: cv.SourceWidget}, hash); err == nil {
			t.Fatal("a second session with the same hash was stored")
		}
		page := mustList(t, s, a.ID, cv.Filter{Limit: 10})
		if page.Count != 1 {
			t.Errorf("%d conversations after a refused session, want 1 (the refusal stores nothing)", page.Count)
		}
	}},
	{"GoesWithItsConversation", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		hash := randomHash()
		_, c := newWidgetSession(t, s, a.ID, hash, cv.NewConversation{Source: cv.SourceWidget})
		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, c.ID))
		_, err := s.WidgetSession(t.Context(), a.ID, hash)
		wantErr(t, "session of a deleted conversation", err, cv.ErrNotFound)
	}},
	{"LastChangeSeq", func(t *testing.T, s store.Store) {
		a, b := newAssistant(t, s), newAssistant(t, s)
		seq, err := s.LastChangeSeq(t.Context(), a.ID)
		ok(t, "LastChangeSeq", err)
		if seq != 0 {
			t.Errorf("LastChangeSeq of a new assistant = %d, want 0", seq)
		}
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hello"))
		mustAppend(t, s, a.ID, c.ID, msg(cv.AuthorOperator, "hi"))
		simple(t, s, b.ID, msg(cv.AuthorVisitor, "other"))
		changes, err := s.Changes(t.Context(), a.ID, 0, 100)
		ok(t, "Changes", err)
		seq, err = s.LastChangeSeq(t.Context(), a.ID)
		ok(t, "LastChangeSeq", err)
		if len(changes) == 0 || seq != changes[len(changes)-1].Seq {
			t.Errorf("LastChangeSeq = %d, want the last of %+v", seq, changes)
		}
		other, err := s.LastChangeSeq(t.Context(), b.ID)
		ok(t, "LastChangeSeq", err)
		if other <= seq {
			t.Errorf("LastChangeSeq of B = %d, want past A's %d (B changed later)", other, seq)
		}
		_, err = s.LastChangeSeq(t.Context(), "nope")
		wantErr(t, "malformed assistant", err, cv.ErrNotFound)
	}},
}
