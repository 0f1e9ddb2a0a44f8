package sqlstore

import (
	"context"
	"fmt"
	"strings"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// EachPage is how many conversations EachConversation reads at a time.
const EachPage = 500

// EachConversation walks the conversations that match f in keyset pages of EachPage. Each
// page is read whole and its rows closed before fn sees it, so that a slow consumer never
// holds a connection (or, on SQLite, a read snapshot) open.
func (s *Store) EachConversation(ctx context.Context, assistantID string, f cv.Filter, fn func(*cv.Conversation) error) error {
	if !validID(assistantID) {
		return cv.ErrNotFound
	}
	sort := f.Sort
	if sort == "" {
		sort = cv.SortLastMessageAt
	}
	b := s.filter(assistantID, &f)
	var cur *cv.Cursor
	for {
		items, err := s.listRows(ctx, b, sort, f.Desc, cur, 0, EachPage)
		if err != nil {
			return err
		}
		for i := range items {
			if err := fn(&items[i]); err != nil {
				return err
			}
		}
		if len(items) < EachPage {
			return nil
		}
		last := &items[len(items)-1]
		cur = &cv.Cursor{Sort: sort, Desc: f.Desc, Key: cv.SortKey(last, sort), RowID: last.RowID}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// MetadataKeys returns the distinct top-level metadata keys of the matching conversations.
func (s *Store) MetadataKeys(ctx context.Context, assistantID string, f cv.Filter, limit int) ([]string, error) {
	if !validID(assistantID) {
		return nil, cv.ErrNotFound
	}
	if limit <= 0 {
		return []string{}, nil
	}
	b := s.filter(assistantID, &f)
	// Keys compare as bytes on both engines (PostgreSQL's default collation would not).
	key := "k.key"
	if s.d.Name() == "postgres" {
		key = `k.key COLLATE "C"`
	}
	query := fmt.Sprintf(`SELECT DISTINCT %s FROM conversations c, %s WHERE c.client_metadata IS NOT NULL AND %s ORDER BY 1 LIMIT %d`,
		key, s.d.MetadataKeys(), strings.Join(b.where, " AND "), limit)
	rows, err := s.r.QueryContext(ctx, s.d.Rebind(query), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
