package whatsapp_test

import (
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/channel"
	"github.com/parleyhq/parley/internal/channel/whatsapp"
)

// FuzzWhatsAppWebhook: parsing arbitrary bytes as a notification never panics, and what it
// makes of them is well formed. The signature check never panics either.
func FuzzWhatsAppWebhook(f *testing.F) {
	for _, b := range cases(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"x","type":"edit","edit":{"original_message_id":"y","message":{"type":"edit","edit":{}}}}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"from":"1","id":"x","type":"image","image":{}}],"statuses":[{"id":"s","status":"failed","recipient_id":"1","errors":[{}]}]}}]}]}`))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":null}`))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = whatsapp.Verify("secret", "sha256="+string(body[:min(len(body), 64)]), body)
		for _, phone := range []string{"", "1122334455667"} {
			actions, err := whatsapp.Parse(body, phone, now)
			if err != nil {
				continue
			}
			if len(actions) == 0 {
				t.Fatal("no action and no error")
			}
			for _, a := range actions {
				switch a.Kind {
				case channel.Message:
					nc := *a.Conversation
					if nc.Source != "whatsapp" || nc.ExternalID == nil || len(nc.Messages) != 1 || nc.Messages[0].ExternalID == nil {
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
				case channel.Log:
					if a.ConversationExternalID == "" || a.LogExternalID == "" || a.Log.Kind == "" {
						t.Fatalf("malformed log action: %+v", a)
					}
				case channel.Ignore:
					if a.Reason == "" {
						t.Fatal("ignored without a reason")
					}
				}
			}
		}
	})
}
