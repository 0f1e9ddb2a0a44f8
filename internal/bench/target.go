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
	close     func() error
}

// Operator is a dashboard account of the benchmark's assistant.
type Operator struct {
	ID, Email, Password string
}

// Close stops what the target started.
func (t *Target) Close() error {
	if t.close != nil {
		return t.close()
	}
	return nil
}

// StartServer runs a Parley server on st in this process, listening on 127.0.0.1 only, with
// the same parts as `parley serve` (API, dashboard, auto-resolve sweep, and with analyze the
// job runner with the analysis; rate limits off), and creates an assistant with a write token
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
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := cv.Assistant{ID: assistantID}
	secret, tok := auth.NewToken(a.ID, cv.ScopeWrite, "parley-bench", 7*24*time.Hour, time.Now())
	if err := st.CreateToken(ctx, tok); err != nil {
		return nil, err
	}
	bg, stopBg := context.WithCancel(context.Background())
	var wg sync.WaitGroup
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

	// The dashboard, as `parley serve` mounts it, with an admin operator of the assistant.
	pw := rand.Text()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		stopBg()
		wg.Wait()
		return nil, err
	}
	email := "bench-" + strings.ToLower(rand.Text()[:10]) + "@example.com"
	op, err := st.CreateOperator(ctx, "Benchmark operator", email, hash)
	if err == nil {
		err = st.AddMembership(ctx, op.ID, a.ID, cv.RoleAdmin)
	}
	if err != nil {
		stopBg()
		wg.Wait()
		return nil, err
	}
	apiCfg := api.Config{MaxImportBytes: 1 << 30}
	dash := web.New(st, web.Options{Logger: log, API: apiCfg, Done: bg.Done()})
	srv := server.New(st, server.Config{Logger: log, API: apiCfg, Mounts: dash.Routes()})
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- srv.ListenAndServe(bg, "127.0.0.1:0", func(a net.Addr) { addrc <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		stopBg()
		wg.Wait()
		return nil, err
	case <-time.After(10 * time.Second):
		stopBg()
		return nil, errors.New("bench: the server did not start")
	}
	return &Target{
		URL: "http://" + addr.String(), Token: secret, AssistantID: a.ID, Store: st, PID: os.Getpid(), InProcess: true, Analyze: analyze,
		Operator: &Operator{ID: op.ID, Email: email, Password: pw}, Dashboard: dash,
		close: func() error {
			stopBg()
			err := <-errc
			wg.Wait()
			if errors.Is(err, http.ErrServerClosed) {
				err = nil
			}
			return err
		},
	}, nil
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
