package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/parleyhq/parley/internal/periodic"
	"github.com/parleyhq/parley/internal/store"
)

// IdempotencyPruner deletes the stored responses of Idempotency-Keys once no retry can be
// answered with them (store.IdempotencyTTL after their claim). A key that no retry comes back
// for would otherwise stay for ever.
type IdempotencyPruner struct {
	Store store.Store
	Log   *slog.Logger
	Now   func() time.Time
}

// Run prunes every `every` until ctx ends.
func (p *IdempotencyPruner) Run(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, p.Prune)
}

// Prune prunes once.
func (p *IdempotencyPruner) Prune(ctx context.Context) {
	log, now := p.Log, p.Now
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	n, err := p.Store.PruneIdempotencyKeys(ctx, now().Add(-store.IdempotencyTTL))
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error("prune idempotency keys", "err", err)
	case n > 0:
		log.Info("pruned idempotency keys", "keys", n)
	}
}
