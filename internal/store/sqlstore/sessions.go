package sqlstore

import (
	"context"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// CreateSession stores a dashboard session (its ID, hash and times set by the caller).
func (s *Store) CreateSession(ctx context.Context, sess store.Session) error {
	if !validID(sess.ID) || !validID(sess.OperatorID) || len(sess.Hash) == 0 {
		return cv.Invalid("session", "a session needs an id, an operator and the hash of its secret")
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO operator_sessions (id, operator_id, token_hash, created_at, last_seen_at, expires_at)
 VALUES ($1, $2, $3, $4, $5, $6)`), sess.ID, sess.OperatorID, sess.Hash, s.d.Time(sess.CreatedAt.UTC()), s.d.Time(sess.LastSeenAt.UTC()), s.d.Time(sess.ExpiresAt.UTC()))
	if err != nil && strings.Contains(strings.ToLower(err.Error()), "foreign key") {
		return cv.ErrNotFound
	}
	if s.d.IsUniqueViolation(err) {
		return cv.ErrConflict
	}
	return err
}

// SessionByHash finds a session by the hash of its secret, with its operator, expired or not.
func (s *Store) SessionByHash(ctx context.Context, hash []byte) (store.Session, cv.Operator, error) {
	var sess store.Session
	if len(hash) == 0 {
		return sess, cv.Operator{}, cv.ErrNotFound
	}
	var created, seen, expires dbTime
	op, err := scanOperator(s.r.QueryRowContext(ctx, s.q(`SELECT `+operatorColumns+`, x.id, x.token_hash, x.created_at, x.last_seen_at, x.expires_at
 FROM operator_sessions x JOIN operators o ON o.id = x.operator_id WHERE x.token_hash = $1`), hash),
		&sess.ID, &sess.Hash, &created, &seen, &expires)
	if err != nil {
		return store.Session{}, cv.Operator{}, notFound(err)
	}
	sess.OperatorID, sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = op.ID, created.t, seen.t, expires.t
	return sess, op, nil
}

// TouchSession records that a session was used at `at` (it never moves back).
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if !validID(id) {
		return cv.ErrNotFound
	}
	t := s.d.Time(at.UTC().Truncate(time.Microsecond))
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE operator_sessions SET last_seen_at = CASE WHEN last_seen_at < $2 THEN $2 ELSE last_seen_at END WHERE id = $1`), id, t)
	return affected(res, err)
}

// DeleteSession ends one session.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if !validID(id) {
		return cv.ErrNotFound
	}
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM operator_sessions WHERE id = $1`), id)
	return affected(res, err)
}

// DeleteOperatorSessions ends every session of an operator and says how many there were.
func (s *Store) DeleteOperatorSessions(ctx context.Context, operatorID string) (int64, error) {
	if !validID(operatorID) {
		return 0, nil
	}
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM operator_sessions WHERE operator_id = $1`), operatorID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// PruneSessions deletes the sessions whose absolute expiry is before `before`, or that were
// last used before idleBefore.
func (s *Store) PruneSessions(ctx context.Context, before, idleBefore time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM operator_sessions WHERE expires_at < $1 OR last_seen_at < $2`),
		s.d.Time(before.UTC()), s.d.Time(idleBefore.UTC()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
