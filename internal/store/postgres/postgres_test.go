package postgres_test

import (
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"

	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	if os.Getenv(enginetest.PostgresURLEnv) == "" {
		t.Skipf("%s not set: PostgreSQL conformance runs in CI", enginetest.PostgresURLEnv)
	}
	storetest.Run(t, func(t *testing.T) store.Store { return enginetest.Postgres(t) })
}

// TestSearchVectorFollowsDocument checks the store's upkeep of conversation_search.tsv
// (migration 00035): after random messages, analysis titles (from the messages' words or new
// ones) and titles set by hand, each document's tsvector holds the words of its text, as a
// parse of the whole would; and a first title of words the messages hold leaves the tsvector as
// it is.
func TestSearchVectorFollowsDocument(t *testing.T) {
	if os.Getenv(enginetest.PostgresURLEnv) == "" {
		t.Skipf("%s not set: PostgreSQL tests run in CI", enginetest.PostgresURLEnv)
	}
	ctx := t.Context()
	s, err := postgres.Open(ctx, enginetest.PostgresSchemaURL(t), nil, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	a, err := s.CreateAssistant(ctx, "tsv")
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(7, 35))
	vocab := strings.Fields("order parcel refund where is my the a late broken invoice ORD-0012345 zebra quokka " +
		"Rückerstattung help thanks café e-mail 42 x9 delivery address moving")
	words := func(n int) string {
		w := make([]string, n)
		for i := range w {
			w[i] = vocab[rnd.IntN(len(vocab))]
		}
		return strings.Join(w, " ")
	}
	var ids []string
	for i := range 40 {
		nc := cv.NewConversation{Source: cv.SourceWidget, Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: words(3 + rnd.IntN(8))}}}
		if i%2 == 0 {
			name := words(2)
			nc.VisitorName = &name
		}
		out, err := s.CreateConversations(ctx, a.ID, []cv.NewConversation{nc})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, out[0].Conversation.ID)
	}
	count := func() (differ, kept int) {
		t.Helper()
		err := s.DB().QueryRowContext(ctx, `SELECT
 count(*) FILTER (WHERE tsvector_to_array(tsv) IS DISTINCT FROM tsvector_to_array(to_tsvector('simple', meta || ' ' || body))),
 count(*) FILTER (WHERE tsv IS DISTINCT FROM to_tsvector('simple', meta || ' ' || body))
 FROM conversation_search`).Scan(&differ, &kept)
		if err != nil {
			t.Fatal(err)
		}
		return differ, kept
	}
	// First titles made of each conversation's first words: every document keeps its tsvector
	// (whose positions then differ from a new parse's).
	titles := map[string]*string{}
	var first []store.AnalysisSave
	for _, id := range ids {
		evs, err := s.Events(ctx, a.ID, id, cv.EventFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(evs.Items[0].Message.Content)
		title := strings.Join(f[:1+rnd.IntN(len(f))], " ")
		titles[id] = &title
		first = append(first, store.AnalysisSave{AssistantID: a.ID, ConversationID: id, Analysis: cv.Analysis{Title: &title}})
	}
	if _, err := s.SaveAnalyses(ctx, first); err != nil {
		t.Fatal(err)
	}
	if differ, kept := count(); differ != 0 || kept != len(ids) {
		t.Fatalf("after titles of their own words: %d documents lack words, %d of %d kept their tsvector", differ, kept, len(ids))
	}
	for range 400 {
		id := ids[rnd.IntN(len(ids))]
		switch op := rnd.IntN(4); op {
		case 0:
			if _, _, err := s.AppendMessage(ctx, a.ID, id, cv.NewMessage{Author: cv.AuthorVisitor, Content: words(1 + rnd.IntN(6))}); err != nil {
				t.Fatal(err)
			}
		case 1, 2: // an analysis title: the opening words of a message, or words of the vocabulary
			title := words(1 + rnd.IntN(3))
			if op == 1 {
				evs, err := s.Events(ctx, a.ID, id, cv.EventFilter{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				f := strings.Fields(evs.Items[rnd.IntN(len(evs.Items))].Message.Content)
				title = strings.Join(f[:1+rnd.IntN(len(f))], " ")
			}
			in := []store.AnalysisSave{{AssistantID: a.ID, ConversationID: id, Analysis: cv.Analysis{Title: &title, PreviousTitle: titles[id]}}}
			if other := ids[rnd.IntN(len(ids))]; other != id && rnd.IntN(2) == 0 {
				t2 := words(2)
				in = append(in, store.AnalysisSave{AssistantID: a.ID, ConversationID: other, Analysis: cv.Analysis{Title: &t2, PreviousTitle: titles[other]}})
			}
			errs, err := s.SaveAnalyses(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, e := range errs {
				if e != nil {
					t.Fatal(e)
				}
				c, err := s.Conversation(ctx, a.ID, in[i].ConversationID)
				if err != nil {
					t.Fatal(err)
				}
				titles[in[i].ConversationID] = c.Title
			}
		case 3: // by hand
			title := words(2)
			if _, err := s.UpdateConversation(ctx, a.ID, id, 0, func(c *cv.Conversation) ([]cv.Log, error) { c.Title = &title; return nil, nil }); err != nil {
				t.Fatal(err)
			}
			titles[id] = nil
		}
	}
	if differ, _ := count(); differ != 0 {
		t.Errorf("%d of %d documents' tsvectors do not hold the words of their text", differ, len(ids))
	}
}
