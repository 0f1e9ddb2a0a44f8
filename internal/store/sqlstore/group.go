package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
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
	var search []deferredExec // held back (see below)
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
		fnErr, lost := s.runSavepoint(tx, r, &search)
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
	if err := s.runDeferred(context.Background(), tx, search); err != nil {
		abort(nil)
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
func (s *Store) runSavepoint(tx *sql.Tx, r *txRequest, search *[]deferredExec) (fnErr error, lost bool) {
	// The savepoint statements run whatever the request's context: they keep the group's
	// transaction consistent.
	ctx := context.WithoutCancel(r.ctx)
	if _, err := tx.ExecContext(ctx, `SAVEPOINT request`); err != nil {
		return err, true
	}
	rs := &requestSearch{group: search}
	pending := &txChanges{search: rs}
	s.txs.Store(tx, pending)
	err := r.fn(tx)
	if err == nil {
		err = s.flushChanges(r.ctx, tx, pending)
	}
	s.txs.Delete(tx)
	if err != nil {
		*search = append(rs.took, *search...)
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
	*search = append(*search, rs.own...)
	r.changes = pending
	return nil, false
}

// Search text appended in a group is written when the group's requests have run, all at once
// before the COMMIT. SQLite's full-text index keeps writes in memory until a savepoint opens
// (each request's, and each statement that runs triggers), when it writes them out as a new
// segment of the index and merges segments: once per message without this; once per group
// with it.
//
// Held back: appends to a conversation's search body (appendSearchBody), which commute with
// the other search statements of a transaction but two: a body set anew and a deleted
// document (the row id may come back with a new conversation). Those run searchBarrier first,
// which runs what is held back. A request's own held-back statements are dropped with it when
// it fails; the group's, run inside a request that then fails, are held back again.

// deferredExec is a held-back statement about the search document of conversation rid.
type deferredExec struct {
	rid   int64
	query string
	args  []any
}

// requestSearch is a request's part in its group's held-back statements.
type requestSearch struct {
	group *[]deferredExec // the group's: of requests that succeeded, not yet run
	own   []deferredExec  // the request's own
	took  []deferredExec  // the group's, run by searchBarrier inside this request
}

// searchOf returns the held-back statements of the request that tx runs, nil when tx is no
// group's.
func (s *Store) searchOf(tx *sql.Tx) *requestSearch {
	if v, ok := s.txs.Load(tx); ok {
		return v.(*txChanges).search
	}
	return nil
}

// appendSearchBody appends text to the search body of conversation rid, now or, in a group,
// before the group commits.
func (s *Store) appendSearchBody(ctx context.Context, tx *sql.Tx, rid int64, text string) error {
	if rs := s.searchOf(tx); rs != nil {
		rs.own = append(rs.own, deferredExec{rid, s.d.AppendSearchBody(), []any{rid, text, MaxSearchBody}})
		return nil
	}
	_, err := tx.ExecContext(ctx, s.q(s.d.AppendSearchBody()), rid, text, MaxSearchBody)
	return err
}

// searchBarrier runs the held-back search statements of tx's group and request, before a
// search statement that does not commute with them.
func (s *Store) searchBarrier(ctx context.Context, tx *sql.Tx) error {
	rs := s.searchOf(tx)
	if rs == nil {
		return nil
	}
	if err := s.runDeferred(ctx, tx, *rs.group); err != nil {
		return err
	}
	rs.took = append(rs.took, *rs.group...)
	*rs.group = nil
	if err := s.runDeferred(ctx, tx, rs.own); err != nil {
		return err
	}
	rs.own = nil
	return nil
}

// runDeferred runs held-back statements by row id, each row's in their order: FTS5 keeps
// pending terms for rising row ids only, and writes them out (a segment, merges) before a
// lower one.
func (s *Store) runDeferred(ctx context.Context, tx *sql.Tx, stmts []deferredExec) error {
	slices.SortStableFunc(stmts, func(a, b deferredExec) int { return cmp.Compare(a.rid, b.rid) })
	for _, d := range stmts {
		if _, err := tx.ExecContext(ctx, s.q(d.query), d.args...); err != nil {
			return err
		}
	}
	return nil
}
