package sqlstore

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
)

// builder collects the conditions and arguments of a conversation query, numbering
// placeholders as it goes.
type builder struct {
	where []string
	args  []any
	// filter is the list filter the conditions were made from (nil for other queries).
	filter *cv.Filter
	// cand, when the list has a query, is its condition: the conversations in a set of row
	// ids. Conversations picks how to run it from the exact count (see plan).
	cand *candidates
	// plan is how listRows runs the candidates.
	plan listPlan
	// ids, with planIDs and planIDsWalk, are the row ids of a word's matches, with planRows
	// those of the list's matches (comma-separated).
	ids string
	// probe, with planProbe, is the argument of Prober.ProbeEach.
	probe string
}

// candidates is the row-id set of a query: the index in where of its condition, the query
// that yields the row ids (column rid), and the placeholder number of the search argument
// when the query is words alone (0 otherwise: an id or an order number, a handful of rows).
type candidates struct {
	where int
	rows  string
	text  int
	query search.Query
}

// listPlan is how a page of a text search is read.
type listPlan int

const (
	// planPlain lets the database choose.
	planPlain listPlan = iota
	// planSparse reads the few matches (of the words, or of the filters alone) and sorts them.
	planSparse
	// planDense walks the sort order and checks each conversation for the words: a word in
	// many conversations fills a page after a few rows.
	planDense
	// planIDs reads the rows of the matches' ids (Dialect.SearchIDs) and sorts them.
	planIDs
	// planIDsWalk walks the sort order and checks each conversation against the ids.
	planIDsWalk
	// planProbe walks the sort order and checks each conversation for the words on its own
	// (Prober).
	planProbe
	// planRows reads the rows of ids, the row ids of every conversation that the list's
	// conditions match (Dialect.IDList), and sorts them: the page's statement is then a
	// lookup by id, far cheaper to plan than the conditions (words with an order number or
	// with filters).
	planRows
)

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
	b := &builder{filter: f}
	b.cond("c.assistant_id = %s", b.arg(assistantID))
	if q := f.Query; !q.IsEmpty() {
		// What the query may mean, each a set of row ids read through its own index; their
		// union is looked up by row id (an OR of the conditions would scan every
		// conversation of the assistant).
		var sets []string
		if q.UUID != "" {
			u := b.arg(q.UUID)
			sets = append(sets, "SELECT rid FROM conversations WHERE id = "+u,
				fmt.Sprintf("SELECT conversation_rid AS rid FROM events WHERE id = %s AND assistant_id = $1", u))
		}
		if q.Ord > 0 {
			sets = append(sets, "SELECT rid FROM conversations WHERE assistant_id = $1 AND ord = "+b.arg(q.Ord))
		}
		text := 0
		if len(q.Terms) > 0 {
			b.args = append(b.args, s.d.SearchArg(q))
			if len(sets) == 0 {
				text = len(b.args)
			}
			sets = append(sets, s.d.SearchRows(1, len(b.args)))
		}
		rows := strings.Join(sets, " UNION ")
		b.cand = &candidates{where: len(b.where), rows: rows, text: text, query: q}
		b.cond("c.rid IN (%s)", rows)
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
	total, err := s.count(ctx, b)
	if err != nil {
		return page, err
	}
	page.Count = total
	sort := f.Sort
	if sort == "" {
		sort = cv.SortLastMessageAt
	}
	limit := f.Limit
	if limit <= 0 || limit > cv.MaxLimit {
		limit = cv.DefaultLimit
	}
	// One more row than asked tells whether there is a next page.
	items, err := s.listRows(ctx, b, sort, f.Desc, f.Cursor, f.Offset, limit+1)
	if err != nil {
		return page, err
	}
	page.Items = items
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := &page.Items[limit-1]
		page.NextCursor = &cv.Cursor{Sort: sort, Desc: f.Desc, Key: cv.SortKey(last, sort), RowID: last.RowID}
	}
	return page, nil
}

// listRows reads up to limit conversations that match b, ordered by sort (the row id breaks
// ties), after cur when it is not nil, else after skipping offset rows.
func (s *Store) listRows(ctx context.Context, b *builder, sort string, desc bool, cur *cv.Cursor, offset, limit int) ([]cv.Conversation, error) {
	col, dir, cmp := sortColumn(sort), "ASC", ">"
	if desc {
		dir, cmp = "DESC", "<"
	}
	args := slices.Clone(b.args)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := slices.Clone(b.where)
	from := "conversations c"
	order := fmt.Sprintf("%s %s, c.rid %s", col, dir, dir)
	if b.cand == nil && b.plan == planSparse {
		order = fmt.Sprintf("%s %s, c.rid %s", s.d.Unordered(col), dir, dir)
	}
	if b.plan == planRows {
		// Every condition is in the ids; the arguments are theirs alone.
		args, from, where = []any{b.ids}, "conversations c", []string{s.d.InIDs(1, false)}
		order = fmt.Sprintf("%s %s, c.rid %s", s.d.Unordered(col), dir, dir)
	} else if cd := b.cand; cd != nil {
		switch b.plan {
		case planSparse:
			from, where[cd.where] = s.d.Sparse(cd.rows)
			order = fmt.Sprintf("%s %s, c.rid %s", s.d.Unordered(col), dir, dir)
		case planDense:
			where[cd.where] = s.d.SearchProbe(cd.text)
		case planProbe:
			args[cd.text-1] = b.probe
			where[cd.where] = s.d.(Prober).ProbeEach(cd.text)
		case planIDs, planIDsWalk:
			// The ids take the place of the words, whose placeholder no other condition uses.
			args[cd.text-1] = b.ids
			where[cd.where] = s.d.InIDs(cd.text, b.plan == planIDsWalk)
			if b.plan == planIDs {
				order = fmt.Sprintf("%s %s, c.rid %s", s.d.Unordered(col), dir, dir)
			}
		}
	}
	// The page's row ids first, from the indexes alone where they cover the filters; then
	// only those rows are read whole.
	inner := `SELECT c.rid FROM ` + from + ` WHERE ` + strings.Join(where, " AND ")
	if cur != nil {
		var key any = cur.Key
		if sort != cv.SortOrd {
			key = s.d.Time(time.UnixMicro(cur.Key))
		}
		inner += fmt.Sprintf(" AND (%s, c.rid) %s (%s, %s)", col, cmp, arg(key), arg(cur.RowID))
	}
	inner += fmt.Sprintf(" ORDER BY %s LIMIT %d", order, limit)
	if cur == nil && offset > 0 {
		inner += fmt.Sprintf(" OFFSET %d", offset)
	}
	query := fmt.Sprintf("SELECT %s FROM conversations c WHERE c.rid IN (%s) ORDER BY %s %s, c.rid %s", convColumns, inner, col, dir, dir)
	rows, err := s.r.QueryContext(ctx, s.d.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	items := []cv.Conversation{}
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, c)
	}
	return items, rows.Err()
}
