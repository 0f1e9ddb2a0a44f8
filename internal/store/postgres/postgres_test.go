package postgres_test

import (
	"os"
	"testing"

	"github.com/parleyhq/parley/internal/store"

	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	if os.Getenv(enginetest.PostgresURLEnv) == "" {
		t.Skipf("%s not set: PostgreSQL conformance runs in CI", enginetest.PostgresURLEnv)
	}
	storetest.Run(t, func(t *testing.T) store.Store { return enginetest.Postgres(t) })
}
