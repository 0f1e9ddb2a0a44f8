package bench_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/bench"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// TestMain lets this test binary be the benchmark's server process (bench.StartChild starts
// the running program again), as cmd/parley-bench's main does.
func TestMain(m *testing.M) {
	if cc, child, err := bench.ChildConfigFromEnv(); child {
		if err == nil {
			err = serveChild(cc)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func serveChild(cc bench.ChildConfig) error {
	if cc.Engine != "sqlite" {
		return fmt.Errorf("engine %q", cc.Engine)
	}
	st, err := sqlite.Open(context.Background(), cc.Dir, nil)
	if err != nil {
		return err
	}
	return errors.Join(bench.RunChild(context.Background(), st, cc, os.Stdin, os.Stdout), st.Close())
}

// TestChildServer runs the server in a process of its own: it answers over HTTP with the
// benchmark's token, its memory is its own process's, it writes a CPU profile when told, and
// it stops when the benchmark closes it.
func TestChildServer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.CreateAssistant(ctx, "Benchmark")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	prof := filepath.Join(t.TempDir(), "cpu.prof")
	target, err := bench.StartChild(ctx, st, exe, bench.ChildConfig{Engine: "sqlite", Dir: dir, Profile: prof}, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			target.Close()
		}
	}()
	if target.PID == os.Getpid() || target.PID == 0 || target.InProcess {
		t.Fatalf("PID %d, in process %v: want another process", target.PID, target.InProcess)
	}
	if err := target.StartProfile(); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", target.URL+"/v1/api_core/conversations?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+target.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list: status %d", resp.StatusCode)
	}
	if err := target.StopProfile(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Fatalf("profile: %v, %v", fi, err)
	}
	if m, err := bench.ReadMemory(target.PID); err != nil || m.RSS == 0 {
		t.Fatalf("memory of the server process: %+v, %v", m, err)
	}
	pid := target.PID
	closed = true
	if err := target.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after Close", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
