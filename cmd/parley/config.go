package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// env returns the environment variable or def.
func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// dbFlags are the flags that choose the database, shared by every command.
type dbFlags struct {
	dataDir     string
	databaseURL string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.dataDir, "data-dir", env("PARLEY_DATA_DIR", "./parley-data"), "folder of the embedded SQLite database (env PARLEY_DATA_DIR)")
	fs.StringVar(&d.databaseURL, "database-url", env("PARLEY_DATABASE_URL", ""), "postgres://... to use PostgreSQL instead of SQLite (env PARLEY_DATABASE_URL)")
}

// open opens (and migrates) the chosen database.
func (d *dbFlags) open(ctx context.Context) (store.Store, error) {
	if d.databaseURL != "" {
		return postgres.Open(ctx, d.databaseURL, nil, postgres.Options{})
	}
	return sqlite.Open(ctx, d.dataDir, nil)
}

// newFlagSet makes a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses args, flags before or after the positional arguments, and refuses a count of
// positional arguments other than want. The positional ones are left in positional.
func parse(fs *flag.FlagSet, args []string, want int) error {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != want {
		return usageError{fmt.Sprintf("%s: expected %d argument(s), got %d", fs.Name(), want, len(positional))}
	}
	_ = fs.Parse(append([]string{"--"}, positional...))
	return nil
}
