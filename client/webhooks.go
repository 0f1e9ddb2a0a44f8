package client

import (
	"context"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Change types: the events of webhooks and of the live stream (WebhookEvent.Type), and the
// values of an endpoint's EventTypes.
const (
	ChangeConversationCreated  = "conversation.created"
	ChangeConversationUpdated  = "conversation.updated"
	ChangeConversationResolved = "conversation.resolved"
	ChangeConversationFlagged  = "conversation.flagged"
	ChangeConversationAnalyzed = "conversation.analyzed"
	ChangeConversationDeleted  = "conversation.deleted"
	ChangeMessageCreated       = "message.created"
	ChangeTrackedLinkClicked   = "tracked_link.clicked"
	ChangeMetadataUpdated      = "metadata.updated"
)

// Webhook endpoint statuses (Webhook.Status) and delivery statuses (Delivery.Status).
const (
	WebhookEnabled  = "enabled"
	WebhookDisabled = "disabled"

	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhooksService manages the assistant's outbound webhook endpoints and their deliveries.
// Get it from Client.Webhooks. Reading needs any token of the assistant; creating, changing,
// deleting and redelivering need write_all.
type WebhooksService struct{ c *Client }

// Webhook is an endpoint that Parley POSTs the assistant's changes to, signed with its secret.
type Webhook struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	Description string `json:"description"`
	// EventTypes are the change types sent to the endpoint (the Change constants); empty: all.
	EventTypes []string `json:"event_types"`
	// Status is WebhookEnabled or WebhookDisabled (Enabled says the same as a bool). An endpoint
	// whose deliveries failed for the whole retry window is disabled, with DisabledReason.
	Status         string     `json:"status"`
	Enabled        bool       `json:"enabled"`
	DisabledReason *string    `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	LastSuccessAt  *time.Time `json:"last_success_at"`
	// SecretSet says the endpoint has a signing secret (always, once created). The secret
	// itself, Secret, is only in the answer of Create: keep it for VerifySignature.
	SecretSet bool      `json:"secret_set"`
	Secret    string    `json:"secret,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewWebhook is an endpoint to create. Only URL is required: an absolute http or https URL,
// without user information or fragment.
type NewWebhook struct {
	URL         string `json:"url"`
	Description string `json:"description,omitempty"`
	// EventTypes are the change types to send (the Change constants); none: all of them.
	EventTypes []string `json:"event_types,omitempty"`
	// Secret is the signing secret (16 to 256 bytes); empty: the server generates one, which
	// the answer of Create shows once.
	Secret string `json:"secret,omitempty"`
}

// WebhookPatch changes an endpoint. Nil fields are left alone.
type WebhookPatch struct {
	URL         *string `json:"url,omitempty"`
	Description *string `json:"description,omitempty"`
	// EventTypes replaces the endpoint's change types; a pointer to an empty slice selects
	// every type.
	EventTypes *[]string `json:"event_types,omitempty"`
	// Secret rotates the signing secret: deliveries are signed with the new one from then on.
	Secret *string `json:"secret,omitempty"`
	// Enabled false disables the endpoint; true enables a disabled one again, and it catches
	// up with the changes made meanwhile.
	Enabled *bool `json:"enabled,omitempty"`
}

// Delivery is one change sent (or to be sent) to one endpoint, with its attempts so far.
type Delivery struct {
	// ID is the delivery's id: the Parley-Delivery header and the body's "id", the same on
	// every attempt.
	ID              string    `json:"id"`
	WebhookID       string    `json:"webhook_id"`
	Type            string    `json:"type"` // the change type
	ConversationID  string    `json:"conversation_id"`
	ChangeCreatedAt time.Time `json:"change_created_at"`
	// Status is DeliveryPending, DeliverySucceeded or DeliveryFailed.
	Status         string     `json:"status"`
	Attempts       int        `json:"attempts"`
	LastStatusCode *int       `json:"last_status_code"`
	LastError      *string    `json:"last_error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	FirstAttemptAt *time.Time `json:"first_attempt_at"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
	CompletedAt    *time.Time `json:"completed_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// DeliveryList is one page of an endpoint's deliveries, newest change first. Count is the
// number of all matches; NextCursor continues (nil on the last page).
type DeliveryList struct {
	Items      []Delivery `json:"items"`
	Offset     int        `json:"offset"`
	Limit      int        `json:"limit"`
	Count      int64      `json:"count"`
	NextCursor *string    `json:"next_cursor"`
}

// DeliveryOptions select a page of deliveries.
type DeliveryOptions struct {
	Status string // DeliveryPending, DeliverySucceeded or DeliveryFailed; "": all
	Limit  int    // server default 20, at most 100
	Cursor string // a previous page's NextCursor
}

func webhookPath(id string) string { return apiPrefix + "/webhooks/" + escape(id) }

// List returns the assistant's endpoints (at most 20).
func (s *WebhooksService) List(ctx context.Context) ([]Webhook, error) {
	var out struct {
		Items []Webhook `json:"items"`
	}
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: apiPrefix + "/webhooks"}, &out); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []Webhook{}
	}
	return out.Items, nil
}

// Get returns one endpoint.
func (s *WebhooksService) Get(ctx context.Context, id string) (*Webhook, error) {
	var out Webhook
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: webhookPath(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Create creates an endpoint (write_all). The answer's Secret is the signing secret, shown
// this once. An assistant with 20 endpoints already gets a 409 CONFLICT *Error.
func (s *WebhooksService) Create(ctx context.Context, n NewWebhook, opts ...WriteOption) (*Webhook, error) {
	var out Webhook
	if _, err := s.c.call(ctx, request{method: http.MethodPost, path: apiPrefix + "/webhooks", body: n, opts: opts}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Update changes an endpoint (write_all).
func (s *WebhooksService) Update(ctx context.Context, id string, p WebhookPatch, opts ...WriteOption) (*Webhook, error) {
	var out Webhook
	if _, err := s.c.call(ctx, request{method: http.MethodPatch, path: webhookPath(id), body: p, opts: opts}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete removes an endpoint and its deliveries (write_all).
func (s *WebhooksService) Delete(ctx context.Context, id string, opts ...WriteOption) error {
	_, err := s.c.call(ctx, request{method: http.MethodDelete, path: webhookPath(id), opts: opts}, nil)
	return err
}

// Deliveries returns one page of an endpoint's deliveries, newest change first.
func (s *WebhooksService) Deliveries(ctx context.Context, webhookID string, opts DeliveryOptions) (*DeliveryList, error) {
	q := url.Values{}
	if opts.Status != "" {
		q.Set("status", opts.Status)
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	if opts.Cursor != "" {
		q.Set("cursor", opts.Cursor)
	}
	var out DeliveryList
	if _, err := s.c.call(ctx, request{method: http.MethodGet, path: webhookPath(webhookID) + "/deliveries", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AllDeliveries yields every delivery of an endpoint that matches opts, newest change first,
// in pages of opts.Limit (100 by default), from opts.Cursor. It stops at the first error,
// which it yields.
func (s *WebhooksService) AllDeliveries(ctx context.Context, webhookID string, opts DeliveryOptions) iter.Seq2[Delivery, error] {
	return func(yield func(Delivery, error) bool) {
		if opts.Limit <= 0 {
			opts.Limit = 100
		}
		for {
			page, err := s.Deliveries(ctx, webhookID, opts)
			if err != nil {
				yield(Delivery{}, err)
				return
			}
			for _, d := range page.Items {
				if !yield(d, nil) {
					return
				}
			}
			if page.NextCursor == nil || len(page.Items) == 0 {
				return
			}
			opts.Cursor = *page.NextCursor
		}
	}
}

// Redeliver sends a delivery again, now, with a fresh retry window (write_all): the same id
// and body as before. The answer is the delivery, pending. It is a 409 CONFLICT *Error while
// the endpoint is disabled (enable it first with Update) and while an attempt of the delivery
// is being sent (try again when it has finished).
func (s *WebhooksService) Redeliver(ctx context.Context, webhookID, deliveryID string, opts ...WriteOption) (*Delivery, error) {
	var out Delivery
	r := request{method: http.MethodPost, path: webhookPath(webhookID) + "/deliveries/" + escape(deliveryID) + "/redeliver", opts: opts}
	if _, err := s.c.call(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
