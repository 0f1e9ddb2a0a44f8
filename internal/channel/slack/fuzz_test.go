package slack_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/slack"
)

// FuzzSlackEvent: parsing arbitrary bytes as an Events API body never panics, and what it
// makes of them is well formed. The verifier never panics on any header either.
func FuzzSlackEvent(f *testing.F) {
	for _, b := range bodies(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","subtype":"message_changed","channel":"C1","message":null}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","subtype":"message_deleted","channel":"C1","previous_message":{"ts":"1.2"}}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","channel":"C1","user":"U1","ts":"NaN","files":[{"id":"F1","size":-1}]}}`))
	f.Add([]byte(`command=%2Fx&text=`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{}
		h.Set(slack.TimestampHeader, string(body[:min(len(body), 12)]))
		h.Set(slack.SignatureHeader, "v0="+string(body[min(len(body), 12):min(len(body), 76)]))
		_ = slack.Verify("secret", h, body, now)
		res, err := slack.Parse(body, now)
		if err != nil {
			return
		}
		if res.Challenge != nil {
			return
		}
		if len(res.Actions) == 0 {
			t.Fatal("no action, no challenge and no error")
		}
		for _, a := range res.Actions {
			switch a.Kind {
			case channel.Message:
				nc := *a.Conversation
				if nc.Source != "slack" || nc.ExternalID == nil || len(nc.Messages) != 1 || nc.Messages[0].ExternalID == nil {
					t.Fatalf("malformed message action: %+v", nc)
				}
				if at := nc.Messages[0].CreatedAt; at != nil && at.After(now) {
					t.Fatalf("message time %s after now", at)
				}
				_ = nc.Validate()
			case channel.Edit, channel.Delete:
				if a.MessageExternalID == "" {
					t.Fatal("edit or deletion without a message id")
				}
			case channel.Ignore:
				if a.Reason == "" {
					t.Fatal("ignored without a reason")
				}
			default:
				t.Fatalf("unexpected action %v", a.Kind)
			}
		}
	})
}
