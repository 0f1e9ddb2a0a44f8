package channel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/settings"
	"github.com/parleyhq/parley/internal/store"
)

// Sender sends replies through one platform's API.
type Sender interface {
	// Source is the conversation source the sender serves (telegram, slack, whatsapp).
	Source() string
	// Send delivers text into the conversation's chat. An error retries the delivery later,
	// unless it is a jobs.Permanent error (a refusal that a retry cannot change).
	// ErrNotConfigured means the assistant has not set the channel up at all: the
	// conversation came from elsewhere (the write API), and nothing is sent.
	Send(ctx context.Context, c *cv.Conversation, ch settings.Channels, text string) error
}

// HistoricalAge is how much older than its deliver job a message may be and still go out: a
// message written with an older created_at is an import of history, not a reply to send.
const HistoricalAge = time.Hour

// Deliverer runs the store's `deliver` jobs: it loads the conversation and the message, and
// sends the message through the Sender of the conversation's source.
type Deliverer struct {
	store   store.Store
	senders map[string]Sender
	log     *slog.Logger
}

// NewDeliverer returns a Deliverer with the given senders.
func NewDeliverer(st store.Store, log *slog.Logger, senders ...Sender) *Deliverer {
	if log == nil {
		log = slog.Default()
	}
	d := &Deliverer{store: st, senders: map[string]Sender{}, log: log}
	for _, s := range senders {
		d.senders[s.Source()] = s
	}
	return d
}

// Register makes the runner deliver replies with d, and record final failures.
func (d *Deliverer) Register(r *jobs.Runner) {
	r.Handle(store.JobDeliver, d.Deliver)
	r.OnFail(store.JobDeliver, d.Failed)
}

type deliverPayload struct {
	ConversationID string `json:"conversation_id"`
	EventID        string `json:"event_id"`
}

// Deliver sends one reply.
func (d *Deliverer) Deliver(ctx context.Context, j store.Job) error {
	var p deliverPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.ConversationID == "" || p.EventID == "" {
		return jobs.Permanent(fmt.Errorf("malformed deliver job payload %s", j.Payload))
	}
	log := d.log.With("assistant", j.AssistantID, "conversation", p.ConversationID, "message", p.EventID)
	c, err := d.store.Conversation(ctx, j.AssistantID, p.ConversationID)
	if errors.Is(err, cv.ErrNotFound) {
		log.Info("reply not delivered: the conversation was deleted")
		return nil
	}
	if err != nil {
		return err
	}
	ev, err := d.store.Event(ctx, j.AssistantID, c.ID, p.EventID)
	if errors.Is(err, cv.ErrNotFound) {
		log.Info("reply not delivered: the message is gone")
		return nil
	}
	if err != nil {
		return err
	}
	if ev.Message == nil {
		return jobs.Permanent(fmt.Errorf("event %s is not a message", ev.ID))
	}
	if strings.TrimSpace(ev.Message.Content) == "" {
		log.Info("reply not delivered: it has no text")
		return nil
	}
	if ev.CreatedAt.Before(j.CreatedAt.Add(-HistoricalAge)) {
		log.Info("reply not delivered: a message written with a past time (an import) is history, not a reply")
		return nil
	}
	sender := d.senders[c.Source]
	if sender == nil {
		return jobs.Permanent(fmt.Errorf("no sender for %s conversations", c.Source))
	}
	st, err := LoadSettings(ctx, d.store, j.AssistantID)
	if err != nil {
		return err
	}
	if err := sender.Send(ctx, &c, st.Channels, ev.Message.Content); err != nil {
		if errors.Is(err, ErrNotConfigured) {
			log.Info("reply not delivered: the assistant has not configured the channel", "channel", c.Source)
			return nil
		}
		return err
	}
	log.Debug("reply delivered", "channel", c.Source)
	return nil
}

// Failed records in the conversation that a reply could not be delivered: a delivery_failed
// log event by the system, with the platform's error (once per message).
func (d *Deliverer) Failed(ctx context.Context, j store.Job, err error) {
	var p deliverPayload
	if json.Unmarshal(j.Payload, &p) != nil || p.ConversationID == "" {
		return
	}
	msg := err.Error()
	c, cerr := d.store.Conversation(ctx, j.AssistantID, p.ConversationID)
	if cerr != nil {
		return
	}
	l := cv.Log{Kind: cv.LogDeliveryErr, Actor: cv.Actor{Type: "system"},
		Content: "The reply could not be delivered: " + msg,
		Details: map[string]any{"message_id": p.EventID, "channel": c.Source, "error": msg, "attempts": j.Attempts}}
	ext := "delivery_failed:" + p.EventID
	if _, _, err := d.store.AddLog(ctx, j.AssistantID, c.ID, l, &ext); err != nil && !errors.Is(err, cv.ErrNotFound) {
		d.log.Error("record delivery failure", "conversation", c.ID, "err", err)
	}
}

// ---- calling a platform's API ----

// DefaultClient calls the platforms' APIs.
var DefaultClient = &http.Client{Timeout: 30 * time.Second}

// PostJSON posts body as JSON to url with an optional bearer token and returns the status
// and the (bounded) response body. A transport error is returned as is (retried).
func PostJSON(ctx context.Context, client *http.Client, url, bearer string, body any) (int, []byte, error) {
	if client == nil {
		client = DefaultClient
	}
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, jobs.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return 0, nil, jobs.Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res.StatusCode, nil, err
	}
	return res.StatusCode, rb, nil
}

// Redact replaces secret in err's text (Telegram's token is part of its API URL, which
// transport errors quote).
func Redact(err error, secret string) error {
	if err == nil || secret == "" || !strings.Contains(err.Error(), secret) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), secret, "<redacted>"))
}

// PlatformError is a platform's answer refusing a call.
type PlatformError struct {
	Source  string
	Status  int
	Message string
}

func (e *PlatformError) Error() string {
	if e.Status == 0 {
		return e.Source + ": " + e.Message
	}
	return fmt.Sprintf("%s: HTTP %d: %s", e.Source, e.Status, e.Message)
}

// Refused returns the error of a refused call: permanent for 4xx answers other than 408
// (timeout), 409 (conflict) and 429 (rate limit), which, like 5xx, are worth retrying.
func Refused(source string, status int, message string) error {
	err := &PlatformError{Source: source, Status: status, Message: message}
	if status >= 400 && status < 500 && status != http.StatusRequestTimeout && status != http.StatusConflict && status != http.StatusTooManyRequests {
		return jobs.Permanent(err)
	}
	return err
}

// Trim shortens a platform's error text for logs and log events.
func Trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 500 {
		s = cut(s, 500) + "..."
	}
	return s
}
