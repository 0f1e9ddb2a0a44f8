// Package enginetest opens fresh stores on every engine for tests: a new SQLite file in a
// temporary folder, and, when PARLEY_TEST_POSTGRES_URL is set, a new schema on that server.
// When the variable is set and the server cannot be reached, the tests fail: CI sets it, and a
// skipped engine there would hide a broken one.
package enginetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/postgres"
	"github.com/parleyhq/parley/internal/store/sqlite"
)

// PostgresURLEnv names the variable that points the tests at a PostgreSQL server.
const PostgresURLEnv = "PARLEY_TEST_POSTGRES_URL"

// Opener opens a fresh, empty, migrated store that is closed (and dropped) when t ends.
type Opener func(t testing.TB) store.Store

// Engines returns an opener for each engine available to the tests, by engine name.
func Engines() map[string]Opener {
	e := map[string]Opener{"sqlite": SQLite}
	if os.Getenv(PostgresURLEnv) != "" {
		e["postgres"] = Postgres
	}
	return e
}

// ForEach runs fn as a subtest on each available engine.
func ForEach(t *testing.T, fn func(t *testing.T, open Opener)) {
	for name, open := range Engines() {
		t.Run(name, func(t *testing.T) { fn(t, open) })
	}
}

// SQLite opens a store on a new file in t's temporary folder.
func SQLite(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Postgres opens a store on a new schema of the server named by PARLEY_TEST_POSTGRES_URL.
func Postgres(t testing.TB) store.Store {
	t.Helper()
	s, _, _ := openSchema(t, 8)
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgresSchemaURL creates an empty, migrated schema on the test server and returns a URL
// whose connections use it (for code that opens the database itself, such as the command
// line).
func PostgresSchemaURL(t testing.TB) string {
	t.Helper()
	s, url, schema := openSchema(t, 2)
	s.Close()
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}

// openSchema opens a store on a new schema, dropped when t ends.
func openSchema(t testing.TB, conns int32) (store.Store, string, string) {
	t.Helper()
	url := os.Getenv(PostgresURLEnv)
	if url == "" {
		t.Fatalf("%s is not set", PostgresURLEnv)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, url, nil, postgres.Options{Schema: schema, MaxConns: conns})
	if err != nil {
		t.Fatalf("open postgres (%s): %v", PostgresURLEnv, err)
	}
	// Registered first, so it runs after the caller's Close.
	t.Cleanup(func() {
		if err := postgres.DropSchema(context.Background(), url, schema); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return s, url, schema
}
