package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"strconv"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/store"
)

// MaxSearchBody bounds the indexed text of one conversation (PostgreSQL's tsvector holds at
// most 1 MB); text past it is kept but not searchable.
const MaxSearchBody = 512 << 10

const convColumns = `c.rid, c.id, c.assistant_id, c.ord, c.created_at, c.updated_at, c.last_message_at, c.title, c.source,
 c.terminated, c.resolution_status, c.has_unread_messages, c.last_message_content, c.most_frequent_language,
 c.assignee_type, c.assignee_id, c.assignee_name, c.visitor_name, c.visitor_email, c.visitor_phone_number,
 c.visitor_label, c.url, c.client_metadata, c.last_visitor_message_at, c.unified_analysis, c.sentiment, c.topic,
 c.is_flagged, c.external_id, c.version, c.event_count, c.message_count, c.rating`

func scanConversation(sc interface{ Scan(...any) error }) (cv.Conversation, error) {
	var c cv.Conversation
	var created, updated, last dbTime
	var lastVisitor nullTime
	var meta, analysis, rating nullBytes
	err := sc.Scan(&c.RowID, &c.ID, &c.AssistantID, &c.Ord, &created, &updated, &last, &c.Title, &c.Source,
		&c.Terminated, &c.ResolutionStatus, &c.HasUnreadMessages, &c.LastMessageContent, &c.MostFrequentLanguage,
		&c.Assignee.Type, &c.Assignee.ID, &c.Assignee.Name, &c.VisitorName, &c.VisitorEmail, &c.VisitorPhoneNumber,
		&c.VisitorLabel, &c.URL, &meta, &lastVisitor, &analysis, &c.Sentiment, &c.Topic,
		&c.IsFlagged, &c.ExternalID, &c.Version, &c.EventCount, &c.MessageCount, &rating)
	if err != nil {
		return c, err
	}
	if rating.b != nil {
		if err := json.Unmarshal(rating.b, &c.Rating); err != nil {
			return c, err
		}
	}
	c.CreatedAt, c.UpdatedAt, c.LastMessageAt, c.LastVisitorMessageAt = created.t, updated.t, last.t, lastVisitor.t
	if meta.b != nil {
		if err := json.Unmarshal(meta.b, &c.ClientMetadata); err != nil {
			return c, err
		}
	}
	if len(analysis.b) > 0 && string(analysis.b) != "null" {
		c.UnifiedAnalysis = analysis.b
	}
	return c, nil
}

// conversationTx reads a conversation inside tx, locked for update.
func (s *Store) conversationTx(ctx context.Context, tx *sql.Tx, assistantID, id string) (cv.Conversation, error) {
	if !validID(id) || !validID(assistantID) {
		return cv.Conversation{}, cv.ErrNotFound
	}
	c, err := scanConversation(tx.QueryRowContext(ctx, s.q(`SELECT `+convColumns+` FROM conversations c WHERE c.id = $1 AND c.assistant_id = $2`+s.d.ForUpdate()), id, assistantID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, cv.ErrNotFound
	}
	return c, err
}

// Conversation finds one of the assistant's conversations.
func (s *Store) Conversation(ctx context.Context, assistantID, id string) (cv.Conversation, error) {
	if !validID(id) || !validID(assistantID) {
		return cv.Conversation{}, cv.ErrNotFound
	}
	c, err := scanConversation(s.r.QueryRowContext(ctx, s.q(`SELECT `+convColumns+` FROM conversations c WHERE c.id = $1 AND c.assistant_id = $2`), id, assistantID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, cv.ErrNotFound
	}
	return c, err
}

// CreateConversations stores a batch of new conversations in one transaction.
func (s *Store) CreateConversations(ctx context.Context, assistantID string, in []cv.NewConversation) ([]store.Created, error) {
	if !validID(assistantID) {
		return nil, cv.ErrNotFound
	}
	var out []store.Created
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		var b createBatch
		if err := s.readKnown(ctx, tx, assistantID, in, &b); err != nil {
			return err
		}
		for i := range in {
			r, err := s.createInTx(ctx, tx, assistantID, &in[i], &b)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return s.flush(ctx, tx, &b)
	})
	if err != nil {
		return nil, err
	}
	s.poke()
	return out, nil
}

func (s *Store) createTx(ctx context.Context, tx *sql.Tx, assistantID string, n *cv.NewConversation) (store.Created, error) {
	var b createBatch
	r, err := s.createInTx(ctx, tx, assistantID, n, &b)
	if err != nil {
		return r, err
	}
	return r, s.flush(ctx, tx, &b)
}

// createInTx creates a conversation, or adds to the one with its external id, leaving what
// can be written later in b.
func (s *Store) createInTx(ctx context.Context, tx *sql.Tx, assistantID string, n *cv.NewConversation, b *createBatch) (store.Created, error) {
	now := s.clock()
	if n.ExternalID != nil {
		var id string
		var err error
		if b.known != nil {
			if id = b.known[[2]string{n.Source, *n.ExternalID}]; id == "" {
				err = sql.ErrNoRows
			}
		} else {
			err = tx.QueryRowContext(ctx, s.q(`SELECT id FROM conversations WHERE assistant_id = $1 AND source = $2 AND external_id = $3`),
				assistantID, n.Source, *n.ExternalID).Scan(&id)
		}
		switch {
		case err == nil:
			// It may have been created earlier in this batch: what it has must be written
			// before messages are added to it.
			if err := s.flush(ctx, tx, b); err != nil {
				return store.Created{}, err
			}
			c, err := s.conversationTx(ctx, tx, assistantID, id)
			if err != nil {
				return store.Created{}, err
			}
			if c.Terminated && n.NewIfTerminated {
				// The ended conversation keeps its messages but lets go of the platform's id,
				// which names the new one from now on.
				if _, err := tx.ExecContext(ctx, s.q(`UPDATE conversations SET external_id = NULL WHERE rid = $1`), c.RowID); err != nil {
					return store.Created{}, err
				}
				break
			}
			read := c
			added := false
			for i := range n.Messages {
				_, created, err := s.appendLogged(ctx, tx, &c, &n.Messages[i], now)
				if err != nil {
					return store.Created{}, err
				}
				added = added || created
			}
			if !added {
				return store.Created{Conversation: c}, nil
			}
			if err := s.saveTx(ctx, tx, &read, &c, now); err != nil {
				return store.Created{}, err
			}
			return store.Created{Conversation: c}, s.analyzeLater(ctx, tx, &c, now)
		case !errors.Is(err, sql.ErrNoRows):
			return store.Created{}, err
		}
	}
	var ord int64
	err := tx.QueryRowContext(ctx, s.q(`UPDATE assistants SET next_ord = next_ord + 1 WHERE id = $1 RETURNING next_ord`), assistantID).Scan(&ord)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Created{}, cv.ErrNotFound
	}
	if err != nil {
		return store.Created{}, err
	}
	created := now
	if n.CreatedAt != nil {
		created = n.CreatedAt.UTC().Truncate(time.Microsecond)
	} else {
		// An import without a creation time starts with its first message.
		for _, m := range n.Messages {
			if m.CreatedAt != nil && m.CreatedAt.Before(created) {
				created = m.CreatedAt.UTC().Truncate(time.Microsecond)
			}
		}
	}
	c := cv.Conversation{
		ID: newID(), AssistantID: assistantID, Ord: ord, CreatedAt: created, UpdatedAt: now, LastMessageAt: created,
		Source: n.Source, ResolutionStatus: cv.StatusOpen, Assignee: cv.Assignee{Type: cv.AssigneeAI},
		VisitorName: n.VisitorName, VisitorEmail: n.VisitorEmail, VisitorPhoneNumber: n.VisitorPhoneNumber,
		VisitorLabel: n.VisitorLabel, URL: n.URL, ClientMetadata: n.ClientMetadata, ExternalID: n.ExternalID, Version: 1,
	}
	meta, err := metaJSON(c.ClientMetadata)
	if err != nil {
		return store.Created{}, err
	}
	// What the messages make of the conversation is worked out first, so that its row is
	// written once: an update would change last_message_at in every index that holds it.
	final := messagesApplied(c, n.Messages, now)
	var lastVisitor any
	if final.LastVisitorMessageAt != nil {
		lastVisitor = s.d.Time(*final.LastVisitorMessageAt)
	}
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO conversations (id, assistant_id, ord, created_at, updated_at, last_message_at, source,
 terminated, resolution_status, has_unread_messages, last_message_content, assignee_type, visitor_name, visitor_email,
 visitor_phone_number, visitor_label, url, client_metadata, is_flagged, external_id, version, event_count, message_count,
 last_visitor_message_at)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, 1, $21, $22, $23) RETURNING rid`),
		c.ID, assistantID, ord, s.d.Time(c.CreatedAt), s.d.Time(now), s.d.Time(final.LastMessageAt), c.Source,
		final.Terminated, final.ResolutionStatus, final.HasUnreadMessages, final.LastMessageContent, final.Assignee.Type, c.VisitorName, c.VisitorEmail,
		c.VisitorPhoneNumber, c.VisitorLabel, c.URL, meta, false, c.ExternalID, final.EventCount, final.MessageCount, lastVisitor).Scan(&c.RowID)
	if err != nil {
		return store.Created{}, err
	}
	// The search document is written once, with every message's text.
	var doc newDoc
	for i := range n.Messages {
		if _, _, err := s.appendMsg(ctx, tx, &c, &n.Messages[i], now, &doc); err != nil {
			return store.Created{}, err
		}
	}
	for i := range doc.events {
		if col := eventCounter(&doc.events[i].ev); col != "" {
			if b.counts == nil {
				b.counts = map[countKey]int64{}
			}
			b.counts[countKey{c.RowID, col}]++
		}
	}
	b.events = append(b.events, doc.events...)
	b.docs = append(b.docs, searchDoc{rid: c.RowID, assistantID: assistantID, meta: searchMeta(&c), body: doc.body.String()})
	if b.known != nil && c.ExternalID != nil {
		b.known[[2]string{c.Source, *c.ExternalID}] = c.ID
	}
	if err := s.logChange(ctx, tx, &c, cv.ChangeConversationCreated, nil, nil); err != nil {
		return store.Created{}, err
	}
	if len(n.Messages) > 0 {
		if !sameDerived(&c, &final) {
			c.Version = 0 // messages do not count as changes of a new conversation
			if err := s.saveTx(ctx, tx, nil, &c, now); err != nil {
				return store.Created{}, err
			}
		}
		b.jobs = append(b.jobs, stagedJob{conversationID: c.ID, assistantID: assistantID, now: now})
	}
	return store.Created{Conversation: c, Created: true}, nil
}

// messagesApplied is c after msgs (as appendMsg applies them to a new conversation, skipping
// a repeated external id), without storing anything.
func messagesApplied(c cv.Conversation, msgs []cv.NewMessage, now time.Time) cv.Conversation {
	seen := map[string]bool{}
	for i := range msgs {
		m := msgs[i]
		if m.ExternalID != nil {
			if seen[*m.ExternalID] {
				continue
			}
			seen[*m.ExternalID] = true
		}
		at := now
		if m.CreatedAt != nil {
			at = m.CreatedAt.UTC().Truncate(time.Microsecond)
		}
		c.EventCount += int64(1 + len(cv.ApplyMessage(&c, &m, at)))
	}
	return c
}

// sameDerived reports whether the fields that messages change agree.
func sameDerived(a, b *cv.Conversation) bool {
	tp := func(t *time.Time) int64 {
		if t == nil {
			return -1
		}
		return t.UnixMicro()
	}
	return a.LastMessageAt.Equal(b.LastMessageAt) && a.LastMessageContent == b.LastMessageContent &&
		a.HasUnreadMessages == b.HasUnreadMessages && tp(a.LastVisitorMessageAt) == tp(b.LastVisitorMessageAt) &&
		a.MessageCount == b.MessageCount && a.EventCount == b.EventCount && a.ResolutionStatus == b.ResolutionStatus &&
		a.Assignee == b.Assignee && a.Terminated == b.Terminated
}

func metaJSON(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// searchMeta is the searchable text about a conversation other than its messages.
func searchMeta(c *cv.Conversation) string {
	var parts []string
	for _, p := range []*string{c.Title, c.VisitorName, c.VisitorEmail, c.VisitorPhoneNumber, c.VisitorLabel} {
		if p != nil {
			parts = append(parts, *p)
		}
	}
	return search.Normalize(strings.Join(parts, " "))
}

// saveTx writes c back with the next version: updated_at, version and the mutable columns
// whose values differ from prev, the row as read in this transaction (every mutable column
// when prev is nil). Setting fewer columns is most of a message's write cost saved: SQLite
// rewrites the entries of every index that holds a column of the SET list, whether or not its
// value changed, and PostgreSQL compares fewer values for its triggers.
func (s *Store) saveTx(ctx context.Context, tx *sql.Tx, prev, c *cv.Conversation, now time.Time) error {
	vals, err := s.rowValues(c)
	if err != nil {
		return err
	}
	var old [len(savedColumns)]any
	if prev != nil {
		if old, err = s.rowValues(prev); err != nil {
			return err
		}
	}
	c.Version++
	c.UpdatedAt = now
	var b strings.Builder
	b.WriteString(`UPDATE conversations SET updated_at = $1, version = $2`)
	args := make([]any, 2, len(savedColumns)+3)
	args[0], args[1] = s.d.Time(now), c.Version
	for i, col := range savedColumns {
		if prev != nil && sameArg(old[i], vals[i]) {
			continue
		}
		args = append(args, vals[i])
		b.WriteString(", " + col + " = $" + strconv.Itoa(len(args)))
	}
	args = append(args, c.RowID)
	b.WriteString(` WHERE rid = $` + strconv.Itoa(len(args)))
	_, err = tx.ExecContext(ctx, s.q(b.String()), args...)
	return err
}

// savedColumns are the columns saveTx may write besides updated_at and version, in the order
// of rowValues.
var savedColumns = [...]string{"last_message_at", "title", "terminated", "resolution_status", "has_unread_messages",
	"last_message_content", "most_frequent_language", "assignee_type", "assignee_id", "assignee_name", "visitor_name",
	"visitor_email", "visitor_phone_number", "visitor_label", "client_metadata", "last_visitor_message_at",
	"unified_analysis", "sentiment", "topic", "is_flagged", "event_count", "message_count", "rating"}

// rowValues are the arguments that store c's savedColumns.
func (s *Store) rowValues(c *cv.Conversation) ([len(savedColumns)]any, error) {
	var out [len(savedColumns)]any
	meta, err := metaJSON(c.ClientMetadata)
	if err != nil {
		return out, err
	}
	var analysis any
	if len(c.UnifiedAnalysis) > 0 {
		analysis = string(c.UnifiedAnalysis)
	}
	var rating any
	if c.Rating != nil {
		b, err := json.Marshal(c.Rating)
		if err != nil {
			return out, err
		}
		rating = string(b)
	}
	var lastVisitor any
	if c.LastVisitorMessageAt != nil {
		lastVisitor = s.d.Time(*c.LastVisitorMessageAt)
	}
	out = [...]any{s.d.Time(c.LastMessageAt), c.Title, c.Terminated, c.ResolutionStatus, c.HasUnreadMessages,
		c.LastMessageContent, c.MostFrequentLanguage, c.Assignee.Type, c.Assignee.ID, c.Assignee.Name, c.VisitorName,
		c.VisitorEmail, c.VisitorPhoneNumber, c.VisitorLabel, meta, lastVisitor,
		analysis, c.Sentiment, c.Topic, c.IsFlagged, c.EventCount, c.MessageCount, rating}
	return out, nil
}

// sameArg reports whether two of rowValues' arguments store the same value.
func sameArg(a, b any) bool {
	deref := func(v any) any {
		if p, ok := v.(*string); ok {
			if p == nil {
				return nil
			}
			return *p
		}
		return v
	}
	a, b = deref(a), deref(b)
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

// UpdateConversation changes a conversation through fn, recording the log events it returns.
func (s *Store) UpdateConversation(ctx context.Context, assistantID, id string, ifVersion int64, fn func(*cv.Conversation) ([]cv.Log, error)) (cv.Conversation, error) {
	var out cv.Conversation
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.conversationTx(ctx, tx, assistantID, id)
		if err != nil {
			return err
		}
		if ifVersion != 0 && c.Version != ifVersion {
			return cv.ErrPreconditionFailed
		}
		before := searchMeta(&c)
		prev := c
		prev.ClientMetadata = maps.Clone(c.ClientMetadata)
		logs, err := fn(&c)
		if err != nil {
			return err
		}
		if len(logs) == 0 && len(cv.ChangedFields(&prev, &c)) == 0 {
			out = c // nothing changed: no new version
			return nil
		}
		if err := s.logUpdate(ctx, tx, &prev, &c); err != nil {
			return err
		}
		now := s.clock()
		for i := range logs {
			if _, err := s.insertEvent(ctx, tx, &c, cv.Event{Type: cv.EventLog, CreatedAt: now, Log: &logs[i]}); err != nil {
				return err
			}
		}
		if after := searchMeta(&c); after != before {
			if _, err := tx.ExecContext(ctx, s.q(s.d.UpdateSearchMeta()), c.RowID, after); err != nil {
				return err
			}
		}
		if err := s.saveTx(ctx, tx, &prev, &c, now); err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// DeleteConversation removes a conversation, its events and its search document.
func (s *Store) DeleteConversation(ctx context.Context, assistantID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.conversationTx(ctx, tx, assistantID, id)
		if err != nil {
			return err
		}
		// The row id may be taken again by a conversation created later in the transaction.
		if err := s.searchBarrier(ctx, tx); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM events WHERE conversation_rid = $1`, s.d.DeleteSearch(), `DELETE FROM conversations WHERE rid = $1`} {
			if _, err := tx.ExecContext(ctx, s.q(q), c.RowID); err != nil {
				return err
			}
		}
		// Earlier entries name a conversation that is gone; the deletion is the last word.
		if _, err := tx.ExecContext(ctx, s.q(deletePendingJobsByKey), c.ID); err != nil {
			return err
		}
		return s.logChange(ctx, tx, &c, cv.ChangeConversationDeleted, nil, nil)
	})
}

// deletePendingJobsByKey deletes the pending jobs of every kind that have key $1. No index
// leads with key: "WHERE key = $1 AND state = 'pending'" read every pending job (SQLite took
// (state, kind, run_at) and walked all of them: 185 ms with a backlog of 750,000 analyses,
// with the writer held). The kinds of pending jobs are found one index step at a time (the
// next kind after the last), then each (kind, key) is one look-up in the pending key index.
// The join keeps the kinds outside: with "kind IN (...)" SQLite again walked (state, kind).
const deletePendingJobsByKey = `DELETE FROM jobs WHERE rid IN (WITH RECURSIVE k (kind) AS (
   SELECT min(kind) FROM jobs WHERE state = 'pending'
   UNION ALL SELECT (SELECT min(n.kind) FROM jobs n WHERE n.state = 'pending' AND n.kind > k.kind) FROM k WHERE k.kind IS NOT NULL)
 SELECT j.rid FROM k CROSS JOIN jobs j WHERE j.kind = k.kind AND j.key = $1 AND j.state = 'pending')`
