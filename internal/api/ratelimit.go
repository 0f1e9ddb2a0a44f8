package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Class is a rate-limit class of endpoints.
type Class int

const (
	ClassRead Class = iota
	ClassWrite
	ClassHeavy
	numClasses
)

// RateLimits are requests a minute per token and class; a zero value does not limit.
type RateLimits [numClasses]int

// DefaultRateLimits are SPEC section 2's defaults: read 1200, write 600, heavy 60 a minute.
var DefaultRateLimits = RateLimits{1200, 600, 60}

// ParseRateLimits reads PARLEY_RATE_LIMITS: "read=N,write=N,heavy=N" (any subset; the rest
// keep their defaults) or "off".
func ParseRateLimits(s string) (RateLimits, error) {
	l := DefaultRateLimits
	s = strings.TrimSpace(s)
	if s == "" {
		return l, nil
	}
	if s == "off" {
		return RateLimits{}, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return l, fmt.Errorf("rate limits: %q is not name=N", part)
		}
		switch k {
		case "read":
			l[ClassRead] = n
		case "write":
			l[ClassWrite] = n
		case "heavy":
			l[ClassHeavy] = n
		default:
			return l, fmt.Errorf("rate limits: unknown class %q (read, write, heavy)", k)
		}
	}
	return l, nil
}

// limiter holds one token bucket per token and class. A bucket holds a minute's allowance and
// refills evenly, so a client may burst up to its per-minute limit.
type limiter struct {
	limits  RateLimits
	mu      sync.Mutex
	buckets map[string]*bucketEntry
	sweep   time.Time
}

type bucketEntry struct {
	l    *rate.Limiter
	used time.Time
}

func newLimiter(l RateLimits) *limiter {
	return &limiter{limits: l, buckets: map[string]*bucketEntry{}}
}

// allow takes one request from the bucket; when it is empty it says how long to wait.
func (l *limiter) allow(tokenID string, c Class, now time.Time) (bool, time.Duration) {
	n := l.limits[c]
	if n <= 0 {
		return true, 0
	}
	key := tokenID + "/" + strconv.Itoa(int(c))
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > 10*time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.used) > 2*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucketEntry{l: rate.NewLimiter(rate.Limit(float64(n)/60), n)}
		l.buckets[key] = b
	}
	b.used = now
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

func retryAfterSeconds(d time.Duration) string {
	return strconv.Itoa(int(math.Ceil(d.Seconds())))
}
