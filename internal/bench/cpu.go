package bench

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is where a phase's processor time went, in cores (CPU seconds per second of the phase):
// the server's process, the benchmark's own (the load generator; the server too with
// --in-process), and the whole machine (every process, PostgreSQL's included). On a machine
// of 2 cores, a phase whose Machine is near 2 is bound by the processors.
type CPU struct {
	Seconds float64 `json:"seconds"`
	Server  float64 `json:"server_cores"`
	Bench   float64 `json:"bench_cores"`
	Machine float64 `json:"machine_cores"`
}

// userHZ is the unit of the times in /proc (USER_HZ, 100 on every Linux architecture's ABI).
const userHZ = 100

// cpuMark is what cpuSince compares against.
type cpuMark struct {
	at                     time.Time
	server, bench, machine time.Duration
}

func markCPU(serverPID int) cpuMark {
	m := cpuMark{at: time.Now()}
	m.server, _ = processCPU(serverPID)
	m.bench, _ = processCPU(os.Getpid())
	m.machine, _ = machineCPU()
	return m
}

// since is the CPU use from m to now; the server's is 0 when it runs in the benchmark's process.
func (m cpuMark) since(serverPID int) CPU {
	now := markCPU(serverPID)
	secs := now.at.Sub(m.at).Seconds()
	if secs <= 0 {
		return CPU{}
	}
	cores := func(a, b time.Duration) float64 { return (b - a).Seconds() / secs }
	c := CPU{Seconds: secs, Bench: cores(m.bench, now.bench), Machine: cores(m.machine, now.machine)}
	if serverPID != os.Getpid() {
		c.Server = cores(m.server, now.server)
	}
	return c
}

// processCPU is a process's user and system time so far.
func processCPU(pid int) (time.Duration, error) {
	if pid == 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line; the
// command name (field 2) is in parentheses and may hold spaces and parentheses itself.
func parseProcStat(s string) (time.Duration, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("bench: no command name in /proc stat")
	}
	f := strings.Fields(s[i+1:]) // from field 3 (state) on
	if len(f) < 13 {
		return 0, errors.New("bench: short /proc stat")
	}
	var ticks int64
	for _, x := range f[11:13] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc stat: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// machineCPU is the time all processors have spent busy so far (/proc/stat's cpu line
// without idle and iowait).
func machineCPU() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	return parseMachineStat(string(b))
}

func parseMachineStat(s string) (time.Duration, error) {
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0, errors.New("bench: no cpu line in /proc/stat")
	}
	var busy int64
	// user nice system idle iowait irq softirq steal (guest time is counted in user already).
	for i, x := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("bench: /proc/stat: %w", err)
		}
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / userHZ, nil
}
