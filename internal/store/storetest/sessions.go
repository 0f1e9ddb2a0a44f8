package storetest

import (
	"bytes"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// newOperator creates an operator with a unique email.
func newOperator(t *testing.T, s store.Store, name string) cv.Operator {
	t.Helper()
	op, err := s.CreateOperator(t.Context(), name, newUUID()+"@example.com", "$argon2id$test")
	ok(t, "CreateOperator", err)
	return op
}

func newSession(operatorID string, created time.Time, ttl time.Duration) store.Session {
	created = created.UTC().Truncate(time.Microsecond)
	return store.Session{ID: newUUID(), OperatorID: operatorID, Hash: randomHash(), CreatedAt: created, LastSeenAt: created, ExpiresAt: created.Add(ttl)}
}

var sessionTests = []test{
	{"CreateAndFind", func(t *testing.T, s store.Store) {
		op := newOperator(t, s, "Ada")
		sess := newSession(op.ID, at(0), 7*24*time.Hour)
		ok(t, "CreateSession", s.CreateSession(t.Context(), sess))
		got, gotOp, err := s.SessionByHash(t.Context(), sess.Hash)
		ok(t, "SessionByHash", err)
		if got.ID != sess.ID || got.OperatorID != op.ID || !bytes.Equal(got.Hash, sess.Hash) {
			t.Errorf("session = %+v, want %+v", got, sess)
		}
		sameTime(t, "CreatedAt", got.CreatedAt, sess.CreatedAt)
		sameTime(t, "LastSeenAt", got.LastSeenAt, sess.LastSeenAt)
		sameTime(t, "ExpiresAt", got.ExpiresAt, sess.ExpiresAt)
		if gotOp.ID != op.ID || gotOp.Name != "Ada" || gotOp.Email != op.Email || gotOp.PasswordHash != "$argon2id$test" {
			t.Errorf("operator = %+v, want %+v", gotOp, op)
		}
	}},
	{"UnknownHashIsNotFound", func(t *testing.T, s store.Store) {
		op := newOperator(t, s, "Ada")
		ok(t, "CreateSession", s.CreateSession(t.Context(), newSession(op.ID, at(0), time.Hour)))
		_, _, err := s.SessionByHash(t.Context(), randomHash())
		wantErr(t, "SessionByHash(random)", err, cv.ErrNotFound)
		_, _, err = s.SessionByHash(t.Context(), nil)
		wantErr(t, "SessionByHash(nil)", err, cv.ErrNotFound)
	}},
	{"UnknownOperatorIsNotFound", func(t *testing.T, s store.Store) {
		err := s.CreateSession(t.Context(), newSession(newUUID(), at(0), time.Hour))
		wantErr(t, "CreateSession(unknown operator)", err, cv.ErrNotFound)
	}},
	{"TouchNeverMovesBack", func(t *testing.T, s store.Store) {
		op := newOperator(t, s, "Ada")
		sess := newSession(op.ID, at(0), time.Hour)
		ok(t, "CreateSession", s.CreateSession(t.Context(), sess))
		ok(t, "TouchSession", s.TouchSession(t.Context(), sess.ID, at(10*time.Minute)))
		ok(t, "TouchSession(older)", s.TouchSession(t.Context(), sess.ID, at(5*time.Minute)))
		got, _, err := s.SessionByHash(t.Context(), sess.Hash)
		ok(t, "SessionByHash", err)
		sameTime(t, "LastSeenAt", got.LastSeenAt, at(10*time.Minute))
		wantErr(t, "TouchSession(unknown)", s.TouchSession(t.Context(), newUUID(), at(0)), cv.ErrNotFound)
	}},
	{"DeleteOne", func(t *testing.T, s store.Store) {
		op := newOperator(t, s, "Ada")
		a, b := newSession(op.ID, at(0), time.Hour), newSession(op.ID, at(0), time.Hour)
		ok(t, "CreateSession a", s.CreateSession(t.Context(), a))
		ok(t, "CreateSession b", s.CreateSession(t.Context(), b))
		ok(t, "DeleteSession", s.DeleteSession(t.Context(), a.ID))
		_, _, err := s.SessionByHash(t.Context(), a.Hash)
		wantErr(t, "SessionByHash(deleted)", err, cv.ErrNotFound)
		_, _, err = s.SessionByHash(t.Context(), b.Hash)
		ok(t, "SessionByHash(other)", err)
		wantErr(t, "DeleteSession(again)", s.DeleteSession(t.Context(), a.ID), cv.ErrNotFound)
	}},
	{"DeleteOperatorSessions", func(t *testing.T, s store.Store) {
		ada, bob := newOperator(t, s, "Ada"), newOperator(t, s, "Bob")
		for range 2 {
			ok(t, "CreateSession", s.CreateSession(t.Context(), newSession(ada.ID, at(0), time.Hour)))
		}
		other := newSession(bob.ID, at(0), time.Hour)
		ok(t, "CreateSession", s.CreateSession(t.Context(), other))
		n, err := s.DeleteOperatorSessions(t.Context(), ada.ID)
		ok(t, "DeleteOperatorSessions", err)
		if n != 2 {
			t.Errorf("deleted %d sessions, want 2", n)
		}
		_, _, err = s.SessionByHash(t.Context(), other.Hash)
		ok(t, "SessionByHash(other operator's)", err)
	}},
	{"Prune", func(t *testing.T, s store.Store) {
		op := newOperator(t, s, "Ada")
		expired := newSession(op.ID, at(0), time.Hour)     // absolute expiry at 1h
		idle := newSession(op.ID, at(0), 30*24*time.Hour)  // last seen at 0
		fresh := newSession(op.ID, at(0), 30*24*time.Hour) // touched at 2h
		for _, x := range []store.Session{expired, idle, fresh} {
			ok(t, "CreateSession", s.CreateSession(t.Context(), x))
		}
		ok(t, "TouchSession", s.TouchSession(t.Context(), fresh.ID, at(2*time.Hour)))
		n, err := s.PruneSessions(t.Context(), at(90*time.Minute), at(time.Hour))
		ok(t, "PruneSessions", err)
		if n != 2 {
			t.Errorf("pruned %d sessions, want 2", n)
		}
		for _, x := range []store.Session{expired, idle} {
			_, _, err := s.SessionByHash(t.Context(), x.Hash)
			wantErr(t, "SessionByHash(pruned)", err, cv.ErrNotFound)
		}
		_, _, err = s.SessionByHash(t.Context(), fresh.Hash)
		ok(t, "SessionByHash(fresh)", err)
	}},
}
