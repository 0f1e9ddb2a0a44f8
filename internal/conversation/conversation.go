// Package conversation holds Parley's domain: assistants, tokens, conversations and their
// timeline of events, and the rules that keep derived fields right. It knows nothing of HTTP or
// SQL; the api package speaks HTTP and the store packages speak SQL.
package conversation

import (
	"encoding/json"
	"errors"
	"time"
)

// Errors shared by every layer. Stores wrap or return these so that the API can map them.
var (
	ErrNotFound           = errors.New("not found")
	ErrConflict           = errors.New("conflict")
	ErrPreconditionFailed = errors.New("precondition failed")
)

// Assistant owns conversations, settings and tokens (Quickchat calls it a scenario).
type Assistant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Scope of an API token.
type Scope string

const (
	ScopeRead  Scope = "read_all"
	ScopeWrite Scope = "write_all"
)

// Valid reports whether s is a known scope.
func (s Scope) Valid() bool { return s == ScopeRead || s == ScopeWrite }

// Allows reports whether a token of scope s may act where need is required.
func (s Scope) Allows(need Scope) bool { return need == ScopeRead || s == ScopeWrite }

// Token is an API token as stored: only its hash, never the secret itself.
type Token struct {
	ID          string     `json:"id"`
	AssistantID string     `json:"assistant_id"`
	Name        string     `json:"name"`
	Scope       Scope      `json:"scope"`
	Hash        []byte     `json:"-"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

// Usable reports whether the token may authenticate a request at now.
func (t Token) Usable(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// Sources, authors, assignee types, resolution statuses: the reference's enums.
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

// Sources lists the channel names a conversation may have. Other names are refused, so that
// filters and aggregates stay meaningful.
var Sources = []string{SourceWidget, SourceTelegram, SourceSlack, SourceWhatsApp, SourceAPI, "messenger", "instagram", "email", "intercom", "zendesk", "sms", "voice", "other"}

// AssigneeTypes, Authors, Statuses and EventTypes list the valid values of each enum.
var (
	AssigneeTypes = []string{AssigneeAI, AssigneeOperator, AssigneeUnassigned}
	Authors       = []string{AuthorAI, AuthorVisitor, AuthorOperator}
	Statuses      = []string{StatusOpen, StatusResolved}
	EventTypes    = []string{EventMessage, EventTrackedLink, EventLog}
	Sentiments    = []string{"positive", "neutral", "negative"}
)

// Contains reports whether list holds v.
func Contains(list []string, v string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// SupportsInboxControl reports whether an operator can reply through the conversation's source.
func SupportsInboxControl(source string) bool {
	switch source {
	case SourceWidget, SourceTelegram, SourceSlack, SourceWhatsApp:
		return true
	}
	return false
}

// Assignee of a conversation. ID and Name are set for human operators (extension).
type Assignee struct {
	Type string  `json:"type"`
	ID   *string `json:"id,omitempty"`
	Name *string `json:"name,omitempty"`
}

// Conversation is one conversation with its derived fields.
type Conversation struct {
	RowID                int64 // engine-internal key, used for cursors; never shown
	ID                   string
	AssistantID          string
	Ord                  int64
	CreatedAt            time.Time
	LastMessageAt        time.Time
	Title                *string
	Source               string
	Terminated           bool
	ResolutionStatus     string
	HasUnreadMessages    bool
	LastMessageContent   string
	MostFrequentLanguage *string
	Assignee             Assignee
	VisitorName          *string
	VisitorEmail         *string
	VisitorPhoneNumber   *string
	VisitorLabel         *string
	URL                  *string
	ClientMetadata       map[string]any
	LastVisitorMessageAt *time.Time
	UnifiedAnalysis      json.RawMessage // null until the first analysis
	ExternalID           *string
	Version              int64
	EventCount           int64 // last event ord used
	MessageCount         int64
	Sentiment            *string // from unified_analysis, kept as columns for filters
	Topic                *string
	IsFlagged            bool
	Rating               *Rating // the visitor's rating of the conversation (extension)
	UpdatedAt            time.Time
}

// Event is one entry of a conversation's timeline. Data holds the type-specific fields other
// than id, ord and created_at, already in their wire form.
type Event struct {
	RowID          int64
	ID             string
	ConversationID string
	Ord            int64
	Type           string
	CreatedAt      time.Time
	ExternalID     *string
	Message        *Message
	Log            *Log
	TrackedLink    *TrackedLink
	// FromChannel marks a message that came in from its platform (a channel finds it again
	// by the platform's id for an edit or a deletion). Stored, not shown.
	FromChannel bool
}

// Message is the data of a message event, with exactly the reference's fields.
type Message struct {
	Content          string          `json:"content"`
	Author           string          `json:"author"`
	HandoffState     *string         `json:"handoff_state"`
	MessageInsights  json.RawMessage `json:"message_insights"`
	Feedback         json.RawMessage `json:"feedback"`
	ClientMetadata   json.RawMessage `json:"client_metadata"`
	SourcesGenerated json.RawMessage `json:"sources_generated"`
	IsWelcome        bool            `json:"is_welcome"`
	Attachments      json.RawMessage `json:"attachments"`
}

// Actor is who made a change recorded in a log event.
type Actor struct {
	Type string  `json:"type"` // visitor, human_operator, ai_assistant, api_token, system
	ID   *string `json:"id"`
	Name *string `json:"name"`
}

// Log kinds.
const (
	LogAssignment  = "assignment"
	LogHandoff     = "handoff"
	LogResolution  = "resolution"
	LogTermination = "termination"
	LogMetadata    = "metadata"
	LogRating      = "rating"
	LogEdited      = "message_edited"
	LogDeleted     = "message_deleted"
	LogDeliveryErr = "delivery_failed"
	LogDelivery    = "delivery_status"
)

// Log is the data of a log event: a recorded change.
type Log struct {
	Kind    string         `json:"kind"`
	Actor   Actor          `json:"actor"`
	Content string         `json:"content"`
	Details map[string]any `json:"details"`
}

// TrackedLink is the data of a tracked_link event: one click.
type TrackedLink struct {
	LinkID    string  `json:"link_id"`
	MessageID *string `json:"message_id"`
	URL       string  `json:"url"`
}

// Analysis is what the analyzers conclude about a conversation, as the store keeps it.
type Analysis struct {
	// Unified is the unified_analysis object as served (sentiment, resolution_status, topic,
	// is_flagged, flag_reason, and extension keys).
	Unified   json.RawMessage
	Sentiment *string
	Topic     *string
	IsFlagged bool
	Language  *string
	// Title replaces the title unless someone set one by hand (a title differs from the one
	// the previous analysis gave).
	Title *string
	// PreviousTitle is the title the previous analysis gave, if any.
	PreviousTitle *string
	// MessageInsights are per-message insights by event id, for messages that have none yet.
	MessageInsights map[string]json.RawMessage
}

// Rating is a visitor's rating of a whole conversation.
type Rating struct {
	Score     int       `json:"score"`
	Comment   *string   `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
}

// Operator is a person who answers conversations and signs in to the dashboard.
type Operator struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Email        string    `json:"email"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	// Role in the assistant it was read for ("operator" or "admin").
	Role string `json:"role,omitempty"`
}

// Operator roles.
const (
	RoleOperator = "operator"
	RoleAdmin    = "admin"
)
