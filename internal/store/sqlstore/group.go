package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// Group commit (engines with a single writer, SQLite). Writes queue for the one writer
// connection anyway; committing costs about as much as a small write (the WAL frames of every
// page it changed, the page cache's upkeep, checkpoints), and the pages that writes change
// most (the tails of the events, changes and jobs indexes, the rollups) are shared. So
// transactions that arrive while another group is running share one database transaction,
// each in a SAVEPOINT of its own:
//
//   - a request whose function fails is rolled back to its savepoint alone and gets its error;
//   - a request is told it succeeded only after the shared COMMIT: a crash loses nothing that
//     was acknowledged, and a failed COMMIT fails every request of the group;
//   - requests run in arrival order, one after the other on the writer connection, so a
//     request sees the writes of those before it (as if they had committed first) and the
//     change log's seq order is still the commit order;
//   - when the shared transaction itself is lost (SQLite rolls the whole transaction back after
//     some errors: I/O, disk full), no request of the group is committed and each is retried
//     by tx, as a busy database is.
//
// There is no goroutine of its own: the first request to find no group running leads; it
// takes the queue (itself first), runs it as one group, hands the lead to the first request
// that queued meanwhile and returns. A group of one is an ordinary transaction.

// maxGroup bounds the requests of one group.
const maxGroup = 64

// errGroupAborted is the error of a request whose group's transaction was lost before it
// committed; tx retries it.
var errGroupAborted = errors.New("sqlstore: the shared transaction was rolled back; nothing of it committed")

type groupCommit struct {
	mu      sync.Mutex
	queue   []*txRequest
	leading bool // a request is running a group; then the queue's head leads next
	// groups and grouped count the groups of more than one request and their requests.
	groups, grouped atomic.Int64
}

type txRequest struct {
	ctx     context.Context
	fn      func(*sql.Tx) error
	done    chan error    // the request's outcome, once
	lead    chan struct{} // the request is to run the next group
	changes *txChanges
}

// EnableGroupCommit makes concurrent transactions share database transactions (see above).
// Only for an engine whose writes go through a single connection. Call it before use.
func (s *Store) EnableGroupCommit() { s.group = &groupCommit{} }

// txGrouped runs fn as part of a group and returns its outcome.
func (s *Store) txGrouped(ctx context.Context, fn func(*sql.Tx) error) error {
	g := s.group
	r := &txRequest{ctx: ctx, fn: fn, done: make(chan error, 1), lead: make(chan struct{}, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, r)
	if g.leading {
		g.mu.Unlock()
		select {
		case err := <-r.done:
			return err
		case <-r.lead:
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	// r leads: the queue starts with r (the queue is empty whenever no request leads, and the
	// lead goes to the head of the queue).
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := make([]*txRequest, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	g.mu.Unlock()
	s.runGroup(batch)
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.leading = false
	} else {
		g.queue[0].lead <- struct{}{}
	}
	g.mu.Unlock()
	return <-r.done
}

// runGroup runs the requests of batch in one transaction and answers each.
func (s *Store) runGroup(batch []*txRequest) {
	if len(batch) == 1 {
		r := batch[0]
		r.done <- s.txOnce(r.ctx, r.fn)
		return
	}
	s.group.groups.Add(1)
	s.group.grouped.Add(int64(len(batch)))
	// The transaction is no request's: one going away must not roll back the others' work.
	tx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range batch {
			r.done <- err
		}
		return
	}
	var ok []*txRequest
	abort := func(rest []*txRequest) {
		_ = tx.Rollback()
		for _, r := range append(ok, rest...) {
			r.done <- errGroupAborted
		}
	}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		fnErr, lost := s.runSavepoint(tx, r)
		if lost {
			if fnErr != nil {
				r.done <- fnErr
			} else {
				r.done <- errGroupAborted
			}
			abort(batch[i+1:])
			return
		}
		if fnErr != nil {
			r.done <- fnErr
			continue
		}
		ok = append(ok, r)
	}
	if len(ok) == 0 {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		for _, r := range ok {
			r.done <- err
		}
		return
	}
	for _, r := range ok {
		s.changesCommitted(r.changes)
		r.done <- nil
	}
}

// runSavepoint runs one request of a group in a savepoint, with its change-log entries. fnErr
// is the request's own failure (its writes are undone); lost reports that the transaction
// itself is gone.
func (s *Store) runSavepoint(tx *sql.Tx, r *txRequest) (fnErr error, lost bool) {
	// The savepoint statements run whatever the request's context: they keep the group's
	// transaction consistent.
	ctx := context.WithoutCancel(r.ctx)
	if _, err := tx.ExecContext(ctx, `SAVEPOINT request`); err != nil {
		return err, true
	}
	pending := &txChanges{}
	s.txs.Store(tx, pending)
	err := r.fn(tx)
	if err == nil {
		err = s.flushChanges(r.ctx, tx, pending)
	}
	s.txs.Delete(tx)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO request`); rerr != nil {
			return err, true
		}
		if _, rerr := tx.ExecContext(ctx, `RELEASE request`); rerr != nil {
			return err, true
		}
		return err, false
	}
	if _, err := tx.ExecContext(ctx, `RELEASE request`); err != nil {
		return nil, true
	}
	r.changes = pending
	return nil, false
}
