package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/web"
)

// The server in a process of its own. By default the benchmark runs the server it measures
// as a child process (the benchmark's own program, started again with ChildEnv set), so that
// the server's memory figures are its own, not the load generator's and the data set's, and
// the two do not share a Go runtime.
//
// The child opens the same database, serves it as `parley serve` does (Serve), prints its
// address on standard output and serves until it is sent SIGTERM or its standard input closes
// (the benchmark went away). SIGUSR1 starts a CPU profile of the server into the file of its
// configuration and SIGUSR2 stops it; the child answers each on standard output.

// ChildEnv holds, in a child's environment, its ChildConfig as JSON.
const ChildEnv = "PARLEY_BENCH_SERVER"

// ChildConfig tells a child which database to serve.
type ChildConfig struct {
	Engine   string `json:"engine"`              // sqlite or postgres
	Dir      string `json:"dir,omitempty"`       // SQLite: the data folder
	URL      string `json:"url,omitempty"`       // PostgreSQL: the database's URL
	Schema   string `json:"schema,omitempty"`    // PostgreSQL: the schema, when not the default
	MaxConns int32  `json:"max_conns,omitempty"` // PostgreSQL: pool size (0: the default)
	Analyze  bool   `json:"analyze,omitempty"`   // run the analysis
	Profile  string `json:"profile,omitempty"`   // where SIGUSR1 writes a CPU profile
}

// ChildConfigFromEnv returns the configuration of a child, ok false when this process is none.
func ChildConfigFromEnv() (ChildConfig, bool, error) {
	v := os.Getenv(ChildEnv)
	if v == "" {
		return ChildConfig{}, false, nil
	}
	var cc ChildConfig
	if err := json.Unmarshal([]byte(v), &cc); err != nil {
		return cc, true, fmt.Errorf("bench: %s: %w", ChildEnv, err)
	}
	return cc, true, nil
}

// RunChild is a child's main: it serves st (opened by the caller as cc says) and talks to
// the benchmark on stdin and stdout.
func RunChild(ctx context.Context, st store.Store, cc ChildConfig, stdin io.Reader, stdout io.Writer) error {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		stop()
	}()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	out := make(chan string, 4)
	go func() {
		var prof *os.File
		for {
			select {
			case <-ctx.Done():
				if prof != nil {
					pprof.StopCPUProfile()
					prof.Close()
				}
				return
			case s := <-sigs:
				switch {
				case s == syscall.SIGUSR1 && prof == nil && cc.Profile != "":
					f, err := os.Create(cc.Profile)
					if err == nil {
						if err = pprof.StartCPUProfile(f); err != nil {
							f.Close()
						} else {
							prof = f
						}
					}
					out <- msgLine("profiling", err)
				case s == syscall.SIGUSR2 && prof != nil:
					pprof.StopCPUProfile()
					out <- msgLine("profiled", prof.Close())
					prof = nil
				default:
					out <- "ignored"
				}
			}
		}
	}()
	go func() {
		for line := range out {
			fmt.Fprintln(stdout, line)
		}
	}()
	return Serve(ctx, st, nil, cc.Analyze, func(a net.Addr) { out <- "listening " + a.String() })
}

func msgLine(ok string, err error) string {
	if err != nil {
		return "error " + strings.ReplaceAll(err.Error(), "\n", " ")
	}
	return ok
}

// StartChild starts the server as a child process, exe run with cc in its environment, on
// the database that st holds too (st stays the benchmark's: the floor, the checks and the
// database's size), for assistantID's data.
func StartChild(ctx context.Context, st store.Store, exe string, cc ChildConfig, assistantID string) (*Target, error) {
	t, err := prepare(ctx, st, assistantID)
	if err != nil {
		return nil, err
	}
	env, err := json.Marshal(cc)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), ChildEnv+"="+string(env))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 4)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	exited := make(chan error, 1)
	stopChild := func() error {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		stdin.Close()
		select {
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			return errors.New("bench: the server process did not stop within 30 s; killed")
		case err := <-exited:
			return err
		}
	}
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			err = nil // SIGTERM as told
		}
		exited <- err
	}()
	// next reads the child's next line, failing when it ends or takes too long.
	next := func(within time.Duration) (string, error) {
		select {
		case l, ok := <-lines:
			if !ok {
				return "", errors.New("bench: the server process ended")
			}
			return l, nil
		case <-time.After(within):
			return "", fmt.Errorf("bench: no answer from the server process within %s", within)
		}
	}
	first, err := next(2 * time.Minute)
	addr, ok := strings.CutPrefix(first, "listening ")
	if err != nil || !ok {
		return nil, errors.Join(err, fmt.Errorf("bench: the server process said %q", first), stopChild())
	}
	bg, stop := context.WithCancel(context.Background())
	t.URL, t.PID, t.Analyze = "http://"+addr, cmd.Process.Pid, cc.Analyze
	t.Dashboard = web.New(st, web.Options{API: serveAPI, Done: bg.Done()})
	if cc.Profile != "" {
		t.profile = func(start bool) error {
			sig, want := syscall.SIGUSR2, "profiled"
			if start {
				sig, want = syscall.SIGUSR1, "profiling"
			}
			if err := cmd.Process.Signal(sig); err != nil {
				return err
			}
			l, err := next(time.Minute)
			if err == nil && l != want {
				err = fmt.Errorf("bench: the server process answered %q to profiling", l)
			}
			return err
		}
	}
	t.close = func() error {
		stop()
		return stopChild()
	}
	return t, nil
}
