package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// createBatch is what the conversations created in one transaction write together at its end,
// a few multi-row statements instead of one statement (and, on PostgreSQL, one round trip)
// per row: their events, analytics counters, search documents and analysis jobs. It also
// knows which external ids the assistant already has, read for the whole batch at once.
//
// The search documents go last on purpose: FTS5 writes its pending index to disk at every
// statement savepoint, so documents inserted between other statements cost a segment (and a
// merge) each.
type createBatch struct {
	events []stagedEvent
	counts map[countKey]int64
	docs   []searchDoc
	jobs   []stagedJob
	// known maps source and external id to the conversation id that holds it (nil: not
	// read, look each up).
	known map[[2]string]string
}

// stagedEvent is an event of a conversation being created (its row id is not needed).
type stagedEvent struct {
	ev          cv.Event
	data        string
	rid         int64
	assistantID string
}

type countKey struct {
	rid int64
	col string
}

// searchDoc is the search document of a conversation being created.
type searchDoc struct {
	rid                     int64
	assistantID, meta, body string
}

type stagedJob struct {
	conversationID, assistantID string
	now                         time.Time
}

// Rows per multi-row statement (at most 9 placeholders each, far below either engine's limit).
const batchRows = 100

// readKnown reads which of the batch's external ids the assistant already has.
func (s *Store) readKnown(ctx context.Context, tx *sql.Tx, assistantID string, in []cv.NewConversation, b *createBatch) error {
	b.known = map[[2]string]string{}
	bySource := map[string][]string{}
	for i := range in {
		if in[i].ExternalID != nil {
			bySource[in[i].Source] = append(bySource[in[i].Source], *in[i].ExternalID)
		}
	}
	for source, ids := range bySource {
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			args := []any{assistantID, source}
			for _, id := range chunk {
				args = append(args, id)
			}
			rows, err := tx.QueryContext(ctx, s.q(`SELECT external_id, id FROM conversations WHERE assistant_id = $1 AND source = $2
 AND external_id IN (`+placeholders(3, len(chunk))+`)`), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var ext, id string
				if err := rows.Scan(&ext, &id); err != nil {
					rows.Close()
					return err
				}
				b.known[[2]string{source, ext}] = id
			}
			if err := rows.Close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// flush writes what the batch holds.
func (s *Store) flush(ctx context.Context, tx *sql.Tx, b *createBatch) error {
	for start := 0; start < len(b.events); start += batchRows {
		chunk := b.events[start:min(start+batchRows, len(b.events))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO events (id, conversation_rid, assistant_id, ord, type, created_at, external_id, data, from_channel) VALUES `)
		args := make([]any, 0, 9*len(chunk))
		for i, e := range chunk {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
			args = append(args, e.ev.ID, e.rid, e.assistantID, e.ev.Ord, e.ev.Type, s.d.Time(e.ev.CreatedAt), e.ev.ExternalID, e.data, fromChannel(e.ev))
		}
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return err
		}
	}
	b.events = b.events[:0]
	for k, n := range b.counts {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE conversations SET `+k.col+` = `+k.col+` + $2 WHERE rid = $1`), k.rid, n); err != nil {
			return err
		}
	}
	clear(b.counts)
	for start := 0; start < len(b.jobs); start += batchRows {
		chunk := b.jobs[start:min(start+batchRows, len(b.jobs))]
		jobs := make([]store.NewJob, len(chunk))
		for i, j := range chunk {
			jobs[i] = analyzeJob(j.conversationID, j.assistantID, j.now)
		}
		if err := s.enqueueMany(ctx, tx, jobs); err != nil {
			return err
		}
	}
	b.jobs = b.jobs[:0]
	for start := 0; start < len(b.docs); start += batchRows {
		chunk := b.docs[start:min(start+batchRows, len(b.docs))]
		var sb strings.Builder
		var args []any
		for i, d := range chunk {
			query, a := s.d.InsertSearch(d.rid, d.assistantID, d.meta, d.body)
			// The dialect's single-row INSERT, its VALUES row repeated with the parameters
			// renumbered.
			head, row, _ := strings.Cut(query, " VALUES ")
			if i == 0 {
				sb.WriteString(head + " VALUES ")
			} else {
				sb.WriteString(", ")
			}
			sb.WriteString(renumber(row, len(args)))
			args = append(args, a...)
		}
		if _, err := tx.ExecContext(ctx, s.q(sb.String()), args...); err != nil {
			return err
		}
	}
	b.docs = b.docs[:0]
	return nil
}

// enqueueMany is enqueueTx for several jobs of distinct keys in one statement.
func (s *Store) enqueueMany(ctx context.Context, tx *sql.Tx, jobs []store.NewJob) error {
	if len(jobs) == 0 {
		return nil
	}
	now := s.d.Time(s.clock())
	var sb strings.Builder
	sb.WriteString(`INSERT INTO jobs (kind, key, assistant_id, payload, state, run_at, deadline, attempts, created_at) VALUES `)
	args := make([]any, 0, 7*len(jobs))
	for i, j := range jobs {
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
		if i > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, 'pending', $%d, $%d, 0, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7)
		args = append(args, j.Kind, key, j.AssistantID, payload, s.d.Time(j.RunAt), s.d.Time(j.Deadline), now)
	}
	sb.WriteString(` ON CONFLICT (kind, key) WHERE state = 'pending'
 DO UPDATE SET run_at = CASE WHEN excluded.run_at > jobs.deadline THEN jobs.deadline ELSE excluded.run_at END`)
	_, err := tx.ExecContext(ctx, s.q(sb.String()), args...)
	return err
}
