package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// TxForTest runs fn as the store's write methods run theirs.
func (s *Store) TxForTest(ctx context.Context, fn func(*sql.Tx) error) error { return s.tx(ctx, fn) }

// GroupStats returns the number of groups of more than one request and their requests.
func (s *Store) GroupStats() (groups, requests int64) {
	if s.group == nil {
		return 0, 0
	}
	return s.group.groups.Load(), s.group.grouped.Load()
}

// SearchBarrierForTest runs the search statements held back in tx's group.
func (s *Store) SearchBarrierForTest(ctx context.Context, tx *sql.Tx) error {
	return s.searchBarrier(ctx, tx)
}

// UTCDayForTest is utcDay: the rollups' day of t, and whether t is its midnight.
func UTCDayForTest(t time.Time) (int64, bool) { return utcDay(t) }
