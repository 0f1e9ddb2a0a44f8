package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// builder collects the conditions and arguments of a conversation query, numbering
// placeholders as it goes.
type builder struct {
	where []string
	args  []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return fmt.Sprintf("$%d", len(b.args))
}

func (b *builder) cond(format string, args ...any) {
	b.where = append(b.where, fmt.Sprintf(format, args...))
}

func (b *builder) in(column string, values []string) {
	if len(values) == 0 {
		return
	}
	ph := make([]string, len(values))
	for i, v := range values {
		ph[i] = b.arg(v)
	}
	b.cond("%s IN (%s)", column, strings.Join(ph, ", "))
}

func (b *builder) boolean(column string, v *bool) {
	if v != nil {
		b.cond("%s = %s", column, b.arg(*v))
	}
}

func (b *builder) between(s *Store, column string, from, to *time.Time) {
	if from != nil {
		b.cond("%s >= %s", column, b.arg(s.d.Time(from.UTC())))
	}
	if to != nil {
		b.cond("%s < %s", column, b.arg(s.d.Time(to.UTC())))
	}
}

// filter turns f into conditions on conversation alias c.
func (s *Store) filter(assistantID string, f *cv.Filter) *builder {
	b := &builder{}
	b.cond("c.assistant_id = %s", b.arg(assistantID))
	if q := f.Query; !q.IsEmpty() {
		var any []string
		if q.UUID != "" {
			u := b.arg(q.UUID)
			any = append(any, "c.id = "+u,
				fmt.Sprintf("c.rid = (SELECT e.conversation_rid FROM events e WHERE e.id = %s AND e.assistant_id = %s)", u, b.arg(assistantID)))
		}
		if q.Ord > 0 {
			any = append(any, "c.ord = "+b.arg(q.Ord))
		}
		if len(q.Terms) > 0 {
			b.args = append(b.args, s.d.SearchArg(q))
			any = append(any, s.d.SearchMatch(len(b.args)))
		}
		b.cond("(%s)", strings.Join(any, " OR "))
	}
	b.in("c.assignee_type", f.AssigneeTypes)
	b.in("c.assignee_id", f.AssigneeIDs)
	b.in("c.source", f.Sources)
	b.in("c.resolution_status", f.Statuses)
	b.in("c.most_frequent_language", f.Languages)
	b.in("c.sentiment", f.Sentiments)
	b.in("c.topic", f.Topics)
	b.between(s, "c.created_at", f.CreatedFrom, f.CreatedTo)
	b.between(s, "c.last_message_at", f.LastFrom, f.LastTo)
	b.boolean("c.is_flagged", f.IsFlagged)
	b.boolean("c.has_unread_messages", f.HasUnread)
	b.boolean("c.terminated", f.Terminated)
	for _, k := range slices.Sorted(maps.Keys(f.Metadata)) {
		b.args = append(b.args, s.d.MetadataKeyArg(k))
		expr := s.d.MetadataText(len(b.args))
		b.cond("%s = %s", expr, b.arg(f.Metadata[k]))
	}
	return b
}

// sortColumn is the column of a sort key; the row id breaks ties.
func sortColumn(sort string) string {
	switch sort {
	case cv.SortCreatedAt:
		return "c.created_at"
	case cv.SortOrd:
		return "c.ord"
	}
	return "c.last_message_at"
}

// Conversations lists one assistant's conversations.
func (s *Store) Conversations(ctx context.Context, assistantID string, f cv.Filter) (cv.ConversationPage, error) {
	page := cv.ConversationPage{Items: []cv.Conversation{}}
	if !validID(assistantID) {
		return page, cv.ErrNotFound
	}
	b := s.filter(assistantID, &f)
	where := strings.Join(b.where, " AND ")
	if err := s.r.QueryRowContext(ctx, s.d.Rebind(`SELECT count(*) FROM conversations c WHERE `+where), b.args...).Scan(&page.Count); err != nil {
		return page, err
	}
	sort := f.Sort
	if sort == "" {
		sort = cv.SortLastMessageAt
	}
	col, dir, cmp := sortColumn(sort), "ASC", ">"
	if f.Desc {
		dir, cmp = "DESC", "<"
	}
	limit := f.Limit
	if limit <= 0 || limit > cv.MaxLimit {
		limit = cv.DefaultLimit
	}
	query := `SELECT ` + convColumns + ` FROM conversations c WHERE ` + where
	if cur := f.Cursor; cur != nil {
		var key any = cur.Key
		if sort != cv.SortOrd {
			key = s.d.Time(time.UnixMicro(cur.Key))
		}
		query += fmt.Sprintf(" AND (%s, c.rid) %s (%s, %s)", col, cmp, b.arg(key), b.arg(cur.RowID))
	}
	// One more row than asked tells whether there is a next page.
	query += fmt.Sprintf(" ORDER BY %s %s, c.rid %s LIMIT %d", col, dir, dir, limit+1)
	if f.Cursor == nil && f.Offset > 0 {
		query += fmt.Sprintf(" OFFSET %d", f.Offset)
	}
	rows, err := s.r.QueryContext(ctx, s.d.Rebind(query), b.args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, c)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := &page.Items[limit-1]
		page.NextCursor = &cv.Cursor{Sort: sort, Desc: f.Desc, Key: cv.SortKey(last, sort), RowID: last.RowID}
	}
	return page, nil
}
