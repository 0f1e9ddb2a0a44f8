package main

import (
	"log/slog"
	"net/http"

	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/slack"
	"github.com/parleyhq/parley/internal/channel/telegram"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
)

// channelMounts are the chat platforms' webhooks (docs/channels.md). They judge handoff
// requests with the API's hook, so that a visitor asking for a human on Telegram is handled
// like one asking through the API.
func channelMounts(st store.Store, log *slog.Logger, cfg api.Config) map[string]http.Handler {
	o := channel.Options{Store: st, Logger: log, MaxBodyBytes: cfg.MaxBodyBytes, RequestsHuman: cfg.RequestsHuman}
	log.Info("channel webhooks", "telegram", cfg.PublicURL+"/channels/telegram/<assistant id>",
		"slack", cfg.PublicURL+"/channels/slack/<assistant id>", "whatsapp", cfg.PublicURL+"/channels/whatsapp/<assistant id>")
	return map[string]http.Handler{
		telegram.Pattern: telegram.NewHandler(o),
		slack.Pattern:    slack.NewHandler(o),
		whatsapp.Pattern: whatsapp.NewHandler(o),
	}
}

// deliverReplies makes the runner send operator and assistant replies out through the
// platforms (the store enqueues a deliver job for each).
func deliverReplies(st store.Store, log *slog.Logger, runner *jobs.Runner) {
	channel.NewDeliverer(st, log, telegram.NewSender(nil), slack.NewSender(nil), whatsapp.NewSender(nil)).Register(runner)
}
