package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// count is the exact number of conversations that b matches, found the cheapest exact way:
// the assistant's counter (kept by triggers) when nothing filters; the search index alone
// when only words do; the daily rollups (see rollupCount) when only their keys and a
// creation date range do; else a count over the conversations, whose indexes cover the usual
// filters. For a text search it also picks how listRows reads the page: the few matches
// sorted (sparse), or the sort order walked and each conversation checked (dense).
func (s *Store) count(ctx context.Context, b *builder) (int64, error) {
	var n, total int64
	var err error
	cd := b.cand
	if cd != nil && cd.text != 0 {
		// A word search's plan depends on how many conversations the assistant has.
		if total, err = s.conversationCount(ctx, b.args[0]); err != nil {
			return 0, err
		}
	}
	switch {
	case len(b.where) == 1:
		return s.conversationCount(ctx, b.args[0])
	case cd != nil && cd.text != 0 && len(b.where) == 2:
		// Words alone: the assistant's matches in the search index, no conversation read.
		var ok bool
		if n, ok, err = s.countIDs(ctx, b, total); err != nil || b.plan != planPlain {
			return n, err
		}
		if !ok {
			err = s.r.QueryRowContext(ctx, s.d.Rebind(s.d.SearchCount(1, cd.text)), b.args...).Scan(&n)
		}
	case cd != nil:
		// The candidates first, each looked up by row id. With words among them, where the
		// engine reads ids out, the matches' ids too when they are few, and the page is read
		// from them: PostgreSQL plans a statement with words for its arguments each time it
		// runs (0.4 ms for an order number's page), a lookup by id once. An id alone is a
		// handful of rows, whose statements keep their plans.
		where := slices.Clone(b.where)
		var from string
		from, where[cd.where] = s.d.Sparse(cd.rows)
		cols, ids := "count(*)", sql.NullString{}
		dest := []any{&n}
		if list := s.d.IDList("c.rid"); list != "" && len(cd.query.Terms) > 0 {
			cols += fmt.Sprintf(", CASE WHEN count(*) <= %d THEN coalesce(%s, '') END", maxRowsOut, list)
			dest = append(dest, &ids)
		}
		err = s.r.QueryRowContext(ctx, s.d.Rebind(`SELECT `+cols+` FROM `+from+` WHERE `+strings.Join(where, " AND ")), b.args...).Scan(dest...)
		if err == nil && ids.Valid {
			b.plan, b.ids = planRows, ids.String
			return n, nil
		}
	default:
		// Filters that the rollups key on: whole days from the rollups, the edges counted.
		var ok bool
		if n, ok, err = s.rollupCount(ctx, b); err == nil && !ok {
			err = s.r.QueryRowContext(ctx, s.d.Rebind(`SELECT count(*) FROM conversations c WHERE `+strings.Join(b.where, " AND ")), b.args...).Scan(&n)
		}
	}
	if err != nil {
		return n, err
	}
	if cd == nil {
		// Filters alone: when they match few conversations, read those through the filters'
		// indexes and sort them. Walking the sort order instead is what a planner picks from
		// its estimates, and a date range far from the newest conversations (created dates
		// follow last-message dates) then reads most of the table before it fills a page:
		// 1.1 s instead of 20 ms at 1M conversations on PostgreSQL.
		total, err := s.conversationCount(ctx, b.args[0])
		if err == nil && n <= s.d.SparseMax(total) {
			b.plan = planSparse
		}
		return n, err
	}
	b.plan = planSparse
	if cd.text != 0 {
		if n > s.d.SparseMax(total) {
			b.plan = planDense
			if p, ok := s.d.(Prober); ok && n >= p.ProbeMin(total) {
				arg, ok, err := p.ProbeArg(ctx, s.r, cd.query)
				if err != nil {
					return n, err
				}
				if ok {
					b.plan, b.probe = planProbe, arg
				}
			}
		}
	}
	return n, nil
}

// maxRowsOut is the most matches of a list with words among other conditions (an order
// number, filters) whose row ids the count reads out (Dialect.IDList) for the page.
const maxRowsOut = 1000

// conversationCount reads an assistant's counter (0 for an assistant that does not exist).
func (s *Store) conversationCount(ctx context.Context, assistantID any) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT conversation_count FROM assistants WHERE id = $1`), assistantID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return n, err
}

// countIDs counts a word's matches with Dialect.SearchIDs when the engine reads ids out, and
// when they are few enough (Dialect.IDsMax) keeps their row ids and sets b's plan: the page
// is read from them, so the index is read once for both. It reports false when the engine
// does not read ids out (the count is then to be made). total is the assistant's number of
// conversations.
func (s *Store) countIDs(ctx context.Context, b *builder, total int64) (int64, bool, error) {
	if s.d.IDsMax(total) <= 0 {
		return 0, false, nil
	}
	args := append(slices.Clone(b.args), s.d.IDsMax(total))
	var n int64
	var ids sql.NullString
	if err := s.r.QueryRowContext(ctx, s.d.Rebind(s.d.SearchIDs(1, b.cand.text, len(args))), args...).Scan(&n, &ids); err != nil {
		return 0, false, err
	}
	if !ids.Valid {
		return n, true, nil
	}
	b.ids = ids.String
	// Sorting reads a row per match; walking the order checks about 21·total/n rows, each
	// far cheaper (an index entry and a hash probe).
	b.plan = planIDs
	if float64(n) > math.Sqrt(float64(total)) {
		b.plan = planIDsWalk
	}
	return n, true, nil
}
