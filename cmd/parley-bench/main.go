// Command parley-bench loads a generated data set into a Parley server through its HTTP API and
// measures it: the import rate, single-message writes, a fixed mix of named reads over HTTP and
// on the database directly (the floor), a mixed read load, the server's memory and the
// database's size. See docs/performance.md.
//
//	go run ./cmd/parley-bench --conversations 10000
//	go run ./cmd/parley-bench --engine postgres --database-url 'postgres://user@localhost/parley_bench?sslmode=disable'
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/parleyhq/parley/internal/bench"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	if cc, child, cerr := bench.ChildConfigFromEnv(); child {
		// Started by a benchmark as the server it measures.
		err = errors.Join(cerr, serveChild(ctx, cc))
	} else {
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) (err error) {
	fs := flag.NewFlagSet("parley-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg bench.Config
	engine := fs.String("engine", "sqlite", "sqlite or postgres (an in-process server on a fresh database)")
	dataDir := fs.String("data-dir", "", "SQLite: the data folder (default: a new temporary folder, removed after unless --keep)")
	dbURL := fs.String("database-url", os.Getenv("PARLEY_DATABASE_URL"), "PostgreSQL: a server URL; the benchmark creates its own database there (env PARLEY_DATABASE_URL)")
	pgDB := fs.String("pg-database", "", "PostgreSQL: the database name to create (default parley_bench_<random>); with --skip-load, the one to reuse")
	pgSchema := fs.Bool("pg-schema", false, "PostgreSQL: use a new schema in the URL's database instead of a new database")
	pgConns := fs.Int("pg-max-conns", 0, "PostgreSQL: pool size (0: the engine's default)")
	keep := fs.Bool("keep", false, "keep the database after the run")
	inProcess := fs.Bool("in-process", false, "run the server in the benchmark's process (default: a child process, so that its memory figures are its own)")
	attachURL := fs.String("url", "", "benchmark a running server at this loopback URL instead of starting one")
	token := fs.String("token", os.Getenv("PARLEY_BENCH_TOKEN"), "with --url: a write token (env PARLEY_BENCH_TOKEN)")
	pid := fs.Int("server-pid", 0, "with --url: the server's process id, for its memory")
	conversations := fs.Int("conversations", 10000, "conversations to generate (about 10 messages each)")
	seed := fs.Int64("seed", 1, "seed of the generated data")
	endFlag := fs.String("end", "2026-11-01", "the data ends on this date (UTC)")
	span := fs.Duration("span", 2*365*24*time.Hour, "the data covers this long before --end")
	cacheDir := fs.String("cache-dir", defaultCache(), "where generated data sets are kept for later runs")
	fs.IntVar(&cfg.ImportBatch, "import-batch", 1000, "conversations per import request")
	fs.IntVar(&cfg.ImportConcurrency, "import-concurrency", 2, "import requests at a time")
	fs.BoolVar(&cfg.SkipLoad, "skip-load", false, "reuse data loaded by an earlier run with --keep (same data options; with --data-dir or --pg-database); it is kept after the run")
	fs.IntVar(&cfg.Posts, "posts", 20000, "single-message POSTs")
	fs.IntVar(&cfg.PostConcurrency, "post-concurrency", 32, "POSTs at a time")
	fs.IntVar(&cfg.Requests, "requests", 200, "requests of each read kind per run")
	fs.IntVar(&cfg.Warmup, "warmup", 10, "unmeasured requests of each kind before each run")
	fs.IntVar(&cfg.ReadConcurrency, "read-concurrency", 2, "requests at a time for each read kind")
	fs.DurationVar(&cfg.KindTimeout, "kind-timeout", 60*time.Second, "time limit of one kind's run")
	fs.IntVar(&cfg.Runs, "runs", 3, "runs of the read kinds (the report shows medians)")
	fs.IntVar(&cfg.MixedConcurrency, "mixed-concurrency", 32, "requests at a time in the mixed read load")
	fs.DurationVar(&cfg.MixedDuration, "mixed-duration", 20*time.Second, "length of the mixed read load")
	fs.IntVar(&cfg.PoolSize, "pool", 200, "conversations picked for detail, events, id and order-number reads")
	fs.IntVar(&cfg.PostPool, "post-pool", 2000, "conversations that receive the POSTs, others in each run (see --post-seed)")
	fs.Uint64Var(&cfg.PostSeed, "post-seed", 0, "picks the POSTs' conversations (0: from the clock; the report gives it)")
	fs.IntVar(&cfg.DeepPage, "deep-page", 10000, "the page of 20 that deep cursor paging reads")
	fs.BoolVar(&cfg.Floor, "floor", true, "run each read on the database directly too (needs the database)")
	kinds := fs.String("kinds", "", "comma list of read kinds to run (default all): "+strings.Join(bench.Kinds, ","))
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of --profile-phase to this file")
	fs.StringVar(&cfg.ProfilePhase, "profile-phase", "reads", "load, posts, reads or mixed")
	analyze := fs.Bool("analyze", false, "run the analysis as `parley serve` does, and wait for its backlog after the load (off: the analysis jobs stay queued)")
	asJSON := fs.Bool("json", false, "print the report as JSON instead of tables")
	out := fs.String("out", "", "also write the JSON report to this file")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *kinds != "" {
		cfg.Kinds = strings.Split(*kinds, ",")
	}
	end, err := time.Parse(time.DateOnly, *endFlag)
	if err != nil {
		return fmt.Errorf("--end: %w", err)
	}
	if !*quiet {
		cfg.Progress = bench.NewProgress(stderr)
	}
	p := cfg.Progress

	ds, err := bench.PrepareDataset(bench.DatasetOptions{Seed: *seed, Conversations: *conversations, End: end, Span: *span, Dir: *cacheDir,
		Progress: func(done, total int) {
			if done == 1000 {
				p.Start("generate", int64(total))
			}
			p.Add(1000)
			if done+1000 > total {
				p.Done()
			}
		}})
	if err != nil {
		return err
	}
	p.Logf("data set: %d conversations, %d messages in %s", ds.Facts.Conversations, ds.Facts.Messages, ds.Path)

	var t *bench.Target
	if *attachURL != "" {
		t, err = bench.Attach(*attachURL, *token, "", *pid, nil)
		if err != nil {
			return err
		}
		cfg.Floor = false
	} else {
		st, where, cleanup, own, err := openStore(ctx, *engine, *dataDir, *dbURL, *pgDB, *pgSchema, int32(*pgConns), *keep, cfg.SkipLoad, p)
		if err != nil {
			return err
		}
		defer func() { err = errors.Join(err, cleanup()) }()
		cfg.OwnDatabase = own
		assistantID, err := benchAssistant(ctx, st, cfg.SkipLoad)
		if err != nil {
			return err
		}
		if *inProcess {
			t, err = bench.StartServerFor(ctx, st, assistantID, nil, *analyze)
		} else {
			where.Analyze = *analyze
			if cfg.CPUProfile != "" {
				if where.Profile, err = filepath.Abs(cfg.CPUProfile); err != nil {
					return err
				}
			}
			var exe string
			if exe, err = os.Executable(); err != nil {
				return err
			}
			t, err = bench.StartChild(ctx, st, exe, where, assistantID)
		}
		if err != nil {
			return err
		}
	}
	defer func() { err = errors.Join(err, t.Close()) }()
	p.Logf("server: %s", t.URL)

	rep, runErr := bench.Run(ctx, cfg, t, ds)
	if rep != nil {
		if *asJSON {
			_ = rep.WriteJSON(stdout)
		} else {
			rep.WriteTable(stdout)
		}
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			_ = rep.WriteJSON(f)
			f.Close()
		}
	}
	if runErr != nil {
		return runErr
	}
	if len(rep.Failures) > 0 {
		return fmt.Errorf("%d check failures", len(rep.Failures))
	}
	return nil
}

func defaultCache() string {
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "parley-bench")
	}
	return filepath.Join(os.TempDir(), "parley-bench")
}

// openStore opens a fresh database of the engine (or the kept one, to reuse) and returns how
// to clean up after.
// The configuration it returns tells a child process how to open the same database.
func openStore(ctx context.Context, engine, dataDir, dbURL, pgDB string, pgSchema bool, conns int32, keep, reuse bool, p *bench.Progress) (store.Store, bench.ChildConfig, func() error, bool, error) {
	var none bench.ChildConfig
	switch engine {
	case "sqlite":
		remove := false
		if dataDir == "" {
			if reuse {
				return nil, none, nil, false, errors.New("--skip-load needs --data-dir")
			}
			d, err := os.MkdirTemp("", "parley-bench-")
			if err != nil {
				return nil, none, nil, false, err
			}
			dataDir, remove = d, !keep
		} else if !reuse {
			if _, err := os.Stat(filepath.Join(dataDir, sqlite.FileName)); err == nil {
				return nil, none, nil, false, fmt.Errorf("%s already holds a database: the benchmark loads a fresh one (or pass --skip-load)", dataDir)
			}
		}
		st, err := sqlite.Open(ctx, dataDir, nil)
		if err != nil {
			return nil, none, nil, false, err
		}
		p.Logf("sqlite: %s", dataDir)
		return st, bench.ChildConfig{Engine: engine, Dir: dataDir}, func() error {
			err := st.Close()
			if remove {
				err = errors.Join(err, os.RemoveAll(dataDir))
			}
			return err
		}, false, nil
	case "postgres":
		if dbURL == "" {
			return nil, none, nil, false, errors.New("--engine postgres needs --database-url")
		}
		if err := loopbackDB(dbURL); err != nil {
			return nil, none, nil, false, err
		}
		if pgDB == "" {
			if reuse {
				return nil, none, nil, false, errors.New("--skip-load needs --pg-database")
			}
			b := make([]byte, 4)
			_, _ = rand.Read(b)
			pgDB = "parley_bench_" + hex.EncodeToString(b)
		}
		if pgSchema {
			st, err := postgres.Open(ctx, dbURL, nil, postgres.Options{Schema: pgDB, MaxConns: conns})
			if err != nil {
				return nil, none, nil, false, err
			}
			p.Logf("postgres: schema %s", pgDB)
			return st, bench.ChildConfig{Engine: engine, URL: dbURL, Schema: pgDB, MaxConns: conns}, func() error {
				err := st.Close()
				if !keep && !reuse {
					err = errors.Join(err, postgres.DropSchema(context.Background(), dbURL, pgDB))
				}
				return err
			}, false, nil
		}
		if !reuse {
			if err := pgExec(ctx, dbURL, "CREATE DATABASE "+pgx.Identifier{pgDB}.Sanitize()); err != nil {
				return nil, none, nil, false, err
			}
		}
		u, err := url.Parse(dbURL)
		if err != nil {
			return nil, none, nil, false, err
		}
		u.Path = "/" + pgDB
		drop := func() error {
			// Data an earlier run loaded (--skip-load) stays: only what this run made goes.
			if keep || reuse {
				return nil
			}
			return pgExec(context.Background(), dbURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{pgDB}.Sanitize()+" WITH (FORCE)")
		}
		st, err := postgres.Open(ctx, u.String(), nil, postgres.Options{MaxConns: conns})
		if err != nil {
			return nil, none, nil, false, errors.Join(err, drop())
		}
		p.Logf("postgres: database %s", pgDB)
		return st, bench.ChildConfig{Engine: engine, URL: u.String(), MaxConns: conns}, func() error { return errors.Join(st.Close(), drop()) }, true, nil
	}
	return nil, none, nil, false, fmt.Errorf("--engine must be sqlite or postgres, not %q", engine)
}

// loopbackDB refuses a database server that is not on this machine: the benchmark sends
// traffic to 127.0.0.1 only.
func loopbackDB(dbURL string) error {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return fmt.Errorf("--database-url: %w", err)
	}
	host := cfg.Host
	if strings.HasPrefix(host, "/") || host == "localhost" {
		return nil // a Unix socket, or this machine
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--database-url: the benchmark talks to this machine only (127.0.0.1 or a socket), not %q", host)
}

func pgExec(ctx context.Context, dbURL, sql string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// benchAssistant is the assistant the benchmark's data goes to: a new one, or with reuse the
// "Benchmark" assistant of a database loaded by an earlier run.
func benchAssistant(ctx context.Context, st store.Store, reuse bool) (string, error) {
	if !reuse {
		a, err := st.CreateAssistant(ctx, "Benchmark")
		return a.ID, err
	}
	list, err := st.Assistants(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range list {
		if a.Name == "Benchmark" {
			return a.ID, nil
		}
	}
	return "", errors.New("--skip-load: the database has no Benchmark assistant")
}

// serveChild is the program started again as the benchmark's server (bench.StartChild).
func serveChild(ctx context.Context, cc bench.ChildConfig) error {
	var st store.Store
	var err error
	switch cc.Engine {
	case "sqlite":
		st, err = sqlite.Open(ctx, cc.Dir, nil)
	case "postgres":
		st, err = postgres.Open(ctx, cc.URL, nil, postgres.Options{Schema: cc.Schema, MaxConns: cc.MaxConns})
	default:
		err = fmt.Errorf("unknown engine %q", cc.Engine)
	}
	if err != nil {
		return err
	}
	return errors.Join(bench.RunChild(ctx, st, cc, os.Stdin, os.Stdout), st.Close())
}
