// Package store defines how Parley keeps its data. One interface, one implementation per
// database engine (sqlite/, postgres/), both built on the shared SQL in sqlstore/ and held to the
// same behaviour by the conformance suite in storetest/.
package store

import (
	"context"
	"encoding/json"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

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

	// SaveAnalysis stores a conversation's analysis. It is not a change by anyone: the version
	// stays, so that it never makes an operator's If-Match fail.
	SaveAnalysis(ctx context.Context, assistantID, conversationID string, a cv.Analysis) (cv.Conversation, error)

	// ClaimIdempotencyKey claims key for a request with the given fingerprint. When the key is
	// new (or its record older than IdempotencyTTL) it is claimed and claimed is true. Otherwise
	// the stored record is returned: Status 0 while the first request is still running.
	ClaimIdempotencyKey(ctx context.Context, assistantID, key, fingerprint string) (rec IdempotencyRecord, claimed bool, err error)
	// FinishIdempotencyKey stores the response of a claimed key.
	FinishIdempotencyKey(ctx context.Context, assistantID, key string, status int, body []byte) error
	// ReleaseIdempotencyKey forgets a claimed key (the request failed on the server's side, so
	// a retry must run again).
	ReleaseIdempotencyKey(ctx context.Context, assistantID, key string) error

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

	// Changes returns up to limit entries of an assistant's change log after seq, oldest first.
	Changes(ctx context.Context, assistantID string, afterSeq int64, limit int) ([]cv.Change, error)
	// PruneChanges deletes change-log entries older than before.
	PruneChanges(ctx context.Context, before time.Time) (int64, error)

	// EnqueueJob adds background work, coalesced by (Kind, Key) while one is pending.
	EnqueueJob(ctx context.Context, j NewJob) error
	// ClaimJobs takes up to n due jobs of the given kinds for lease; a job whose lease ran out
	// (its worker died) is due again. Safe with several processes.
	ClaimJobs(ctx context.Context, kinds []string, n int, lease time.Duration) ([]Job, error)
	// CompleteJob removes a finished job.
	CompleteJob(ctx context.Context, id int64) error
	// RetryJob schedules a failed job again at `at`, or marks it failed for good when final.
	RetryJob(ctx context.Context, id int64, at time.Time, errMsg string, final bool) error
	// JobStats counts jobs by kind and state (for metrics and tests).
	JobStats(ctx context.Context) (map[string]map[string]int, error)
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
