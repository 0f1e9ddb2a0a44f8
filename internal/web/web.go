// Package web is the dashboard: the inbox operators and analysts work in, served by `parley
// serve` at "/" from templates and static files embedded in the binary. Pages are rendered on
// the server; a little JavaScript (static/app.js) keeps them live over Server-Sent Events.
//
// Handlers hold no SQL: they read and change conversations through the store and the domain
// rules of package conversation, exactly like the API, and parse list filters with the API's
// own parser so that a dashboard filter means what the API's means.
package web

import (
	"context"
	"embed"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/changefeed"
	"github.com/parleyhq/parley/internal/periodic"
	"github.com/parleyhq/parley/internal/ratelimit"
	"github.com/parleyhq/parley/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options tune the dashboard.
type Options struct {
	Logger *slog.Logger
	Now    func() time.Time
	// PublicURL is the address the outside world reaches this server on (PARLEY_PUBLIC_URL):
	// channel webhook URLs and the widget snippet are built from it, and an https address
	// makes the session cookie Secure even behind a proxy that terminates TLS. Empty: the
	// scheme and host of each request.
	PublicURL string
	// API configures the in-process API that serves the dashboard's exports (its rate limits
	// apply per session).
	API api.Config
	// Changes wakes live pages when this process commits changes (nil: they poll).
	Changes *changefeed.Hub
	// Poll is how often a live page's stream reads the change log when nothing woke it
	// (default 1s); Heartbeat the time between its keep-alive comments (default 15s).
	Poll      time.Duration
	Heartbeat time.Duration
	// IdleTimeout ends a session unused that long (default 12h); MaxAge ends any session that
	// old (default 7 days).
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// SignInLimits bound sign-in attempts per client address and per email.
	SignInLimits SignInLimits
	// Done ends the live streams (the server is shutting down).
	Done <-chan struct{}
}

// SignInLimits are token buckets: Burst attempts at once, then one every Every.
type SignInLimits struct {
	PerIPEvery    time.Duration
	PerIPBurst    int
	PerEmailEvery time.Duration
	PerEmailBurst int
}

// DefaultSignInLimits allow 20 attempts at once from one address (then one every 15 s) and
// 10 for one email (then one a minute).
var DefaultSignInLimits = SignInLimits{PerIPEvery: 15 * time.Second, PerIPBurst: 20, PerEmailEvery: time.Minute, PerEmailBurst: 10}

// Handler is the dashboard.
type Handler struct {
	store   store.Store
	opt     Options
	log     *slog.Logger
	now     func() time.Time
	pages   map[string]*page
	api     *api.Server
	perIP   *ratelimit.Limiter
	perMail *ratelimit.Limiter
	// hashing bounds the password checks running at once: each takes 19 MiB (64 MiB for a
	// hash written before that) and most of a core, so a burst of sign-ins must queue rather
	// than exhaust the machine.
	hashing chan struct{}
	counts  countCache
	touched sync.Map // session id -> time of the last recorded use
}

// New returns the dashboard on st.
func New(st store.Store, opt Options) *Handler {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = 15 * time.Second
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = 12 * time.Hour
	}
	if opt.MaxAge <= 0 {
		opt.MaxAge = 7 * 24 * time.Hour
	}
	if opt.SignInLimits == (SignInLimits{}) {
		opt.SignInLimits = DefaultSignInLimits
	}
	opt.PublicURL = strings.TrimRight(opt.PublicURL, "/")
	apiCfg := opt.API
	if apiCfg.Logger == nil {
		apiCfg.Logger = opt.Logger
	}
	if apiCfg.Now == nil {
		apiCfg.Now = opt.Now
	}
	l := opt.SignInLimits
	h := &Handler{
		store: st, opt: opt, log: opt.Logger, now: opt.Now, pages: parsePages(),
		api:     api.New(st, apiCfg),
		perIP:   ratelimit.New(l.PerIPEvery, l.PerIPBurst),
		perMail: ratelimit.New(l.PerEmailEvery, l.PerEmailBurst),
		hashing: make(chan struct{}, 2),
	}
	return h
}

// Routes returns the dashboard's handlers by ServeMux pattern, for server.Config.Mounts. Every
// pattern is specific ("GET /{$}" is the root page alone), so none shadows /v1/, /healthz or
// the other mounts.
func (h *Handler) Routes() map[string]http.Handler {
	a := "/a/{aid}"
	c := a + "/c/{id}"
	m := map[string]http.Handler{
		"GET /{$}":                          http.HandlerFunc(h.home),
		"GET /signin":                       http.HandlerFunc(h.signInPage),
		"POST /signin":                      http.HandlerFunc(h.signIn),
		"POST /signout":                     h.member(false, h.signOut),
		"GET /switch":                       h.member(false, h.switchAssistant),
		"GET /assets/{file...}":             http.HandlerFunc(serveStatic),
		"GET " + a + "/{$}":                 h.member(true, h.assistantHome),
		"GET " + a + "/inbox":               h.member(true, h.inbox),
		"GET " + a + "/inbox/rows":          h.member(true, h.inboxRows),
		"GET " + a + "/live":                h.member(true, h.live),
		"GET " + a + "/export":              h.member(true, h.export),
		"GET " + c:                          h.member(true, h.conversation),
		"GET " + c + "/fragment":            h.member(true, h.conversationFragment),
		"POST " + c + "/{action}":           h.member(true, h.conversationAction),
		"GET " + a + "/analytics":           h.member(true, h.analytics),
		"GET " + a + "/settings":            h.admin(h.settingsPage),
		"POST " + a + "/settings/{section}": h.admin(h.settingsAction),
	}
	return m
}

// Prune deletes expired sessions every `every` until ctx ends.
func (h *Handler) Prune(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		now := h.now()
		if n, err := h.store.PruneSessions(ctx, now, now.Add(-h.opt.IdleTimeout)); err != nil && ctx.Err() == nil {
			h.log.Warn("prune dashboard sessions", "err", err)
		} else if n > 0 {
			h.log.Info("pruned dashboard sessions", "count", n)
		}
	})
}
