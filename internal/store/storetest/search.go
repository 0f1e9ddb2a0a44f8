package storetest

import (
	"strings"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// searchFixture is four conversations of one assistant (ords 1 to 4, in this order). Every AI
// reply says "Happy to help", so "happy" finds them all; no text has a word that starts with
// a digit other than 0, so "2" finds only ord 2.
type searchFixture struct {
	a                         cv.Assistant
	parcel, german, split, ca cv.Conversation
	names                     map[string]string
}

func newSearchFixture(t *testing.T, s store.Store) *searchFixture {
	t.Helper()
	f := &searchFixture{a: newAssistant(t, s)}
	f.parcel = createSearchable(t, s, f.a.ID, cv.SourceWidget, ptr("John"), ptr("john@example.com"),
		msg(cv.AuthorVisitor, "Where is my parcel ORD-0012345?", 0),
		msg(cv.AuthorAI, "Happy to help, let me check.", time.Minute))
	f.german = createSearchable(t, s, f.a.ID, cv.SourceWhatsApp, nil, nil,
		msg(cv.AuthorVisitor, "Ich möchte eine Rückerstattung", time.Hour),
		msg(cv.AuthorAI, "Happy to help.", time.Hour+time.Minute))
	f.split = createSearchable(t, s, f.a.ID, cv.SourceTelegram, nil, nil,
		msg(cv.AuthorVisitor, "alpha question", 2*time.Hour),
		msg(cv.AuthorAI, "Happy to help.", 2*time.Hour+time.Minute),
		msg(cv.AuthorVisitor, "bravo follows", 2*time.Hour+2*time.Minute))
	f.ca = createSearchable(t, s, f.a.ID, cv.SourceSlack, ptr("Maria"), nil,
		msg(cv.AuthorVisitor, "Do you ship to Canada?", 3*time.Hour),
		msg(cv.AuthorAI, "Happy to help: yes we do.", 3*time.Hour+time.Minute))
	f.names = map[string]string{f.parcel.ID: "parcel", f.german.ID: "german", f.split.ID: "split", f.ca.ID: "canada"}
	if f.parcel.Ord != 1 || f.german.Ord != 2 || f.split.Ord != 3 || f.ca.Ord != 4 {
		t.Fatalf("search fixture ords = %d %d %d %d, want 1 2 3 4", f.parcel.Ord, f.german.Ord, f.split.Ord, f.ca.Ord)
	}
	return f
}

func createSearchable(t *testing.T, s store.Store, assistantID, source string, name, email *string, msgs ...cv.NewMessage) cv.Conversation {
	t.Helper()
	return mustCreate(t, s, assistantID, cv.NewConversation{Source: source, VisitorName: name, VisitorEmail: email, CreatedAt: tp(0), Messages: msgs})
}

// find checks which conversations query q finds, in any order, with a correct Count.
func (f *searchFixture) find(t *testing.T, s store.Store, q string, want ...cv.Conversation) {
	t.Helper()
	sameIDSet(t, "query "+q, listIDs(t, s, f.a.ID, cv.Filter{Query: query(q)}), ids(want), f.names)
}

var searchTests = []test{
	{"Words", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		for _, q := range []string{"ORD-0012345", "ord-0012345", "0012345", "ORD 0012345", "parcel", "PARCEL", "Parcel",
			"parc", "where parcel", "Where is my parcel", "parcel?", "where parc", "ord"} {
			f.find(t, s, q, f.parcel)
		}
		for _, q := range []string{"arc", "parcels", "arcel", "where banana", "banana parcel", "0012345x", "ORD-0012346"} {
			f.find(t, s, q)
		}
		all := []cv.Conversation{f.parcel, f.german, f.split, f.ca}
		f.find(t, s, "happy", all...)
		f.find(t, s, "HELP", all...)
		f.find(t, s, "happy to help", all...)
		f.find(t, s, "canada", f.ca)
	}},
	{"AccentsAndCase", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		for _, q := range []string{"ruckerstattung", "Rückerstattung", "RÜCKERSTATTUNG", "rückerst", "mochte", "möchte", "ich mochte"} {
			f.find(t, s, q, f.german)
		}
	}},
	{"VisitorFields", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		for _, q := range []string{"John", "john", "john@example.com", "JOHN@EXAMPLE.COM", "example"} {
			f.find(t, s, q, f.parcel)
		}
		f.find(t, s, "maria", f.ca)
		f.find(t, s, "john parcel", f.parcel)
		f.find(t, s, "maria parcel")
	}},
	{"WholeConversationIsTheDocument", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		f.find(t, s, "alpha bravo", f.split)
		f.find(t, s, "bravo alpha", f.split)
		f.find(t, s, "alpha canada")
		f.find(t, s, "maria canada", f.ca) // a visitor field and a message
	}},
	{"LaterWritesAreSearchable", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		f.find(t, s, "xylophone")
		mustAppend(t, s, f.a.ID, f.ca.ID, msg(cv.AuthorVisitor, "Also a xylophone, please", 4*time.Hour))
		f.find(t, s, "xylophone", f.ca)
		f.find(t, s, "canada xylophone", f.ca)

		// Messages appended through an external_id repeat are indexed too.
		nc := cv.NewConversation{Source: cv.SourceTelegram, ExternalID: ptr("chat-7"), Messages: []cv.NewMessage{withExt(msg(cv.AuthorVisitor, "first", 0), "u1")}}
		c := mustCreate(t, s, f.a.ID, nc)
		f.names[c.ID] = "chat-7"
		nc.Messages = append(nc.Messages, withExt(msg(cv.AuthorVisitor, "quokka sighting", time.Minute), "u2"))
		upsert(t, s, f.a.ID, nc)
		f.find(t, s, "quokka", c)

		// The title and visitor fields follow updates.
		patch(t, s, f.a.ID, f.german.ID, 0, cv.Patch{Title: ptr(ptr("Refund request"))})
		f.find(t, s, "refund", f.german)
		patch(t, s, f.a.ID, f.ca.ID, 0, cv.Patch{VisitorName: ptr(ptr("Marta"))})
		f.find(t, s, "marta", f.ca)
		f.find(t, s, "maria")
		var none *string
		patch(t, s, f.a.ID, f.parcel.ID, 0, cv.Patch{VisitorEmail: &none})
		f.find(t, s, "example")
		f.find(t, s, "john", f.parcel) // the name stays
	}},
	{"AnalysisTitles", func(t *testing.T, s store.Store) {
		// An analysis' title is searchable, and so is the document after the title changes
		// again: words of a title that a later one replaced no longer find the conversation
		// unless its messages hold them. Titles made of the messages' own words (the usual
		// case) and titles of new words, through both SaveAnalyses and SaveAnalysis.
		f := newSearchFixture(t, s)
		order := createSearchable(t, s, f.a.ID, cv.SourceWidget, ptr("Liam Johnson"), nil,
			msg(cv.AuthorVisitor, "Where is my order ORD-1555435? I'm moving", 4*time.Hour),
			msg(cv.AuthorAI, "Happy to help.", 4*time.Hour+time.Minute))
		ship := createSearchable(t, s, f.a.ID, cv.SourceWidget, nil, nil,
			msg(cv.AuthorVisitor, "Do you ship to Iceland?", 5*time.Hour))
		f.names[order.ID], f.names[ship.ID] = "order", "ship"
		titled := func(title, previous *string) cv.Analysis {
			return cv.Analysis{Title: title, PreviousTitle: previous, Sentiment: ptr("neutral")}
		}
		save := func(pairs ...any) {
			t.Helper()
			var in []store.AnalysisSave
			for i := 0; i < len(pairs); i += 2 {
				in = append(in, store.AnalysisSave{AssistantID: f.a.ID, ConversationID: pairs[i].(cv.Conversation).ID, Analysis: pairs[i+1].(cv.Analysis)})
			}
			if len(in) == 1 {
				_, err := s.SaveAnalysis(t.Context(), f.a.ID, in[0].ConversationID, in[0].Analysis)
				ok(t, "SaveAnalysis", err)
				return
			}
			errs, err := s.SaveAnalyses(t.Context(), in)
			ok(t, "SaveAnalyses", err)
			for _, err := range errs {
				ok(t, "SaveAnalyses", err)
			}
		}
		t1, t2 := "Where is my order ORD-1555435?", "Shipping to Iceland quokka"
		save(order, titled(&t1, nil), ship, titled(&t2, nil))
		for _, q := range []string{"where is my order", "ORD-1555435", "1555435", "liam", "johnson", "moving", "order liam"} {
			f.find(t, s, q, order)
		}
		f.find(t, s, "quokka", ship)
		f.find(t, s, "shipping iceland", ship)
		f.find(t, s, "iceland", ship)

		// New titles: the old ones' own words go.
		t3, t4 := "Zebra crossing", "Do you ship"
		save(order, titled(&t3, &t1), ship, titled(&t4, &t2))
		f.find(t, s, "zebra", order)
		f.find(t, s, "crossing liam", order)
		f.find(t, s, "quokka")
		f.find(t, s, "shipping")
		f.find(t, s, "ship iceland", ship)
		t5 := "Where is my order"
		save(order, titled(&t5, &t3))
		f.find(t, s, "zebra")
		f.find(t, s, "liam", order)
		f.find(t, s, "is my order", order)

		// A first title made of a message's words stays searchable when that message is
		// edited (the document may have kept its fields without the title).
		jam := createSearchable(t, s, f.a.ID, cv.SourceWidget, nil, nil,
			msg(cv.AuthorVisitor, "Quince jam please", 7*time.Hour), msg(cv.AuthorAI, "Happy to help.", 7*time.Hour+time.Minute))
		f.names[jam.ID] = "jam"
		t6 := "Quince jam please"
		save(jam, titled(&t6, nil))
		f.find(t, s, "quince jam", jam)
		if _, _, err := s.EditMessage(t.Context(), f.a.ID, jam.ID, allEvents(t, s, f.a.ID, jam.ID)[0].ID, "Never mind"); err != nil {
			t.Fatal(err)
		}
		f.find(t, s, "quince jam", jam)
		f.find(t, s, "never mind", jam)

		// Messages after the analysis are found with the title's words.
		mustAppend(t, s, f.a.ID, order.ID, msg(cv.AuthorVisitor, "bananas arrived", 6*time.Hour))
		f.find(t, s, "bananas where", order)
		mustAppend(t, s, f.a.ID, ship.ID, msg(cv.AuthorVisitor, "and to Greenland", 6*time.Hour))
		f.find(t, s, "greenland ship", ship)
		f.find(t, s, "iceland and", ship)
	}},
	{"ByID", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		f.find(t, s, f.german.ID, f.german)
		f.find(t, s, strings.ToUpper(f.german.ID), f.german)
		f.find(t, s, " "+f.german.ID+" ", f.german)
		events := allEvents(t, s, f.a.ID, f.split.ID)
		f.find(t, s, events[1].ID, f.split)
		logged := patch(t, s, f.a.ID, f.parcel.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved)})
		logs := mustEvents(t, s, f.a.ID, logged.ID, cv.EventFilter{Types: []string{cv.EventLog}, Limit: 10}).Items
		if len(logs) != 1 {
			t.Fatalf("%d log events, want 1", len(logs))
		}
		f.find(t, s, logs[0].ID, f.parcel)
		f.find(t, s, newUUID())
	}},
	{"ByOrd", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		f.find(t, s, "#2", f.german)
		f.find(t, s, "2", f.german)
		f.find(t, s, "#4", f.ca)
		f.find(t, s, "#9")
		f.find(t, s, "9")
	}},
	{"OtherAssistants", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		b := newAssistant(t, s)
		twin := createSearchable(t, s, b.ID, cv.SourceWidget, ptr("John"), ptr("john@example.com"),
			msg(cv.AuthorVisitor, "Where is my parcel ORD-0012345?", 0),
			msg(cv.AuthorAI, "Happy to help, let me check.", time.Minute))
		f.names[twin.ID] = "B's twin"
		inB := func(q string, want ...cv.Conversation) {
			t.Helper()
			sameIDSet(t, "B: query "+q, listIDs(t, s, b.ID, cv.Filter{Query: query(q)}), ids(want), f.names)
		}
		for _, q := range []string{"parcel", "ORD-0012345", "john", "happy", "#1", "1", twin.ID} {
			inB(q, twin)
		}
		f.find(t, s, "parcel", f.parcel)
		f.find(t, s, "0012345", f.parcel)
		f.find(t, s, "#1", f.parcel)
		f.find(t, s, twin.ID)
		inB(f.parcel.ID)
		inB(f.german.ID)
		inB("ruckerstattung")
		inB("#2")
		inB(allEvents(t, s, f.a.ID, f.parcel.ID)[0].ID)
		f.find(t, s, allEvents(t, s, b.ID, twin.ID)[0].ID)
	}},
	{"WithFiltersPagingAndSort", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		happy := query("happy")
		p := mustList(t, s, f.a.ID, cv.Filter{Query: happy, Limit: 2})
		if len(p.Items) != 2 || p.Count != 4 {
			t.Errorf("happy, limit 2: %d items, Count %d; want 2, 4", len(p.Items), p.Count)
		}
		sameIDs(t, "happy by ord", listIDs(t, s, f.a.ID, cv.Filter{Query: happy, Sort: cv.SortOrd}),
			ids([]cv.Conversation{f.parcel, f.german, f.split, f.ca}), f.names)
		sameIDs(t, "happy, newest first, page 2", ids(mustList(t, s, f.a.ID, cv.Filter{Query: happy, Desc: true, Limit: 2, Offset: 2}).Items),
			ids([]cv.Conversation{f.german, f.parcel}), f.names)
		sameIDSet(t, "happy, widget or slack", listIDs(t, s, f.a.ID, cv.Filter{Query: happy, Sources: []string{cv.SourceWidget, cv.SourceSlack}}),
			ids([]cv.Conversation{f.parcel, f.ca}), f.names)
		sameIDSet(t, "parcel on slack", listIDs(t, s, f.a.ID, cv.Filter{Query: query("parcel"), Sources: []string{cv.SourceSlack}}), nil, f.names)
		sameIDSet(t, "happy, resolved", listIDs(t, s, f.a.ID, cv.Filter{Query: happy, Statuses: []string{cv.StatusResolved}}), nil, f.names)
		patch(t, s, f.a.ID, f.german.ID, 0, cv.Patch{ResolutionStatus: ptr(cv.StatusResolved)})
		sameIDSet(t, "happy, resolved after update", listIDs(t, s, f.a.ID, cv.Filter{Query: happy, Statuses: []string{cv.StatusResolved}}),
			ids([]cv.Conversation{f.german}), f.names)
		sameIDSet(t, "happy, last from 2h", listIDs(t, s, f.a.ID, cv.Filter{Query: happy, LastFrom: tp(2 * time.Hour)}),
			ids([]cv.Conversation{f.split, f.ca}), f.names)
		sameIDSet(t, "#2 and widget", listIDs(t, s, f.a.ID, cv.Filter{Query: query("#2"), Sources: []string{cv.SourceWidget}}), nil, f.names)
		sameIDSet(t, "uuid and resolved", listIDs(t, s, f.a.ID, cv.Filter{Query: query(f.german.ID), Statuses: []string{cv.StatusResolved}}),
			ids([]cv.Conversation{f.german}), f.names)
		sameIDSet(t, "uuid and open", listIDs(t, s, f.a.ID, cv.Filter{Query: query(f.german.ID), Statuses: []string{cv.StatusOpen}}), nil, f.names)
		got := walk(t, s, f.a.ID, cv.Filter{Query: happy, Sort: cv.SortOrd, Desc: true}, 1, 4)
		sameIDs(t, "happy, cursor walk", ids(got), ids([]cv.Conversation{f.ca, f.split, f.german, f.parcel}), f.names)
	}},
	{"EmptyQueryFindsAll", func(t *testing.T, s store.Store) {
		f := newSearchFixture(t, s)
		for _, q := range []string{"", "   ", "?!"} {
			if !query(q).IsEmpty() {
				continue // search.Parse decides what is empty; only empty queries are checked here
			}
			sameIDSet(t, "query "+q, listIDs(t, s, f.a.ID, cv.Filter{Query: query(q)}),
				ids([]cv.Conversation{f.parcel, f.german, f.split, f.ca}), f.names)
		}
	}},
}
