// Package periodic runs a server's background upkeep (pruning, sweeps) at a fixed interval.
package periodic

import (
	"context"
	"time"
)

// Run calls fn at once and then every `every`, until ctx ends. A call is never cut short by
// the next tick: ticks that pass while fn runs are dropped.
func Run(ctx context.Context, every time.Duration, fn func(context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
