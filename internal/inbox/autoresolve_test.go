package inbox_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

func setup(t *testing.T, st store.Store, after string) (string, cv.Conversation) {
	t.Helper()
	ctx := context.Background()
	a, err := st.CreateAssistant(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if after != "" {
		if err := st.SaveSettings(ctx, a.ID, json.RawMessage(`{"auto_resolve_after": "`+after+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	n := cv.NewConversation{Source: "api", Messages: []cv.NewMessage{{Author: "visitor", Content: "hello?"}}}
	if err := n.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := st.CreateConversations(ctx, a.ID, []cv.NewConversation{n})
	if err != nil {
		t.Fatal(err)
	}
	return a.ID, res[0].Conversation
}

func TestAutoResolveWithClock(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		ctx := context.Background()
		st := open(t)
		aID, c := setup(t, st, "2h")
		otherID, other := setup(t, st, "") // no auto-resolve for this assistant
		now := c.LastMessageAt
		r := &inbox.AutoResolver{Store: st, Now: func() time.Time { return now }}

		now = c.LastMessageAt.Add(2*time.Hour - time.Second)
		if n, err := r.Sweep(ctx); err != nil || n != 0 {
			t.Fatalf("before the deadline: resolved %d (%v)", n, err)
		}
		now = c.LastMessageAt.Add(2*time.Hour + time.Second)
		if n, err := r.Sweep(ctx); err != nil || n != 1 {
			t.Fatalf("after the deadline: resolved %d (%v), want 1", n, err)
		}
		if n, _ := r.Sweep(ctx); n != 0 {
			t.Fatalf("second sweep resolved %d again", n)
		}
		got, _ := st.Conversation(ctx, aID, c.ID)
		if got.ResolutionStatus != cv.StatusResolved {
			t.Fatalf("status %s", got.ResolutionStatus)
		}
		ev, _ := st.Events(ctx, aID, c.ID, cv.EventFilter{Types: []string{cv.EventLog}})
		if len(ev.Items) != 1 {
			t.Fatalf("%d logs", len(ev.Items))
		}
		l := ev.Items[0].Log
		if l.Kind != cv.LogResolution || l.Actor.Type != "system" || l.Details["assumed"] != true || l.Details["to"] != cv.StatusResolved {
			t.Fatalf("log %+v", l)
		}
		if o, _ := st.Conversation(ctx, otherID, other.ID); o.ResolutionStatus != cv.StatusOpen {
			t.Fatalf("an assistant without auto_resolve_after had a conversation resolved")
		}
	})
}

// TestAutoResolveRuns checks the real loop: with "1s", the conversation is resolved well
// within 10 seconds of its deadline.
func TestAutoResolveRuns(t *testing.T) {
	st := enginetest.SQLite(t)
	aID, c := setup(t, st, "1s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go (&inbox.AutoResolver{Store: st}).Run(ctx, 100*time.Millisecond)
	deadline := c.LastMessageAt.Add(time.Second)
	for {
		got, err := st.Conversation(ctx, aID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ResolutionStatus == cv.StatusResolved {
			return
		}
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("not resolved 10 s after its deadline")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
