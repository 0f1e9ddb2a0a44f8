package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/google/uuid"

	cv "github.com/parleyhq/parley/internal/conversation"
	"github.com/parleyhq/parley/internal/store"
)

// Store is store.Store over database/sql.
type Store struct {
	w       *sql.DB // writes and transactions
	r       *sql.DB // reads (the same pool on engines without a single writer)
	d       Dialect
	now     store.ClockFunc
	queries sync.Map // query text -> rebound text
	closers []func() error
	notify  func() // wakes in-process job workers
	// txs holds the change-log entries of each open transaction, written just before it
	// commits (see flushChanges); changeNotify hears of each assistant's committed changes.
	txs          sync.Map // *sql.Tx -> *txChanges
	changeNotify func(assistantID string)
	group        *groupCommit // nil: each transaction its own (see group.go)
}

// New returns a Store on the given pools. closers run on Close after the pools are closed.
func New(w, r *sql.DB, d Dialect, now store.ClockFunc, closers ...func() error) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{w: w, r: r, d: d, now: now, closers: closers}
}

var _ store.Store = (*Store)(nil)

// Engine names the database engine.
func (s *Store) Engine() string { return s.d.Name() }

// Close closes both pools.
func (s *Store) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	for _, c := range s.closers {
		err = errors.Join(err, c())
	}
	return err
}

// Ping checks that both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return err
	}
	return s.r.PingContext(ctx)
}

// DB returns the write pool, for engine packages and benchmarks that need raw SQL.
func (s *Store) DB() *sql.DB { return s.w }

// ReadDB returns the read pool.
func (s *Store) ReadDB() *sql.DB { return s.r }

func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// q rebinds a query for the engine, once per query text.
func (s *Store) q(query string) string {
	if v, ok := s.queries.Load(query); ok {
		return v.(string)
	}
	r := s.d.Rebind(query)
	s.queries.Store(query, r)
	return r
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// validID reports whether id is a canonical lower-case UUID; anything else cannot exist.
func validID(id string) bool { return len(id) == 36 && uuidRE.MatchString(id) }

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// tx runs fn in a transaction (with group commit, in a savepoint of a shared one: group.go),
// retrying a few times when the engine reports a transient conflict (SQLite busy, PostgreSQL
// serialization failure), a unique violation (two concurrent creates of one external_id both
// look, find nothing and insert; the retry of the loser finds the winner's row) or the loss of
// its group's transaction.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		if s.group != nil {
			err = s.txGrouped(ctx, fn)
		} else {
			err = s.txOnce(ctx, fn)
		}
		if err == nil || !(s.d.IsBusy(err) || s.d.IsUniqueViolation(err) || errors.Is(err, errGroupAborted)) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
	return err
}

func (s *Store) txOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	pending := &txChanges{}
	s.txs.Store(tx, pending)
	defer s.txs.Delete(tx)
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := s.flushChanges(ctx, tx, pending); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.changesCommitted(pending)
	return nil
}

// ---- assistants ----

// CreateAssistant stores a new assistant.
func (s *Store) CreateAssistant(ctx context.Context, name string) (cv.Assistant, error) {
	a := cv.Assistant{ID: newID(), Name: name, CreatedAt: s.clock()}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO assistants (id, name, created_at, next_ord, settings) VALUES ($1, $2, $3, 0, '{}')`),
		a.ID, a.Name, s.d.Time(a.CreatedAt))
	return a, err
}

// Assistant finds an assistant by id.
func (s *Store) Assistant(ctx context.Context, id string) (cv.Assistant, error) {
	if !validID(id) {
		return cv.Assistant{}, cv.ErrNotFound
	}
	var a cv.Assistant
	var t dbTime
	err := s.r.QueryRowContext(ctx, s.q(`SELECT id, name, created_at FROM assistants WHERE id = $1`), id).Scan(&a.ID, &a.Name, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return a, cv.ErrNotFound
	}
	a.CreatedAt = t.t
	return a, err
}

// Assistants lists every assistant, oldest first.
func (s *Store) Assistants(ctx context.Context) ([]cv.Assistant, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, name, created_at FROM assistants ORDER BY created_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cv.Assistant
	for rows.Next() {
		var a cv.Assistant
		var t dbTime
		if err := rows.Scan(&a.ID, &a.Name, &t); err != nil {
			return nil, err
		}
		a.CreatedAt = t.t
		out = append(out, a)
	}
	return out, rows.Err()
}

// ---- tokens ----

const tokenColumns = `id, assistant_id, name, scope, hash, created_at, expires_at, revoked_at, last_used_at`

// CreateToken stores a token.
func (s *Store) CreateToken(ctx context.Context, t cv.Token) error {
	if _, err := s.Assistant(ctx, t.AssistantID); err != nil {
		return err
	}
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO tokens (`+tokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)`),
		t.ID, t.AssistantID, t.Name, string(t.Scope), t.Hash, s.d.Time(t.CreatedAt), s.d.Time(t.ExpiresAt))
	return err
}

func scanToken(sc interface{ Scan(...any) error }) (cv.Token, error) {
	var t cv.Token
	var scope string
	var created, expires dbTime
	var revoked, used nullTime
	err := sc.Scan(&t.ID, &t.AssistantID, &t.Name, &scope, &t.Hash, &created, &expires, &revoked, &used)
	t.Scope, t.CreatedAt, t.ExpiresAt, t.RevokedAt, t.LastUsedAt = cv.Scope(scope), created.t, expires.t, revoked.t, used.t
	return t, err
}

// TokenByHash finds a token by the hash of its secret.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (cv.Token, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, s.q(`SELECT `+tokenColumns+` FROM tokens WHERE hash = $1`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, cv.ErrNotFound
	}
	return t, err
}

// Tokens lists an assistant's tokens, oldest first.
func (s *Store) Tokens(ctx context.Context, assistantID string) ([]cv.Token, error) {
	if !validID(assistantID) {
		return nil, cv.ErrNotFound
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+tokenColumns+` FROM tokens WHERE assistant_id = $1 ORDER BY created_at, id`), assistantID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []cv.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a token (a second revoke keeps the first time).
func (s *Store) RevokeToken(ctx context.Context, tokenID string, at time.Time) error {
	if !validID(tokenID) {
		return cv.ErrNotFound
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`), tokenID, s.d.Time(at.UTC()))
	return affected(res, err)
}

// TouchToken records that a token was used.
func (s *Store) TouchToken(ctx context.Context, tokenID string, at time.Time) error {
	if !validID(tokenID) {
		return cv.ErrNotFound
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE tokens SET last_used_at = $2 WHERE id = $1`), tokenID, s.d.Time(at.UTC()))
	return affected(res, err)
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return cv.ErrNotFound
	}
	return nil
}

// ---- settings ----

// Settings returns an assistant's settings document.
func (s *Store) Settings(ctx context.Context, assistantID string) (json.RawMessage, error) {
	if !validID(assistantID) {
		return nil, cv.ErrNotFound
	}
	var doc nullBytes
	err := s.r.QueryRowContext(ctx, s.q(`SELECT settings FROM assistants WHERE id = $1`), assistantID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, cv.ErrNotFound
	}
	return doc.b, err
}

// SaveSettings replaces an assistant's settings document.
func (s *Store) SaveSettings(ctx context.Context, assistantID string, doc json.RawMessage) error {
	if !validID(assistantID) {
		return cv.ErrNotFound
	}
	if !json.Valid(doc) {
		return fmt.Errorf("sqlstore: settings are not valid JSON")
	}
	res, err := s.w.ExecContext(ctx, s.q(`UPDATE assistants SET settings = $2 WHERE id = $1`), assistantID, string(doc))
	return affected(res, err)
}
