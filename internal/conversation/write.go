package conversation

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ValidationError is a client mistake in one named field; the API answers it with 422 (or
// 400 for query parameters) naming Field.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

// Invalid returns a *ValidationError for field.
func Invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limits on what a client may write.
const (
	MaxContentBytes     = 64 << 10
	MaxShortFieldBytes  = 512
	MaxURLBytes         = 4096
	MaxExternalIDBytes  = 256
	MaxMessagesInCreate = 1000
)

// NewMessage is a message as written through the API or a channel.
type NewMessage struct {
	Author           string          `json:"author"`
	Content          string          `json:"content"`
	CreatedAt        *time.Time      `json:"created_at"`
	ClientMetadata   json.RawMessage `json:"client_metadata"`
	IsWelcome        bool            `json:"is_welcome"`
	SourcesGenerated json.RawMessage `json:"sources_generated"`
	Attachments      json.RawMessage `json:"attachments"`
	ExternalID       *string         `json:"external_id"`
	HandoffState     *string         `json:"handoff_state,omitempty"`
	// RequestsHuman is the caller's judgement that the message asks for a human (handoff
	// keywords, or the analyzer); it is not part of the body.
	RequestsHuman bool `json:"-"`
	// FromChannel marks a message that came in from the conversation's platform (set by the
	// channel adapters): it is recorded, not sent back out.
	FromChannel bool `json:"-"`
	// Links are the tracked links cut from Content (see internal/links); the store keeps them
	// with the message, in the same transaction.
	Links []NewLink `json:"-"`
}

// NewConversation is a conversation as created through the API, an import or a channel.
type NewConversation struct {
	Source             string         `json:"source"`
	VisitorName        *string        `json:"visitor_name"`
	VisitorEmail       *string        `json:"visitor_email"`
	VisitorPhoneNumber *string        `json:"visitor_phone_number"`
	VisitorLabel       *string        `json:"visitor_label"`
	URL                *string        `json:"url"`
	ClientMetadata     map[string]any `json:"client_metadata"`
	ExternalID         *string        `json:"external_id"`
	CreatedAt          *time.Time     `json:"created_at"`
	Messages           []NewMessage   `json:"messages"`
	// NewIfTerminated makes a known external_id whose conversation has ended start a new
	// conversation (the behaviour of chat platforms, where a chat goes on forever) instead of
	// resuming the old one.
	NewIfTerminated bool `json:"-"`
}

// Validate checks a message and fills its defaults. prefix names the field in errors
// ("" for a lone message, "messages[3]." inside a create).
func (m *NewMessage) Validate(prefix string) error {
	if m.Author == "" {
		return Invalid(prefix+"author", "is required: one of %s", strings.Join(Authors, ", "))
	}
	if !Contains(Authors, m.Author) {
		return Invalid(prefix+"author", "must be one of %s", strings.Join(Authors, ", "))
	}
	if !utf8.ValidString(m.Content) {
		return Invalid(prefix+"content", "must be valid UTF-8")
	}
	if len(m.Content) > MaxContentBytes {
		return Invalid(prefix+"content", "must be at most %d bytes", MaxContentBytes)
	}
	if err := checkExternalID(prefix+"external_id", m.ExternalID); err != nil {
		return err
	}
	var err error
	if m.ClientMetadata, err = objectOrNull(prefix+"client_metadata", m.ClientMetadata); err != nil {
		return err
	}
	if m.SourcesGenerated, err = arrayOrEmpty(prefix+"sources_generated", m.SourcesGenerated); err != nil {
		return err
	}
	if m.Attachments, err = arrayOrEmpty(prefix+"attachments", m.Attachments); err != nil {
		return err
	}
	if m.CreatedAt != nil {
		t := m.CreatedAt.UTC()
		m.CreatedAt = &t
	}
	return nil
}

// Validate checks a new conversation and its messages.
func (c *NewConversation) Validate() error {
	if c.Source == "" {
		return Invalid("source", "is required: one of %s", strings.Join(Sources, ", "))
	}
	if !Contains(Sources, c.Source) {
		return Invalid("source", "must be one of %s", strings.Join(Sources, ", "))
	}
	for name, v := range map[string]*string{"visitor_name": c.VisitorName, "visitor_email": c.VisitorEmail, "visitor_phone_number": c.VisitorPhoneNumber, "visitor_label": c.VisitorLabel} {
		if err := checkShort(name, v); err != nil {
			return err
		}
	}
	if c.URL != nil && (len(*c.URL) > MaxURLBytes || !utf8.ValidString(*c.URL)) {
		return Invalid("url", "must be valid UTF-8 of at most %d bytes", MaxURLBytes)
	}
	if err := checkExternalID("external_id", c.ExternalID); err != nil {
		return err
	}
	if c.ClientMetadata != nil {
		if err := CheckMetadata(c.ClientMetadata); err != nil {
			return InClientMetadata(err)
		}
	}
	if len(c.Messages) > MaxMessagesInCreate {
		return Invalid("messages", "at most %d messages in one request", MaxMessagesInCreate)
	}
	for i := range c.Messages {
		if err := c.Messages[i].Validate(fmt.Sprintf("messages[%d].", i)); err != nil {
			return err
		}
	}
	if c.CreatedAt != nil {
		t := c.CreatedAt.UTC()
		c.CreatedAt = &t
	}
	return nil
}

// InClientMetadata names a metadata error (of CheckMetadata or a schema check, whose root is
// "metadata") as a field of a new conversation's client_metadata.
func InClientMetadata(err error) error {
	ve, ok := err.(*ValidationError)
	if !ok {
		return err
	}
	field := "client_metadata"
	if ve.Field != "metadata" {
		field += "." + ve.Field
	}
	return &ValidationError{Field: field, Message: ve.Message}
}

func checkShort(field string, v *string) error {
	if v == nil {
		return nil
	}
	if len(*v) > MaxShortFieldBytes || !utf8.ValidString(*v) {
		return Invalid(field, "must be valid UTF-8 of at most %d bytes", MaxShortFieldBytes)
	}
	return nil
}

func checkExternalID(field string, v *string) error {
	if v == nil {
		return nil
	}
	if *v == "" || len(*v) > MaxExternalIDBytes || !utf8.ValidString(*v) {
		return Invalid(field, "must be a non-empty string of at most %d bytes", MaxExternalIDBytes)
	}
	return nil
}

func objectOrNull(field string, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, Invalid(field, "must be a JSON object or null")
	}
	if len(raw) > MaxMetadataBytes {
		return nil, Invalid(field, "must be at most %d bytes", MaxMetadataBytes)
	}
	return compact(raw), nil
}

func arrayOrEmpty(field string, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return json.RawMessage("[]"), nil
	}
	var v []any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, Invalid(field, "must be a JSON array")
	}
	if len(raw) > MaxMetadataBytes {
		return nil, Invalid(field, "must be at most %d bytes", MaxMetadataBytes)
	}
	return compact(raw), nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// Handoff states of a message.
const (
	HandoffRequested = "requested"
	HandoffAccepted  = "accepted"
	HandoffReturned  = "returned"
)

// ApplyMessage updates the conversation's derived fields for a message written at `at`, and
// returns the log events the message causes: a visitor's message on a resolved conversation
// reopens it; on a terminated one (where the channel keeps the conversation) resumes it; one that
// asks for a human (m.RequestsHuman, decided by the caller) moves a conversation held by the AI
// to the queue and marks the message's handoff_state "requested".
func ApplyMessage(c *Conversation, m *NewMessage, at time.Time) []Log {
	if c.MessageCount == 0 || !at.Before(c.LastMessageAt) {
		c.LastMessageAt = at
		c.LastMessageContent = m.Content
	}
	c.MessageCount++
	var logs []Log
	switch m.Author {
	case AuthorVisitor:
		if c.LastVisitorMessageAt == nil || !at.Before(*c.LastVisitorMessageAt) {
			t := at
			c.LastVisitorMessageAt = &t
		}
		c.HasUnreadMessages = true
		actor := Actor{Type: AuthorVisitor, Name: c.VisitorName}
		if c.Terminated {
			c.Terminated = false
			logs = append(logs, Log{Kind: LogTermination, Actor: actor, Content: "Conversation resumed by a new visitor message",
				Details: map[string]any{"from": true, "to": false}})
		}
		if c.ResolutionStatus == StatusResolved {
			c.ResolutionStatus = StatusOpen
			logs = append(logs, Log{Kind: LogResolution, Actor: actor, Content: "Reopened by a new visitor message",
				Details: map[string]any{"from": StatusResolved, "to": StatusOpen, "assumed": false}})
		}
		if m.RequestsHuman && c.Assignee.Type == AssigneeAI {
			from := c.Assignee
			c.Assignee = Assignee{Type: AssigneeUnassigned}
			state := HandoffRequested
			m.HandoffState = &state
			logs = append(logs, Log{Kind: LogHandoff, Actor: actor, Content: "The visitor asked for a human: moved to the queue",
				Details: map[string]any{"from": from, "to": c.Assignee, "handoff_state": HandoffRequested}})
		}
	case AuthorOperator:
		c.HasUnreadMessages = false
	}
	return logs
}

// EditedLog is the log event of a message whose content changed from `from` to `to`: the
// message shows the new text, the log keeps the old one.
func EditedLog(actor Actor, messageID, from, to string) Log {
	return Log{Kind: LogEdited, Actor: actor, Content: "Message edited",
		Details: map[string]any{"message_id": messageID, "from": from, "to": to}}
}
