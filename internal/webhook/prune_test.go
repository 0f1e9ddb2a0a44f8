package webhook_test

import (
	"log/slog"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/webhook"
)

// TestPruner: the change log keeps at least an hour, and what an enabled endpoint still has to
// read; finished deliveries go after their retention.
func TestPruner(t *testing.T) {
	st := enginetest.SQLite(t)
	ctx := t.Context()
	a, _ := st.CreateAssistant(ctx, "A")
	b, _ := st.CreateAssistant(ctx, "B")
	w, err := st.CreateWebhook(ctx, a.ID, store.NewWebhook{URL: "https://x.example", Secret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{a.ID, b.ID} {
		if _, err := st.CreateConversations(ctx, id, []cv.NewConversation{{Source: cv.SourceAPI}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func(id string) int {
		c, err := st.Changes(ctx, id, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		return len(c)
	}
	at := time.Now()
	p := &webhook.Pruner{Store: st, Changes: time.Minute, Deliveries: time.Hour, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return at }}
	at = time.Now().Add(30 * time.Minute) // less than the hour kept in any case
	p.Prune(ctx)
	if count(a.ID) != 1 || count(b.ID) != 1 {
		t.Fatal("pruned changes younger than an hour")
	}
	at = time.Now().Add(2 * time.Hour)
	p.Prune(ctx)
	if count(b.ID) != 0 {
		t.Error("kept B's old change")
	}
	if count(a.ID) != 1 {
		t.Error("pruned a change A's endpoint has not read")
	}
	if _, err := st.QueueWebhookDeliveries(ctx, 100); err != nil {
		t.Fatal(err)
	}
	ds, err := st.ClaimWebhookDeliveries(ctx, 10, 0, time.Minute)
	if err != nil || len(ds) != 1 {
		t.Fatalf("claim: %v %v", ds, err)
	}
	if err := st.FinishWebhookDelivery(ctx, ds[0].ID, store.DeliveryAttempt{At: time.Now(), Succeeded: true, StatusCode: 200}); err != nil {
		t.Fatal(err)
	}
	p.Prune(ctx)
	if count(a.ID) != 0 {
		t.Error("kept A's change after its endpoint read it")
	}
	page, _ := st.WebhookDeliveries(ctx, a.ID, w.ID, store.DeliveryFilter{Limit: 10})
	if len(page.Items) != 0 {
		t.Errorf("kept %d finished deliveries past their retention", len(page.Items))
	}
}
