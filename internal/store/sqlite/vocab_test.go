package sqlite

import (
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// TestVocabCacheFollowsIndex: the words a prefix is restated as are kept while the search
// index is unchanged, and a word that a new message or a new conversation brings is listed
// at once, as is one that a deleted conversation took away.
func TestVocabCacheFollowsIndex(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), FileName)
	st, err := OpenFile(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := sql.Open(driverName, "file:"+path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	a, err := st.CreateAssistant(ctx, "A")
	if err != nil {
		t.Fatal(err)
	}
	create := func(text string) cv.Conversation {
		t.Helper()
		out, err := st.CreateConversations(ctx, a.ID, []cv.NewConversation{{Source: cv.SourceAPI,
			Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: text}}}})
		if err != nil {
			t.Fatal(err)
		}
		return out[0].Conversation
	}
	c := newVocabCache()
	want := func(step string, words ...string) {
		t.Helper()
		for range 2 { // listed, then from the cache
			got, err := c.prefixWords(ctx, r, "kwcache", probeWords)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, words) {
				t.Fatalf("%s: words %q, want %q", step, got, words)
			}
		}
	}
	first := create("hello kwcachea and kwcacheb")
	want("first", "kwcachea", "kwcacheb")
	if len(c.words) != 1 || c.structure == nil {
		t.Fatalf("nothing kept: %d prefixes, structure %x", len(c.words), c.structure)
	}
	create("kwcachec arrives")
	want("new conversation", "kwcachea", "kwcacheb", "kwcachec")
	if _, _, err := st.AppendMessage(ctx, a.ID, first.ID, cv.NewMessage{Author: cv.AuthorVisitor, Content: "and kwcached"}); err != nil {
		t.Fatal(err)
	}
	want("new message", "kwcachea", "kwcacheb", "kwcachec", "kwcached")
	if err := st.DeleteConversation(ctx, a.ID, first.ID); err != nil {
		t.Fatal(err)
	}
	want("deleted", "kwcachec")
}
