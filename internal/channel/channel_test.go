package channel

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/jobs"
)

func TestShortAndContent(t *testing.T) {
	if Short("") != nil {
		t.Error("Short of empty is not nil")
	}
	long := strings.Repeat("ż", 400) // 800 bytes
	got := *Short(long)
	if len(got) > 512 || !strings.HasPrefix(long, got) || len(got) != 512 {
		t.Errorf("Short cut %d bytes, want 512 on a character boundary", len(got))
	}
	odd := "a" + long
	if got := *Short(odd); len(got) != 511 || !strings.HasPrefix(odd, got) {
		t.Errorf("Short cut %d bytes, want 511 (not inside a character)", len(got))
	}
	if got := Content(strings.Repeat("x", 70<<10)); len(got) != 64<<10 {
		t.Errorf("Content cut to %d bytes", len(got))
	}
}

func TestAt(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := At(1441645532, now); got == nil || !got.Equal(time.Unix(1441645532, 0)) {
		t.Errorf("At = %v", got)
	}
	if got := At(1355517523.000005, now); got == nil || got.Nanosecond()/1000 != 5 {
		t.Errorf("At keeps microseconds: %v", got)
	}
	if got := At(float64(now.Unix()+3600), now); got == nil || !got.Equal(now) {
		t.Errorf("a time after now = %v, want now", got)
	}
	for _, s := range []float64{0, -1, 1e12} {
		if At(s, now) != nil {
			t.Errorf("At(%v) is not nil", s)
		}
	}
}

func TestRefused(t *testing.T) {
	for status, permanent := range map[int]bool{400: true, 401: true, 403: true, 404: true, 408: false, 409: false, 429: false, 500: false, 502: false, 503: false} {
		err := Refused("x", status, "no")
		if got := jobs.IsPermanent(err); got != permanent {
			t.Errorf("HTTP %d: permanent %v, want %v", status, got, permanent)
		}
		var pe *PlatformError
		if !errors.As(err, &pe) || pe.Status != status || err.Error() != "x: HTTP "+strconv.Itoa(status)+": no" {
			t.Errorf("HTTP %d: %v", status, err)
		}
	}
	if err := Redact(errors.New(`Post "http://x/bot123:abc/sendMessage": refused`), "123:abc"); strings.Contains(err.Error(), "123:abc") {
		t.Errorf("Redact left the secret: %v", err)
	}
}
