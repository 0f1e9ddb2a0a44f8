package widget

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/links"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/settings"
	"github.com/parleyhq/parley/internal/store"
)

// TokenPrefix starts every session token, so that nobody mistakes one for an API token
// (prly_...).
const TokenPrefix = "pws_"

// call is one request to a public endpoint, past the assistant and origin checks.
type call struct {
	assistantID string
	origin      string
	settings    settings.Settings
}

// failure is an error answered in the API's envelope.
type failure struct {
	status     int
	code       string
	field      string
	message    string
	retryAfter time.Duration
}

func (f *failure) Error() string { return f.message }

func fail(status int, code, field, message string) *failure {
	if field == "" {
		field = "root"
	}
	return &failure{status: status, code: code, field: field, message: message}
}

var (
	errNotFound     = fail(http.StatusNotFound, "NOT_FOUND", "", "Not found.")
	errOrigin       = fail(http.StatusForbidden, "PERMISSION_DENIED", "Origin", "This site may not use this chat widget.")
	errUnauthorized = fail(http.StatusUnauthorized, "PERMISSION_DENIED", "", "The chat session is missing, unknown or ended.")
)

func tooMany(wait time.Duration) *failure {
	f := fail(http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "", "Too many requests; please wait a moment.")
	f.retryAfter = wait
	return f
}

// public wraps an endpoint: the assistant must exist, the Origin must be allowed (every
// method, preflights included), then fn runs; fn nil answers only preflights.
func (h *Handler) public(fn func(http.ResponseWriter, *http.Request, *call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{assistantID: r.PathValue("assistant_id"), origin: r.Header.Get("Origin")}
		err := h.admit(r, c)
		if err == nil {
			allowCORS(w, c.origin)
			if r.Method == http.MethodOptions {
				preflight(w)
				return
			}
			if fn == nil {
				err = errNotFound
			} else {
				err = fn(w, r, c)
			}
		}
		if err != nil {
			h.writeError(w, r, err)
		}
	})
}

func (h *Handler) admit(r *http.Request, c *call) error {
	if len(c.assistantID) != 36 {
		return errNotFound
	}
	doc, err := h.store.Settings(r.Context(), c.assistantID)
	if err != nil {
		return err
	}
	if c.settings, err = settings.Parse(doc); err != nil {
		return err
	}
	var allowed []string
	if w := c.settings.Channels.Widget; w != nil {
		allowed = w.AllowedOrigins
	}
	if !originAllowed(allowed, c.origin) {
		return errOrigin
	}
	return nil
}

func (h *Handler) noRoute(w http.ResponseWriter, r *http.Request, c *call) error {
	return errNotFound
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var f *failure
	var be *bodyError
	var ve *cv.ValidationError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &f):
	case errors.As(err, &be):
		f = fail(http.StatusUnprocessableEntity, "VALIDATION_ERROR", be.Field, be.Field+" "+be.Message)
		if be.Syntax {
			f.status, f.code = http.StatusBadRequest, "BAD_REQUEST"
		}
	case errors.As(err, &ve):
		f = fail(http.StatusUnprocessableEntity, "VALIDATION_ERROR", ve.Field, ve.Error())
	case errors.As(err, &mbe):
		f = fail(http.StatusRequestEntityTooLarge, "REQUEST_TOO_LARGE", "", "The request body is too large.")
	case errors.Is(err, cv.ErrNotFound):
		f = errNotFound
	case r.Context().Err() != nil:
		return
	default:
		h.log.Error("widget request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		f = fail(http.StatusInternalServerError, "UNKNOWN", "", "Internal error.")
	}
	if f.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.retryAfter.Seconds()))))
	}
	writeJSON(w, f.status, map[string]any{"errors": map[string]any{f.field: []map[string]string{{"message": f.message, "code": f.code}}}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, &http.MaxBytesError{Limit: MaxBodyBytes}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
}

func (h *Handler) limit(l *ratelimit.Limiter, key string) error {
	if ok, wait := l.Allow(key, h.now()); !ok {
		return tooMany(wait)
	}
	return nil
}

// newToken makes a session secret: 256 random bits.
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// session finds the caller's session: the token is in the Authorization header (Bearer), or,
// for the live stream (EventSource cannot send headers), in the token query parameter.
func (h *Handler) session(r *http.Request, c *call, fromQuery bool) (store.WidgetSession, error) {
	tok, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok && fromQuery {
		tok = r.URL.Query().Get("token")
	}
	if !strings.HasPrefix(tok, TokenPrefix) || len(tok) > 100 {
		return store.WidgetSession{}, errUnauthorized
	}
	ws, err := h.store.WidgetSession(r.Context(), c.assistantID, auth.Hash(tok))
	if errors.Is(err, cv.ErrNotFound) {
		return ws, errUnauthorized
	}
	return ws, err
}

// messageView is a message as the widget shows it: no analysis, feedback or metadata.
type messageView struct {
	ID        string `json:"id"`
	Ord       int64  `json:"ord"`
	Author    string `json:"author"`
	Content   string `json:"content"`
	CreatedAt string `json:"created_at"`
}

func viewMessage(e *cv.Event) messageView {
	return messageView{ID: e.ID, Ord: e.Ord, Author: e.Message.Author, Content: e.Message.Content,
		CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano)}
}

func (h *Handler) startSession(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := h.limit(h.sessions, ratelimit.ClientAddr(r)); err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	n, err := parseStart(b)
	if err != nil {
		return err
	}
	if err := n.Validate(); err != nil {
		return err
	}
	token := newToken()
	ctx := cv.WithActor(r.Context(), cv.Actor{Type: cv.AuthorVisitor, Name: n.VisitorName})
	_, conv, err := h.store.CreateWidgetSession(ctx, c.assistantID, n, auth.Hash(token))
	if err != nil {
		return err
	}
	cursor, err := h.store.LastChangeSeq(r.Context(), c.assistantID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"token": token, "conversation_id": conv.ID, "cursor": strconv.FormatInt(cursor, 10),
	})
	return nil
}

// HistoryLimit is how many of the latest messages the history returns.
const HistoryLimit = 200

func (h *Handler) history(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := h.limit(h.reads, ratelimit.ClientAddr(r)); err != nil {
		return err
	}
	ws, err := h.session(r, c, false)
	if err != nil {
		return err
	}
	// The cursor is read first: whatever comes after it, the stream delivers (the widget
	// drops what it already has).
	cursor, err := h.store.LastChangeSeq(r.Context(), c.assistantID)
	if err != nil {
		return err
	}
	conv, err := h.store.Conversation(r.Context(), c.assistantID, ws.ConversationID)
	if err != nil {
		return err
	}
	page, err := h.store.Events(r.Context(), c.assistantID, conv.ID, cv.EventFilter{
		Types: []string{cv.EventMessage}, Limit: HistoryLimit, Offset: int(max(0, conv.MessageCount-HistoryLimit)),
	})
	if err != nil {
		return err
	}
	msgs := make([]messageView, 0, len(page.Items))
	for i := range page.Items {
		if page.Items[i].Message != nil {
			msgs = append(msgs, viewMessage(&page.Items[i]))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"conversation_id": conv.ID, "visitor_name": conv.VisitorName, "visitor_email": conv.VisitorEmail,
		"messages": msgs, "cursor": strconv.FormatInt(cursor, 10),
	})
	return nil
}

func (h *Handler) postMessage(w http.ResponseWriter, r *http.Request, c *call) error {
	ws, err := h.session(r, c, false)
	if err != nil {
		return err
	}
	if err := h.limit(h.messages, ws.ID); err != nil {
		return err
	}
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	content, err := parseMessage(b)
	if err != nil {
		return err
	}
	m := cv.NewMessage{Author: cv.AuthorVisitor, Content: content, FromChannel: true}
	if err := m.Validate(""); err != nil {
		return err
	}
	if h.opt.RequestsHuman != nil {
		m.RequestsHuman = h.opt.RequestsHuman(m.Content, c.settings.HandoffKeywords)
	}
	// Visitors' messages are never rewritten; the call keeps the widget on the one path every
	// message writer takes.
	links.Track(c.settings.LinkTracking, h.publicURL(r), &m)
	conv, err := h.store.Conversation(r.Context(), c.assistantID, ws.ConversationID)
	if err != nil {
		return err
	}
	ctx := cv.WithActor(r.Context(), cv.Actor{Type: cv.AuthorVisitor, Name: conv.VisitorName})
	ev, _, err := h.store.AppendMessage(ctx, c.assistantID, ws.ConversationID, m)
	if err != nil {
		return err
	}
	h.hub.wake(c.assistantID)
	writeJSON(w, http.StatusCreated, viewMessage(&ev))
	return nil
}

func (h *Handler) publicURL(r *http.Request) string {
	if h.opt.PublicURL != "" {
		return h.opt.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
