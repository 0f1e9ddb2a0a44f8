package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// Analysis coalescing: a message makes its conversation due AnalyzeDelay later; more messages
// push that back, but never past AnalyzeMaxDelay after the first one.
var (
	AnalyzeDelay    = 300 * time.Millisecond
	AnalyzeMaxDelay = 1500 * time.Millisecond
)

// SetJobNotify sets a function called after a transaction that enqueued jobs commits, so that
// workers in this process can start without waiting for their next poll.
func (s *Store) SetJobNotify(fn func()) { s.notify = fn }

func (s *Store) enqueueTx(ctx context.Context, tx *sql.Tx, j store.NewJob) error {
	if j.Deadline.IsZero() || j.Deadline.Before(j.RunAt) {
		j.Deadline = j.RunAt
	}
	payload := "{}"
	if len(j.Payload) > 0 {
		payload = string(j.Payload)
	}
	key := j.Key
	if key == "" {
		key = newID()
	}
	now := s.clock()
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO jobs (kind, key, assistant_id, payload, state, run_at, deadline, attempts, created_at)
 VALUES ($1, $2, $3, $4, 'pending', $5, $6, 0, $7)
 ON CONFLICT (kind, key) WHERE state = 'pending'
 DO UPDATE SET run_at = CASE WHEN excluded.run_at > jobs.deadline THEN jobs.deadline ELSE excluded.run_at END`),
		j.Kind, key, j.AssistantID, payload, s.d.Time(j.RunAt), s.d.Time(j.Deadline), s.d.Time(now))
	return err
}

// analyzeLater makes c due for analysis, coalesced with pending work on it.
func (s *Store) analyzeLater(ctx context.Context, tx *sql.Tx, c *cv.Conversation, now time.Time) error {
	return s.enqueueTx(ctx, tx, analyzeJob(c.ID, c.AssistantID, now))
}

func analyzeJob(conversationID, assistantID string, now time.Time) store.NewJob {
	return store.NewJob{Kind: store.JobAnalyze, Key: conversationID, AssistantID: assistantID,
		RunAt: now.Add(AnalyzeDelay), Deadline: now.Add(AnalyzeMaxDelay)}
}

// EnqueueJob adds background work.
func (s *Store) EnqueueJob(ctx context.Context, j store.NewJob) error {
	err := s.tx(ctx, func(tx *sql.Tx) error { return s.enqueueTx(ctx, tx, j) })
	if err == nil {
		s.poke()
	}
	return err
}

func (s *Store) poke() {
	if s.notify != nil {
		s.notify()
	}
}

// ClaimJobs takes due jobs for a lease: first those whose lease ran out (their worker died),
// then pending ones, oldest due first. Two statements, each an index range that stops after
// n rows: one condition with OR made both engines read and sort every due job (a backlog of
// 20,000 analyses) to claim a batch.
func (s *Store) ClaimJobs(ctx context.Context, kinds []string, n int, lease time.Duration) ([]store.Job, error) {
	if len(kinds) == 0 || n <= 0 {
		return nil, nil
	}
	var out []store.Job
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		now := s.clock()
		// (Both in run_at order: the index on (state, kind, run_at) then needs no sort for one kind.)
		for _, due := range []string{"state = 'running' AND locked_until < $1", "state = 'pending' AND run_at <= $1"} {
			if len(out) == n {
				break
			}
			b := &builder{}
			b.arg(s.d.Time(now))
			leaseArg := b.arg(s.d.Time(now.Add(lease)))
			b.in("kind", kinds)
			query := fmt.Sprintf(`UPDATE jobs SET state = 'running', attempts = attempts + 1, locked_until = %s
 WHERE rid IN (SELECT rid FROM jobs WHERE %s AND %s ORDER BY run_at LIMIT %d%s)
 RETURNING rid, kind, key, assistant_id, payload, attempts, run_at, created_at`,
				leaseArg, due, b.where[0], n-len(out), s.d.SkipLocked())
			rows, err := tx.QueryContext(ctx, s.q(query), b.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var j store.Job
				var runAt, created dbTime
				var payload nullBytes
				if err := rows.Scan(&j.ID, &j.Kind, &j.Key, &j.AssistantID, &payload, &j.Attempts, &runAt, &created); err != nil {
					rows.Close()
					return err
				}
				j.Payload, j.RunAt, j.CreatedAt = json.RawMessage(payload.b), runAt.t, created.t
				out = append(out, j)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	})
	// RETURNING gives the rows in the order they were updated: oldest due first again.
	slices.SortFunc(out, func(a, b store.Job) int {
		return cmp.Or(a.RunAt.Compare(b.RunAt), cmp.Compare(a.ID, b.ID))
	})
	return out, err
}

// CompleteJob removes a finished job.
func (s *Store) CompleteJob(ctx context.Context, id int64) error {
	_, err := s.w.ExecContext(ctx, s.q(`DELETE FROM jobs WHERE rid = $1`), id)
	return err
}

// CompleteJobs removes finished jobs, many in one statement.
func (s *Store) CompleteJobs(ctx context.Context, ids []int64) error {
	return s.completeJobs(ctx, s.w, ids)
}

func (s *Store) completeJobsTx(ctx context.Context, tx *sql.Tx, ids []int64) error {
	return s.completeJobs(ctx, tx, ids)
}

func (s *Store) completeJobs(ctx context.Context, db interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, ids []int64) error {
	const per = 500
	for start := 0; start < len(ids); start += per {
		part := ids[start:min(start+per, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		// Only claimed jobs: a SQLite rid can be used again once its row is gone.
		if _, err := db.ExecContext(ctx, s.q(`DELETE FROM jobs WHERE rid IN (`+placeholders(1, len(part))+`) AND state = 'running'`), args...); err != nil {
			return err
		}
	}
	return nil
}

// RetryJob schedules a job again, or fails it for good. When newer work on the same key is
// already pending, that work covers this one and the failed job is dropped.
func (s *Store) RetryJob(ctx context.Context, id int64, at time.Time, errMsg string, final bool) error {
	if len(errMsg) > 2000 {
		errMsg = errMsg[:2000]
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if final {
			_, err := tx.ExecContext(ctx, s.q(`UPDATE jobs SET state = 'failed', locked_until = NULL, last_error = $2 WHERE rid = $1`), id, errMsg)
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE jobs SET state = 'pending', locked_until = NULL, last_error = $2, run_at = $3
 WHERE rid = $1 AND NOT EXISTS (SELECT 1 FROM jobs p WHERE p.kind = jobs.kind AND p.key = jobs.key AND p.state = 'pending')`),
			id, errMsg, s.d.Time(at.UTC()))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM jobs WHERE rid = $1`), id)
		return err
	})
}

// JobStats counts jobs by kind and state.
func (s *Store) JobStats(ctx context.Context) (map[string]map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT kind, state, count(*) FROM jobs GROUP BY kind, state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return nil, err
		}
		if out[kind] == nil {
			out[kind] = map[string]int{}
		}
		out[kind][state] = n
	}
	return out, rows.Err()
}
