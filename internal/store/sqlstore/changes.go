package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// logChange records a change of c in the change log, inside the change's transaction. The
// actor comes from the context (the system when none). The entry is written when the
// transaction is about to commit (see flushChanges).
func (s *Store) logChange(ctx context.Context, tx *sql.Tx, c *cv.Conversation, typ string, eventID *string, fields []string) error {
	actor, err := json.Marshal(cv.ActorFrom(ctx))
	if err != nil {
		return err
	}
	var f any
	if len(fields) > 0 {
		b, _ := json.Marshal(fields)
		f = string(b)
	}
	var ev any
	if eventID != nil {
		ev = *eventID
	}
	e := pendingChange{assistantID: c.AssistantID, conversationID: c.ID, typ: typ, actor: string(actor), eventID: ev, fields: f, at: s.clock()}
	if v, ok := s.txs.Load(tx); ok {
		p := v.(*txChanges)
		p.entries = append(p.entries, e)
		return nil
	}
	// A transaction not opened by s.tx: write the entry now.
	p := &txChanges{entries: []pendingChange{e}}
	return s.flushChanges(ctx, tx, p)
}

// txChanges are the change-log entries of one transaction, in the order they happened, and,
// in a group (group.go), its search statements held back.
type txChanges struct {
	entries []pendingChange
	search  *requestSearch
}

type pendingChange struct {
	assistantID, conversationID, typ, actor string
	eventID, fields                         any
	at                                      time.Time
}

// changeBatch bounds the rows of one INSERT into the change log.
const changeBatch = 200

// flushChanges writes a transaction's change-log entries, last thing before it commits, so
// that the seq order of an assistant's entries is their commit order: readers that follow the
// log by seq (webhook endpoints, the live stream) never see seq n+1 committed while n is still
// to come, and so never step over it. SQLite has one writer, so that holds by itself; on
// PostgreSQL the entries are written under a transaction-scoped advisory lock per assistant,
// held until commit. Nothing else is locked after it, so it cannot deadlock.
func (s *Store) flushChanges(ctx context.Context, tx *sql.Tx, p *txChanges) error {
	if len(p.entries) == 0 {
		return nil
	}
	if lock := s.d.ChangeLock(); lock != "" {
		var ids []string
		for _, e := range p.entries {
			if !slices.Contains(ids, e.assistantID) {
				ids = append(ids, e.assistantID)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, s.q(lock), id); err != nil {
				return err
			}
		}
	}
	for start := 0; start < len(p.entries); start += changeBatch {
		batch := p.entries[start:min(start+changeBatch, len(p.entries))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO changes (assistant_id, conversation_id, type, actor, event_id, fields, created_at) VALUES `)
		args := make([]any, 0, 7*len(batch))
		for i, e := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
			args = append(args, e.assistantID, e.conversationID, e.typ, e.actor, e.eventID, e.fields, s.d.Time(e.at))
		}
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return err
		}
	}
	return nil
}

// changesCommitted tells the change listener which assistants a committed transaction changed.
func (s *Store) changesCommitted(p *txChanges) {
	if s.changeNotify == nil || len(p.entries) == 0 {
		return
	}
	var seen []string
	for _, e := range p.entries {
		if !slices.Contains(seen, e.assistantID) {
			seen = append(seen, e.assistantID)
			s.changeNotify(e.assistantID)
		}
	}
}

// SetChangeNotify sets a function called after a transaction that wrote change-log entries
// commits, once per assistant it changed, so that in-process readers of the log (the webhook
// dispatcher, live streams) need not wait for their next poll.
func (s *Store) SetChangeNotify(fn func(assistantID string)) { s.changeNotify = fn }

// logUpdate records what an update changed: conversation.updated with the fields, plus
// conversation.resolved and metadata.updated where those apply.
func (s *Store) logUpdate(ctx context.Context, tx *sql.Tx, before, after *cv.Conversation) error {
	fields := cv.ChangedFields(before, after)
	if len(fields) == 0 {
		return nil
	}
	if err := s.logChange(ctx, tx, after, cv.ChangeConversationUpdated, nil, fields); err != nil {
		return err
	}
	if before.ResolutionStatus != cv.StatusResolved && after.ResolutionStatus == cv.StatusResolved {
		if err := s.logChange(ctx, tx, after, cv.ChangeConversationResolved, nil, nil); err != nil {
			return err
		}
	}
	for _, f := range fields {
		if f == "client_metadata" {
			return s.logChange(ctx, tx, after, cv.ChangeMetadataUpdated, nil, cv.ChangedKeys(before.ClientMetadata, after.ClientMetadata))
		}
	}
	return nil
}

// Changes returns up to limit changes of an assistant after seq, oldest first.
func (s *Store) Changes(ctx context.Context, assistantID string, afterSeq int64, limit int) ([]cv.Change, error) {
	if !validID(assistantID) {
		return nil, cv.ErrNotFound
	}
	return s.changes(ctx, s.r, assistantID, afterSeq, limit)
}

// queryer is a pool or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) changes(ctx context.Context, q queryer, assistantID string, afterSeq int64, limit int) ([]cv.Change, error) {
	rows, err := q.QueryContext(ctx, s.q(`SELECT seq, assistant_id, conversation_id, type, actor, event_id, fields, created_at
 FROM changes WHERE assistant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`), assistantID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []cv.Change{}
	for rows.Next() {
		var c cv.Change
		var actor, fields nullBytes
		var at dbTime
		if err := rows.Scan(&c.Seq, &c.AssistantID, &c.ConversationID, &c.Type, &actor, &c.EventID, &fields, &at); err != nil {
			return nil, err
		}
		c.CreatedAt = at.t
		if err := json.Unmarshal(actor.b, &c.Actor); err != nil {
			return nil, err
		}
		if fields.b != nil {
			if err := json.Unmarshal(fields.b, &c.Fields); err != nil {
				return nil, err
			}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PruneChanges deletes changes older than before that no enabled webhook endpoint of their
// assistant still has to read, and returns how many went.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM changes WHERE created_at < $1
 AND NOT EXISTS (SELECT 1 FROM webhook_endpoints e WHERE e.assistant_id = changes.assistant_id AND e.enabled AND e.change_cursor < changes.seq)`),
		s.d.Time(before.UTC()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// LastChangeSeq returns the seq of the assistant's latest change (0 when none).
func (s *Store) LastChangeSeq(ctx context.Context, assistantID string) (int64, error) {
	if !validID(assistantID) {
		return 0, cv.ErrNotFound
	}
	var seq sql.NullInt64
	err := s.r.QueryRowContext(ctx, s.q(`SELECT max(seq) FROM changes WHERE assistant_id = $1`), assistantID).Scan(&seq)
	return seq.Int64, err
}
