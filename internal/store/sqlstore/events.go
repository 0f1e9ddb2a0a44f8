package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/store"
)

// insertEvent appends ev to c's timeline with the next ord and returns it as stored.
func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, c *cv.Conversation, ev cv.Event) (cv.Event, error) {
	return s.addEvent(ctx, tx, c, ev, nil)
}

// addEvent is insertEvent; with st (a conversation being created) it stages the event for
// the batch instead.
func (s *Store) addEvent(ctx context.Context, tx *sql.Tx, c *cv.Conversation, ev cv.Event, st *newDoc) (cv.Event, error) {
	var data any
	switch ev.Type {
	case cv.EventMessage:
		data = ev.Message
	case cv.EventLog:
		data = ev.Log
	case cv.EventTrackedLink:
		data = ev.TrackedLink
	default:
		return ev, fmt.Errorf("sqlstore: unknown event type %q", ev.Type)
	}
	b, err := json.Marshal(data)
	if err != nil {
		return ev, err
	}
	c.EventCount++
	ev.ID, ev.ConversationID, ev.Ord = newID(), c.ID, c.EventCount
	ev.CreatedAt = ev.CreatedAt.UTC().Truncate(time.Microsecond)
	if st != nil {
		st.events = append(st.events, stagedEvent{ev: ev, data: string(b), rid: c.RowID, assistantID: c.AssistantID})
		return ev, nil
	}
	err = tx.QueryRowContext(ctx, s.q(`INSERT INTO events (id, conversation_rid, assistant_id, ord, type, created_at, external_id, data, from_channel)
 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING rid`),
		ev.ID, c.RowID, c.AssistantID, ev.Ord, ev.Type, s.d.Time(ev.CreatedAt), ev.ExternalID, string(b), fromChannel(ev)).Scan(&ev.RowID)
	if err != nil {
		return ev, err
	}
	return ev, s.countEvent(ctx, tx, c, &ev)
}

// fromChannel is the events.from_channel of ev: 1 for a message from its platform that has the
// platform's id (the partial index events_channel_external holds those alone).
func fromChannel(ev cv.Event) int {
	if ev.FromChannel && ev.ExternalID != nil {
		return 1
	}
	return 0
}

// appendTx adds a message to c (changing c's derived fields, not saving c). A message whose
// external_id c already has is returned as stored, with false.
func (s *Store) appendTx(ctx context.Context, tx *sql.Tx, c *cv.Conversation, m *cv.NewMessage, now time.Time) (cv.Event, bool, error) {
	return s.appendMsg(ctx, tx, c, m, now, nil)
}

// newDoc gathers what a conversation being created writes at once: the search text, so that
// its document is written once with every message (one index update instead of one per
// message); its events, inserted with the batch's (createBatch); and the external ids of its
// messages (a new conversation has no stored ones to look up).
type newDoc struct {
	body   strings.Builder
	runes  int
	seen   map[string]bool
	events []stagedEvent
}

// add appends a message's normalized text the way AppendSearchBody does: unless the body has
// reached MaxSearchBody characters.
func (d *newDoc) add(text string) {
	if d.runes >= MaxSearchBody {
		return
	}
	if d.body.Len() > 0 {
		d.body.WriteByte(' ')
		d.runes++
	}
	d.body.WriteString(text)
	d.runes += utf8.RuneCountInString(text)
}

// appendMsg is appendTx; for a conversation being created, doc (not nil) collects the search
// text, the events and the external ids instead of the database.
func (s *Store) appendMsg(ctx context.Context, tx *sql.Tx, c *cv.Conversation, m *cv.NewMessage, now time.Time, doc *newDoc) (cv.Event, bool, error) {
	if m.ExternalID != nil && doc != nil {
		if doc.seen[*m.ExternalID] {
			return cv.Event{}, false, nil
		}
		if doc.seen == nil {
			doc.seen = map[string]bool{}
		}
		doc.seen[*m.ExternalID] = true
	} else if m.ExternalID != nil {
		ev, err := scanEvent(tx.QueryRowContext(ctx, s.q(`SELECT `+eventColumns+` FROM events e WHERE e.conversation_rid = $1 AND e.external_id = $2`), c.RowID, *m.ExternalID), c.ID)
		if err == nil {
			return ev, false, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return ev, false, err
		}
	}
	at := now
	if m.CreatedAt != nil {
		at = m.CreatedAt.UTC().Truncate(time.Microsecond)
	}
	logs := cv.ApplyMessage(c, m, at)
	msg := &cv.Message{
		Content: m.Content, Author: m.Author, HandoffState: m.HandoffState, ClientMetadata: m.ClientMetadata,
		SourcesGenerated: orEmptyArray(m.SourcesGenerated), IsWelcome: m.IsWelcome, Attachments: orEmptyArray(m.Attachments),
	}
	ev, err := s.addEvent(ctx, tx, c, cv.Event{Type: cv.EventMessage, CreatedAt: at, ExternalID: m.ExternalID, Message: msg, FromChannel: m.FromChannel}, doc)
	if err != nil {
		return ev, false, err
	}
	if err := s.insertLinks(ctx, tx, c, ev.ID, m.Links, now); err != nil {
		return ev, false, err
	}
	for i := range logs {
		if _, err := s.addEvent(ctx, tx, c, cv.Event{Type: cv.EventLog, CreatedAt: at, Log: &logs[i]}, doc); err != nil {
			return ev, false, err
		}
	}
	if text := search.Normalize(m.Content); text != "" {
		if doc != nil {
			doc.add(text)
		} else if err := s.appendSearchBody(ctx, tx, c.RowID, text); err != nil {
			return ev, false, err
		}
	}
	return ev, true, nil
}

// appendLogged adds a message to an existing conversation and records it in the change log:
// message.created, and conversation.updated for what the message changed besides the unread
// marker (a reopen, a handoff).
func (s *Store) appendLogged(ctx context.Context, tx *sql.Tx, c *cv.Conversation, m *cv.NewMessage, now time.Time) (cv.Event, bool, error) {
	prev := *c
	ev, created, err := s.appendTx(ctx, tx, c, m, now)
	if err != nil || !created {
		return ev, created, err
	}
	if err := s.logChange(ctx, tx, c, cv.ChangeMessageCreated, &ev.ID, nil); err != nil {
		return ev, false, err
	}
	if err := s.deliverLater(ctx, tx, c, &ev, m, now); err != nil {
		return ev, false, err
	}
	prev.HasUnreadMessages = c.HasUnreadMessages
	return ev, true, s.logUpdate(ctx, tx, &prev, c)
}

func orEmptyArray(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("[]")
	}
	return raw
}

// AppendMessage adds a message to one of the assistant's conversations.
func (s *Store) AppendMessage(ctx context.Context, assistantID, conversationID string, m cv.NewMessage) (cv.Event, bool, error) {
	var ev cv.Event
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := s.conversationTx(ctx, tx, assistantID, conversationID)
		if err != nil {
			return err
		}
		read := c
		now := s.clock()
		ev, created, err = s.appendLogged(ctx, tx, &c, &m, now)
		if err != nil || !created {
			return err
		}
		if err := s.saveTx(ctx, tx, &read, &c, now); err != nil {
			return err
		}
		return s.analyzeLater(ctx, tx, &c, now)
	})
	if err == nil && created {
		s.poke()
	}
	return ev, created, err
}

const eventColumns = `e.rid, e.id, e.ord, e.type, e.created_at, e.external_id, e.data`

func scanEvent(sc interface{ Scan(...any) error }, conversationID string) (cv.Event, error) {
	var ev cv.Event
	var at dbTime
	var data nullBytes
	if err := sc.Scan(&ev.RowID, &ev.ID, &ev.Ord, &ev.Type, &at, &ev.ExternalID, &data); err != nil {
		return ev, err
	}
	ev.CreatedAt, ev.ConversationID = at.t, conversationID
	var target any
	switch ev.Type {
	case cv.EventMessage:
		ev.Message = &cv.Message{}
		target = ev.Message
	case cv.EventLog:
		ev.Log = &cv.Log{}
		target = ev.Log
	case cv.EventTrackedLink:
		ev.TrackedLink = &cv.TrackedLink{}
		target = ev.TrackedLink
	default:
		return ev, fmt.Errorf("sqlstore: unknown event type %q", ev.Type)
	}
	return ev, json.Unmarshal(data.b, target)
}

// Events returns a page of a conversation's timeline, oldest first.
func (s *Store) Events(ctx context.Context, assistantID, conversationID string, f cv.EventFilter) (cv.EventPage, error) {
	var page cv.EventPage
	c, err := s.Conversation(ctx, assistantID, conversationID)
	if err != nil {
		return page, err
	}
	where := []string{"e.conversation_rid = $1"}
	args := []any{c.RowID}
	if len(f.Types) > 0 {
		where = append(where, "e.type IN ("+placeholders(len(args)+1, len(f.Types))+")")
		for _, t := range f.Types {
			args = append(args, t)
		}
	}
	cond := strings.Join(where, " AND ")
	if len(f.Types) == 0 {
		page.Count = c.EventCount
	} else if err := s.r.QueryRowContext(ctx, s.d.Rebind(`SELECT count(*) FROM events e WHERE `+cond), args...).Scan(&page.Count); err != nil {
		return page, err
	}
	if f.AfterOrd != nil {
		args = append(args, *f.AfterOrd)
		cond += fmt.Sprintf(" AND e.ord > $%d", len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = cv.DefaultLimit
	}
	query := fmt.Sprintf(`SELECT %s FROM events e WHERE %s ORDER BY e.ord LIMIT %d`, eventColumns, cond, limit)
	if f.AfterOrd == nil && f.Offset > 0 {
		query += fmt.Sprintf(" OFFSET %d", f.Offset)
	}
	rows, err := s.r.QueryContext(ctx, s.d.Rebind(query), args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	page.Items = []cv.Event{}
	for rows.Next() {
		ev, err := scanEvent(rows, c.ID)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, ev)
	}
	return page, rows.Err()
}

// placeholders returns "$from, $from+1, ..." for n values.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// deliverLater queues a reply for its channel: a message by the assistant or an operator in a
// conversation of a channel that takes replies, unless the message came in from the channel
// itself.
func (s *Store) deliverLater(ctx context.Context, tx *sql.Tx, c *cv.Conversation, ev *cv.Event, m *cv.NewMessage, now time.Time) error {
	if m.Author == cv.AuthorVisitor || m.FromChannel || !cv.Contains(store.OutboundSources, c.Source) {
		return nil
	}
	payload, _ := json.Marshal(map[string]string{"conversation_id": c.ID, "event_id": ev.ID})
	return s.enqueueTx(ctx, tx, store.NewJob{Kind: store.JobDeliver, Key: ev.ID, AssistantID: c.AssistantID, Payload: payload, RunAt: now})
}
