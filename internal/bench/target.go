package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyhq/parley/internal/analysis"
	"github.com/parleyhq/parley/internal/analysis/pipeline"
	"github.com/parleyhq/parley/internal/api"
	"github.com/parleyhq/parley/internal/auth"
	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/inbox"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/server"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/web"
)

// Target is the server under test: where to send requests, with which token, and, when the
// benchmark can see it, the store on the same database (the floor), the server's memory and
// the database's size.
type Target struct {
	URL   string // http://127.0.0.1:port
	Token string // a write token of the assistant the data goes to
	// AssistantID is the assistant's id (needed by the floor).
	AssistantID string
	// Store reads the same database directly; nil when the benchmark cannot (the floor is
	// then skipped).
	Store store.Store
	// PID is the server's process (0: unknown, no memory figures).
	PID int
	// InProcess is set when the server runs in this process (its memory includes the
	// benchmark's own).
	InProcess bool
	// Analyze tells that the server analyses conversations (the run waits for the backlog).
	Analyze bool
	// Operator signs in to the dashboard (nil: the inbox kinds are skipped).
	Operator *Operator
	// Dashboard renders pages on Store directly (the inbox's floor).
	Dashboard *web.Handler
	// profile starts (true) and stops a CPU profile of a server in another process; nil for
	// a server in this one, which the benchmark profiles itself.
	profile func(start bool) error
	close   func() error
}

// Operator is a dashboard account of the benchmark's assistant.
type Operator struct {
	ID, Email, Password string
}

// StartProfile starts a CPU profile of a server in another process, into the file its
// ChildConfig names; StopProfile stops it and waits for the file.
func (t *Target) StartProfile() error { return t.toggleProfile(true) }

// StopProfile stops the profile that StartProfile started.
func (t *Target) StopProfile() error { return t.toggleProfile(false) }

func (t *Target) toggleProfile(start bool) error {
	if t.profile == nil {
		return errors.New("bench: the server is not a process of its own with a profile file")
	}
	return t.profile(start)
}

// Close stops what the target started.
func (t *Target) Close() error {
	if t.close != nil {
		return t.close()
	}
	return nil
}

// StartServer runs a Parley server on st in this process, listening on 127.0.0.1 only, with
// the same parts as `parley serve` (see Serve), and creates an assistant with a write token
// for the benchmark. Without analyze the analysis jobs stay queued (a backlog), as on a
// server whose analysis is behind.
func StartServer(ctx context.Context, st store.Store, log *slog.Logger, analyze bool) (*Target, error) {
	a, err := st.CreateAssistant(ctx, "Benchmark")
	if err != nil {
		return nil, err
	}
	return StartServerFor(ctx, st, a.ID, log, analyze)
}

// StartServerFor is StartServer for an assistant that exists (the data of an earlier run).
func StartServerFor(ctx context.Context, st store.Store, assistantID string, log *slog.Logger, analyze bool) (*Target, error) {
	t, err := prepare(ctx, st, assistantID)
	if err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- Serve(bg, st, log, analyze, func(a net.Addr) { addrc <- a }) }()
	select {
	case addr := <-addrc:
		t.URL = "http://" + addr.String()
	case err := <-errc:
		stop()
		return nil, err
	case <-time.After(10 * time.Second):
		stop()
		return nil, errors.New("bench: the server did not start")
	}
	t.PID, t.InProcess, t.Analyze = os.Getpid(), true, analyze
	t.Dashboard = web.New(st, web.Options{API: serveAPI, Done: bg.Done()})
	t.close = func() error {
		stop()
		return <-errc
	}
	return t, nil
}

// prepare makes what the benchmark signs in with on the assistant's data: a write token, and
// an admin operator of the dashboard. The Target it returns has no server yet.
func prepare(ctx context.Context, st store.Store, assistantID string) (*Target, error) {
	secret, tok := auth.NewToken(assistantID, cv.ScopeWrite, "parley-bench", 7*24*time.Hour, time.Now())
	if err := st.CreateToken(ctx, tok); err != nil {
		return nil, err
	}
	pw := rand.Text()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return nil, err
	}
	email := "bench-" + strings.ToLower(rand.Text()[:10]) + "@example.com"
	op, err := st.CreateOperator(ctx, "Benchmark operator", email, hash)
	if err == nil {
		err = st.AddMembership(ctx, op.ID, assistantID, cv.RoleAdmin)
	}
	if err != nil {
		return nil, err
	}
	return &Target{Token: secret, AssistantID: assistantID, Store: st, Operator: &Operator{ID: op.ID, Email: email, Password: pw}}, nil
}

// serveAPI is the API's configuration in the benchmark: imports of any size, no rate limits.
var serveAPI = api.Config{MaxImportBytes: 1 << 30}

// Serve runs on st the parts that `parley serve` runs (the API and the dashboard on
// 127.0.0.1, the auto-resolve sweep, and with analyze the job runner with the analysis; rate
// limits off) until ctx ends. ready gets the address once it listens.
func Serve(ctx context.Context, st store.Store, log *slog.Logger, analyze bool, ready func(net.Addr)) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	bg, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	if analyze {
		runner := jobs.New(st, jobs.Options{Logger: log})
		(&pipeline.Pipeline{Store: st, Analyzer: analysis.New(), Logger: log}).Register(runner)
		if ws, ok := st.(interface{ SetJobNotify(func()) }); ok {
			ws.SetJobNotify(runner.Wake)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = runner.Run(bg) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); (&inbox.AutoResolver{Store: st, Log: log}).Run(bg, 2*time.Second) }()
	dash := web.New(st, web.Options{Logger: log, API: serveAPI, Done: bg.Done()})
	srv := server.New(st, server.Config{Logger: log, API: serveAPI, Mounts: dash.Routes()})
	err := srv.ListenAndServe(bg, "127.0.0.1:0", ready)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// Attach describes a server that is already running (loopback only).
func Attach(rawURL, token, assistantID string, pid int, st store.Store) (*Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("bench: --url must be a loopback address (127.0.0.1), not %q", host)
	}
	if token == "" {
		return nil, errors.New("bench: --url needs --token (a write token)")
	}
	return &Target{URL: strings.TrimRight(rawURL, "/"), Token: token, AssistantID: assistantID, PID: pid, Store: st}, nil
}

// Memory is a process's resident memory in bytes: now and the peak (since the last reset),
// and, for a server in this process, the Go runtime's share at the end of the phase (the rest
// is SQLite's page caches and allocations, which modernc makes outside the Go heap).
type Memory struct {
	RSS     int64 `json:"rss"`
	Peak    int64 `json:"peak"`
	GoHeap  int64 `json:"go_heap_inuse,omitempty"`
	GoTotal int64 `json:"go_sys,omitempty"`
}

// ReadMemory reads VmRSS and VmHWM of a process.
func ReadMemory(pid int) (Memory, error) {
	var m Memory
	if pid == 0 {
		return m, errors.New("no pid")
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n << 10
		case "VmHWM":
			m.Peak = n << 10
		}
	}
	return m, sc.Err()
}

// ResetPeak resets a process's VmHWM to its current RSS (Linux: clear_refs 5), so that each
// phase reports its own peak. It fails quietly where not permitted.
func ResetPeak(pid int) {
	if pid != 0 {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	}
}

// DBSize is the database's size on disk.
type DBSize struct {
	// Bytes is the total: SQLite's file and WAL, or the schema's tables with their indexes
	// and TOAST on PostgreSQL.
	Bytes int64 `json:"bytes"`
	// Parts breaks it down: file, wal (SQLite); one entry per table (PostgreSQL); database
	// (pg_database_size, when the database is the benchmark's own).
	Parts map[string]int64 `json:"parts"`
}

type dbHolder interface{ DB() *sql.DB }

// MeasureDB measures the size of the store's database.
func MeasureDB(ctx context.Context, st store.Store, ownDatabase bool) (DBSize, error) {
	size := DBSize{Parts: map[string]int64{}}
	h, ok := st.(dbHolder)
	if !ok {
		return size, errors.New("bench: the store does not expose its database")
	}
	db := h.DB()
	switch st.Engine() {
	case "sqlite":
		var file string
		if err := db.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err != nil {
			return size, err
		}
		for _, p := range []struct{ name, suffix string }{{"file", ""}, {"wal", "-wal"}} {
			if fi, err := os.Stat(file + p.suffix); err == nil {
				size.Parts[p.name] = fi.Size()
				size.Bytes += fi.Size()
			}
		}
	case "postgres":
		rows, err := db.QueryContext(ctx, `SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
 JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'm')`)
		if err != nil {
			return size, err
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				return size, err
			}
			size.Parts[name] = n
			size.Bytes += n
		}
		if err := rows.Err(); err != nil {
			return size, err
		}
		if ownDatabase {
			var n int64
			if err := db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n); err == nil {
				size.Parts["database"] = n
			}
		}
	}
	return size, nil
}
