// Package channel holds what the chat-platform adapters (telegram/, slack/, whatsapp/) share:
// the assistant's settings, the webhook body limit, errors in the API's envelope, the
// platform-neutral Actions a webhook body turns into and how they are stored, and the
// delivery of replies from the durable job queue.
//
// An adapter's inbound handler reads the raw body (bounded), proves it came from the platform
// (signature or secret) before parsing anything, turns the body into Actions with a pure
// function (fuzzed), and hands them to Apply, which talks to the store. Replies go out
// through the adapter's Sender, called by the Deliverer for each `deliver` job.
package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/parleyhq/parley/internal/api"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/settings"
	"github.com/parleyhq/parley/internal/store"
)

// DefaultMaxBodyBytes bounds a webhook body (the platforms send far less).
const DefaultMaxBodyBytes = 1 << 20

// Options are what every inbound handler needs.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// Now is the clock (replay windows, message times); default time.Now.
	Now func() time.Time
	// MaxBodyBytes bounds a webhook body (default 1 MiB); larger bodies get 413.
	MaxBodyBytes int64
	// RequestsHuman judges whether a visitor's message asks for a human, given the
	// assistant's handoff keywords (the API's hook, api.Config.RequestsHuman); nil never
	// hands off.
	RequestsHuman func(text string, keywords []string) bool
}

// WithDefaults fills in the defaults.
func (o Options) WithDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return o
}

// ErrNotConfigured is a channel the assistant has not set up (or not its secret).
var ErrNotConfigured = errors.New("channel not configured")

// LoadSettings returns an assistant's settings; an unknown assistant is cv.ErrNotFound.
func LoadSettings(ctx context.Context, st store.Store, assistantID string) (settings.Settings, error) {
	doc, err := st.Settings(ctx, assistantID)
	if err != nil {
		return settings.Settings{}, err
	}
	return settings.Parse(doc)
}

// ReadBody reads a request body of at most limit bytes: beyond it the error is an
// *http.MaxBytesError.
func ReadBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// ---- errors in the API's envelope ----

type errorItem struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

// WriteError answers status in the API's error envelope:
// {"errors": {"root": [{"message", "code"}]}}.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, map[string]any{"errors": map[string][]errorItem{api.RootKey: {{Message: message, Code: code}}}})
}

// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// OK acknowledges a webhook.
func OK(w http.ResponseWriter) { WriteJSON(w, http.StatusOK, map[string]bool{"ok": true}) }

// NotFound answers an unknown assistant or a channel it has not configured: the platform is
// pointed at a URL that is not (or no longer) a webhook.
func NotFound(w http.ResponseWriter) {
	WriteError(w, http.StatusNotFound, api.CodeNotFound, "No such channel webhook.")
}

// Unauthorized answers a request that failed the platform's signature or secret check.
func Unauthorized(w http.ResponseWriter, why string) {
	WriteError(w, http.StatusUnauthorized, api.CodePermissionDenied, why)
}

// Fail answers err: a body over the limit is 413, an unknown or unconfigured channel 404,
// anything else 500 (logged), which makes the platform retry.
func (o Options) Fail(w http.ResponseWriter, r *http.Request, source string, err error) {
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		WriteError(w, http.StatusRequestEntityTooLarge, api.CodeTooLarge, fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit))
	case errors.Is(err, cv.ErrNotFound), errors.Is(err, ErrNotConfigured):
		NotFound(w)
	default:
		o.Logger.Error("channel webhook failed", "channel", source, "path", r.URL.Path, "err", err)
		WriteError(w, http.StatusInternalServerError, api.CodeUnknown, "Internal error.")
	}
}

// ---- small helpers for the parsers ----

// Short returns s cut to the API's limit on short fields (on a character boundary), or nil
// when empty.
func Short(s string) *string {
	if s == "" {
		return nil
	}
	s = cut(s, cv.MaxShortFieldBytes)
	return &s
}

// Content returns s cut to the API's limit on message content.
func Content(s string) string { return cut(s, cv.MaxContentBytes) }

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// At returns the platform's time of an event (seconds since the epoch) as a message time:
// nil when missing, never later than now (a platform clock ahead of ours).
func At(seconds float64, now time.Time) *time.Time {
	if seconds <= 0 || seconds > 1e11 {
		return nil
	}
	t := time.UnixMicro(int64(math.Round(seconds * 1e6))).UTC()
	if t.After(now) {
		t = now.UTC()
	}
	return &t
}
