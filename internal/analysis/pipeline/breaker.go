package pipeline

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/settings"
)

// A provider that fails BreakerFailures analyses in a row (unreachable, slow, error statuses,
// answers that are no JSON) is skipped for Pipeline.LLMCooldown: every analysis holds one of the
// job queue's few workers while it waits, and a dead provider must not slow down the analysis
// (and the channel replies sharing those workers) of every assistant. After the cool-down the
// next analysis tries again; one success closes the breaker.
const (
	BreakerFailures        = 3
	DefaultBreakerCooldown = time.Minute
	maxBreakers            = 10000
)

type breakers struct {
	mu sync.Mutex
	m  map[[32]byte]*breaker
}

type breaker struct {
	fails int
	until time.Time
}

// breakerKey names an assistant's provider configuration (the key only as part of a hash).
func breakerKey(assistantID string, l *settings.LLM) [32]byte {
	return sha256.Sum256([]byte(assistantID + "\x00" + l.BaseURL + "\x00" + l.Model + "\x00" + l.APIKey))
}

// open reports whether the provider is being skipped now.
func (b *breakers) open(k [32]byte, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.m[k]
	return e != nil && now.Before(e.until)
}

// done records an attempt's outcome; it reports whether this failure opened the breaker.
func (b *breakers) done(k [32]byte, ok bool, now time.Time, cooldown time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		delete(b.m, k)
		return false
	}
	if b.m == nil || len(b.m) >= maxBreakers {
		b.m = map[[32]byte]*breaker{}
	}
	e := b.m[k]
	if e == nil {
		e = &breaker{}
		b.m[k] = e
	}
	e.fails++
	if e.fails >= BreakerFailures {
		e.until = now.Add(cooldown)
		return true
	}
	return false
}
