package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A command name with a space and a parenthesis; utime 250 and stime 50 ticks.
	line := "4242 (pb (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 8 0 100 2000000 500 18446744073709551615\n"
	d, err := parseProcStat(line)
	if err != nil || d != 3*time.Second {
		t.Fatalf("parseProcStat = %v, %v; want 3s", d, err)
	}
	if _, err := parseProcStat("4242 (short) S 1 2"); err == nil {
		t.Fatal("a short line parsed")
	}
	if _, err := parseProcStat("no name"); err == nil {
		t.Fatal("a line without a command name parsed")
	}
}

func TestParseMachineStat(t *testing.T) {
	// user 100, nice 10, system 40, idle 1000, iowait 50, irq 5, softirq 5, steal 0: 160 busy.
	d, err := parseMachineStat("cpu  100 10 40 1000 50 5 5 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n")
	if err != nil || d != 1600*time.Millisecond {
		t.Fatalf("parseMachineStat = %v, %v; want 1.6s", d, err)
	}
	if _, err := parseMachineStat("intr 1 2 3\n"); err == nil {
		t.Fatal("a file without the cpu line parsed")
	}
}

// TestCPUOfBusyPhase: a phase that keeps one goroutine spinning shows up as the benchmark's
// own CPU time.
func TestCPUOfBusyPhase(t *testing.T) {
	m := markCPU(os.Getpid())
	end := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(end) {
		n++
	}
	c := m.since(os.Getpid())
	if c.Bench < 0.3 || c.Machine < 0.3 || c.Server != 0 {
		t.Fatalf("a busy phase: %+v (spun %d times), want bench and machine near 1 core and no separate server", c, n)
	}
}
