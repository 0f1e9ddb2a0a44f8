package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// The writer leaves the WAL to the checkpointer, which copies it into the database while
// writes go on, and empties it when the store closes.
func TestCheckpointer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := st.CreateAssistant(ctx, "checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	before := checkpoints.Load()
	text := "a message long enough to fill some pages of the write-ahead log "
	for i := range 300 {
		in := []cv.NewConversation{{Source: cv.SourceAPI, Messages: []cv.NewMessage{{Author: cv.AuthorVisitor, Content: text}}}}
		if _, err := st.CreateConversations(ctx, a.ID, in); err != nil {
			t.Fatalf("conversation %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for checkpoints.Load() < before+2 {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, FileName+"-wal")); err == nil && fi.Size() != 0 {
		t.Errorf("WAL after close: %d bytes, want 0", fi.Size())
	}
	st, err = Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.Conversations(ctx, a.ID, cv.Filter{Limit: 1})
	if err != nil || p.Count != 300 {
		t.Fatalf("after reopening: count %d, %v; want 300", p.Count, err)
	}
}
