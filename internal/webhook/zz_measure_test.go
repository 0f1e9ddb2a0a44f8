package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/webhook"
)

type timed struct {
	store.Store
	mu sync.Mutex
	d  map[string]time.Duration
	n  map[string]int
}

func (s *timed) rec(name string, start time.Time) {
	s.mu.Lock()
	s.d[name] += time.Since(start)
	s.n[name]++
	s.mu.Unlock()
}
func (s *timed) ClaimWebhookDeliveries(ctx context.Context, n, p int, l time.Duration) ([]store.ClaimedDelivery, error) {
	defer s.rec("claim", time.Now())
	return s.Store.ClaimWebhookDeliveries(ctx, n, p, l)
}
func (s *timed) FinishWebhookDelivery(ctx context.Context, id string, a store.DeliveryAttempt) error {
	defer s.rec("finish", time.Now())
	return s.Store.FinishWebhookDelivery(ctx, id, a)
}
func (s *timed) QueueWebhookDeliveries(ctx context.Context, n int) (int, error) {
	defer s.rec("queue", time.Now())
	return s.Store.QueueWebhookDeliveries(ctx, n)
}
func (s *timed) Conversation(ctx context.Context, a, id string) (cv.Conversation, error) {
	defer s.rec("conv", time.Now())
	return s.Store.Conversation(ctx, a, id)
}

func TestZZMeasure(t *testing.T) {
	enginetest.ForEach(t, func(t *testing.T, open enginetest.Opener) {
		st := &timed{Store: open(t), d: map[string]time.Duration{}, n: map[string]int{}}
		var got atomic.Int32
		rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
		defer rcv.Close()
		a, _ := st.CreateAssistant(t.Context(), "A")
		if _, err := st.CreateWebhook(t.Context(), a.ID, store.NewWebhook{URL: rcv.URL, Secret: "s"}); err != nil {
			t.Fatal(err)
		}
		const n = 500
		var in []cv.NewConversation
		for range n {
			in = append(in, cv.NewConversation{Source: cv.SourceAPI})
		}
		if _, err := st.CreateConversations(t.Context(), a.ID, in); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		d := webhook.New(st, webhook.Options{})
		ctx, cancel := context.WithCancel(context.Background())
		go d.Run(ctx)
		for got.Load() < n {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		el := time.Since(start)
		t.Logf("%s: %d deliveries in %s: %.0f/s", st.Engine(), n, el.Round(time.Millisecond), n/el.Seconds())
		for k, v := range st.d {
			t.Logf("  %s: %d calls, avg %s", k, st.n[k], (v / time.Duration(st.n[k])).Round(time.Microsecond))
		}
	})
}
