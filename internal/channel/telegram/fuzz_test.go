package telegram_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/channeltest"
	"github.com/parleyhq/parley/internal/channel/telegram"
)

// FuzzTelegramUpdate: parsing arbitrary bytes as an Update never panics, and what it makes of
// them is well formed.
func FuzzTelegramUpdate(f *testing.F) {
	for _, rel := range channeltest.Files(f, "telegram", "*.json") {
		f.Add(channeltest.Payload(f, rel))
	}
	f.Add([]byte(`{"update_id":1,"message":null}`))
	f.Add([]byte(`{"update_id":1,"message":{"message_id":1,"chat":{"id":-100},"photo":[],"location":{"latitude":1e400}}}`))
	f.Add([]byte(`{"update_id":1,"edited_message":{"message_id":1,"chat":{"id":1},"from":{"is_bot":true}}}`))
	f.Add([]byte(`[]`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		actions, err := telegram.Parse(body, now)
		if err != nil {
			if actions != nil {
				t.Fatalf("actions with an error: %v", actions)
			}
			return
		}
		checkActions(t, actions, now)
	})
}

func checkActions(t *testing.T, actions []channel.Action, now time.Time) {
	if len(actions) == 0 {
		t.Fatal("no action and no error: every update is at least acknowledged")
	}
	for _, a := range actions {
		switch a.Kind {
		case channel.Message:
			nc := *a.Conversation
			if nc.Source != "telegram" || nc.ExternalID == nil || len(nc.Messages) != 1 || !nc.NewIfTerminated {
				t.Fatalf("malformed message action: %+v", nc)
			}
			m := nc.Messages[0]
			if m.Author != "visitor" || m.ExternalID == nil || !m.FromChannel {
				t.Fatalf("malformed message: %+v", m)
			}
			if m.CreatedAt != nil && m.CreatedAt.After(now) {
				t.Fatalf("message time %s after now", m.CreatedAt)
			}
			_ = nc.Validate()
		case channel.Edit:
			if a.MessageExternalID == "" {
				t.Fatal("edit without a message id")
			}
		case channel.Ignore:
			if a.Reason == "" {
				t.Fatal("ignored without a reason")
			}
		default:
			t.Fatalf("unexpected action %v", a.Kind)
		}
	}
}
