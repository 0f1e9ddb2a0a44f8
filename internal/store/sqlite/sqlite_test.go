package sqlite_test

import (
	"testing"

	"github.com/parleyhq/parley/internal/store"

	"github.com/parleyhq/parley/internal/store/enginetest"
	"github.com/parleyhq/parley/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return enginetest.SQLite(t) })
}
