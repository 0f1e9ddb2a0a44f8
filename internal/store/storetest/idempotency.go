package storetest

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
)

var idempotencyTests = []test{
	// PruneIdempotencyKeys deletes the keys claimed before its time, of every assistant, and
	// only those: a pruned key is claimed afresh, a kept one still answers with its record.
	{"PruneByAge", func(t *testing.T, s store.Store) {
		ctx := t.Context()
		a, b := newAssistant(t, s), newAssistant(t, s)
		for _, id := range []string{a.ID, b.ID} {
			for _, key := range []string{"k1", "k2"} {
				_, claimed, err := s.ClaimIdempotencyKey(ctx, id, key, "f")
				ok(t, "ClaimIdempotencyKey", err)
				if !claimed {
					t.Fatalf("%s/%s: a new key was not claimed", id, key)
				}
				ok(t, "FinishIdempotencyKey", s.FinishIdempotencyKey(ctx, id, key, 201, []byte(`{"ok":true}`)))
			}
		}
		n, err := s.PruneIdempotencyKeys(ctx, time.Now().Add(-time.Hour))
		ok(t, "PruneIdempotencyKeys", err)
		if n != 0 {
			t.Fatalf("pruned %d keys claimed now with a limit an hour ago, want 0", n)
		}
		rec, claimed, err := s.ClaimIdempotencyKey(ctx, a.ID, "k1", "f")
		ok(t, "ClaimIdempotencyKey", err)
		if claimed || rec.Status != 201 {
			t.Fatalf("a kept key: claimed %v, record %+v", claimed, rec)
		}
		n, err = s.PruneIdempotencyKeys(ctx, time.Now().Add(time.Minute))
		ok(t, "PruneIdempotencyKeys", err)
		if n != 4 {
			t.Fatalf("pruned %d keys, want the 4 of both assistants", n)
		}
		for _, id := range []string{a.ID, b.ID} {
			if _, claimed, err := s.ClaimIdempotencyKey(ctx, id, "k2", "f"); err != nil || !claimed {
				t.Fatalf("%s/k2 after pruning: claimed %v, %v; want claimed afresh", id, claimed, err)
			}
		}
	}},
}
