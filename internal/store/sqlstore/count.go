package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// count is the exact number of conversations that b matches, found the cheapest exact way:
// the assistant's counter (kept by triggers) when nothing filters; the search index alone
// when only words do; else a count over the conversations, whose indexes cover the usual
// filters. For a text search it also picks how listRows reads the page: the few matches
// sorted (sparse), or the sort order walked and each conversation checked (dense).
func (s *Store) count(ctx context.Context, b *builder) (int64, error) {
	var n int64
	var err error
	switch {
	case len(b.where) == 1:
		return s.conversationCount(ctx, b.args[0])
	case b.text != nil && len(b.where) == 2:
		err = s.r.QueryRowContext(ctx, s.d.Rebind(`SELECT count(*) FROM (`+s.d.SearchRows(1, b.text.arg)+`) m`), b.args...).Scan(&n)
	default:
		err = s.r.QueryRowContext(ctx, s.d.Rebind(`SELECT count(*) FROM conversations c WHERE `+strings.Join(b.where, " AND ")), b.args...).Scan(&n)
	}
	if err != nil || b.text == nil {
		return n, err
	}
	total, err := s.conversationCount(ctx, b.args[0])
	if err != nil {
		return n, err
	}
	b.plan = planFor(n, total)
	return n, nil
}

// planFor picks how to read a page of n matches among total conversations: reading and
// sorting the matches costs about n row reads; walking the order costs about 21·total/n
// checks, each dearer than a read. Sparse below about √(100·total): 10,000 matches of a
// million.
func planFor(n, total int64) listPlan {
	if n <= 1000 || n*n <= 100*total {
		return planSparse
	}
	return planDense
}

// conversationCount reads an assistant's counter (0 for an assistant that does not exist).
func (s *Store) conversationCount(ctx context.Context, assistantID any) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT conversation_count FROM assistants WHERE id = $1`), assistantID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}
