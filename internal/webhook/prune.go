package webhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/parleyhq/parley/internal/periodic"
	"github.com/parleyhq/parley/internal/store"
)

// Retention defaults.
const (
	// MinChangeRetention is the least history the live stream promises to resume from.
	MinChangeRetention     = time.Hour
	DefaultChangeRetention = 7 * 24 * time.Hour
	// DefaultDeliveryRetention is how long finished deliveries stay in the deliveries list.
	DefaultDeliveryRetention = 30 * 24 * time.Hour
)

// Pruner keeps the change log and the deliveries list from growing without end. The log keeps
// at least MinChangeRetention (the live stream resumes from it), and whatever an enabled
// endpoint has not read yet.
type Pruner struct {
	Store      store.Store
	Changes    time.Duration // change-log retention (default 7 days, at least an hour)
	Deliveries time.Duration // finished deliveries' retention (default 30 days)
	Log        *slog.Logger
	Now        func() time.Time
}

// Run prunes every `every` until ctx ends.
func (p *Pruner) Run(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, p.Prune)
}

// Prune prunes once.
func (p *Pruner) Prune(ctx context.Context) {
	log, now := p.Log, p.Now
	if log == nil {
		log = slog.Default()
	}
	if now == nil {
		now = time.Now
	}
	keep := p.Changes
	if keep <= 0 {
		keep = DefaultChangeRetention
	}
	keep = max(keep, MinChangeRetention)
	if n, err := p.Store.PruneChanges(ctx, now().Add(-keep)); err != nil {
		if ctx.Err() == nil {
			log.Error("prune change log", "err", err)
		}
	} else if n > 0 {
		log.Info("pruned change log", "entries", n)
	}
	keepDeliveries := p.Deliveries
	if keepDeliveries <= 0 {
		keepDeliveries = DefaultDeliveryRetention
	}
	if n, err := p.Store.PruneWebhookDeliveries(ctx, now().Add(-keepDeliveries)); err != nil {
		if ctx.Err() == nil {
			log.Error("prune webhook deliveries", "err", err)
		}
	} else if n > 0 {
		log.Info("pruned webhook deliveries", "deliveries", n)
	}
}
