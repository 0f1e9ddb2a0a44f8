package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the checkpointer copies the WAL's new pages into the database.
const checkpointEvery = 250 * time.Millisecond

// checkpointer runs the WAL's checkpoints on a connection of its own, off the writer's path.
// SQLite's default runs a checkpoint inside the commit that finds the WAL past 1,000 pages:
// that commit, and every write queued behind the one writer, waits for it (a sixth of the
// writer's time under single-message POSTs at 1M conversations). A PASSIVE checkpoint never
// blocks the writer or the readers; the WAL is reused from its start once a checkpoint has
// copied all of it and no reader needs its old pages.
type checkpointer struct {
	db   *sql.DB
	stop chan struct{}
	done chan struct{}
}

// checkpoints counts the checkpoints run by every checkpointer of the process (for tests).
var checkpoints atomic.Int64

func startCheckpointer(dsn string) (*checkpointer, error) {
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	failed := false
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		err := c.checkpoint("PASSIVE")
		if err != nil && !failed {
			slog.Warn("sqlite: WAL checkpoint failed", "err", err)
		}
		failed = err != nil
	}
}

func (c *checkpointer) checkpoint(mode string) error {
	var busy, log, done int64
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &log, &done)
	if err == nil {
		checkpoints.Add(1)
	}
	return err
}

// close stops the loop and, the other connections being closed, empties the WAL.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.done
	err := c.checkpoint("TRUNCATE")
	if cerr := c.db.Close(); err == nil {
		err = cerr
	}
	return err
}
