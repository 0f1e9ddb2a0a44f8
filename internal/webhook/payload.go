package webhook

import (
	"context"
	"encoding/json"
	"errors"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/wire"
)

// Event is the body of a delivery, and the data of a live-stream event.
type Event struct {
	// ID is the delivery's id for a webhook, the change's seq for the stream.
	ID          string    `json:"id"`
	Type        string    `json:"type"`
	CreatedAt   wire.Time `json:"created_at"` // when the change happened
	AssistantID string    `json:"assistant_id"`
	Actor       cv.Actor  `json:"actor"`
	Data        Data      `json:"data"`
}

// Data is what the change concerns, rendered through the API's own views.
type Data struct {
	// Conversation is the detail object as it is now ({"id"} once the conversation is gone).
	Conversation any `json:"conversation"`
	// Message is the new message of message.created: the data of its timeline event.
	Message any `json:"message,omitempty"`
	// Event is the timeline event ({"type", "data"}) of any other change that names one.
	Event *wire.Event `json:"event,omitempty"`
	// Fields are the fields conversation.updated changed; Keys the metadata keys
	// metadata.updated changed.
	Fields []string `json:"fields,omitempty"`
	Keys   []string `json:"keys,omitempty"`
}

// Reader is what rendering reads.
type Reader interface {
	Conversation(ctx context.Context, assistantID, id string) (cv.Conversation, error)
	Event(ctx context.Context, assistantID, conversationID, eventID string) (cv.Event, error)
}

type gone struct {
	ID string `json:"id"`
}

// Render builds the body of change ch, with the given id: the conversation and event as they
// are at this moment.
func Render(ctx context.Context, r Reader, ch cv.Change, id string) ([]byte, error) {
	e := Event{ID: id, Type: ch.Type, CreatedAt: wire.At(ch.CreatedAt), AssistantID: ch.AssistantID, Actor: ch.Actor}
	e.Data.Conversation = gone{ID: ch.ConversationID}
	if ch.Type != cv.ChangeConversationDeleted {
		c, err := r.Conversation(ctx, ch.AssistantID, ch.ConversationID)
		switch {
		case err == nil:
			e.Data.Conversation = wire.NewDetail(&c)
		case !errors.Is(err, cv.ErrNotFound):
			return nil, err
		}
		if ch.EventID != nil && err == nil {
			ev, err := r.Event(ctx, ch.AssistantID, ch.ConversationID, *ch.EventID)
			switch {
			case err == nil:
				we := wire.NewEvent(&ev)
				if ch.Type == cv.ChangeMessageCreated {
					e.Data.Message = we.Data
				} else {
					e.Data.Event = &we
				}
			case !errors.Is(err, cv.ErrNotFound):
				return nil, err
			}
		}
	}
	switch ch.Type {
	case cv.ChangeConversationUpdated:
		e.Data.Fields = ch.Fields
	case cv.ChangeMetadataUpdated:
		e.Data.Keys = ch.Fields
	}
	return json.Marshal(e)
}
