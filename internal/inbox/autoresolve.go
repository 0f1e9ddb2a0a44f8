// Package inbox holds the support-inbox workflows that run on their own: resolving
// conversations that went quiet (settings.auto_resolve_after).
package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/periodic"
	"github.com/parleyhq/parley/internal/settings"
	"github.com/parleyhq/parley/internal/store"
)

// AutoResolver resolves open conversations idle longer than their assistant's
// auto_resolve_after, recording the resolution as assumed (not confirmed by anyone).
type AutoResolver struct {
	Store store.Store
	Now   func() time.Time
	Log   *slog.Logger
}

// Run sweeps every interval until ctx ends. Several processes may run it: each resolution
// re-checks the conversation inside its transaction, so none is resolved twice.
func (a *AutoResolver) Run(ctx context.Context, every time.Duration) {
	periodic.Run(ctx, every, func(ctx context.Context) {
		if _, err := a.Sweep(ctx); err != nil && ctx.Err() == nil {
			a.logger().Error("auto-resolve sweep", "err", err)
		}
	})
}

func (a *AutoResolver) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Sweep resolves what is due now and returns how many conversations it resolved.
func (a *AutoResolver) Sweep(ctx context.Context) (int, error) {
	assistants, err := a.Store.Assistants(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, as := range assistants {
		doc, err := a.Store.Settings(ctx, as.ID)
		if err != nil {
			return total, err
		}
		st, err := settings.Parse(doc)
		if err != nil || st.AutoResolveAfter == nil {
			continue
		}
		n, err := a.sweepAssistant(ctx, as.ID, st.AutoResolveAfter.Duration)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (a *AutoResolver) sweepAssistant(ctx context.Context, assistantID string, after time.Duration) (int, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	cutoff := now().Add(-after)
	ctx = cv.WithActor(ctx, cv.Actor{Type: "system"})
	n := 0
	for {
		page, err := a.Store.Conversations(ctx, assistantID, cv.Filter{
			Statuses: []string{cv.StatusOpen}, LastTo: &cutoff, Sort: cv.SortLastMessageAt, Limit: cv.MaxLimit,
		})
		if err != nil {
			return n, err
		}
		for _, c := range page.Items {
			resolved := false
			_, err := a.Store.UpdateConversation(ctx, assistantID, c.ID, 0, func(c *cv.Conversation) ([]cv.Log, error) {
				if c.ResolutionStatus != cv.StatusOpen || !c.LastMessageAt.Before(cutoff) {
					return nil, nil // someone wrote in the meantime
				}
				resolved = true
				c.ResolutionStatus = cv.StatusResolved
				return []cv.Log{{
					Kind: cv.LogResolution, Actor: cv.Actor{Type: "system"},
					Content: fmt.Sprintf("Resolved automatically after %s without messages", after),
					Details: map[string]any{"from": cv.StatusOpen, "to": cv.StatusResolved, "assumed": true, "idle_for": after.String()},
				}}, nil
			})
			if err != nil && err != cv.ErrNotFound {
				return n, err
			}
			if resolved {
				n++
			}
		}
		if len(page.Items) < cv.MaxLimit {
			return n, nil
		}
	}
}
