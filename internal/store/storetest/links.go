package storetest

import (
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// linkID returns a random id shaped like the links package's.
func linkID() string { return "L" + newUUID()[:8] + newUUID()[:13] }

// withLinks returns m carrying tracked links.
func withLinks(m cv.NewMessage, links ...cv.NewLink) cv.NewMessage {
	m.Links = links
	return m
}

var linkTests = []test{
	{"StoredWithTheMessage", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "where is my order?"))
		l1, l2 := cv.NewLink{ID: linkID(), URL: "https://shop.example.com/orders?id=7"}, cv.NewLink{ID: linkID(), URL: "http://example.org/"}
		w := startWindow()
		ev := mustAppend(t, s, a.ID, c.ID, withLinks(msg(cv.AuthorOperator, "see https://x/l/"+l1.ID+" and https://x/l/"+l2.ID), l1, l2))
		w.close()
		for _, want := range []cv.NewLink{l1, l2} {
			got, err := s.Link(t.Context(), want.ID)
			ok(t, "Link", err)
			if got.ID != want.ID || got.URL != want.URL || got.AssistantID != a.ID || got.ConversationID != c.ID || got.MessageID != ev.ID {
				t.Errorf("Link(%s) = %+v, want url %s in message %s of conversation %s", want.ID, got, want.URL, ev.ID, c.ID)
			}
			w.check(t, "link CreatedAt", got.CreatedAt)
		}
	}},
	{"StoredWithInitialMessages", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		l := cv.NewLink{ID: linkID(), URL: "https://example.com/a"}
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi"), withLinks(msg(cv.AuthorAI, "read https://x/l/"+l.ID), l))
		evs := allEvents(t, s, a.ID, c.ID)
		got, err := s.Link(t.Context(), l.ID)
		ok(t, "Link", err)
		if len(evs) != 2 || got.MessageID != evs[1].ID || got.ConversationID != c.ID {
			t.Errorf("Link = %+v, want message %s", got, evs[len(evs)-1].ID)
		}
	}},
	{"RetryStoresNoLinks", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID)
		first := cv.NewLink{ID: linkID(), URL: "https://example.com/1"}
		mustAppend(t, s, a.ID, c.ID, withLinks(withExt(msg(cv.AuthorAI, "one"), "m-1"), first))
		again := cv.NewLink{ID: linkID(), URL: "https://example.com/1"}
		m := withLinks(withExt(msg(cv.AuthorAI, "one"), "m-1"), again)
		ok(t, "validate", m.Validate(""))
		_, created, err := s.AppendMessage(t.Context(), a.ID, c.ID, m)
		ok(t, "AppendMessage (retry)", err)
		if created {
			t.Fatal("the retry created a message")
		}
		_, err = s.Link(t.Context(), again.ID)
		wantErr(t, "link of a retried message", err, cv.ErrNotFound)
		_, err = s.Link(t.Context(), first.ID)
		ok(t, "link of the first message", err)
	}},
	{"Click", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID, msg(cv.AuthorVisitor, "hi"))
		l := cv.NewLink{ID: linkID(), URL: "https://example.com/p?q=1#top"}
		ev := mustAppend(t, s, a.ID, c.ID, withLinks(msg(cv.AuthorAI, "x"), l))
		before := mustGet(t, s, a.ID, c.ID)
		seq, err := s.LastChangeSeq(t.Context(), a.ID)
		ok(t, "LastChangeSeq", err)

		visitor := cv.Actor{Type: cv.AuthorVisitor}
		w := startWindow()
		click, err := s.ClickLink(cv.WithActor(t.Context(), visitor), l.ID)
		ok(t, "ClickLink", err)
		w.close()
		if click.Link.ID != l.ID || click.Link.URL != l.URL || click.Link.MessageID != ev.ID {
			t.Errorf("click.Link = %+v", click.Link)
		}
		if click.Conversation.ID != c.ID || click.Conversation.Source != cv.SourceWidget {
			t.Errorf("click.Conversation = %s (%s), want %s (widget)", click.Conversation.ID, click.Conversation.Source, c.ID)
		}
		e := click.Event
		checkUUID(t, "event id", e.ID)
		w.check(t, "event CreatedAt", e.CreatedAt)
		if e.Type != cv.EventTrackedLink || e.Ord != before.EventCount+1 || e.TrackedLink == nil {
			t.Fatalf("event = %+v, want tracked_link at ord %d", e, before.EventCount+1)
		}
		if e.TrackedLink.LinkID != l.ID || e.TrackedLink.URL != l.URL || e.TrackedLink.MessageID == nil || *e.TrackedLink.MessageID != ev.ID {
			t.Errorf("tracked_link data = %+v", *e.TrackedLink)
		}
		after := mustGet(t, s, a.ID, c.ID)
		if after.Version != before.Version {
			t.Errorf("version %d -> %d: a click is no change of the conversation's fields", before.Version, after.Version)
		}
		if after.EventCount != before.EventCount+1 || after.MessageCount != before.MessageCount {
			t.Errorf("counts: events %d -> %d, messages %d -> %d", before.EventCount, after.EventCount, before.MessageCount, after.MessageCount)
		}
		evs := allEvents(t, s, a.ID, c.ID)
		last := evs[len(evs)-1]
		if last.ID != e.ID || last.TrackedLink == nil || last.TrackedLink.LinkID != l.ID {
			t.Errorf("timeline ends with %+v, want the click", last)
		}
		changes, err := s.Changes(t.Context(), a.ID, seq, 10)
		ok(t, "Changes", err)
		if len(changes) != 1 || changes[0].Type != cv.ChangeTrackedLinkClicked || changes[0].EventID == nil || *changes[0].EventID != e.ID ||
			changes[0].ConversationID != c.ID || changes[0].Actor.Type != cv.AuthorVisitor {
			t.Errorf("changes after the click = %+v, want one tracked_link.clicked naming the event, by the visitor", changes)
		}
		second, err := s.ClickLink(t.Context(), l.ID)
		ok(t, "ClickLink again", err)
		if second.Event.Ord != e.Ord+1 {
			t.Errorf("second click at ord %d, want %d: every click is recorded", second.Event.Ord, e.Ord+1)
		}
	}},
	{"Unknown", func(t *testing.T, s store.Store) {
		for _, id := range append(malformedIDs, linkID(), string(make([]byte, 200))) {
			_, err := s.Link(t.Context(), id)
			wantErr(t, "Link "+id, err, cv.ErrNotFound)
			_, err = s.ClickLink(t.Context(), id)
			wantErr(t, "ClickLink "+id, err, cv.ErrNotFound)
		}
	}},
	{"GoWithTheirConversation", func(t *testing.T, s store.Store) {
		a := newAssistant(t, s)
		c := simple(t, s, a.ID)
		l := cv.NewLink{ID: linkID(), URL: "https://example.com/"}
		mustAppend(t, s, a.ID, c.ID, withLinks(msg(cv.AuthorAI, "x"), l))
		ok(t, "DeleteConversation", s.DeleteConversation(t.Context(), a.ID, c.ID))
		_, err := s.Link(t.Context(), l.ID)
		wantErr(t, "link of a deleted conversation", err, cv.ErrNotFound)
		_, err = s.ClickLink(t.Context(), l.ID)
		wantErr(t, "click of a deleted conversation's link", err, cv.ErrNotFound)
	}},
}
