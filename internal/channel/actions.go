package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
)

// Kind of an Action.
type Kind int

const (
	// Ignore acknowledges something that is not a visitor's message (a bot's own message, a
	// button press, an account notice...): Reason says why, for the log.
	Ignore Kind = iota
	// Message is a visitor's new message: Conversation is the platform chat's conversation
	// (source, external_id, visitor fields) with that one message.
	Message
	// Edit replaces the text of the message with MessageExternalID by Content.
	Edit
	// Delete records that the message with MessageExternalID was deleted (its text is kept).
	Delete
	// Log records Log in the conversation that holds ConversationExternalID now (a WhatsApp
	// delivery status), once per LogExternalID.
	Log
)

func (k Kind) String() string {
	switch k {
	case Message:
		return "message"
	case Edit:
		return "edit"
	case Delete:
		return "delete"
	case Log:
		return "log"
	}
	return "ignore"
}

// Action is one thing a webhook body asks of Parley, decided by a platform's parser before
// anything is stored.
type Action struct {
	Kind   Kind
	Reason string // Ignore: why

	Conversation *cv.NewConversation // Message

	MessageExternalID string   // Edit, Delete
	Content           string   // Edit: the new text
	Actor             cv.Actor // Edit, Delete: who (the visitor)

	ConversationExternalID string // Log
	Log                    cv.Log // Log
	LogExternalID          string // Log
}

// Ignored is an Ignore action.
func Ignored(format string, args ...any) Action {
	return Action{Kind: Ignore, Reason: fmt.Sprintf(format, args...)}
}

// Visitor is the actor of a visitor's change.
func Visitor(name *string) cv.Actor { return cv.Actor{Type: cv.AuthorVisitor, Name: name} }

// VisitorMessage is a Message action: a visitor's message in the chat conv (whose
// ExternalID names the chat and Source the platform).
func VisitorMessage(conv cv.NewConversation, externalID, content string, attachments []Attachment, at *time.Time) Action {
	m := cv.NewMessage{Author: cv.AuthorVisitor, Content: Content(content), ExternalID: &externalID, CreatedAt: at, FromChannel: true}
	if len(attachments) > 0 {
		m.Attachments, _ = json.Marshal(attachments)
	}
	conv.Messages = []cv.NewMessage{m}
	conv.NewIfTerminated = true
	return Action{Kind: Message, Conversation: &conv}
}

// Apply stores what a webhook body asked for, in order. Things that cannot be stored as asked
// (an edit of a message never seen, a message that breaks the write rules) are logged and
// skipped: the platform would only send them again. A store failure stops and is returned,
// so that the platform retries; the platform's ids make the retry store nothing twice.
func (o Options) Apply(ctx context.Context, source, assistantID string, st settings.Settings, actions []Action) error {
	log := o.Logger.With("channel", source, "assistant", assistantID)
	for _, a := range actions {
		var err error
		switch a.Kind {
		case Ignore:
			log.Info("channel event ignored", "reason", a.Reason)
		case Message:
			err = o.message(ctx, log, assistantID, st, a)
		case Edit:
			err = o.edit(ctx, log, source, assistantID, a)
		case Delete:
			err = o.delete(ctx, log, source, assistantID, a)
		case Log:
			err = o.log(ctx, log, source, assistantID, a)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (o Options) message(ctx context.Context, log *slog.Logger, assistantID string, st settings.Settings, a Action) error {
	nc := *a.Conversation
	nc.Messages = append([]cv.NewMessage(nil), nc.Messages...)
	if err := nc.Validate(); err != nil {
		log.Warn("channel message not stored", "reason", "breaks the write rules", "err", err)
		return nil
	}
	for i := range nc.Messages {
		m := &nc.Messages[i]
		m.FromChannel = true
		if o.RequestsHuman != nil && m.Author == cv.AuthorVisitor {
			m.RequestsHuman = o.RequestsHuman(m.Content, st.HandoffKeywords)
		}
	}
	ctx = cv.WithActor(ctx, Visitor(nc.VisitorName))
	res, err := o.Store.CreateConversations(ctx, assistantID, []cv.NewConversation{nc})
	if err != nil {
		return err
	}
	log.Debug("channel message stored", "conversation", res[0].Conversation.ID, "new_conversation", res[0].Created)
	return nil
}

func (o Options) edit(ctx context.Context, log *slog.Logger, source, assistantID string, a Action) error {
	ev, err := o.Store.MessageByExternalID(ctx, assistantID, source, a.MessageExternalID)
	if errors.Is(err, cv.ErrNotFound) {
		log.Info("channel event ignored", "reason", "edit of a message Parley has not stored", "message", a.MessageExternalID)
		return nil
	}
	if err != nil {
		return err
	}
	_, _, err = o.Store.EditMessage(cv.WithActor(ctx, a.Actor), assistantID, ev.ConversationID, ev.ID, Content(a.Content))
	if errors.Is(err, cv.ErrNotFound) {
		return nil // deleted meanwhile
	}
	return err
}

func (o Options) delete(ctx context.Context, log *slog.Logger, source, assistantID string, a Action) error {
	ev, err := o.Store.MessageByExternalID(ctx, assistantID, source, a.MessageExternalID)
	if errors.Is(err, cv.ErrNotFound) {
		log.Info("channel event ignored", "reason", "deletion of a message Parley has not stored", "message", a.MessageExternalID)
		return nil
	}
	if err != nil {
		return err
	}
	l := cv.Log{Kind: cv.LogDeleted, Actor: a.Actor, Content: "Message deleted on " + source + "; its text is kept",
		Details: map[string]any{"message_id": ev.ID, "content": ev.Message.Content}}
	ext := "deleted:" + a.MessageExternalID
	_, _, err = o.Store.AddLog(cv.WithActor(ctx, a.Actor), assistantID, ev.ConversationID, l, &ext)
	if errors.Is(err, cv.ErrNotFound) {
		return nil
	}
	return err
}

func (o Options) log(ctx context.Context, log *slog.Logger, source, assistantID string, a Action) error {
	c, err := o.Store.ConversationByExternalID(ctx, assistantID, source, a.ConversationExternalID)
	if errors.Is(err, cv.ErrNotFound) {
		log.Info("channel event ignored", "reason", "no conversation holds this chat", "chat", a.ConversationExternalID, "kind", a.Log.Kind)
		return nil
	}
	if err != nil {
		return err
	}
	var ext *string
	if a.LogExternalID != "" {
		ext = &a.LogExternalID
	}
	_, _, err = o.Store.AddLog(cv.WithActor(ctx, a.Log.Actor), assistantID, c.ID, a.Log, ext)
	if errors.Is(err, cv.ErrNotFound) {
		return nil
	}
	return err
}
