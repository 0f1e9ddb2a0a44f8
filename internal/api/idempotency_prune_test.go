package api_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
)

// TestIdempotencyPruner: a key is kept while a retry could still use it, and pruned after.
func TestIdempotencyPruner(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		st := open(t)
		ctx := t.Context()
		a, err := st.CreateAssistant(ctx, "A")
		if err != nil {
			t.Fatal(err)
		}
		if _, claimed, err := st.ClaimIdempotencyKey(ctx, a.ID, "k", "f"); err != nil || !claimed {
			t.Fatalf("claim: %v %v", claimed, err)
		}
		if err := st.FinishIdempotencyKey(ctx, a.ID, "k", 201, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		claimedAfter := func(at time.Time) bool {
			t.Helper()
			(&api.IdempotencyPruner{Store: st, Now: func() time.Time { return at }}).Prune(ctx)
			rec, claimed, err := st.ClaimIdempotencyKey(ctx, a.ID, "k", "f")
			if err != nil {
				t.Fatal(err)
			}
			if !claimed && rec.Status != 201 {
				t.Fatalf("kept record %+v", rec)
			}
			return claimed
		}
		if claimedAfter(time.Now().Add(store.IdempotencyTTL - time.Minute)) {
			t.Fatal("a key a retry could still use was pruned")
		}
		if !claimedAfter(time.Now().Add(store.IdempotencyTTL + time.Minute)) {
			t.Fatal("a key past its retry window was kept")
		}
	})
}
