package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// ---- webhook endpoints ----

const webhookColumns = `id, assistant_id, url, description, event_types, secret, enabled, disabled_reason, disabled_at,
 change_cursor, last_success_at, created_at, updated_at`

func scanWebhook(sc interface{ Scan(...any) error }) (store.Webhook, error) {
	var w store.Webhook
	var types nullBytes
	var disabledAt, lastSuccess nullTime
	var created, updated dbTime
	err := sc.Scan(&w.ID, &w.AssistantID, &w.URL, &w.Description, &types, &w.Secret, &w.Enabled, &w.DisabledReason, &disabledAt,
		&w.Cursor, &lastSuccess, &created, &updated)
	if err != nil {
		return w, err
	}
	w.DisabledAt, w.LastSuccessAt, w.CreatedAt, w.UpdatedAt = disabledAt.t, lastSuccess.t, created.t, updated.t
	w.EventTypes = []string{}
	if len(types.b) > 0 {
		if err := json.Unmarshal(types.b, &w.EventTypes); err != nil {
			return w, err
		}
	}
	return w, nil
}

func eventTypesJSON(types []string) string {
	if len(types) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(types)
	return string(b)
}

func nullTimeArg(d Dialect, t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.Time(t.UTC())
}

// CreateWebhook adds an endpoint whose cursor starts at the assistant's latest change.
func (s *Store) CreateWebhook(ctx context.Context, assistantID string, n store.NewWebhook) (store.Webhook, error) {
	if !validID(assistantID) {
		return store.Webhook{}, cv.ErrNotFound
	}
	now := s.clock()
	w := store.Webhook{ID: newID(), AssistantID: assistantID, URL: n.URL, Description: n.Description, EventTypes: n.EventTypes,
		Secret: n.Secret, Enabled: true, CreatedAt: now, UpdatedAt: now}
	if w.EventTypes == nil {
		w.EventTypes = []string{}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM assistants WHERE id = $1`), assistantID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return cv.ErrNotFound
		}
		if err != nil {
			return err
		}
		var seq sql.NullInt64
		if err := tx.QueryRowContext(ctx, s.q(`SELECT max(seq) FROM changes WHERE assistant_id = $1`), assistantID).Scan(&seq); err != nil {
			return err
		}
		w.Cursor = seq.Int64
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO webhook_endpoints (`+webhookColumns+`)
 VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, $8, NULL, $9, $9)`),
			w.ID, w.AssistantID, w.URL, w.Description, eventTypesJSON(w.EventTypes), w.Secret, true, w.Cursor, s.d.Time(now))
		return err
	})
	return w, err
}

// Webhooks lists an assistant's endpoints, oldest first.
func (s *Store) Webhooks(ctx context.Context, assistantID string) ([]store.Webhook, error) {
	if !validID(assistantID) {
		return nil, cv.ErrNotFound
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+webhookColumns+` FROM webhook_endpoints WHERE assistant_id = $1 ORDER BY created_at, id`), assistantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Webhook{}
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Webhook finds one of an assistant's endpoints.
func (s *Store) Webhook(ctx context.Context, assistantID, id string) (store.Webhook, error) {
	if !validID(assistantID) || !validID(id) {
		return store.Webhook{}, cv.ErrNotFound
	}
	w, err := scanWebhook(s.r.QueryRowContext(ctx, s.q(`SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = $1 AND assistant_id = $2`), id, assistantID))
	if errors.Is(err, sql.ErrNoRows) {
		return w, cv.ErrNotFound
	}
	return w, err
}

// UpdateWebhook changes an endpoint in a transaction.
func (s *Store) UpdateWebhook(ctx context.Context, assistantID, id string, fn func(*store.Webhook) error) (store.Webhook, error) {
	if !validID(assistantID) || !validID(id) {
		return store.Webhook{}, cv.ErrNotFound
	}
	var w store.Webhook
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		w, err = scanWebhook(tx.QueryRowContext(ctx, s.q(`SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = $1 AND assistant_id = $2`+s.d.ForUpdate()), id, assistantID))
		if errors.Is(err, sql.ErrNoRows) {
			return cv.ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := fn(&w); err != nil {
			return err
		}
		if w.EventTypes == nil {
			w.EventTypes = []string{}
		}
		w.UpdatedAt = s.clock()
		_, err = tx.ExecContext(ctx, s.q(`UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, secret = $5,
 enabled = $6, disabled_reason = $7, disabled_at = $8, updated_at = $9 WHERE id = $1`),
			w.ID, w.URL, w.Description, eventTypesJSON(w.EventTypes), w.Secret, w.Enabled, w.DisabledReason, nullTimeArg(s.d, w.DisabledAt), s.d.Time(w.UpdatedAt))
		return err
	})
	return w, err
}

// DeleteWebhook removes an endpoint and its deliveries.
func (s *Store) DeleteWebhook(ctx context.Context, assistantID, id string) error {
	if !validID(assistantID) || !validID(id) {
		return cv.ErrNotFound
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE endpoint_id = (SELECT id FROM webhook_endpoints WHERE id = $1 AND assistant_id = $2)`), id, assistantID); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM webhook_endpoints WHERE id = $1 AND assistant_id = $2`), id, assistantID)
		return affected(res, err)
	})
}

// ---- deliveries: the outbox ----

// parked is the next_attempt_at of a pending delivery that waits for an earlier delivery of its
// conversation to the same endpoint: only the head of each (endpoint, conversation) is ever
// due, so claims scan heads, not backlogs. Finishing a head makes the next one due.
var parked = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// QueueWebhookDeliveries moves every enabled endpoint that is behind its assistant's change
// log forward by up to limit changes. Each endpoint moves in its own transaction, with its row
// locked (skipped by other processes while locked), so no change is queued twice.
func (s *Store) QueueWebhookDeliveries(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT e.id FROM webhook_endpoints e WHERE e.enabled
 AND EXISTS (SELECT 1 FROM changes c WHERE c.assistant_id = e.assistant_id AND c.seq > e.change_cursor)`)
	if err != nil {
		return 0, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	total := 0
	for _, id := range ids {
		n, err := s.queueEndpoint(ctx, id, limit)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

const deliveryInsertColumns = `id, endpoint_id, assistant_id, change_seq, conversation_id, type, actor, event_id, fields, change_at,
 state, attempts, next_attempt_at, created_at`

// deliveryBatch bounds the rows of one INSERT of deliveries (14 arguments each).
const deliveryBatch = 100

func (s *Store) queueEndpoint(ctx context.Context, id string, limit int) (int, error) {
	queued := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		queued = 0
		w, err := scanWebhook(tx.QueryRowContext(ctx, s.q(`SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = $1 AND enabled`+s.d.SkipLocked()), id))
		if errors.Is(err, sql.ErrNoRows) {
			return nil // disabled, deleted, or being moved by another process
		}
		if err != nil {
			return err
		}
		changes, err := s.changes(ctx, tx, w.AssistantID, w.Cursor, limit)
		if err != nil || len(changes) == 0 {
			return err
		}
		now := s.clock()
		var want []cv.Change
		busy := map[string]bool{} // conversations with a pending delivery: new ones wait behind it
		for _, c := range changes {
			if w.Wants(c.Type) {
				want = append(want, c)
				busy[c.ConversationID] = false
			}
		}
		if len(want) > 0 {
			b := &builder{}
			b.arg(w.ID)
			ids := make([]string, 0, len(busy))
			for id := range busy {
				ids = append(ids, id)
			}
			b.in("conversation_id", ids)
			// The conversations' heads (oldest pending deliveries) are locked: a head that
			// finishes meanwhile either finishes first (and is not seen here, so the new
			// delivery is due at once) or after this commits (and its promotion of the next
			// delivery sees the new one). Either way no delivery stays parked behind nothing.
			rows, err := tx.QueryContext(ctx, s.d.Rebind(`SELECT d.conversation_id FROM webhook_deliveries d
 WHERE d.endpoint_id = $1 AND d.state = 'pending' AND d.`+b.where[0]+`
 AND d.change_seq = (SELECT min(p.change_seq) FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id
   AND p.conversation_id = d.conversation_id AND p.state = 'pending')`+s.d.ForUpdate()), b.args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				busy[id] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		for start := 0; start < len(want); start += deliveryBatch {
			batch := want[start:min(start+deliveryBatch, len(want))]
			var sb strings.Builder
			sb.WriteString(`INSERT INTO webhook_deliveries (` + deliveryInsertColumns + `) VALUES `)
			args := make([]any, 0, 14*len(batch))
			for i, c := range batch {
				if i > 0 {
					sb.WriteString(", ")
				}
				sb.WriteString("(")
				for k := range 14 {
					if k > 0 {
						sb.WriteString(", ")
					}
					fmt.Fprintf(&sb, "$%d", len(args)+k+1)
				}
				sb.WriteString(")")
				actor, _ := json.Marshal(c.Actor)
				var ev, fields any
				if c.EventID != nil {
					ev = *c.EventID
				}
				if len(c.Fields) > 0 {
					b, _ := json.Marshal(c.Fields)
					fields = string(b)
				}
				due := now
				if busy[c.ConversationID] {
					due = parked
				}
				busy[c.ConversationID] = true
				args = append(args, newID(), w.ID, w.AssistantID, c.Seq, c.ConversationID, c.Type, string(actor), ev, fields,
					s.d.Time(c.CreatedAt), store.DeliveryPending, 0, s.d.Time(due), s.d.Time(now))
			}
			sb.WriteString(" ON CONFLICT (endpoint_id, change_seq) DO NOTHING")
			res, err := tx.ExecContext(ctx, s.q(sb.String()), args...)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			queued += int(n)
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE webhook_endpoints SET change_cursor = $2 WHERE id = $1`), w.ID, changes[len(changes)-1].Seq)
		return err
	})
	return queued, err
}

const deliveryColumns = `id, endpoint_id, assistant_id, change_seq, conversation_id, type, actor, event_id, fields, change_at,
 state, attempts, next_attempt_at, first_attempt_at, last_attempt_at, last_status_code, last_error, completed_at, created_at`

func scanDelivery(sc interface{ Scan(...any) error }, extra ...any) (store.Delivery, error) {
	var d store.Delivery
	var actor, fields nullBytes
	var changeAt, created dbTime
	var next, first, last, completed nullTime
	var code sql.NullInt64
	dest := append([]any{&d.ID, &d.WebhookID, &d.Change.AssistantID, &d.Change.Seq, &d.Change.ConversationID, &d.Change.Type, &actor,
		&d.Change.EventID, &fields, &changeAt, &d.State, &d.Attempts, &next, &first, &last, &code, &d.LastError, &completed, &created}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return d, err
	}
	d.Change.CreatedAt, d.CreatedAt = changeAt.t, created.t
	d.FirstAttemptAt, d.LastAttemptAt, d.CompletedAt = first.t, last.t, completed.t
	if d.State == store.DeliveryPending && next.t != nil && next.t.Before(parked) {
		d.NextAttemptAt = next.t
	}
	if code.Valid {
		c := int(code.Int64)
		d.LastStatusCode = &c
	}
	if err := json.Unmarshal(actor.b, &d.Change.Actor); err != nil {
		return d, err
	}
	if fields.b != nil {
		if err := json.Unmarshal(fields.b, &d.Change.Fields); err != nil {
			return d, err
		}
	}
	return d, nil
}

// ClaimWebhookDeliveries takes due deliveries for a lease: the oldest pending delivery of each
// (endpoint, conversation), when it is due, its endpoint enabled and not at its in-flight cap.
// The cap is checked against the rows as they were when the statement began: one statement
// may take several deliveries of an endpoint (up to n). Claim one at a time for an exact cap.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, n, perEndpoint int, lease time.Duration) ([]store.ClaimedDelivery, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []store.ClaimedDelivery
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		now := s.clock()
		// The claimed rows are joined by rid (not "rid IN (...)", which PostgreSQL may answer
		// with a scan of the whole table).
		claim := endpointClaim(s.d, n, perEndpoint)
		query := `WITH claim AS (` + claim + `)
 UPDATE webhook_deliveries SET locked_until = $1 FROM claim WHERE webhook_deliveries.rid = claim.rid
 RETURNING ` + deliveryColumns + `, body`
		rows, err := tx.QueryContext(ctx, s.q(query), s.d.Time(now.Add(lease)), s.d.Time(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var body nullBytes
			d, err := scanDelivery(rows, &body)
			if err != nil {
				return err
			}
			d.Body = body.b
			out = append(out, store.ClaimedDelivery{Delivery: d})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		endpoints := map[string]store.Webhook{}
		for i := range out {
			id := out[i].WebhookID
			w, ok := endpoints[id]
			if !ok {
				w, err = scanWebhook(tx.QueryRowContext(ctx, s.q(`SELECT `+webhookColumns+` FROM webhook_endpoints WHERE id = $1`), id))
				if err != nil {
					return err
				}
				endpoints[id] = w
			}
			out[i].URL, out[i].Secret = w.URL, w.Secret
		}
		return nil
	})
	return out, err
}

// endpointClaim picks the oldest due deliveries (by next_attempt_at, change_seq) of the
// endpoints that can take one (enabled, under their cap), starting from those endpoints and
// reading at most n due deliveries of each, in order (Dialect.EndpointDue). By due time alone,
// across endpoints, the claim walked past every due delivery of a disabled
// endpoint, or of one at its cap, on each claim, and the dispatcher claims up to every 20 ms
// while commits come in: with 250,000 such deliveries a claim took 188 ms on SQLite (writer
// held) and 943 ms on PostgreSQL, to return 2. A claim now reads n deliveries an endpoint.
func endpointClaim(d Dialect, n, perEndpoint int) string {
	capped := ""
	if perEndpoint > 0 {
		capped = fmt.Sprintf(`
   AND (SELECT count(*) FROM webhook_deliveries f WHERE f.endpoint_id = e.id AND f.state = 'pending'
     AND f.locked_until IS NOT NULL AND f.locked_until >= $2) < %d`, perEndpoint)
	}
	from, where := d.EndpointDue(fmt.Sprintf(`FROM webhook_deliveries x
     WHERE x.endpoint_id = e.id AND x.state = 'pending' AND x.next_attempt_at <= $2 AND (x.locked_until IS NULL OR x.locked_until < $2)
     AND x.change_seq = (SELECT min(p.change_seq) FROM webhook_deliveries p WHERE p.endpoint_id = x.endpoint_id
       AND p.conversation_id = x.conversation_id AND p.state = 'pending')
     ORDER BY x.next_attempt_at, x.change_seq LIMIT %d`, n))
	return fmt.Sprintf(`SELECT d.rid FROM %s
   WHERE e.enabled%s AND %s
   ORDER BY d.next_attempt_at, d.change_seq LIMIT %d`, from, capped, where, n)
}

// FinishWebhookDelivery records an attempt of a claimed delivery.
func (s *Store) FinishWebhookDelivery(ctx context.Context, id string, a store.DeliveryAttempt) error {
	if !validID(id) {
		return cv.ErrNotFound
	}
	at := s.d.Time(a.At.UTC())
	var code any
	if a.StatusCode != 0 {
		code = a.StatusCode
	}
	var errMsg any
	if !a.Succeeded {
		msg := a.Error
		if len(msg) > 2000 {
			msg = msg[:2000]
		}
		errMsg = msg
	}
	var body any
	if a.Body != nil {
		body = string(a.Body)
	}
	state, next, completed := store.DeliveryPending, at, any(nil)
	switch {
	case a.Succeeded:
		state, completed = store.DeliverySucceeded, at
	case !a.RetryAt.IsZero():
		next = s.d.Time(a.RetryAt.UTC())
	default:
		state, completed = store.DeliveryFailed, at
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var endpointID, conversationID string
		var first dbTime
		err := tx.QueryRowContext(ctx, s.q(`UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, next_attempt_at = $3,
 locked_until = NULL, first_attempt_at = COALESCE(first_attempt_at, $4), last_attempt_at = $4, last_status_code = $5, last_error = $6,
 body = COALESCE(body, $7), completed_at = $8 WHERE id = $1 AND state = 'pending'
 RETURNING endpoint_id, conversation_id, first_attempt_at`),
			id, state, next, at, code, errMsg, body, completed).Scan(&endpointID, &conversationID, &first)
		if errors.Is(err, sql.ErrNoRows) {
			return cv.ErrNotFound
		}
		if err != nil {
			return err
		}
		if state != store.DeliveryPending {
			// The next delivery of the conversation is due now.
			now := s.d.Time(s.clock())
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE webhook_deliveries SET next_attempt_at = $3
 WHERE rid = (SELECT rid FROM webhook_deliveries WHERE endpoint_id = $1 AND conversation_id = $2 AND state = 'pending' ORDER BY change_seq LIMIT 1)
 AND next_attempt_at > $3`), endpointID, conversationID, now); err != nil {
				return err
			}
		}
		switch {
		case a.Succeeded:
			// The endpoint's row is written at most once a second: busy endpoints succeed
			// all the time.
			_, err = tx.ExecContext(ctx, s.q(`UPDATE webhook_endpoints SET last_success_at = $2 WHERE id = $1
 AND (last_success_at IS NULL OR last_success_at < $3)`), endpointID, at, s.d.Time(a.At.UTC().Add(-time.Second)))
		case state == store.DeliveryFailed && a.DisableReason != "":
			_, err = tx.ExecContext(ctx, s.q(`UPDATE webhook_endpoints SET enabled = $2, disabled_reason = $3, disabled_at = $4, updated_at = $4
 WHERE id = $1 AND enabled AND (last_success_at IS NULL OR last_success_at < $5)`), endpointID, false, a.DisableReason, at, s.d.Time(first.t))
		}
		return err
	})
}

// WebhookDeliveries lists an endpoint's deliveries, newest change first.
func (s *Store) WebhookDeliveries(ctx context.Context, assistantID, webhookID string, f store.DeliveryFilter) (store.DeliveryPage, error) {
	page := store.DeliveryPage{Items: []store.Delivery{}}
	if _, err := s.Webhook(ctx, assistantID, webhookID); err != nil {
		return page, err
	}
	if f.Limit <= 0 {
		f.Limit = cv.DefaultLimit
	}
	where := `endpoint_id = $1`
	args := []any{webhookID}
	if f.State != "" {
		args = append(args, f.State)
		where += fmt.Sprintf(` AND state = $%d`, len(args))
		if f.State != store.DeliveryPending {
			// Lets the engines take the index of finished deliveries by state (partial, so
			// that the claims' look-ups of pending deliveries keep theirs).
			where += ` AND state <> 'pending'`
		}
	}
	if err := s.r.QueryRowContext(ctx, s.q(`SELECT count(*) FROM webhook_deliveries WHERE `+where), args...).Scan(&page.Count); err != nil {
		return page, err
	}
	if f.BeforeSeq > 0 {
		args = append(args, f.BeforeSeq)
		where += fmt.Sprintf(` AND change_seq < $%d`, len(args))
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE `+where+
		fmt.Sprintf(` ORDER BY change_seq DESC LIMIT %d`, f.Limit+1)), args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, d)
	}
	if err := rows.Err(); err != nil {
		return page, err
	}
	if len(page.Items) > f.Limit {
		page.Items = page.Items[:f.Limit]
		page.NextBeforeSeq = page.Items[f.Limit-1].Change.Seq
	}
	return page, nil
}

// WebhookDelivery finds one delivery of one of an assistant's endpoints, with its body.
func (s *Store) WebhookDelivery(ctx context.Context, assistantID, webhookID, id string) (store.Delivery, error) {
	if !validID(assistantID) || !validID(webhookID) || !validID(id) {
		return store.Delivery{}, cv.ErrNotFound
	}
	var body nullBytes
	d, err := scanDelivery(s.r.QueryRowContext(ctx, s.q(`SELECT `+deliveryColumns+`, body FROM webhook_deliveries
 WHERE id = $1 AND endpoint_id = $2 AND assistant_id = $3`), id, webhookID, assistantID), &body)
	if errors.Is(err, sql.ErrNoRows) {
		return d, cv.ErrNotFound
	}
	d.Body = body.b
	return d, err
}

// RedeliverWebhookDelivery makes a delivery pending and due now with a new retry window. A
// delivery in flight is refused (ErrConflict): the attempt's result would replace the request.
func (s *Store) RedeliverWebhookDelivery(ctx context.Context, assistantID, webhookID, id string) (store.Delivery, error) {
	w, err := s.Webhook(ctx, assistantID, webhookID)
	if err != nil {
		return store.Delivery{}, err
	}
	if !w.Enabled {
		return store.Delivery{}, fmt.Errorf("%w: the endpoint is disabled; enable it first", cv.ErrConflict)
	}
	if !validID(id) {
		return store.Delivery{}, cv.ErrNotFound
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		now := s.d.Time(s.clock())
		res, err := tx.ExecContext(ctx, s.q(`UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = $3, first_attempt_at = NULL,
 completed_at = NULL WHERE id = $1 AND endpoint_id = $2 AND (locked_until IS NULL OR locked_until <= $3)`), id, webhookID, now)
		if err := affected(res, err); !errors.Is(err, cv.ErrNotFound) {
			return err
		}
		// Not changed: missing, or being sent now (its attempt's result would overwrite the
		// request to send it again).
		var one int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM webhook_deliveries WHERE id = $1 AND endpoint_id = $2`), id, webhookID).Scan(&one); err != nil {
			return notFound(err)
		}
		return fmt.Errorf("%w: %w", cv.ErrConflict, store.ErrDeliveryInFlight)
	})
	if err != nil {
		return store.Delivery{}, err
	}
	return s.WebhookDelivery(ctx, assistantID, webhookID, id)
}

// PruneWebhookDeliveries deletes finished deliveries completed before before.
func (s *Store) PruneWebhookDeliveries(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM webhook_deliveries WHERE state <> 'pending' AND completed_at < $1`), s.d.Time(before.UTC()))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
