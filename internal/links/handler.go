package links

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/store"
)

// Pattern is the ServeMux pattern of the redirect (GET covers HEAD).
const Pattern = "GET " + Path + "{id}"

// Handler serves /l/{id}: it records the click and redirects (302) to the stored target with
// UTM parameters. Unknown or malformed ids get a plain 404 page; nothing but a stored target is
// ever redirected to.
type Handler struct {
	store store.Store
	log   *slog.Logger
	now   func() time.Time
	// repeat lets one client's clicks on one link be recorded once per RepeatWindow (a double
	// click, a reload); every click is still redirected.
	repeat *ratelimit.Limiter
}

// RepeatWindow is how long further clicks of one client on one link go unrecorded.
const RepeatWindow = 10 * time.Second

// NewHandler returns the redirect handler on st.
func NewHandler(st store.Store, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.Default()
	}
	return &Handler{store: st, log: log, now: time.Now, repeat: ratelimit.New(RepeatWindow, 1)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !ValidID(id) {
		notFound(w)
		return
	}
	var target, medium string
	if r.Method == http.MethodGet && !isPreview(r.UserAgent()) && h.firstClick(r, id) {
		ctx := cv.WithActor(r.Context(), cv.Actor{Type: cv.AuthorVisitor})
		click, err := h.store.ClickLink(ctx, id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		target, medium = click.Link.URL, click.Conversation.Source
	} else {
		// A HEAD request, a link preview bot or a repeated click: redirect, record nothing.
		l, err := h.store.Link(r.Context(), id)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		c, err := h.store.Conversation(r.Context(), l.AssistantID, l.ConversationID)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		target, medium = l.URL, c.Source
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", WithUTM(target, medium))
	w.WriteHeader(http.StatusFound)
}

func (h *Handler) firstClick(r *http.Request, id string) bool {
	ok, _ := h.repeat.Allow(ratelimit.ClientAddr(r)+" "+id, h.now())
	return ok
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, cv.ErrNotFound) {
		notFound(w)
		return
	}
	h.log.Error("tracked link", "path", r.URL.Path, "err", err)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("Something went wrong. Please try again.\n"))
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte(notFoundPage))
}

const notFoundPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link not found</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 4rem auto; padding: 0 1rem">
<h1>Link not found</h1><p>This link does not exist or is no longer available.</p></body></html>
`

// previewAgents are the user agents of services that fetch a link to show a preview of it
// (chat platforms unfurl the links in messages): their fetches are not clicks.
var previewAgents = []string{
	"slackbot", "telegrambot", "whatsapp", "facebookexternalhit", "facebookcatalog", "twitterbot",
	"discordbot", "linkedinbot", "skypeuripreview", "googlebot", "bingbot", "applebot", "embedly",
}

func isPreview(ua string) bool {
	ua = strings.ToLower(ua)
	for _, a := range previewAgents {
		if strings.Contains(ua, a) {
			return true
		}
	}
	return false
}
