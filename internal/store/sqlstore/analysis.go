package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// SaveAnalysis stores a conversation's analysis without a new version.
func (s *Store) SaveAnalysis(ctx context.Context, assistantID, id string, a cv.Analysis) (cv.Conversation, error) {
	var out cv.Conversation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.conversationTx(ctx, tx, assistantID, id)
		if err != nil {
			return err
		}
		meta, err := s.saveAnalysisTx(ctx, tx, &c, a)
		if err != nil {
			return err
		}
		out = c
		return s.setSearchMetas(ctx, tx, meta)
	})
	return out, err
}

// analysesPerSelect bounds the conversations read by one statement of SaveAnalyses.
const analysesPerSelect = 100

// SaveAnalyses stores a batch of analyses in one transaction: one read of the conversations
// (locked on engines with row locks, in row order so that two batches cannot deadlock), then
// per conversation one UPDATE of its columns and one of its messages' insights.
func (s *Store) SaveAnalyses(ctx context.Context, in []store.AnalysisSave) ([]error, error) {
	errs := make([]error, len(in))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		clear(errs)
		convs := make(map[string]*cv.Conversation, len(in))
		var ids []string
		for _, a := range in {
			if validID(a.ConversationID) && validID(a.AssistantID) && !slices.Contains(ids, a.ConversationID) {
				ids = append(ids, a.ConversationID)
			}
		}
		for start := 0; start < len(ids); start += analysesPerSelect {
			b := &builder{}
			b.in("c.id", ids[start:min(start+analysesPerSelect, len(ids))])
			rows, err := tx.QueryContext(ctx, s.q(`SELECT `+convColumns+` FROM conversations c WHERE `+b.where[0]+` ORDER BY c.rid`+s.d.ForUpdate()), b.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				c, err := scanConversation(rows)
				if err != nil {
					rows.Close()
					return err
				}
				convs[c.ID] = &c
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		// In row order: two transactions that update the same conversations (and, through
		// PostgreSQL's rollup trigger, the same rollup rows) take their locks in one order.
		order := make([]int, 0, len(in))
		for i, a := range in {
			c := convs[a.ConversationID]
			if c == nil || c.AssistantID != a.AssistantID {
				errs[i] = cv.ErrNotFound
				continue
			}
			order = append(order, i)
		}
		slices.SortStableFunc(order, func(i, j int) int {
			return cmp.Compare(convs[in[i].ConversationID].RowID, convs[in[j].ConversationID].RowID)
		})
		if md, ok := s.d.(MultiRowDialect); ok && len(order) > 1 {
			if err := s.saveAnalysesMulti(ctx, tx, md, in, order, convs); err != nil {
				return err
			}
		}
		var metas []searchMetaRow
		for _, i := range order {
			if _, ok := s.d.(MultiRowDialect); !ok || len(order) == 1 {
				meta, err := s.saveAnalysisTx(ctx, tx, convs[in[i].ConversationID], in[i].Analysis)
				if err != nil {
					return err
				}
				metas = append(metas, meta...)
			}
			if in[i].Then != nil {
				if err := s.enqueueTx(ctx, tx, *in[i].Then); err != nil {
					return err
				}
			}
		}
		if err := s.setSearchMetas(ctx, tx, metas); err != nil {
			return err
		}
		var done []int64
		for _, a := range in {
			if a.Done != 0 {
				done = append(done, a.Done)
			}
		}
		return s.completeJobsTx(ctx, tx, done)
	})
	// The follow-up jobs are due in minutes: no need to wake the workers (which would also take
	// them for ingestion; see jobs.Runner.LastWake).
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// ConversationsForAnalysis reads conversations and their messages in two queries.
func (s *Store) ConversationsForAnalysis(ctx context.Context, assistantID string, ids []string, maxMessages int) ([]store.ConversationMessages, error) {
	var valid []string
	for _, id := range ids {
		if validID(id) && !slices.Contains(valid, id) {
			valid = append(valid, id)
		}
	}
	if !validID(assistantID) || len(valid) == 0 {
		return nil, nil
	}
	var out []store.ConversationMessages
	for start := 0; start < len(valid); start += analysesPerSelect {
		part, err := s.conversationsForAnalysis(ctx, assistantID, valid[start:min(start+analysesPerSelect, len(valid))], maxMessages)
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	return out, nil
}

func (s *Store) conversationsForAnalysis(ctx context.Context, assistantID string, ids []string, maxMessages int) ([]store.ConversationMessages, error) {
	b := &builder{}
	// By id alone, the assistant checked on each row: with "assistant_id = ? AND id IN (...)"
	// SQLite, which keeps no statistics, took an index led by the assistant id and read every
	// conversation of the assistant to find the batch (2.4 s a batch at 1M conversations).
	b.in("c.id", ids)
	// On the writer's connection: SQLite (WAL) drops a connection's whole page cache when it
	// starts reading after another connection committed, and the analysis reads between its
	// own commits, so a reader fetched every page of every batch from the file again (at
	// 20,000 conversations that was half the analysis' CPU time); the writer's cache stays
	// warm. Two short queries a batch.
	rows, err := s.w.QueryContext(ctx, s.q(`SELECT `+convColumns+` FROM conversations c WHERE `+strings.Join(b.where, " AND ")), b.args...)
	if err != nil {
		return nil, err
	}
	var out []store.ConversationMessages
	at := map[int64]int{} // conversation rid -> index in out, of those whose messages are read here
	var rids []any
	for rows.Next() {
		c, err := scanConversation(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		if c.AssistantID != assistantID {
			continue
		}
		if c.MessageCount <= int64(maxMessages) {
			at[c.RowID] = len(out)
			rids = append(rids, c.RowID)
		}
		out = append(out, store.ConversationMessages{Conversation: c})
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(rids) == 0 {
		return out, err
	}
	for _, i := range at {
		out[i].Messages = []cv.Event{}
	}
	rows, err = s.w.QueryContext(ctx, s.q(`SELECT `+eventColumns+`, e.conversation_rid FROM events e WHERE e.conversation_rid IN (`+placeholders(1, len(rids))+`)
 AND e.type = 'message' ORDER BY e.conversation_rid, e.ord`), rids...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rid int64
	sc := withRID{rows: rows, rid: &rid}
	for rows.Next() {
		ev, err := scanEvent(sc, "")
		if err != nil {
			return nil, err
		}
		i, ok := at[rid]
		if !ok {
			continue
		}
		ev.ConversationID = out[i].Conversation.ID
		out[i].Messages = append(out[i].Messages, ev)
	}
	return out, rows.Err()
}

// withRID scans an event row followed by its conversation's rid.
type withRID struct {
	rows *sql.Rows
	rid  *int64
}

func (w withRID) Scan(dest ...any) error { return w.rows.Scan(append(dest, w.rid)...) }

// MultiRowDialect is what an engine with costly round trips (PostgreSQL) offers to write a
// batch of analyses in a few statements; each takes n rows of parameters, in order.
type MultiRowDialect interface {
	// UpdateAnalyses: per row the conversation's rid, unified_analysis (JSON text or NULL),
	// sentiment, topic, is_flagged, most_frequent_language, title.
	UpdateAnalyses(n int) string
	// SetMessagesField: per row the conversation's rid, the event id, the field's JSON.
	SetMessagesField(field string, n int) string
	// UpdateSearchMetas: per row the conversation's rid, the search document's meta text.
	UpdateSearchMetas(n int) string
}

// saveAnalysesMulti is saveAnalysisTx for the conversations in[order...], a few statements
// for all of them: insights, search documents, then the conversations (whose rollup rows
// are the locks others wait for, held from there to the commit).
func (s *Store) saveAnalysesMulti(ctx context.Context, tx *sql.Tx, d MultiRowDialect, in []store.AnalysisSave, order []int, convs map[string]*cv.Conversation) error {
	const perStatement = 500 // rows; PostgreSQL takes up to 65,535 parameters
	type row []any
	exec := func(rows []row, sqlFor func(n int) string) error {
		for start := 0; start < len(rows); start += perStatement {
			part := rows[start:min(start+perStatement, len(rows))]
			var args []any
			for _, r := range part {
				args = append(args, r...)
			}
			if _, err := tx.ExecContext(ctx, s.q(sqlFor(len(part))), args...); err != nil {
				return err
			}
		}
		return nil
	}
	var insights, metas, updates []row
	for _, i := range order {
		c, a := convs[in[i].ConversationID], in[i].Analysis
		for _, id := range slices.Sorted(maps.Keys(a.MessageInsights)) {
			if validID(id) {
				insights = append(insights, row{c.RowID, id, string(a.MessageInsights[id])})
			}
		}
		title := analysisTitle(c, a)
		if !sameStr(title, c.Title) {
			c.Title = title
			metas = append(metas, row{c.RowID, searchMeta(c)})
		}
		var unified any
		if len(a.Unified) > 0 {
			unified = string(a.Unified)
		}
		updates = append(updates, row{c.RowID, unified, a.Sentiment, a.Topic, a.IsFlagged, a.Language, title})
	}
	if err := exec(insights, func(n int) string { return d.SetMessagesField("message_insights", n) }); err != nil {
		return err
	}
	if err := exec(metas, d.UpdateSearchMetas); err != nil {
		return err
	}
	if err := s.analysisLock(ctx, tx); err != nil {
		return err
	}
	if err := exec(updates, d.UpdateAnalyses); err != nil {
		return err
	}
	for _, i := range order {
		if err := s.analysedTx(ctx, tx, convs[in[i].ConversationID], in[i].Analysis, convs[in[i].ConversationID].Title); err != nil {
			return err
		}
	}
	return nil
}

// analysisLock takes the dialect's AnalysisLock, if it has one: after the statements that
// analyses of different conversations can run side by side (insights, search documents), before
// the conversations' rows.
func (s *Store) analysisLock(ctx context.Context, tx *sql.Tx) error {
	if lock := s.d.AnalysisLock(); lock != "" {
		_, err := tx.ExecContext(ctx, lock)
		return err
	}
	return nil
}

// analysisTitle is the title c gets from a: a's, unless someone changed the title by hand.
func analysisTitle(c *cv.Conversation, a cv.Analysis) *string {
	if a.Title != nil && (c.Title == nil || (a.PreviousTitle != nil && *c.Title == *a.PreviousTitle)) {
		return a.Title
	}
	return c.Title
}

// analysedTx updates c to match what was written and logs the change.
func (s *Store) analysedTx(ctx context.Context, tx *sql.Tx, c *cv.Conversation, a cv.Analysis, title *string) error {
	wasFlagged := c.IsFlagged
	c.UnifiedAnalysis, c.Sentiment, c.Topic, c.IsFlagged, c.MostFrequentLanguage, c.Title = a.Unified, a.Sentiment, a.Topic, a.IsFlagged, a.Language, title
	if err := s.logChange(ctx, tx, c, cv.ChangeConversationAnalyzed, nil, nil); err != nil {
		return err
	}
	if c.IsFlagged && !wasFlagged {
		return s.logChange(ctx, tx, c, cv.ChangeConversationFlagged, nil, nil)
	}
	return nil
}

// searchMetaRow is a search document's new conversation fields.
type searchMetaRow struct {
	rid  int64
	meta string
}

// setSearchMetas writes search documents' conversation fields. Callers write them after their
// other statements: SQLite's full-text index keeps a transaction's changes in memory and
// writes them out to a new segment at the start of each later statement (a savepoint), so a
// batch that interleaved them wrote a segment per conversation.
func (s *Store) setSearchMetas(ctx context.Context, tx *sql.Tx, rows []searchMetaRow) error {
	for _, r := range rows {
		if _, err := tx.ExecContext(ctx, s.q(s.d.UpdateSearchMeta()), r.rid, r.meta); err != nil {
			return err
		}
	}
	return nil
}

// saveAnalysisTx writes a's analysis of c (read in tx) and updates c to match, all but the
// search document, which it returns when the title changed (see setSearchMetas).
func (s *Store) saveAnalysisTx(ctx context.Context, tx *sql.Tx, c *cv.Conversation, a cv.Analysis) ([]searchMetaRow, error) {
	title := analysisTitle(c, a)
	var unified any
	if len(a.Unified) > 0 {
		unified = string(a.Unified)
	}
	if err := s.analysisLock(ctx, tx); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE conversations SET unified_analysis = $2, sentiment = $3, topic = $4,
 is_flagged = $5, most_frequent_language = $6, title = $7 WHERE rid = $1`),
		c.RowID, unified, a.Sentiment, a.Topic, a.IsFlagged, a.Language, title); err != nil {
		return nil, err
	}
	var meta []searchMetaRow
	if !sameStr(title, c.Title) {
		c.Title = title
		meta = append(meta, searchMetaRow{c.RowID, searchMeta(c)})
	}
	if err := s.setInsightsTx(ctx, tx, c.RowID, a.MessageInsights); err != nil {
		return nil, err
	}
	return meta, s.analysedTx(ctx, tx, c, a, title)
}

// insightsPerUpdate bounds the messages of one UPDATE of message insights.
const insightsPerUpdate = 100

// setInsightsTx writes the message_insights of a conversation's messages, many messages to a
// statement (one statement per message made the write-back most of an analysis' cost).
func (s *Store) setInsightsTx(ctx context.Context, tx *sql.Tx, convRowID int64, insights map[string]json.RawMessage) error {
	ids := make([]string, 0, len(insights))
	for _, id := range slices.Sorted(maps.Keys(insights)) {
		if validID(id) {
			ids = append(ids, id)
		}
	}
	for start := 0; start < len(ids); start += insightsPerUpdate {
		part := ids[start:min(start+insightsPerUpdate, len(ids))]
		args := make([]any, 0, 1+2*len(part))
		args = append(args, convRowID)
		for _, id := range part {
			args = append(args, id, string(insights[id]))
		}
		if _, err := tx.ExecContext(ctx, s.q(s.d.SetMessageFields("message_insights", len(part))), args...); err != nil {
			return err
		}
	}
	return nil
}

// MessageFieldsCase is the CASE expression of Dialect.SetMessageFields: for n pairs of
// parameters from $2 (event id, JSON text), the JSON text of the row's event id; and the list
// of those event id parameters.
func MessageFieldsCase(n int) (caseExpr, idList string) {
	var c, l strings.Builder
	c.WriteString("CASE id")
	for i := range n {
		fmt.Fprintf(&c, " WHEN $%d THEN $%d", 2+2*i, 3+2*i)
		if i > 0 {
			l.WriteString(", ")
		}
		fmt.Fprintf(&l, "$%d", 2+2*i)
	}
	c.WriteString(" END")
	return c.String(), l.String()
}

func sameStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
