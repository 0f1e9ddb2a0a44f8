package sqlstore

import (
	"context"
	"database/sql"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// maxLinkID bounds the ids looked up: real ones are 22 characters.
const maxLinkID = 64

// insertLinks stores the tracked links cut from a message, naming its event id.
func (s *Store) insertLinks(ctx context.Context, tx *sql.Tx, c *cv.Conversation, messageID string, links []cv.NewLink, now time.Time) error {
	for _, l := range links {
		if l.ID == "" || len(l.ID) > maxLinkID || l.URL == "" {
			return cv.Invalid("links", "a tracked link needs an id and a URL")
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO links (id, assistant_id, conversation_rid, message_id, url, created_at)
 VALUES ($1, $2, $3, $4, $5, $6)`), l.ID, c.AssistantID, c.RowID, messageID, l.URL, s.d.Time(now)); err != nil {
			return err
		}
	}
	return nil
}

const linkColumns = `l.id, l.assistant_id, c.id, l.message_id, l.url, l.created_at`

func scanLink(sc interface{ Scan(...any) error }) (cv.Link, error) {
	var l cv.Link
	var at dbTime
	err := sc.Scan(&l.ID, &l.AssistantID, &l.ConversationID, &l.MessageID, &l.URL, &at)
	l.CreatedAt = at.t
	return l, notFound(err)
}

// Link finds a tracked link by id.
func (s *Store) Link(ctx context.Context, id string) (cv.Link, error) {
	if id == "" || len(id) > maxLinkID {
		return cv.Link{}, cv.ErrNotFound
	}
	return scanLink(s.r.QueryRowContext(ctx, s.q(`SELECT `+linkColumns+` FROM links l
 JOIN conversations c ON c.rid = l.conversation_rid WHERE l.id = $1`), id))
}

// ClickLink records a click: a tracked_link event and a tracked_link.clicked change. The
// conversation's version stays (a click changes none of its fields), so that it never makes an
// operator's If-Match fail.
func (s *Store) ClickLink(ctx context.Context, id string) (store.LinkClick, error) {
	var out store.LinkClick
	if id == "" || len(id) > maxLinkID {
		return out, cv.ErrNotFound
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		l, err := scanLink(tx.QueryRowContext(ctx, s.q(`SELECT `+linkColumns+` FROM links l
 JOIN conversations c ON c.rid = l.conversation_rid WHERE l.id = $1`), id))
		if err != nil {
			return err
		}
		c, err := s.conversationTx(ctx, tx, l.AssistantID, l.ConversationID)
		if err != nil {
			return err
		}
		msg := l.MessageID
		ev, err := s.insertEvent(ctx, tx, &c, cv.Event{Type: cv.EventTrackedLink, CreatedAt: s.clock(),
			TrackedLink: &cv.TrackedLink{LinkID: l.ID, MessageID: &msg, URL: l.URL}})
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE conversations SET event_count = $2 WHERE rid = $1`), c.RowID, c.EventCount); err != nil {
			return err
		}
		if err := s.logChange(ctx, tx, &c, cv.ChangeTrackedLinkClicked, &ev.ID, nil); err != nil {
			return err
		}
		out = store.LinkClick{Link: l, Conversation: c, Event: ev}
		return nil
	})
	return out, err
}
