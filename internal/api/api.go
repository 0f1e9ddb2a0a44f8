// Package api serves the HTTP API under /v1/api_core/: the Quickchat-compatible read API and
// Parley's write API and extensions. Handlers hold no SQL: they parse, check and call the store.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/changefeed"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// Config tunes the API.
type Config struct {
	// MaxBodyBytes bounds a request body (default 1 MiB); MaxImportBytes bounds an import.
	MaxBodyBytes   int64
	MaxImportBytes int64
	RateLimits     RateLimits
	Logger         *slog.Logger
	Now            func() time.Time
	// RequestsHuman judges whether a visitor's message asks for a human, given the
	// assistant's handoff keywords; nil never hands off.
	RequestsHuman func(text string, keywords []string) bool
	// PublicURL is the address the outside world reaches this server on (PARLEY_PUBLIC_URL):
	// tracked links point there. Empty: the scheme and host of each request.
	PublicURL string
	// Changes wakes live streams when this process commits changes (nil: they poll).
	Changes *changefeed.Hub
	// StreamHeartbeat is the time between a live stream's heartbeat comments (default 15s);
	// StreamPoll how often it reads the change log when nothing woke it (default 500ms).
	StreamHeartbeat time.Duration
	StreamPoll      time.Duration
}

// Server is the API's handlers and what they share.
type Server struct {
	store   store.Store
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	limiter *limiter
	touched sync.Map // token id -> time of the last recorded use
	schemas schemaCache
	mux     *http.ServeMux
	// closing ends the live streams when the server shuts down.
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns the API on st.
func New(st store.Store, cfg Config) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxImportBytes <= 0 {
		cfg.MaxImportBytes = 256 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StreamHeartbeat <= 0 {
		cfg.StreamHeartbeat = defaultStreamHeartbeat
	}
	if cfg.StreamPoll <= 0 {
		cfg.StreamPoll = defaultStreamPoll
	}
	s := &Server{store: st, cfg: cfg, log: cfg.Logger, now: cfg.Now, limiter: newLimiter(cfg.RateLimits), mux: http.NewServeMux(),
		closing: make(chan struct{})}
	s.routes()
	return s
}

// ServeHTTP serves the API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

const prefix = "/v1/api_core"

func (s *Server) routes() {
	read, write, heavy := cv.ScopeRead, cv.ScopeWrite, cv.ScopeWrite
	conv := prefix + "/conversations"
	one := conv + "/{id}"
	s.handle("GET "+conv, read, ClassRead, s.listConversations)
	s.handle("POST "+conv, write, ClassWrite, s.createConversation)
	s.handle("GET "+conv+"/export", read, ClassHeavy, s.exportConversations)
	s.handle("GET "+one, read, ClassRead, s.getConversation)
	s.handle("PATCH "+one, write, ClassWrite, s.patchConversation)
	s.handle("DELETE "+one, write, ClassWrite, s.deleteConversation)
	s.handle("GET "+one+"/events", read, ClassRead, s.listEvents)
	s.handle("POST "+one+"/messages", write, ClassWrite, s.appendMessage)
	s.handle("GET "+one+"/metadata", read, ClassRead, s.getMetadata)
	s.handle("POST "+one+"/metadata", write, ClassWrite, s.writeMetadata(cv.MetadataMerge))
	s.handle("PUT "+one+"/metadata", write, ClassWrite, s.writeMetadata(cv.MetadataReplace))
	s.handle("PATCH "+one+"/metadata", write, ClassWrite, s.writeMetadata(cv.MetadataMergePatch))
	s.handle("POST "+prefix+"/import", heavy, ClassHeavy, s.importConversations)
	s.handle("GET "+prefix+"/analytics", read, ClassRead, s.analytics)
	s.handle("PUT "+one+"/messages/{message_id}/feedback", write, ClassWrite, s.putFeedback)
	s.handle("POST "+one+"/rating", write, ClassWrite, s.postRating)
	s.handle("GET "+prefix+"/operators", read, ClassRead, s.listOperators)
	s.handle("GET "+prefix+"/settings", read, ClassRead, s.getSettings)
	s.handle("PATCH "+prefix+"/settings", write, ClassWrite, s.patchSettings)
	hooks, hook := prefix+"/webhooks", prefix+"/webhooks/{webhook_id}"
	s.handle("GET "+hooks, read, ClassRead, s.listWebhooks)
	s.handle("POST "+hooks, write, ClassWrite, s.createWebhook)
	s.handle("GET "+hook, read, ClassRead, s.getWebhook)
	s.handle("PATCH "+hook, write, ClassWrite, s.patchWebhook)
	s.handle("DELETE "+hook, write, ClassWrite, s.deleteWebhook)
	s.handle("GET "+hook+"/deliveries", read, ClassRead, s.listDeliveries)
	s.handle("POST "+hook+"/deliveries/{delivery_id}/redeliver", write, ClassWrite, s.redeliver)
	s.handle("GET "+prefix+"/stream", read, ClassRead, s.stream)
	s.mux.HandleFunc("/v1/", s.noRoute)
}

// handler is an API handler: it returns an error to answer in the envelope, or nil once it
// has written its response.
type handler func(w http.ResponseWriter, r *http.Request, p principal) error

// principal is who is calling: a token of one assistant.
type principal struct {
	token cv.Token
}

func (p principal) assistantID() string { return p.token.AssistantID }

func (p principal) actor() cv.Actor {
	id, name := p.token.ID, p.token.Name
	a := cv.Actor{Type: "api_token", ID: &id}
	if name != "" {
		a.Name = &name
	}
	return a
}

// handle registers pattern with and without a trailing slash (both answered directly, no
// redirect), behind authentication, the scope check, the rate limit and the body limit.
func (s *Server) handle(pattern string, need cv.Scope, class Class, h handler) {
	wrapped := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !p.token.Scope.Allows(need) {
			s.writeError(w, r, errorf(http.StatusForbidden, CodePermissionDenied, "", "Insufficient token scope. Required: %s", need))
			return
		}
		if ok, wait := s.limiter.allow(p.token.ID, class, s.now()); !ok {
			e := errorf(http.StatusTooManyRequests, CodeTooManyRequests, "", "Rate limit exceeded; retry in %s seconds.", retryAfterSeconds(wait))
			e.Header = http.Header{"Retry-After": {retryAfterSeconds(wait)}}
			s.writeError(w, r, e)
			return
		}
		limit := s.cfg.MaxBodyBytes
		if class == ClassHeavy {
			limit = s.cfg.MaxImportBytes
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		r = r.WithContext(context.WithValue(cv.WithActor(r.Context(), p.actor()), settingsMemoKey{}, &settingsMemo{}))
		run := h
		if need == cv.ScopeWrite && r.Header.Get(IdempotencyHeader) != "" {
			run = func(w http.ResponseWriter, r *http.Request, p principal) error { return s.idempotent(w, r, p, h) }
		}
		if err := run(w, r, p); err != nil {
			s.writeError(w, r, err)
		}
	})
	s.mux.Handle(pattern, wrapped)
	if !strings.HasSuffix(pattern, "/") {
		s.mux.Handle(pattern+"/{$}", wrapped)
	}
}

var errUnauthorized = errorf(http.StatusUnauthorized, CodePermissionDenied, "", "Authentication credentials were not provided or are invalid.")

// authenticate finds the caller's token: missing, unknown, expired and revoked tokens are all
// the same 401.
func (s *Server) authenticate(r *http.Request) (principal, error) {
	if t, ok := r.Context().Value(delegateKey{}).(cv.Token); ok {
		return principal{token: t}, nil // a front end of this process signed the caller in (ServeAs)
	}
	secret, ok := auth.BearerToken(r.Header.Get("Authorization"))
	if !ok {
		return principal{}, errUnauthorized
	}
	t, err := s.store.TokenByHash(r.Context(), auth.Hash(secret))
	if errors.Is(err, cv.ErrNotFound) {
		return principal{}, errUnauthorized
	}
	if err != nil {
		return principal{}, err
	}
	now := s.now()
	if !auth.Matches(secret, t.Hash) || !t.Usable(now) {
		return principal{}, errUnauthorized
	}
	s.touch(t.ID, now)
	return principal{token: t}, nil
}

// touch records a token's use at most once a minute, off the request's path.
func (s *Server) touch(tokenID string, now time.Time) {
	if last, ok := s.touched.Load(tokenID); ok && now.Sub(last.(time.Time)) < time.Minute {
		return
	}
	s.touched.Store(tokenID, now)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.store.TouchToken(ctx, tokenID, now); err != nil && !errors.Is(err, cv.ErrNotFound) {
			s.log.Warn("record token use", "token", tokenID, "err", err)
		}
	}()
}

// noRoute answers paths under /v1/ that no route serves: 405 when the path exists for another
// method, else 404, both in the envelope.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/v1/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "Method %s is not allowed here; allowed: %s.", r.Method, strings.Join(allow, ", ")))
		return
	}
	s.writeError(w, r, errorf(http.StatusNotFound, CodeNotFound, "", "No such endpoint: %s %s", r.Method, r.URL.Path))
}
