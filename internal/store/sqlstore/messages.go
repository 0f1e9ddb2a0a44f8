package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
)

// Event returns one event of one of the assistant's conversations.
func (s *Store) Event(ctx context.Context, assistantID, conversationID, eventID string) (cv.Event, error) {
	if !validID(assistantID) || !validID(conversationID) || !validID(eventID) {
		return cv.Event{}, cv.ErrNotFound
	}
	ev, err := scanEvent(s.r.QueryRowContext(ctx, s.q(`SELECT `+eventColumns+` FROM events e
 JOIN conversations c ON c.rid = e.conversation_rid WHERE c.id = $1 AND c.assistant_id = $2 AND e.id = $3`),
		conversationID, assistantID, eventID), conversationID)
	return ev, notFound(err)
}

// ConversationByExternalID finds the conversation of source that holds externalID now.
func (s *Store) ConversationByExternalID(ctx context.Context, assistantID, source, externalID string) (cv.Conversation, error) {
	if !validID(assistantID) {
		return cv.Conversation{}, cv.ErrNotFound
	}
	c, err := scanConversation(s.r.QueryRowContext(ctx, s.q(`SELECT `+convColumns+` FROM conversations c
 WHERE c.assistant_id = $1 AND c.source = $2 AND c.external_id = $3`), assistantID, source, externalID))
	return c, notFound(err)
}

// MessageByExternalID finds the newest message with externalID among the conversations of
// source, of the messages that came in from the platform (not those imported through the
// API: their ids are unique per conversation only, and indexing them all by assistant made
// every imported message an insert at a random place of that index).
func (s *Store) MessageByExternalID(ctx context.Context, assistantID, source, externalID string) (cv.Event, error) {
	if !validID(assistantID) {
		return cv.Event{}, cv.ErrNotFound
	}
	var conversationID string
	row := s.r.QueryRowContext(ctx, s.q(`SELECT `+eventColumns+`, c.id FROM events e
 JOIN conversations c ON c.rid = e.conversation_rid
 WHERE e.assistant_id = $1 AND e.external_id = $2 AND e.from_channel = 1 AND e.type = 'message' AND c.source = $3
 ORDER BY e.rid DESC LIMIT 1`), assistantID, externalID, source)
	ev, err := scanEvent(scanFunc(func(dest ...any) error { return row.Scan(append(dest, &conversationID)...) }), "")
	ev.ConversationID = conversationID
	return ev, notFound(err)
}

// scanFunc adapts a function to the Scan interface scanEvent takes.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// EditMessage replaces a message's content and records the edit.
func (s *Store) EditMessage(ctx context.Context, assistantID, conversationID, messageID, content string) (cv.Event, bool, error) {
	if !validID(messageID) {
		return cv.Event{}, false, cv.ErrNotFound
	}
	var out cv.Event
	var changed bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		changed = false
		c, err := s.conversationTx(ctx, tx, assistantID, conversationID)
		if err != nil {
			return err
		}
		read := c
		ev, err := scanEvent(tx.QueryRowContext(ctx, s.q(`SELECT `+eventColumns+` FROM events e
 WHERE e.conversation_rid = $1 AND e.id = $2 AND e.type = 'message'`), c.RowID, messageID), c.ID)
		if err != nil {
			return notFound(err)
		}
		out = ev
		prev := ev.Message.Content
		if prev == content {
			return nil
		}
		b, _ := json.Marshal(content)
		if _, err := tx.ExecContext(ctx, s.q(s.d.SetMessageField("content")), c.RowID, messageID, string(b)); err != nil {
			return err
		}
		out.Message.Content = content
		var later int64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM events WHERE conversation_rid = $1 AND type = 'message' AND ord > $2`),
			c.RowID, ev.Ord).Scan(&later); err != nil {
			return err
		}
		if later == 0 {
			c.LastMessageContent = content
		}
		now := s.clock()
		log := cv.EditedLog(cv.ActorFrom(ctx), messageID, prev, content)
		if _, err := s.insertEvent(ctx, tx, &c, cv.Event{Type: cv.EventLog, CreatedAt: now, Log: &log}); err != nil {
			return err
		}
		if err := s.rebuildSearchBody(ctx, tx, &c); err != nil {
			return err
		}
		if err := s.saveTx(ctx, tx, &read, &c, now); err != nil {
			return err
		}
		changed = true
		return s.logChange(ctx, tx, &c, cv.ChangeConversationUpdated, &out.ID, []string{"content"})
	})
	return out, changed, err
}

// rebuildSearchBody writes a conversation's message text into its search document again, as
// appending each message would have (up to MaxSearchBody), and its fields (Dialect.SetSearchBody).
func (s *Store) rebuildSearchBody(ctx context.Context, tx *sql.Tx, c *cv.Conversation) error {
	rid := c.RowID
	rows, err := tx.QueryContext(ctx, s.q(`SELECT data FROM events WHERE conversation_rid = $1 AND type = 'message' ORDER BY ord`), rid)
	if err != nil {
		return err
	}
	var b strings.Builder
	n := 0
	for rows.Next() {
		var data nullBytes
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return err
		}
		if n >= MaxSearchBody {
			continue
		}
		var m struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(data.b, &m); err != nil {
			rows.Close()
			return err
		}
		text := search.Normalize(m.Content)
		if text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(text)
		n += utf8.RuneCountInString(text)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if err := s.searchBarrier(ctx, tx); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, s.q(s.d.SetSearchBody()), rid, b.String(), searchMeta(c))
	return err
}

// AddLog appends a log event to a conversation, once per external id.
func (s *Store) AddLog(ctx context.Context, assistantID, conversationID string, l cv.Log, externalID *string) (cv.Event, bool, error) {
	var out cv.Event
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		created = false
		c, err := s.conversationTx(ctx, tx, assistantID, conversationID)
		if err != nil {
			return err
		}
		if externalID != nil {
			ev, err := scanEvent(tx.QueryRowContext(ctx, s.q(`SELECT `+eventColumns+` FROM events e WHERE e.conversation_rid = $1 AND e.external_id = $2`),
				c.RowID, *externalID), c.ID)
			if err == nil {
				out = ev
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		now := s.clock()
		if out, err = s.insertEvent(ctx, tx, &c, cv.Event{Type: cv.EventLog, CreatedAt: now, ExternalID: externalID, Log: &l}); err != nil {
			return err
		}
		// A record, not a change of the conversation's state: the version stays, so that a
		// stream of delivery statuses never fails an operator's If-Match.
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE conversations SET event_count = $2, updated_at = $3 WHERE rid = $1`),
			c.RowID, c.EventCount, s.d.Time(now)); err != nil {
			return err
		}
		created = true
		return s.logChange(ctx, tx, &c, cv.ChangeConversationUpdated, &out.ID, []string{"log"})
	})
	return out, created, err
}
