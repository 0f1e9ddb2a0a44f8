package bench

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Progress shows how far a phase has come: a bar on a terminal, a plain line every few
// seconds otherwise, nothing when the writer is nil.
type Progress struct {
	w   io.Writer
	tty bool

	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	name  string
	total int64
	done  int64
	start time.Time
	last  time.Time
}

// NewProgress writes progress to w (a terminal gets a bar).
func NewProgress(w io.Writer) *Progress {
	p := &Progress{w: w}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

// Start begins a phase of total steps (-1: unknown).
func (p *Progress) Start(name string, total int64) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.name, p.total, p.done, p.start, p.last = name, total, 0, time.Now(), time.Now()
	if p.tty {
		p.bar = progressbar.NewOptions64(total, progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(name),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	} else {
		fmt.Fprintf(p.w, "%s: started\n", name)
	}
}

// Add records n more steps done.
func (p *Progress) Add(n int64) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.bar != nil {
		_ = p.bar.Add64(n)
		return
	}
	if now := time.Now(); now.Sub(p.last) >= 5*time.Second {
		p.last = now
		rate := float64(p.done) / now.Sub(p.start).Seconds()
		if p.total > 0 {
			fmt.Fprintf(p.w, "%s: %d/%d (%.0f%%, %.0f/s)\n", p.name, p.done, p.total, 100*float64(p.done)/float64(p.total), rate)
		} else {
			fmt.Fprintf(p.w, "%s: %d (%.0f/s)\n", p.name, p.done, rate)
		}
	}
}

// Done ends the phase.
func (p *Progress) Done() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
	fmt.Fprintf(p.w, "%s: %d done in %s\n", p.name, p.done, time.Since(p.start).Round(time.Millisecond))
}

// Logf prints a line (above the bar on a terminal).
func (p *Progress) Logf(format string, args ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Clear()
	}
	fmt.Fprintf(p.w, format+"\n", args...)
}
