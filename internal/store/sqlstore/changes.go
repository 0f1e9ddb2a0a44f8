package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// logChange records a change of c in the change log, inside the change's transaction. The
// actor comes from the context (the system when none).
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
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO changes (assistant_id, conversation_id, type, actor, event_id, fields, created_at)
 VALUES ($1, $2, $3, $4, $5, $6, $7)`), c.AssistantID, c.ID, typ, string(actor), eventID, f, s.d.Time(s.clock()))
	return err
}

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
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT seq, assistant_id, conversation_id, type, actor, event_id, fields, created_at
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

// PruneChanges deletes changes older than before and returns how many went.
func (s *Store) PruneChanges(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM changes WHERE created_at < $1`), s.d.Time(before.UTC()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
