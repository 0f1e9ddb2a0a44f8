package web_test

import (
	"context"
	"io"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/demo"
	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/web"
)

// BenchmarkInboxRender renders the inbox page (the store's list and count queries and the
// template) from a store of generated conversations: PARLEY_BENCH_INBOX_N of them (default
// 20,000), on SQLite, or on PostgreSQL with PARLEY_BENCH_POSTGRES=1 (and
// PARLEY_TEST_POSTGRES_URL). Sub-benchmarks: the default view, and a view with a search and a
// filter. For 1M conversations, load a database with cmd/parley-bench and call
// Handler.RenderInbox against it (see docs/performance.md).
func BenchmarkInboxRender(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_INBOX_N")); err == nil && v > 0 {
		n = v
	}
	open := enginetest.SQLite
	if os.Getenv("PARLEY_BENCH_POSTGRES") == "1" {
		open = enginetest.Postgres
	}
	st := open(b)
	ctx := context.Background()
	a, err := st.CreateAssistant(ctx, "Bench")
	if err != nil {
		b.Fatal(err)
	}
	g := demo.NewGenerator(3, time.Now().UTC(), 90*24*time.Hour)
	batch := make([]cv.NewConversation, 0, 500)
	for i := 0; i < n; i++ {
		c := g.Next()
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
		batch = append(batch, c)
		if len(batch) == cap(batch) || i == n-1 {
			if _, err := st.CreateConversations(ctx, a.ID, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	op, err := st.CreateOperator(ctx, "Bench", "bench@example.com", "")
	if err != nil {
		b.Fatal(err)
	}
	if err := st.AddMembership(ctx, op.ID, a.ID, cv.RoleAdmin); err != nil {
		b.Fatal(err)
	}
	h := web.New(st, web.Options{})
	for _, bc := range []struct {
		name string
		q    url.Values
	}{
		{"all", url.Values{}},
		{"open", url.Values{"view": {"open"}}},
		{"search+filter", url.Values{"query": {"refund"}, "source": {"widget"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if err := h.RenderInbox(ctx, io.Discard, a.ID, op.ID, bc.q); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := h.RenderInbox(ctx, io.Discard, a.ID, op.ID, bc.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
