package sqlstore

import (
	"context"
	"database/sql"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// CreateWidgetSession creates a conversation and the visitor session that holds it.
func (s *Store) CreateWidgetSession(ctx context.Context, assistantID string, n cv.NewConversation, tokenHash []byte) (store.WidgetSession, cv.Conversation, error) {
	var ws store.WidgetSession
	var c cv.Conversation
	if !validID(assistantID) {
		return ws, c, cv.ErrNotFound
	}
	if len(tokenHash) == 0 {
		return ws, c, cv.Invalid("token", "a session needs the hash of its secret")
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := s.createTx(ctx, tx, assistantID, &n)
		if err != nil {
			return err
		}
		c = r.Conversation
		ws = store.WidgetSession{ID: newID(), AssistantID: assistantID, ConversationID: c.ID, CreatedAt: s.clock()}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO widget_sessions (id, assistant_id, conversation_rid, token_hash, created_at)
 VALUES ($1, $2, $3, $4, $5)`), ws.ID, assistantID, c.RowID, tokenHash, s.d.Time(ws.CreatedAt))
		return err
	})
	if err != nil {
		return store.WidgetSession{}, cv.Conversation{}, err
	}
	s.poke()
	return ws, c, nil
}

// WidgetSession finds one of the assistant's widget sessions by the hash of its secret.
func (s *Store) WidgetSession(ctx context.Context, assistantID string, tokenHash []byte) (store.WidgetSession, error) {
	var ws store.WidgetSession
	if !validID(assistantID) || len(tokenHash) == 0 {
		return ws, cv.ErrNotFound
	}
	var at dbTime
	err := s.r.QueryRowContext(ctx, s.q(`SELECT w.id, w.assistant_id, c.id, w.created_at FROM widget_sessions w
 JOIN conversations c ON c.rid = w.conversation_rid WHERE w.token_hash = $1 AND w.assistant_id = $2`), tokenHash, assistantID).
		Scan(&ws.ID, &ws.AssistantID, &ws.ConversationID, &at)
	ws.CreatedAt = at.t
	return ws, notFound(err)
}
