package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/channel/widget"
	"github.com/parleyhq/parley/internal/links"
	"github.com/parleyhq/parley/internal/store"
)

// publicURL is the address the outside world reaches this server on (--public-url,
// PARLEY_PUBLIC_URL); by default "http://" and the listen address, with localhost for a
// listen address that names no host ("0.0.0.0:8080", ":8080").
func publicURL(flagValue, addr string) string {
	if flagValue != "" {
		return strings.TrimRight(flagValue, "/")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// visitorMounts are the public handlers visitors reach: the web widget and tracked links.
// The widget's live streams end when ctx does (the server is shutting down).
func visitorMounts(ctx context.Context, st store.Store, log *slog.Logger, cfg api.Config) map[string]http.Handler {
	w := widget.New(st, widget.Options{Logger: log, PublicURL: cfg.PublicURL, RequestsHuman: cfg.RequestsHuman, Changes: cfg.Changes, Done: ctx.Done()})
	m := w.Routes()
	m[links.Pattern] = links.NewHandler(st, log)
	return m
}
