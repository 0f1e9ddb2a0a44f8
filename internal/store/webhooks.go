package store

import (
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
)

// Webhook is an outbound webhook endpoint of an assistant. It reads the assistant's change log
// from Cursor (the seq of the last change it has queued a delivery for, or passed over).
type Webhook struct {
	ID          string
	AssistantID string
	URL         string
	Description string
	// EventTypes are the change types it receives; empty receives every type.
	EventTypes []string
	// Secret signs its deliveries. The API shows it once, when the endpoint is created.
	Secret string
	// Enabled is false once the endpoint has been disabled, by a client or because its
	// deliveries kept failing (DisabledReason and DisabledAt then say why and when).
	Enabled        bool
	DisabledReason *string
	DisabledAt     *time.Time
	Cursor         int64
	LastSuccessAt  *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Wants reports whether the endpoint receives changes of type typ.
func (w *Webhook) Wants(typ string) bool {
	return len(w.EventTypes) == 0 || cv.Contains(w.EventTypes, typ)
}

// NewWebhook is an endpoint to create (validated by the caller).
type NewWebhook struct {
	URL         string
	Description string
	EventTypes  []string
	Secret      string
}

// Delivery states.
const (
	DeliveryPending   = "pending"   // not yet delivered: due, in flight, or waiting for a retry
	DeliverySucceeded = "succeeded" // the endpoint answered 2xx
	DeliveryFailed    = "failed"    // retries ran out
)

// Delivery is one change to deliver to one endpoint: the outbox row and its record.
type Delivery struct {
	ID        string
	WebhookID string
	// Change is a copy of the change-log entry (the log itself is pruned).
	Change         cv.Change
	State          string
	Attempts       int
	NextAttemptAt  *time.Time // when pending
	FirstAttemptAt *time.Time
	LastAttemptAt  *time.Time
	LastStatusCode *int
	LastError      *string
	CompletedAt    *time.Time
	CreatedAt      time.Time
	// Body is what the first attempt sent (nil before it): retries send the same bytes.
	Body []byte
}

// ClaimedDelivery is a delivery taken for sending, with where to send it.
type ClaimedDelivery struct {
	Delivery
	URL    string
	Secret string
}

// DeliveryAttempt is the outcome of sending a claimed delivery.
type DeliveryAttempt struct {
	At         time.Time
	Succeeded  bool
	StatusCode int    // 0 when no HTTP answer came
	Error      string // why it failed
	// Body is the body sent (kept from the first attempt on).
	Body []byte
	// RetryAt schedules the next attempt of a failure; zero makes the failure final.
	RetryAt time.Time
	// DisableReason, on a final failure, disables the endpoint with this reason unless it has
	// had a success since this delivery's first attempt.
	DisableReason string
}

// DeliveryFilter selects and pages an endpoint's deliveries, newest change first.
type DeliveryFilter struct {
	State string // "" for every state
	Limit int
	// BeforeSeq continues a listing: only deliveries of changes older than this seq.
	BeforeSeq int64
}

// DeliveryPage is one page of deliveries.
type DeliveryPage struct {
	Items []Delivery
	Count int64
	// NextBeforeSeq continues the listing (0 when this is the last page).
	NextBeforeSeq int64
}
