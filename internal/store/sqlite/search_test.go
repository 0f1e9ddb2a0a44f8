package sqlite

import (
	"path/filepath"
	"strings"
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

// storeWithAssistant opens a store in a new file, closed after the test, with one assistant.
func storeWithAssistant(t *testing.T) (*sqlstore.Store, cv.Assistant) {
	t.Helper()
	st, err := OpenFile(t.Context(), filepath.Join(t.TempDir(), FileName), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := st.CreateAssistant(t.Context(), "A")
	if err != nil {
		t.Fatal(err)
	}
	return st, a
}

// TestFirstTitleLeavesDocument: a first title made of a visitor message's words does not
// rewrite the search document (its stored fields stay as they were: no FTS5 work), yet finds the
// conversation; a title of new words, and an edited message, write the fields whole.
func TestFirstTitleLeavesDocument(t *testing.T) {
	ctx := t.Context()
	st, a := storeWithAssistant(t)
	name := "Ana Ruiz"
	out, err := st.CreateConversations(ctx, a.ID, []cv.NewConversation{{Source: cv.SourceAPI, VisitorName: &name,
		Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: "Where is my parcel ORD-77?"}}}})
	if err != nil {
		t.Fatal(err)
	}
	c := out[0].Conversation
	stored := func() string {
		t.Helper()
		var meta string
		if err := st.DB().QueryRowContext(ctx, `SELECT meta FROM conversation_search WHERE rowid = ?`, c.RowID).Scan(&meta); err != nil {
			t.Fatal(err)
		}
		return meta
	}
	finds := func(q string) bool {
		t.Helper()
		page, err := st.Conversations(ctx, a.ID, cv.Filter{Query: search.Parse(q)})
		if err != nil {
			t.Fatal(err)
		}
		return page.Count == 1
	}
	title := func(v string, previous *string) {
		t.Helper()
		errs, err := st.SaveAnalyses(ctx, []store.AnalysisSave{{AssistantID: a.ID, ConversationID: c.ID, Analysis: cv.Analysis{Title: &v, PreviousTitle: previous}}})
		if err == nil {
			err = errs[0]
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t1 := "Where is my parcel ORD-77"
	title(t1, nil)
	if got := stored(); got != "ana ruiz" || !finds("parcel ord-77 ana") {
		t.Fatalf("after a title of the message's words: stored fields %q (want them unchanged), found %v", got, finds("parcel ord-77 ana"))
	}
	t2 := "Lost parcel"
	title(t2, &t1)
	if got := stored(); got != "lost parcel ana ruiz" || !finds("lost") {
		t.Fatalf("after a title of new words: stored fields %q, found %v", got, finds("lost"))
	}
	t3 := "my parcel"
	title(t3, &t2)
	if got := stored(); got != "my parcel ana ruiz" {
		t.Fatalf("after a title of the message's words replaced one of new words: stored fields %q, want them whole", got)
	}
	if finds("lost") {
		t.Fatal(`"lost" still finds the conversation after its title changed`)
	}
}

// TestSearchSkipsAssistantTokens: the index's aid column holds each document's assistant
// token; a search for that token, whole or as a prefix, finds no conversation (the expression
// then keeps to meta and body), while an ordinary word is searched without the column filter.
func TestSearchSkipsAssistantTokens(t *testing.T) {
	ctx := t.Context()
	st, a := storeWithAssistant(t)
	for _, text := range []string{"Hello there", "Order done, thanks"} {
		if _, err := st.CreateConversations(ctx, a.ID, []cv.NewConversation{{Source: cv.SourceAPI,
			Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: text}}}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string) int64 {
		t.Helper()
		page, err := st.Conversations(ctx, a.ID, cv.Filter{Query: search.Parse(q)})
		if err != nil {
			t.Fatal(err)
		}
		return page.Count
	}
	tok := aidToken(a.ID)
	for _, q := range []string{tok, tok[:12], strings.ToUpper(tok[:20]), "hello " + tok[:6]} {
		if n := count(q); n != 0 {
			t.Errorf("query %q (the assistant's token or its start) found %d conversations, want 0", q, n)
		}
	}
	if n := count("done"); n != 1 {
		t.Errorf(`query "done" found %d conversations, want 1`, n)
	}
	if got := (Dialect{}).SearchArg(search.Parse("order done")); strings.Contains(got, "{") {
		t.Errorf("SearchArg(order done) = %s: a column filter for words that are no assistant token", got)
	}
}
