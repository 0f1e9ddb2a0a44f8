package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/pipeline"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/auth"
	"github.com/parleyhq/parley/internal/changefeed"
	"github.com/parleyhq/parley/internal/channel/widget"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/web"
	"github.com/parleyhq/parley/internal/webhook"
)

func cmdServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	var db dbFlags
	db.register(fs)
	addr := fs.String("addr", env("PARLEY_ADDR", "127.0.0.1:8080"), "address to listen on (env PARLEY_ADDR)")
	withDemo := fs.Bool("demo", false, "create a demo assistant with sample conversations (once) and print a fresh token")
	rates := fs.String("rate-limits", env("PARLEY_RATE_LIMITS", ""), "requests a minute per token: read=N,write=N,heavy=N, or off (env PARLEY_RATE_LIMITS)")
	maxBody := fs.Int64("max-body-bytes", envInt("PARLEY_MAX_BODY_BYTES", 1<<20), "largest request body (env PARLEY_MAX_BODY_BYTES)")
	maxImport := fs.Int64("max-import-bytes", envInt("PARLEY_MAX_IMPORT_BYTES", 256<<20), "largest import body (env PARLEY_MAX_IMPORT_BYTES)")
	logLevel := fs.String("log-level", env("PARLEY_LOG_LEVEL", "info"), "debug, info, warn or error (env PARLEY_LOG_LEVEL)")
	public := fs.String("public-url", env("PARLEY_PUBLIC_URL", ""), "address the outside world reaches this server on, for tracked links and the widget (env PARLEY_PUBLIC_URL; default http:// and --addr)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	limits, err := api.ParseRateLimits(*rates)
	if err != nil {
		return usageError{err.Error()}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{"--log-level: " + err.Error()}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	st, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	var demoToken, demoAssistant string
	var demoOp demoOperator
	if *withDemo {
		if demoAssistant, demoToken, err = seedDemo(ctx, st); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if demoOp, err = seedDemoOperator(ctx, st, demoAssistant); err != nil {
			return fmt.Errorf("demo operator: %w", err)
		}
	}
	// Background work: the durable job queue (analysis) and the auto-resolve sweep. They stop
	// after the HTTP server has finished its requests, and finish the jobs in hand.
	bg, stopBg := context.WithCancel(context.Background())
	runner := jobs.New(st, jobs.Options{Logger: log})
	// Analysis: every new message makes its conversation due (coalesced per conversation).
	analyzer := analysis.New()
	(&pipeline.Pipeline{Store: st, Analyzer: analyzer, Logger: log}).Register(runner)
	deliverReplies(st, log, runner)
	if ws, ok := st.(interface{ SetJobNotify(func()) }); ok {
		ws.SetJobNotify(runner.Wake)
	}
	// Outbound webhooks and live streams follow the change log; the change feed wakes them
	// when this process commits changes (other processes' changes are polled).
	feed := changefeed.New()
	if cs, ok := st.(interface{ SetChangeNotify(func(string)) }); ok {
		cs.SetChangeNotify(feed.Notify)
	}
	dispatcher := webhook.New(st, webhook.Options{Changes: feed, Logger: log})
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); _ = runner.Run(bg) }()
	go func() { defer wg.Done(); (&inbox.AutoResolver{Store: st, Log: log}).Run(bg, 2*time.Second) }()
	go func() { defer wg.Done(); _ = dispatcher.Run(bg) }()
	go func() { defer wg.Done(); (&webhook.Pruner{Store: st, Log: log}).Run(bg, 10*time.Minute) }()
	wg.Add(1)
	go func() { defer wg.Done(); (&api.IdempotencyPruner{Store: st, Log: log}).Run(bg, 10*time.Minute) }()
	defer func() { stopBg(); wg.Wait() }()

	apiCfg := api.Config{MaxBodyBytes: *maxBody, MaxImportBytes: *maxImport, RateLimits: limits, PublicURL: publicURL(*public, *addr), Changes: feed,
		RequestsHuman: analysis.IsHandoffRequest}
	mounts := visitorMounts(ctx, st, log, apiCfg)
	maps.Copy(mounts, channelMounts(st, log, apiCfg))
	// The dashboard, at "/": operators sign in with the passwords `parley operator` set.
	dash := web.New(st, web.Options{Logger: log, PublicURL: apiCfg.PublicURL, API: apiCfg, Changes: feed, Done: ctx.Done()})
	maps.Copy(mounts, dash.Routes())
	wg.Add(1)
	go func() { defer wg.Done(); dash.Prune(bg, 10*time.Minute) }()
	srv := server.New(st, server.Config{Logger: log, API: apiCfg, Mounts: mounts})
	return srv.ListenAndServe(ctx, *addr, func(a net.Addr) {
		base := "http://" + a.String()
		log.Info("listening", "addr", a.String(), "database", st.Engine())
		if demoToken != "" {
			fmt.Fprintf(stdout, "Parley is running at %s (%s)\n\nDemo assistant: %s\nDemo token (write_all, shown once): %s\n\nTry:\n  curl -s '%s/v1/api_core/conversations?limit=3' -H 'Authorization: Bearer %s'\n\n",
				base, st.Engine(), demoAssistant, demoToken, base, demoToken)
			fmt.Fprintf(stdout, "Dashboard: %s/\n  sign in as %s with the password %s (an admin; it changes at every start)\n\n",
				base, demoOp.email, demoOp.password)
			fmt.Fprintf(stdout, "Web widget (paste into any page):\n  %s\n\n", widget.Snippet(publicURL(*public, a.String()), demoAssistant))
		}
	})
}

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil && v > 0 {
		return v
	}
	return def
}

// demoName names the demo assistant; seeding looks for it so that it happens once.
const demoName = "Demo"

// demoConversations is how many sample conversations the demo starts with.
const demoConversations = 300

// seedDemo makes sure the demo assistant exists with its sample conversations, and mints a
// fresh write token for it (tokens are shown once, so every start prints a new one).
func seedDemo(ctx context.Context, st store.Store) (assistantID, token string, err error) {
	list, err := st.Assistants(ctx)
	if err != nil {
		return "", "", err
	}
	var a cv.Assistant
	for _, x := range list {
		if x.Name == demoName {
			a = x
		}
	}
	if a.ID == "" {
		if a, err = st.CreateAssistant(ctx, demoName); err != nil {
			return "", "", err
		}
		convs := demo.Generate(1, demoConversations, time.Now().UTC(), 60*24*time.Hour)
		for i := range convs {
			if err := convs[i].Validate(); err != nil {
				return "", "", err
			}
		}
		if _, err := st.CreateConversations(ctx, a.ID, convs); err != nil {
			return "", "", err
		}
	}
	secret, t := auth.NewToken(a.ID, cv.ScopeWrite, "demo "+time.Now().UTC().Format(time.DateTime), auth.DefaultTTL, time.Now())
	if err := st.CreateToken(ctx, t); err != nil {
		return "", "", err
	}
	return a.ID, secret, nil
}

// demoOperatorEmail signs in to the demo's dashboard.
const demoOperatorEmail = "demo@parley.localhost"

type demoOperator struct{ email, password string }

// seedDemoOperator makes sure the demo assistant has an admin operator to sign in to the
// dashboard with, and gives it a fresh random password (printed, like the demo token).
func seedDemoOperator(ctx context.Context, st store.Store, assistantID string) (demoOperator, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return demoOperator{}, err
	}
	pw := "demo-" + hex.EncodeToString(b)
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return demoOperator{}, err
	}
	op, err := st.OperatorByEmail(ctx, demoOperatorEmail)
	switch {
	case errors.Is(err, cv.ErrNotFound):
		op, err = st.CreateOperator(ctx, "Demo Admin", demoOperatorEmail, hash)
	case err == nil:
		err = st.SetOperatorPassword(ctx, op.ID, hash)
	}
	if err != nil {
		return demoOperator{}, err
	}
	if err := st.AddMembership(ctx, op.ID, assistantID, cv.RoleAdmin); err != nil {
		return demoOperator{}, err
	}
	return demoOperator{email: demoOperatorEmail, password: pw}, nil
}
