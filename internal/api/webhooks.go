package api

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/webhook"
	"github.com/parleyhq/parley/internal/wire"
)

// webhookView is an endpoint as the API shows it. The secret is write-only: it is shown once,
// in the answer to the create request, and "secret_set" stands for it afterwards.
type webhookView struct {
	ID             string     `json:"id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	EventTypes     []string   `json:"event_types"`
	Status         string     `json:"status"` // enabled or disabled
	Enabled        bool       `json:"enabled"`
	DisabledReason *string    `json:"disabled_reason"`
	DisabledAt     *wire.Time `json:"disabled_at"`
	LastSuccessAt  *wire.Time `json:"last_success_at"`
	SecretSet      bool       `json:"secret_set"`
	Secret         string     `json:"secret,omitempty"`
	CreatedAt      wire.Time  `json:"created_at"`
	UpdatedAt      wire.Time  `json:"updated_at"`
}

func newWebhookView(w *store.Webhook) webhookView {
	v := webhookView{ID: w.ID, URL: w.URL, Description: w.Description, EventTypes: w.EventTypes, Status: "enabled", Enabled: w.Enabled,
		DisabledReason: w.DisabledReason, DisabledAt: wire.TimePtr(w.DisabledAt), LastSuccessAt: wire.TimePtr(w.LastSuccessAt),
		SecretSet: w.Secret != "", CreatedAt: wire.At(w.CreatedAt), UpdatedAt: wire.At(w.UpdatedAt)}
	if !w.Enabled {
		v.Status = "disabled"
	}
	if v.EventTypes == nil {
		v.EventTypes = []string{}
	}
	return v
}

// deliveryView is one delivery in the deliveries list.
type deliveryView struct {
	ID              string     `json:"id"`
	WebhookID       string     `json:"webhook_id"`
	Type            string     `json:"type"`
	ConversationID  string     `json:"conversation_id"`
	ChangeCreatedAt wire.Time  `json:"change_created_at"`
	Status          string     `json:"status"`
	Attempts        int        `json:"attempts"`
	LastStatusCode  *int       `json:"last_status_code"`
	LastError       *string    `json:"last_error"`
	NextAttemptAt   *wire.Time `json:"next_attempt_at"`
	FirstAttemptAt  *wire.Time `json:"first_attempt_at"`
	LastAttemptAt   *wire.Time `json:"last_attempt_at"`
	CompletedAt     *wire.Time `json:"completed_at"`
	CreatedAt       wire.Time  `json:"created_at"`
}

func newDeliveryView(d *store.Delivery) deliveryView {
	return deliveryView{ID: d.ID, WebhookID: d.WebhookID, Type: d.Change.Type, ConversationID: d.Change.ConversationID,
		ChangeCreatedAt: wire.At(d.Change.CreatedAt), Status: d.State, Attempts: d.Attempts, LastStatusCode: d.LastStatusCode,
		LastError: d.LastError, NextAttemptAt: wire.TimePtr(d.NextAttemptAt), FirstAttemptAt: wire.TimePtr(d.FirstAttemptAt),
		LastAttemptAt: wire.TimePtr(d.LastAttemptAt), CompletedAt: wire.TimePtr(d.CompletedAt), CreatedAt: wire.At(d.CreatedAt)}
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// pathUUID reads a UUID path value (lower case, as the API writes them); anything else cannot
// exist, so it is a 404.
func pathUUID(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	if len(v) != 36 || !uuidPattern.MatchString(v) {
		return "", errNotFound
	}
	return v, nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, p principal) error {
	list, err := s.store.Webhooks(r.Context(), p.assistantID())
	if err != nil {
		return err
	}
	out := struct {
		Items []webhookView `json:"items"`
	}{Items: make([]webhookView, len(list))}
	for i := range list {
		out.Items[i] = newWebhookView(&list[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// webhookInput is the body of create and update requests.
type webhookInput struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	EventTypes  *[]string `json:"event_types"`
	Secret      *string   `json:"secret"`
	Enabled     *bool     `json:"enabled"`
}

func (in *webhookInput) check() error {
	if in.URL != nil {
		if err := webhook.CheckURL("url", *in.URL); err != nil {
			return err
		}
	}
	if in.Description != nil {
		if err := webhook.CheckDescription("description", *in.Description); err != nil {
			return err
		}
	}
	if in.EventTypes != nil {
		types, err := webhook.CheckEventTypes("event_types", *in.EventTypes)
		if err != nil {
			return err
		}
		in.EventTypes = &types
	}
	if in.Secret != nil {
		if err := webhook.CheckSecret("secret", *in.Secret); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, p principal) error {
	var in webhookInput
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if in.URL == nil {
		return invalid("url", "is required")
	}
	if in.Enabled != nil && !*in.Enabled {
		return invalid("enabled", "a new endpoint is enabled; disable it afterwards")
	}
	if err := in.check(); err != nil {
		return err
	}
	existing, err := s.store.Webhooks(r.Context(), p.assistantID())
	if err != nil {
		return err
	}
	if len(existing) >= webhook.MaxEndpoints {
		return errorf(http.StatusConflict, CodeConflict, "", "An assistant has at most %d webhook endpoints.", webhook.MaxEndpoints)
	}
	n := store.NewWebhook{URL: *in.URL, Secret: webhook.NewSecret()}
	if in.Description != nil {
		n.Description = *in.Description
	}
	if in.EventTypes != nil {
		n.EventTypes = *in.EventTypes
	}
	if in.Secret != nil {
		n.Secret = *in.Secret
	}
	created, err := s.store.CreateWebhook(r.Context(), p.assistantID(), n)
	if err != nil {
		return err
	}
	v := newWebhookView(&created)
	v.Secret = created.Secret // shown this once
	w.Header().Set("Location", prefix+"/webhooks/"+created.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := pathUUID(r, "webhook_id")
	if err != nil {
		return err
	}
	hook, err := s.store.Webhook(r.Context(), p.assistantID(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newWebhookView(&hook))
	return nil
}

// patchWebhook changes the given fields. {"enabled": true} enables a disabled endpoint again
// (it catches up from where it stopped); {"enabled": false} disables it.
func (s *Server) patchWebhook(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := pathUUID(r, "webhook_id")
	if err != nil {
		return err
	}
	var in webhookInput
	if err := decodeBody(r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	now := s.now().UTC()
	hook, err := s.store.UpdateWebhook(r.Context(), p.assistantID(), id, func(h *store.Webhook) error {
		if in.URL != nil {
			h.URL = *in.URL
		}
		if in.Description != nil {
			h.Description = *in.Description
		}
		if in.EventTypes != nil {
			h.EventTypes = *in.EventTypes
		}
		if in.Secret != nil {
			h.Secret = *in.Secret
		}
		if in.Enabled != nil && *in.Enabled != h.Enabled {
			h.Enabled = *in.Enabled
			if h.Enabled {
				h.DisabledReason, h.DisabledAt = nil, nil
			} else {
				reason := "Disabled through the API."
				h.DisabledReason, h.DisabledAt = &reason, &now
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newWebhookView(&hook))
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := pathUUID(r, "webhook_id")
	if err != nil {
		return err
	}
	if err := s.store.DeleteWebhook(r.Context(), p.assistantID(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var deliveryStates = []string{store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed}

// listDeliveries pages an endpoint's deliveries, newest change first: ?status=, ?limit= and
// ?cursor= (the next_cursor of the previous page).
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := pathUUID(r, "webhook_id")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, offset, perr := parsePaging(q)
	if perr != nil {
		return perr
	}
	if offset > 0 {
		// Deliveries come and go while an endpoint is read: they page by cursor only.
		return badParam("offset", "deliveries are paged by cursor: pass the next_cursor of the previous page")
	}
	f := store.DeliveryFilter{Limit: limit}
	if v := q.Get("status"); v != "" {
		if !cv.Contains(deliveryStates, v) {
			return badParam("status", "unknown value %q: expected pending, succeeded or failed", v)
		}
		f.State = v
	}
	if v := q.Get("cursor"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return badParam("cursor", "must be the next_cursor of a previous page")
		}
		f.BeforeSeq = n
	}
	page, err := s.store.WebhookDeliveries(r.Context(), p.assistantID(), id, f)
	if err != nil {
		return err
	}
	out := wire.List[deliveryView]{Items: make([]deliveryView, len(page.Items)), Limit: limit, Count: page.Count}
	for i := range page.Items {
		out.Items[i] = newDeliveryView(&page.Items[i])
	}
	if page.NextBeforeSeq > 0 {
		next := strconv.FormatInt(page.NextBeforeSeq, 10)
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// redeliver sends a delivery again, now, with a new retry window: 202 with the delivery,
// pending.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, p principal) error {
	id, err := pathUUID(r, "webhook_id")
	if err != nil {
		return err
	}
	did, err := pathUUID(r, "delivery_id")
	if err != nil {
		return err
	}
	d, err := s.store.RedeliverWebhookDelivery(r.Context(), p.assistantID(), id, did)
	if errors.Is(err, store.ErrDeliveryInFlight) {
		return errorf(http.StatusConflict, CodeConflict, "", "The delivery is being sent now; redeliver it once this attempt has finished.")
	}
	if errors.Is(err, cv.ErrConflict) {
		return errorf(http.StatusConflict, CodeConflict, "", "The endpoint is disabled; enable it first with PATCH {\"enabled\": true}.")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, newDeliveryView(&d))
	return nil
}
