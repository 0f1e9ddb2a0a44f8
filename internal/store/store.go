// Package store defines how Parley keeps its data. One interface, one implementation per
// database engine (sqlite/, postgres/), both built on the shared SQL in sqlstore/ and held to the
// same behaviour by the conformance suite in storetest/.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// ErrDeliveryInFlight is why a webhook delivery being sent cannot be redelivered: the
// attempt's result would overwrite the request (with cv.ErrConflict).
var ErrDeliveryInFlight = errors.New("the delivery is being sent now; redeliver it once this attempt has finished")

// Store is everything Parley keeps. Every method that touches conversations takes the
// assistant's id and never sees another assistant's rows: a conversation of another assistant
// is ErrNotFound, exactly like a missing one.
type Store interface {
	// Close releases the database.
	Close() error
	// Engine names the database engine ("sqlite" or "postgres").
	Engine() string
	// Ping checks that the database answers.
	Ping(ctx context.Context) error

	CreateAssistant(ctx context.Context, name string) (cv.Assistant, error)
	Assistant(ctx context.Context, id string) (cv.Assistant, error)
	Assistants(ctx context.Context) ([]cv.Assistant, error)

	// CreateToken stores t (its ID, hash and times set by the caller).
	CreateToken(ctx context.Context, t cv.Token) error
	// TokenByHash finds a token by the hash of its secret, usable or not.
	TokenByHash(ctx context.Context, hash []byte) (cv.Token, error)
	Tokens(ctx context.Context, assistantID string) ([]cv.Token, error)
	RevokeToken(ctx context.Context, tokenID string, at time.Time) error
	TouchToken(ctx context.Context, tokenID string, at time.Time) error

	// Settings returns the assistant's settings document ({} when never set).
	Settings(ctx context.Context, assistantID string) (json.RawMessage, error)
	SaveSettings(ctx context.Context, assistantID string, doc json.RawMessage) error

	// CreateConversations stores a batch of validated new conversations in one transaction.
	// A conversation whose external_id the assistant already has for that source is not created
	// again: its new messages (by message external_id) are appended and Created is false.
	CreateConversations(ctx context.Context, assistantID string, in []cv.NewConversation) ([]Created, error)
	Conversation(ctx context.Context, assistantID, id string) (cv.Conversation, error)
	Conversations(ctx context.Context, assistantID string, f cv.Filter) (cv.ConversationPage, error)
	// EachConversation calls fn with every conversation that matches f, in f's order (its
	// Limit, Offset and Cursor do not matter), reading keyset pages so that memory stays
	// constant at any size, and stops at fn's first error, which it returns. Conversations
	// that change while the walk runs may be seen twice or not at all when f sorts by
	// last_message_at; created_at and ord do not change.
	EachConversation(ctx context.Context, assistantID string, f cv.Filter, fn func(*cv.Conversation) error) error
	// MetadataKeys returns the distinct top-level client_metadata keys of the conversations
	// that match f, sorted, at most limit of them.
	MetadataKeys(ctx context.Context, assistantID string, f cv.Filter, limit int) ([]string, error)
	// Analytics counts the conversations that match q's filter, grouped by q's dimensions.
	Analytics(ctx context.Context, assistantID string, q cv.AnalyticsQuery) (cv.Analytics, error)
	// UpdateConversation loads the conversation in a transaction, lets fn change it and return
	// log events to record, and saves it with a new version. When ifVersion is not 0 and differs
	// from the stored version, nothing changes and the error is ErrPreconditionFailed.
	UpdateConversation(ctx context.Context, assistantID, id string, ifVersion int64, fn func(*cv.Conversation) ([]cv.Log, error)) (cv.Conversation, error)
	// DeleteConversation removes the conversation and everything derived from it.
	DeleteConversation(ctx context.Context, assistantID, id string) error

	// AppendMessage adds a validated message to a conversation. A message external_id already
	// known in that conversation returns the stored message and false.
	AppendMessage(ctx context.Context, assistantID, conversationID string, m cv.NewMessage) (cv.Event, bool, error)
	Events(ctx context.Context, assistantID, conversationID string, f cv.EventFilter) (cv.EventPage, error)
	// Event returns one event of a conversation.
	Event(ctx context.Context, assistantID, conversationID, eventID string) (cv.Event, error)

	// ConversationByExternalID finds the assistant's conversation of source that holds
	// external_id now (a terminated one that let go of it for a new conversation is not found).
	ConversationByExternalID(ctx context.Context, assistantID, source, externalID string) (cv.Conversation, error)
	// MessageByExternalID finds the newest message event with that external_id among the
	// assistant's conversations of source, with its ConversationID: the message a platform's
	// edit or deletion names.
	MessageByExternalID(ctx context.Context, assistantID, source, externalID string) (cv.Event, error)
	// EditMessage replaces the content of one message, keeps the conversation's search
	// document and last_message_content right, and records a message_edited log event (actor
	// from ctx) whose details keep the previous text. The same content again changes nothing
	// and returns false.
	EditMessage(ctx context.Context, assistantID, conversationID, messageID, content string) (cv.Event, bool, error)
	// AddLog appends a log event to a conversation. When externalID is given and the
	// conversation already has an event with it, nothing is added and that event comes back
	// with false (platform retries of a deletion or a status record it once). The
	// conversation's version stays: a record is not a change of its state.
	AddLog(ctx context.Context, assistantID, conversationID string, l cv.Log, externalID *string) (cv.Event, bool, error)

	// SaveAnalysis stores a conversation's analysis. It is not a change by anyone: the version
	// stays, so that it never makes an operator's If-Match fail.
	SaveAnalysis(ctx context.Context, assistantID, conversationID string, a cv.Analysis) (cv.Conversation, error)
	// ConversationsForAnalysis reads the assistant's conversations of ids (those that exist, in
	// no particular order) with their messages, oldest first, in a few queries; a conversation
	// of more than maxMessages messages comes without them (Messages nil: read them page by
	// page with Events).
	ConversationsForAnalysis(ctx context.Context, assistantID string, ids []string, maxMessages int) ([]ConversationMessages, error)
	// SaveAnalyses stores several analyses in one transaction, each as SaveAnalysis does, and
	// enqueues the follow-up job each one names. A conversation deleted since is skipped: its
	// entry in the returned slice is cv.ErrNotFound (nil for the others). Any other error
	// stores nothing.
	SaveAnalyses(ctx context.Context, in []AnalysisSave) ([]error, error)

	// ClaimIdempotencyKey claims key for a request with the given fingerprint. When the key is
	// new (or its record older than IdempotencyTTL) it is claimed and claimed is true. Otherwise
	// the stored record is returned: Status 0 while the first request is still running.
	ClaimIdempotencyKey(ctx context.Context, assistantID, key, fingerprint string) (rec IdempotencyRecord, claimed bool, err error)
	// FinishIdempotencyKey stores the response of a claimed key.
	FinishIdempotencyKey(ctx context.Context, assistantID, key string, status int, body []byte) error
	// ReleaseIdempotencyKey forgets a claimed key (the request failed on the server's side, so
	// a retry must run again).
	ReleaseIdempotencyKey(ctx context.Context, assistantID, key string) error
	// PruneIdempotencyKeys deletes the keys claimed before `before`, of every assistant, and
	// returns how many. A key that no retry comes back for is otherwise kept for ever.
	PruneIdempotencyKeys(ctx context.Context, before time.Time) (int64, error)

	// SetMessageFeedback sets the feedback of one message of a conversation.
	SetMessageFeedback(ctx context.Context, assistantID, conversationID, messageID string, feedback json.RawMessage) (cv.Event, error)

	// CreateOperator adds a person (ErrConflict when the email is taken).
	CreateOperator(ctx context.Context, name, email, passwordHash string) (cv.Operator, error)
	OperatorByEmail(ctx context.Context, email string) (cv.Operator, error)
	SetOperatorPassword(ctx context.Context, operatorID, passwordHash string) error
	// AddMembership makes an operator a member of an assistant with a role (or changes it).
	AddMembership(ctx context.Context, operatorID, assistantID, role string) error
	RemoveMembership(ctx context.Context, operatorID, assistantID string) error
	// Operators lists an assistant's operators with their roles; Operator finds one member.
	Operators(ctx context.Context, assistantID string) ([]cv.Operator, error)
	Operator(ctx context.Context, assistantID, operatorID string) (cv.Operator, error)
	// Memberships lists the assistants an operator belongs to, with the role in each.
	Memberships(ctx context.Context, operatorID string) ([]Membership, error)

	// CreateSession stores a dashboard session (its ID, hash and times set by the caller);
	// ErrNotFound when the operator does not exist.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash finds a session by the hash of its secret, with its operator, expired or
	// not: the dashboard judges expiry.
	SessionByHash(ctx context.Context, hash []byte) (Session, cv.Operator, error)
	// TouchSession records that a session was used at `at` (LastSeenAt never moves back).
	TouchSession(ctx context.Context, id string, at time.Time) error
	// DeleteSession ends one session (sign-out).
	DeleteSession(ctx context.Context, id string) error
	// DeleteOperatorSessions ends every session of an operator (a new password, removal).
	DeleteOperatorSessions(ctx context.Context, operatorID string) (int64, error)
	// PruneSessions deletes sessions past their absolute expiry (before `before`) or idle
	// since before idleBefore.
	PruneSessions(ctx context.Context, before, idleBefore time.Time) (int64, error)

	// Changes returns up to limit entries of an assistant's change log after seq, oldest first.
	Changes(ctx context.Context, assistantID string, afterSeq int64, limit int) ([]cv.Change, error)
	// PruneChanges deletes change-log entries older than before that every enabled webhook
	// endpoint of their assistant has read past (a lagging endpoint keeps the log it still needs).
	PruneChanges(ctx context.Context, before time.Time) (int64, error)
	// LastChangeSeq returns the seq of the assistant's latest change-log entry (0 when none).
	LastChangeSeq(ctx context.Context, assistantID string) (int64, error)

	// CreateWidgetSession creates a conversation and the web widget's visitor session that
	// holds it, in one transaction. Only the hash of the session's secret is stored.
	CreateWidgetSession(ctx context.Context, assistantID string, n cv.NewConversation, tokenHash []byte) (WidgetSession, cv.Conversation, error)
	// WidgetSession finds one of the assistant's widget sessions by the hash of its secret.
	WidgetSession(ctx context.Context, assistantID string, tokenHash []byte) (WidgetSession, error)

	// Link finds a tracked link by its id (links are written with their message: see
	// conversation.NewMessage.Links).
	Link(ctx context.Context, id string) (cv.Link, error)
	// ClickLink records one click of a tracked link: a tracked_link event in its conversation
	// and a tracked_link.clicked change, attributed to the context's actor.
	ClickLink(ctx context.Context, id string) (LinkClick, error)

	// EnqueueJob adds background work, coalesced by (Kind, Key) while one is pending.
	EnqueueJob(ctx context.Context, j NewJob) error
	// ClaimJobs takes up to n due jobs of the given kinds for lease; a job whose lease ran out
	// (its worker died) is due again. Safe with several processes.
	ClaimJobs(ctx context.Context, kinds []string, n int, lease time.Duration) ([]Job, error)
	// CompleteJob removes a finished job; CompleteJobs several in one statement.
	CompleteJob(ctx context.Context, id int64) error
	CompleteJobs(ctx context.Context, ids []int64) error
	// RetryJob schedules a failed job again at `at`, or marks it failed for good when final.
	RetryJob(ctx context.Context, id int64, at time.Time, errMsg string, final bool) error
	// JobStats counts jobs by kind and state (for metrics and tests).
	JobStats(ctx context.Context) (map[string]map[string]int, error)

	// CreateWebhook adds an endpoint that receives the assistant's changes from now on (its
	// cursor starts at the latest change).
	CreateWebhook(ctx context.Context, assistantID string, w NewWebhook) (Webhook, error)
	// Webhooks lists an assistant's endpoints, oldest first; Webhook finds one.
	Webhooks(ctx context.Context, assistantID string) ([]Webhook, error)
	Webhook(ctx context.Context, assistantID, id string) (Webhook, error)
	// UpdateWebhook loads an endpoint in a transaction, lets fn change its URL, description,
	// event types, secret and enabled state (with DisabledReason and DisabledAt), and saves it.
	UpdateWebhook(ctx context.Context, assistantID, id string, fn func(*Webhook) error) (Webhook, error)
	// DeleteWebhook removes an endpoint with its deliveries.
	DeleteWebhook(ctx context.Context, assistantID, id string) error
	// QueueWebhookDeliveries moves every enabled endpoint forward on its assistant's change
	// log: one pending delivery per change of a type it wants, up to limit changes per endpoint
	// per call. Returns how many deliveries it queued. Safe with several processes.
	QueueWebhookDeliveries(ctx context.Context, limit int) (int, error)
	// ClaimWebhookDeliveries takes up to n due pending deliveries of enabled endpoints for
	// lease. Only the oldest pending delivery of a conversation for an endpoint is ever due:
	// deliveries go out one at a time, in change order, per (endpoint, conversation). An
	// endpoint with perEndpoint deliveries in flight (leased) gets no more until one finishes
	// (0: no limit), so that a slow receiver cannot take every sender. A delivery whose lease
	// ran out (its sender died) is due again. Safe with several processes.
	ClaimWebhookDeliveries(ctx context.Context, n, perEndpoint int, lease time.Duration) ([]ClaimedDelivery, error)
	// FinishWebhookDelivery records an attempt of a claimed delivery: success, a retry, or a
	// final failure (which may disable the endpoint: see DeliveryAttempt.DisableReason).
	FinishWebhookDelivery(ctx context.Context, id string, a DeliveryAttempt) error
	// WebhookDeliveries lists an endpoint's deliveries, newest change first.
	WebhookDeliveries(ctx context.Context, assistantID, webhookID string, f DeliveryFilter) (DeliveryPage, error)
	WebhookDelivery(ctx context.Context, assistantID, webhookID, id string) (Delivery, error)
	// RedeliverWebhookDelivery makes a delivery pending and due now, with a new retry window.
	// It is ErrConflict while the endpoint is disabled, and ErrConflict and ErrDeliveryInFlight
	// while the delivery is being sent.
	RedeliverWebhookDelivery(ctx context.Context, assistantID, webhookID, id string) (Delivery, error)
	// PruneWebhookDeliveries deletes finished (succeeded or failed) deliveries completed before
	// before.
	PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error)
}

// Job kinds the store itself enqueues.
const (
	// JobAnalyze analyses a conversation (Key: the conversation id). Every new message
	// enqueues one, coalesced per conversation.
	JobAnalyze = "analyze"
	// JobDeliver sends a reply out through the conversation's channel (Key: the message's event
	// id; Payload: {"conversation_id", "event_id"}). A message by the assistant or an operator
	// in a conversation of a channel that takes replies (telegram, slack, whatsapp) enqueues one.
	JobDeliver = "deliver"
)

// OutboundSources are the channels whose conversations get JobDeliver for replies.
var OutboundSources = []string{"telegram", "slack", "whatsapp"}

// NewJob is background work to enqueue.
type NewJob struct {
	Kind        string
	Key         string // coalescing key; "" makes every job its own
	AssistantID string
	Payload     json.RawMessage
	RunAt       time.Time
	// Deadline bounds how far coalescing may push RunAt (zero: RunAt).
	Deadline time.Time
}

// Job is claimed background work.
type Job struct {
	ID          int64
	Kind        string
	Key         string
	AssistantID string
	Payload     json.RawMessage
	Attempts    int
	RunAt       time.Time
	CreatedAt   time.Time
}

// ConversationMessages is a conversation with its message events.
type ConversationMessages struct {
	Conversation cv.Conversation
	Messages     []cv.Event
}

// AnalysisSave is one conversation's analysis for SaveAnalyses.
type AnalysisSave struct {
	AssistantID, ConversationID string
	Analysis                    cv.Analysis
	// Then, when not nil, is enqueued in the same transaction (a later look at the
	// conversation), coalesced as EnqueueJob coalesces.
	Then *NewJob
	// Done, when not 0, is the job this analysis finishes: completed (removed) in the same
	// transaction.
	Done int64
}

// IdempotencyTTL is how long a stored response answers retries of its Idempotency-Key.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyRecord is what a key has stored.
type IdempotencyRecord struct {
	Fingerprint string
	Status      int
	Body        []byte
}

// Created is the outcome of one conversation of a CreateConversations batch.
type Created struct {
	Conversation cv.Conversation
	Created      bool
}

// ClockFunc returns the current time; stores take one so tests can control it.
type ClockFunc func() time.Time

// Membership is an operator's place in an assistant.
type Membership struct {
	Assistant cv.Assistant
	Role      string
}
