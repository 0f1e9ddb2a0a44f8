// Command analysisbench loads every analyzer, reports the process's resident memory (VmRSS,
// VmHWM from /proc/self/status) and Go heap, then analyses synthetic 8-message conversations
// on all cores and reports the rate and the memory after it.
//
//	go run ./internal/analysis/cmd/analysisbench -n 20000
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/flags"
	"github.com/parleyhq/parley/internal/analysis/language"
	"github.com/parleyhq/parley/internal/analysis/sentiment"
)

// parts reports the CPU time of each analyzer per message, on one goroutine.
func parts(ins []analysis.Input) {
	var msgs []string
	for _, in := range ins {
		for _, m := range in.Messages {
			msgs = append(msgs, m.Content)
		}
	}
	lm, ss := language.Default(), sentiment.Default()
	for _, p := range []struct {
		name string
		fn   func(string)
	}{
		{"language", func(s string) { lm.Detect(s) }},
		{"sentiment (as English)", func(s string) { ss.Score(s, "en") }},
		{"flags.Read", func(s string) { flags.Read(s, nil) }},
	} {
		c0 := cpuTime()
		for _, s := range msgs {
			p.fn(s)
		}
		fmt.Printf("  %-24s %6.1f µs CPU a message\n", p.name, float64((cpuTime()-c0).Microseconds())/float64(len(msgs)))
	}
	a := analysis.New()
	a.Memo = nil
	c0 := cpuTime()
	for _, in := range ins {
		a.Analyze(in)
	}
	fmt.Printf("  %-24s %6.1f µs CPU a conversation\n", "Analyze (one goroutine)", float64((cpuTime()-c0).Microseconds())/float64(len(ins)))
}

func mem(label string) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, hwm := "?", "?"
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) >= 2 && f[0] == "VmRSS:" {
				rss = f[1] + " kB"
			}
			if len(f) >= 2 && f[0] == "VmHWM:" {
				hwm = f[1] + " kB"
			}
		}
	}
	fmt.Printf("%-28s RSS %s (peak %s), Go heap in use %d MB, from OS %d MB\n", label, rss, hwm, ms.HeapInuse>>20, ms.Sys>>20)
}

func main() {
	n := flag.Int("n", 20000, "conversations to analyse")
	memo := flag.Bool("memo", false, "keep the per-message memo (off: every message judged afresh)")
	showParts := flag.Bool("parts", false, "report the CPU time of each analyzer and stop")
	flag.Parse()
	if *showParts {
		parts(analysis.SampleInputs(1000))
		return
	}
	mem("start")
	t0 := time.Now()
	a := analysis.New()
	if !*memo {
		a.Memo = nil
	}
	fmt.Printf("loaded all analyzers in %s\n", time.Since(t0).Round(time.Millisecond))
	runtime.GC()
	mem("after loading")
	ins := analysis.SampleInputs(1000)
	cpu0 := cpuTime()
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 = time.Now()
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) {
					return
				}
				a.Analyze(ins[i%int64(len(ins))])
			}
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	cpu := cpuTime() - cpu0
	fmt.Printf("analysed %d conversations of 8 messages in %s on %d cores: %.0f conversations/s (wall clock)\n", *n, d.Round(time.Millisecond), runtime.GOMAXPROCS(0), float64(*n)/d.Seconds())
	perCPU := float64(*n) / cpu.Seconds()
	fmt.Printf("CPU time %s (user+system, GC included): %.0f conversations per CPU-second, %.0f/s on 2 busy cores\n", cpu.Round(time.Millisecond), perCPU, 2*perCPU)
	runtime.GC()
	mem("after analysing")
}

// cpuTime is the process's user+system CPU time: on a shared machine the wall clock says more
// about the neighbours than about this code.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
