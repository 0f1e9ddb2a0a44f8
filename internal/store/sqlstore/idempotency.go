package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// ClaimIdempotencyKey claims a key, or returns what it already holds.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, assistantID, key, fingerprint string) (store.IdempotencyRecord, bool, error) {
	var rec store.IdempotencyRecord
	if !validID(assistantID) {
		return rec, false, cv.ErrNotFound
	}
	now := s.clock()
	claimed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM idempotency_keys WHERE assistant_id = $1 AND key = $2 AND created_at < $3`),
			assistantID, key, s.d.Time(now.Add(-store.IdempotencyTTL))); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO idempotency_keys (assistant_id, key, fingerprint, status, body, created_at)
 VALUES ($1, $2, $3, 0, NULL, $4) ON CONFLICT (assistant_id, key) DO NOTHING`), assistantID, key, fingerprint, s.d.Time(now))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			claimed = n == 1
			return err
		}
		var body nullBytes
		err = tx.QueryRowContext(ctx, s.q(`SELECT fingerprint, status, body FROM idempotency_keys WHERE assistant_id = $1 AND key = $2`),
			assistantID, key).Scan(&rec.Fingerprint, &rec.Status, &body)
		rec.Body = body.b
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = cv.ErrConflict
	}
	return rec, claimed, err
}

// FinishIdempotencyKey stores the response of a claimed key.
func (s *Store) FinishIdempotencyKey(ctx context.Context, assistantID, key string, status int, body []byte) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE idempotency_keys SET status = $3, body = $4 WHERE assistant_id = $1 AND key = $2`),
		assistantID, key, status, body)
	return err
}

// ReleaseIdempotencyKey forgets a claimed key.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, assistantID, key string) error {
	_, err := s.w.ExecContext(ctx, s.q(`DELETE FROM idempotency_keys WHERE assistant_id = $1 AND key = $2 AND status = 0`), assistantID, key)
	return err
}

// idempotencyPruneBatch bounds the keys one statement of PruneIdempotencyKeys deletes, so
// that SQLite's writer is not held for long.
const idempotencyPruneBatch = 1000

// PruneIdempotencyKeys deletes keys claimed before `before`, a batch at a time (by the index
// on created_at, migration 00034).
func (s *Store) PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM idempotency_keys WHERE (assistant_id, key) IN
 (SELECT assistant_id, key FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2)`),
			s.d.Time(before), idempotencyPruneBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		total += n
		if err != nil || n < idempotencyPruneBatch {
			return total, err
		}
	}
}
