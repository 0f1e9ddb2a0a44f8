// Package widget is the web chat widget: the script (GET /widget.js, embedded in the binary)
// that one <script> tag puts on any site, and the public endpoints it talks to under
// /widget/{assistant_id}/:
//
//	POST /widget/{assistant_id}/sessions   start: creates the conversation (source "widget") and
//	                                       returns the visitor's session token
//	GET  /widget/{assistant_id}/messages   the conversation's messages (after a reload)
//	POST /widget/{assistant_id}/messages   a visitor's message
//	GET  /widget/{assistant_id}/stream     new messages, live (Server-Sent Events)
//
// A session token holds one conversation and nothing else: it is not an API token, and only
// its hash is stored. Every endpoint checks the Origin against the assistant's
// channels.widget.allowed_origins and answers CORS preflights; session starts and messages are
// rate-limited; bodies are small.
package widget

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/parleyhq/parley/internal/changefeed"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/store"
)

//go:embed static/widget.js
var script []byte

// Script returns the widget's JavaScript, as served at /widget.js.
func Script() []byte { return script }

// Limit is a rate: Burst requests at once, then one every Every.
type Limit struct {
	Every time.Duration
	Burst int
}

// Options configure the widget's endpoints.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// PublicURL is the address the outside world reaches this server on: tracked links in the
	// widget's messages point there. Empty: the scheme and host of each request.
	PublicURL string
	// RequestsHuman judges whether a visitor's message asks for a human, given the assistant's
	// handoff keywords (the API's hook); nil never hands off.
	RequestsHuman func(text string, keywords []string) bool
	// Changes wakes live streams as soon as this process commits a change (nil: they only
	// poll; changes of other processes are always polled).
	Changes *changefeed.Hub
	// Done ends every live stream (the server is shutting down): without it they would hold
	// the graceful shutdown until its timeout.
	Done <-chan struct{}

	// Rate limits: session starts per client address, messages per session, reads (history
	// and stream connections) per client address. Zero values take the defaults.
	Sessions, Messages, Reads Limit
	// Poll is how often live streams read the change log (default 250ms).
	Poll time.Duration
	// MaxStreamsPerAddr bounds the live streams open at once from one client address
	// (default 20); MaxCatchUp bounds how far back, in change-log seqs, a stream resumes
	// from (default 20000): further back it sends "reset" and the widget reloads the history.
	MaxStreamsPerAddr int
	MaxCatchUp        int64
	// MaxStream ends a live stream after this long (the browser reconnects and resumes;
	// default 30 minutes); Heartbeat is the interval of keep-alive comments (default 25s).
	MaxStream, Heartbeat time.Duration
}

// Defaults of Options.
var (
	DefaultSessions = Limit{Every: 30 * time.Second, Burst: 10}
	DefaultMessages = Limit{Every: time.Second, Burst: 20}
	DefaultReads    = Limit{Every: 100 * time.Millisecond, Burst: 60}
)

// Limits of what a visitor may send.
const (
	MaxBodyBytes    = 16 << 10
	MaxMessageBytes = 8 << 10
	MaxNameBytes    = 200
	MaxEmailBytes   = 254
)

// Handler serves the widget.
type Handler struct {
	store    store.Store
	opt      Options
	log      *slog.Logger
	now      func() time.Time
	sessions *ratelimit.Limiter
	messages *ratelimit.Limiter
	reads    *ratelimit.Limiter
	hub      *hub
	etag     string
	open     streamCount
}

// New returns the widget's handlers on st.
func New(st store.Store, opt Options) *Handler {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	def := func(l *Limit, d Limit) {
		if l.Every == 0 && l.Burst == 0 {
			*l = d
		}
	}
	def(&opt.Sessions, DefaultSessions)
	def(&opt.Messages, DefaultMessages)
	def(&opt.Reads, DefaultReads)
	if opt.Poll <= 0 {
		opt.Poll = 250 * time.Millisecond
	}
	if opt.MaxStream <= 0 {
		opt.MaxStream = 30 * time.Minute
	}
	if opt.MaxStreamsPerAddr <= 0 {
		opt.MaxStreamsPerAddr = 20
	}
	if opt.MaxCatchUp <= 0 {
		opt.MaxCatchUp = 20000
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = 25 * time.Second
	}
	sum := sha256.Sum256(script)
	h := &Handler{
		store: st, opt: opt, log: opt.Logger, now: opt.Now,
		sessions: ratelimit.New(opt.Sessions.Every, opt.Sessions.Burst),
		messages: ratelimit.New(opt.Messages.Every, opt.Messages.Burst),
		reads:    ratelimit.New(opt.Reads.Every, opt.Reads.Burst),
		etag:     `"` + hex.EncodeToString(sum[:8]) + `"`,
	}
	h.hub = newHub(st, opt.Poll, settleFor(st.Engine()), opt.Logger, opt.Done)
	h.hub.changes = opt.Changes
	return h
}

// Routes returns the widget's handlers by ServeMux pattern, for server.Config.Mounts.
func (h *Handler) Routes() map[string]http.Handler {
	const base = "/widget/{assistant_id}"
	return map[string]http.Handler{
		"GET /widget.js":                   http.HandlerFunc(h.serveScript),
		"POST " + base + "/sessions":       h.public(h.startSession),
		"GET " + base + "/messages":        h.public(h.history),
		"POST " + base + "/messages":       h.public(h.postMessage),
		"GET " + base + "/stream":          h.public(h.stream),
		"OPTIONS " + base + "/{rest...}":   h.public(nil),
		"/widget/{assistant_id}/{rest...}": h.public(h.noRoute),
	}
}

// Snippet is the HTML an operator pastes into a site to put the widget on it.
func Snippet(publicURL, assistantID string) string {
	return `<script src="` + trimSlash(publicURL) + `/widget.js" data-assistant="` + assistantID + `" async></script>`
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

func (h *Handler) serveScript(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cross-Origin-Resource-Policy", "cross-origin")
	w.Header().Set("ETag", h.etag)
	if r.Header.Get("If-None-Match") == h.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(script)
}

// settleFor is how long a change-log seq may stay unseen before streams stop looking for it:
// PostgreSQL hands out seqs before commit, so a lower seq can appear after a higher one;
// SQLite commits one writer at a time, in seq order.
func settleFor(engine string) time.Duration {
	if engine == "sqlite" {
		return 0
	}
	return 5 * time.Second
}

// Stop ends the live streams and their polling (tests; the server uses Options.Done).
func (h *Handler) Stop() { h.hub.close() }
