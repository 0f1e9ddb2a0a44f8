// Package server assembles the HTTP server: the API, health and readiness, metrics, the
// OpenAPI document, access logs, and a graceful shutdown that finishes requests in flight.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/store"
)

// Config of the server.
type Config struct {
	API             api.Config
	ShutdownTimeout time.Duration
	Logger          *slog.Logger
	// Mounts adds handlers outside the API by ServeMux pattern (channels' webhooks, the
	// widget, tracked links, the dashboard).
	Mounts map[string]http.Handler
}

// Server is the whole HTTP surface of Parley.
type Server struct {
	store   store.Store
	log     *slog.Logger
	handler http.Handler
	cfg     Config
	api     *api.Server
}

// New builds the handler tree on st.
func New(st store.Store, cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.API.Logger == nil {
		cfg.API.Logger = cfg.Logger
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	s := &Server{store: st, log: cfg.Logger, cfg: cfg}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	requests := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "parley_http_request_duration_seconds",
		Help:    "HTTP requests by route and status.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"route", "method", "status"})
	reg.MustRegister(requests)

	mux := http.NewServeMux()
	s.api = api.New(st, cfg.API)
	mux.Handle("/v1/", s.api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.HandleFunc("GET /openapi.json", serveOpenAPI)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	for pattern, h := range cfg.Mounts {
		mux.Handle(pattern, h)
	}
	s.handler = s.observe(mux, requests)
	return s
}

// Handler returns the root handler (for tests on httptest servers).
func (s *Server) Handler() http.Handler { return s.handler }

// CloseStreams ends the API's live streams (ListenAndServe does it when shutting down; tests
// on httptest servers call it before closing them).
func (s *Server) CloseStreams() { s.api.CloseStreams() }

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "application/json")
	if err := s.store.Ping(ctx); err != nil {
		s.log.Warn("not ready", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"status":"unavailable","database":"` + s.store.Engine() + `"}` + "\n"))
		return
	}
	_, _ = w.Write([]byte(`{"status":"ready","database":"` + s.store.Engine() + `"}` + "\n"))
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs each request and records its duration by route pattern (not by raw path, so
// that ids do not explode the metric).
func (s *Server) observe(next http.Handler, hist *prometheus.HistogramVec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v == http.ErrAbortHandler {
				// A handler cut a response short on purpose (a stream that failed after its
				// first byte): net/http drops the connection, so the client sees the failure.
				defer panic(v)
			} else if v != nil {
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				if sw.status == 0 {
					http.Error(sw, `{"errors":{"root":[{"message":"Internal error.","code":"UNKNOWN"}]}}`, http.StatusInternalServerError)
				}
			}
			d := time.Since(start)
			route := r.Pattern
			if route == "" {
				route = "other"
			}
			hist.WithLabelValues(route, r.Method, strconv.Itoa(sw.status)).Observe(d.Seconds())
			level := slog.LevelDebug
			if sw.status >= 500 {
				level = slog.LevelError
			}
			s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000)
		}()
		next.ServeHTTP(sw, r)
	})
}

// ListenAndServe serves on addr until ctx ends, then stops accepting, finishes the requests in
// flight (up to the shutdown timeout) and returns. ready, if not nil, receives the bound
// address once the listener is open.
func (s *Server) ListenAndServe(ctx context.Context, addr string, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // imports are large
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	// Live streams never end by themselves: end them when shutting down.
	hs.RegisterOnShutdown(s.api.CloseStreams)
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
