package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// Values of the API's enums.
const (
	SourceWidget   = "widget"
	SourceTelegram = "telegram"
	SourceSlack    = "slack"
	SourceWhatsApp = "whatsapp"
	SourceAPI      = "api"

	AuthorAI       = "ai_assistant"
	AuthorVisitor  = "visitor"
	AuthorOperator = "human_operator"

	AssigneeAI         = "ai_assistant"
	AssigneeOperator   = "human_operator"
	AssigneeUnassigned = "unassigned"

	StatusOpen     = "open"
	StatusResolved = "resolved"

	EventMessage     = "message"
	EventTrackedLink = "tracked_link"
	EventLog         = "log"
)

// Assignee of a conversation: the AI assistant, a human operator (with the operator's id and
// name when known) or nobody (unassigned).
type Assignee struct {
	Type string  `json:"type"`
	ID   *string `json:"id,omitempty"`
	Name *string `json:"name,omitempty"`
}

// Conversation is a conversation as lists show it: the reference's list fields.
type Conversation struct {
	ID                   string    `json:"id"`
	Ord                  int64     `json:"ord"`
	CreatedAt            time.Time `json:"created_at"`
	LastMessageAt        time.Time `json:"last_message_at"`
	Title                string    `json:"title"`
	Source               string    `json:"source"`
	Terminated           bool      `json:"terminated"`
	ResolutionStatus     string    `json:"resolution_status"`
	HasUnreadMessages    bool      `json:"has_unread_messages"`
	SupportsInboxControl bool      `json:"supports_inbox_control"`
	LastMessageContent   string    `json:"last_message_content"`
	MostFrequentLanguage string    `json:"most_frequent_language"`
	Assignee             Assignee  `json:"assignee"`
	VisitorName          *string   `json:"visitor_name"`
	VisitorEmail         *string   `json:"visitor_email"`
	VisitorPhoneNumber   *string   `json:"visitor_phone_number"`
	VisitorLabel         *string   `json:"visitor_label"`
}

// ConversationDetail is the detail object: every list field plus the detail fields. Version
// counts changes: pass it to IfMatch to write only if nobody changed the conversation since.
type ConversationDetail struct {
	Conversation
	URL                  *string          `json:"url"`
	ClientMetadata       map[string]any   `json:"client_metadata"`
	LastVisitorMessageAt *time.Time       `json:"last_visitor_message_at"`
	UnifiedAnalysis      *UnifiedAnalysis `json:"unified_analysis"`
	Version              int64            `json:"version"`
	Rating               *Rating          `json:"rating"`
}

// UnifiedAnalysis is what the analysis concluded about a conversation (nil until the first
// analysis). Raw holds the whole object, with keys this client does not name (summary,
// intent, keywords, ...).
type UnifiedAnalysis struct {
	Sentiment        *string         `json:"sentiment"`
	ResolutionStatus *string         `json:"resolution_status"`
	Topic            *string         `json:"topic"`
	IsFlagged        bool            `json:"is_flagged"`
	FlagReason       *string         `json:"flag_reason"`
	Raw              json.RawMessage `json:"-"`
}

func (u *UnifiedAnalysis) UnmarshalJSON(b []byte) error {
	type plain UnifiedAnalysis
	var p plain
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*u = UnifiedAnalysis(p)
	u.Raw = append(json.RawMessage(nil), b...)
	return nil
}

func (u UnifiedAnalysis) MarshalJSON() ([]byte, error) {
	if len(u.Raw) > 0 {
		return u.Raw, nil
	}
	type plain UnifiedAnalysis
	return json.Marshal(plain(u))
}

// Rating is a visitor's rating of a whole conversation.
type Rating struct {
	Score     int       `json:"score"`
	Comment   *string   `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
}

// ConversationList is one page of conversations. Count is the number of all matches;
// NextCursor continues a keyset walk (nil on the last page).
type ConversationList struct {
	Items      []Conversation `json:"items"`
	Offset     int            `json:"offset"`
	Limit      int            `json:"limit"`
	Count      int64          `json:"count"`
	NextCursor *string        `json:"next_cursor"`
}

// Event is one entry of a timeline: a message, a tracked-link click or a log of a change.
// Exactly one of Message, TrackedLink and Log is set, as Type says.
type Event struct {
	Type        string
	ID          string
	Ord         int64
	CreatedAt   time.Time
	Message     *Message
	TrackedLink *TrackedLink
	Log         *Log
}

// eventHead are the fields every event's data has.
type eventHead struct {
	ID        string    `json:"id"`
	Ord       int64     `json:"ord"`
	CreatedAt time.Time `json:"created_at"`
}

func (e *Event) UnmarshalJSON(b []byte) error {
	var w struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var h eventHead
	if err := json.Unmarshal(w.Data, &h); err != nil {
		return err
	}
	*e = Event{Type: w.Type, ID: h.ID, Ord: h.Ord, CreatedAt: h.CreatedAt}
	var dst any
	switch w.Type {
	case EventMessage:
		e.Message = &Message{}
		dst = e.Message
	case EventTrackedLink:
		e.TrackedLink = &TrackedLink{}
		dst = e.TrackedLink
	case EventLog:
		e.Log = &Log{}
		dst = e.Log
	default:
		return nil // a type this client does not know: the head only
	}
	return json.Unmarshal(w.Data, dst)
}

func (e Event) MarshalJSON() ([]byte, error) {
	var data any = eventHead{e.ID, e.Ord, e.CreatedAt}
	switch {
	case e.Message != nil:
		data = MessageEvent{eventHead{e.ID, e.Ord, e.CreatedAt}, *e.Message}
	case e.TrackedLink != nil:
		data = struct {
			eventHead
			TrackedLink
		}{eventHead{e.ID, e.Ord, e.CreatedAt}, *e.TrackedLink}
	case e.Log != nil:
		data = struct {
			eventHead
			Log
		}{eventHead{e.ID, e.Ord, e.CreatedAt}, *e.Log}
	}
	return json.Marshal(struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{e.Type, data})
}

// Message is the data of a message event, with exactly the reference's fields.
type Message struct {
	Content          string          `json:"content"`
	Author           string          `json:"author"`
	HandoffState     *string         `json:"handoff_state"`
	MessageInsights  json.RawMessage `json:"message_insights"`
	Feedback         *Feedback       `json:"feedback"`
	ClientMetadata   map[string]any  `json:"client_metadata"`
	SourcesGenerated json.RawMessage `json:"sources_generated"`
	IsWelcome        bool            `json:"is_welcome"`
	Attachments      json.RawMessage `json:"attachments"`
}

// MessageEvent is a message with its event's id, ord and time: what appending a message and
// setting its feedback answer.
type MessageEvent struct {
	eventHead
	Message
}

// Feedback is a visitor's judgement of one message: Rating is "positive" or "negative".
type Feedback struct {
	Rating    string     `json:"rating"`
	Comment   *string    `json:"comment"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
}

// TrackedLink is the data of a tracked_link event: one click of a link in a message.
type TrackedLink struct {
	LinkID    string  `json:"link_id"`
	MessageID *string `json:"message_id"`
	URL       string  `json:"url"`
}

// Log is the data of a log event: a recorded change, who made it and how.
type Log struct {
	Kind    string         `json:"kind"`
	Actor   Actor          `json:"actor"`
	Content string         `json:"content"`
	Details map[string]any `json:"details"`
}

// Actor is who made a change: visitor, human_operator, ai_assistant, api_token or system.
type Actor struct {
	Type string  `json:"type"`
	ID   *string `json:"id"`
	Name *string `json:"name"`
}

// EventList is one page of a timeline, oldest first. NextCursor is the ord after which the
// next page starts (nil on a page that is not full).
type EventList struct {
	Items      []Event `json:"items"`
	Offset     int     `json:"offset"`
	Limit      int     `json:"limit"`
	Count      int64   `json:"count"`
	NextCursor *string `json:"next_cursor"`
}

// NewConversation is a conversation to create or import. Only Source is required.
// ExternalID makes creation idempotent: a second create with the same source and external id
// appends the new messages to the existing conversation.
type NewConversation struct {
	Source             string         `json:"source"`
	VisitorName        *string        `json:"visitor_name,omitempty"`
	VisitorEmail       *string        `json:"visitor_email,omitempty"`
	VisitorPhoneNumber *string        `json:"visitor_phone_number,omitempty"`
	VisitorLabel       *string        `json:"visitor_label,omitempty"`
	URL                *string        `json:"url,omitempty"`
	ClientMetadata     map[string]any `json:"client_metadata,omitempty"`
	ExternalID         *string        `json:"external_id,omitempty"`
	CreatedAt          *time.Time     `json:"created_at,omitempty"`
	Messages           []NewMessage   `json:"messages,omitempty"`
}

// NewMessage is a message to append (or to create with a conversation). ExternalID makes it
// idempotent within its conversation.
type NewMessage struct {
	Author           string          `json:"author"`
	Content          string          `json:"content"`
	CreatedAt        *time.Time      `json:"created_at,omitempty"`
	ClientMetadata   map[string]any  `json:"client_metadata,omitempty"`
	IsWelcome        bool            `json:"is_welcome,omitempty"`
	SourcesGenerated json.RawMessage `json:"sources_generated,omitempty"`
	Attachments      json.RawMessage `json:"attachments,omitempty"`
	ExternalID       *string         `json:"external_id,omitempty"`
	HandoffState     *string         `json:"handoff_state,omitempty"`
}

// Nullable is a field of a patch that can be left alone, set to a value, or cleared (null).
type Nullable[T any] struct {
	set, null bool
	v         T
}

// Set returns a Nullable that sets the field to v.
func Set[T any](v T) Nullable[T] { return Nullable[T]{set: true, v: v} }

// Null returns a Nullable that clears the field.
func Null[T any]() Nullable[T] { return Nullable[T]{set: true, null: true} }

// IsSet reports whether the field is changed at all.
func (n Nullable[T]) IsSet() bool { return n.set }

func (n Nullable[T]) value() any {
	if n.null {
		return nil
	}
	return n.v
}

// ConversationPatch changes a conversation. Nil and unset fields are left alone.
type ConversationPatch struct {
	ResolutionStatus   *string
	Assignee           *Assignee
	Terminated         *bool
	HasUnreadMessages  *bool
	Title              Nullable[string]
	VisitorName        Nullable[string]
	VisitorEmail       Nullable[string]
	VisitorPhoneNumber Nullable[string]
	VisitorLabel       Nullable[string]
}

func (p ConversationPatch) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if p.ResolutionStatus != nil {
		m["resolution_status"] = *p.ResolutionStatus
	}
	if p.Assignee != nil {
		m["assignee"] = p.Assignee
	}
	if p.Terminated != nil {
		m["terminated"] = *p.Terminated
	}
	if p.HasUnreadMessages != nil {
		m["has_unread_messages"] = *p.HasUnreadMessages
	}
	for name, f := range map[string]Nullable[string]{"title": p.Title, "visitor_name": p.VisitorName, "visitor_email": p.VisitorEmail,
		"visitor_phone_number": p.VisitorPhoneNumber, "visitor_label": p.VisitorLabel} {
		if f.set {
			m[name] = f.value()
		}
	}
	return json.Marshal(m)
}

// Metadata is a conversation's metadata and the conversation's version (for IfMatch).
type Metadata struct {
	Metadata map[string]any `json:"metadata"`
	Version  int64          `json:"-"`
}

// ImportResult says how many conversations an import stored and which lines failed.
type ImportResult struct {
	Imported int             `json:"imported"`
	Failed   []ImportFailure `json:"failed"`
}

// ImportFailure is a line of an import that was not stored, and why.
type ImportFailure struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

func (f ImportFailure) String() string { return fmt.Sprintf("line %d: %s", f.Line, f.Error) }

// Operator is a person who answers conversations (Role is "operator" or "admin").
type Operator struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

// Ptr returns a pointer to v: for the optional fields of NewConversation, NewMessage and
// ConversationPatch.
func Ptr[T any](v T) *T { return &v }
