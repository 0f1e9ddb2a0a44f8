// Package ratelimit is a keyed token bucket for public endpoints (per client address, per
// visitor session): each key gets its own bucket, and idle buckets are forgotten.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds one bucket per key. The zero value is not usable; see New.
type Limiter struct {
	every time.Duration
	burst int
	mu    sync.Mutex
	keys  map[string]*entry
	sweep time.Time
}

type entry struct {
	l    *rate.Limiter
	used time.Time
}

// New allows burst requests at once per key, refilled one every `every`. every <= 0 allows
// everything.
func New(every time.Duration, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{every: every, burst: burst, keys: map[string]*entry{}}
}

// Allow takes one request from key's bucket at now; when it is empty it says how long to wait.
func (l *Limiter) Allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil || l.every <= 0 {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	idle := l.every * time.Duration(l.burst)
	if now.Sub(l.sweep) > time.Minute {
		for k, e := range l.keys {
			if now.Sub(e.used) > idle {
				delete(l.keys, k)
			}
		}
		l.sweep = now
	}
	e := l.keys[key]
	if e == nil {
		e = &entry{l: rate.NewLimiter(rate.Every(l.every), l.burst)}
		l.keys[key] = e
	}
	e.used = now
	r := e.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
