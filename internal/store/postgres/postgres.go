// Package postgres is Parley's engine for more than one machine: PostgreSQL through pgx, where
// several `parley serve` processes share one database.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options tune Open.
type Options struct {
	// Schema, when set, is created if missing and used as the search_path (tests give each
	// test its own).
	Schema string
	// MaxConns bounds the pool (0: pgxpool's default).
	MaxConns int32
}

// Open connects to the database at url and migrates it.
func Open(ctx context.Context, url string, now store.ClockFunc, opt Options) (*sqlstore.Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	if opt.Schema != "" {
		if err := createSchema(ctx, cfg.ConnConfig, opt.Schema); err != nil {
			return nil, err
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = opt.Schema
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	if err := migrate(ctx, db); err != nil {
		db.Close()
		pool.Close()
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	return sqlstore.New(db, db, Dialect{}, now, func() error { pool.Close(); return nil }), nil
}

func createSchema(ctx context.Context, cfg *pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	return err
}

// DropSchema removes a schema made for a test.
func DropSchema(ctx context.Context, url, schema string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	return err
}

func migrate(ctx context.Context, db *sql.DB) error {
	p, err := Migrations(db)
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Migrations returns the goose provider of this engine's schema.
func Migrations(db *sql.DB) (*goose.Provider, error) {
	// Version ranges belong to parallel streams of work (00020s: performance, 00030s:
	// webhooks, ...), so a database may have a higher version before a lower one exists:
	// apply the lower ones when they come.
	return goose.NewProvider(goose.DialectPostgres, db, mustSub(migrations, "migrations"), goose.WithAllowOutofOrder(true))
}

// Dialect is PostgreSQL's side of the shared SQL.
type Dialect struct{}

func (Dialect) Name() string                  { return "postgres" }
func (Dialect) Rebind(q string) string        { return q }
func (Dialect) Time(t time.Time) any          { return t.UTC() }
func (Dialect) SkipLocked() string            { return " FOR UPDATE SKIP LOCKED" }
func (Dialect) ForUpdate() string             { return " FOR UPDATE" }
func (Dialect) MetadataKeyArg(key string) any { return key }

// MetadataText is the value of a key as text; objects and arrays never match.
func (Dialect) MetadataText(n int) string {
	k := "$" + strconv.Itoa(n) + "::text"
	return "(CASE jsonb_typeof(c.client_metadata -> " + k + ") WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE c.client_metadata ->> " + k + " END)"
}
func (Dialect) SearchArg(q search.Query) string { return q.TSQuery() }
func (Dialect) SearchRows(a, q int) string {
	return "SELECT conversation_rid AS rid FROM conversation_search WHERE assistant_id = $" + strconv.Itoa(a) +
		" AND tsv @@ to_tsquery('simple', $" + strconv.Itoa(q) + ")"
}

// SearchCount and SearchIDs call a function (migration 00024) that keeps the planner on the
// GIN index: a word in many documents would otherwise be counted by a sequential scan that
// reads every tsvector from TOAST.
func (Dialect) SearchCount(a, q int) string {
	return "SELECT n FROM search_ids($" + strconv.Itoa(a) + ", to_tsquery('simple', $" + strconv.Itoa(q) + "), 0)"
}
func (Dialect) SearchIDs(a, q, lim int) string {
	return "SELECT n, ids FROM search_ids($" + strconv.Itoa(a) + ", to_tsquery('simple', $" + strconv.Itoa(q) + "), $" + strconv.Itoa(lim) + ")"
}

// IDsMax: above 4% of the conversations the correlated probe of a walk (SearchProbe) finds a
// page within about 500 rows, cheaper than a hashed list of all the matches.
func (Dialect) IDsMax(total int64) int64 { return max(1, total/25) }

func (Dialect) IDList(col string) string { return "string_agg(" + col + "::text, ',')" }

// InIDs: the walk checks a hashed subplan (IS TRUE keeps PostgreSQL from turning the IN
// into a join, whose output would have to be sorted); the sparse form looks each id up.
func (Dialect) InIDs(n int, walk bool) string {
	ids := "('{' || $" + strconv.Itoa(n) + "::text || '}')::bigint[]"
	if walk {
		return "(c.rid IN (SELECT unnest(" + ids + "))) IS TRUE"
	}
	return "c.rid = ANY(" + ids + ")"
}

func (Dialect) Sparse(rows string) (string, string) {
	return "conversations c", "c.rid IN (" + rows + ")"
}

// SearchProbe is a correlated subquery, which PostgreSQL runs for each row it walks (a
// semi-join would read every match first).
func (Dialect) SearchProbe(q int) string {
	return "(SELECT s.tsv @@ to_tsquery('simple', $" + strconv.Itoa(q) + ") FROM conversation_search s WHERE s.conversation_rid = c.rid)"
}

// Unordered: PostgreSQL estimates a prefix search at a fixed 500 rows and, for a rare word,
// would walk the whole order probing each row; a sort key that no index has makes it read the
// matches and sort them (COALESCE of a column with itself is not simplified away).
func (Dialect) Unordered(col string) string { return "COALESCE(" + col + ", " + col + ")" }

// SparseMax: walking checks each row's tsvector (read from TOAST): √(100·total), 10,000
// matches of a million.
func (Dialect) SparseMax(total int64) int64 { return max(1000, int64(math.Sqrt(100*float64(total)))) }
func (Dialect) InsertSearch(rid int64, assistantID, meta, body string) (string, []any) {
	return `INSERT INTO conversation_search (conversation_rid, assistant_id, meta, body, tsv) VALUES ($1, $2, $3::text, $4::text, to_tsvector('simple', $3::text || ' ' || $4::text))`, []any{rid, assistantID, meta, body}
}
func (Dialect) UpdateSearchMeta() string {
	return `UPDATE conversation_search SET meta = $2::text, tsv = ` + searchMetaTSV("$2::text") + ` WHERE conversation_rid = $1`
}

// searchMetaTSV is the tsvector of a search document (its columns as before the UPDATE) whose
// conversation fields become m: the one it has when m adds only words that its body already
// holds in the same order (m is those words, or those words then the old fields), else the
// whole document parsed again. An analysis' first title is the opening of a visitor's message,
// so it usually adds nothing, and the row is updated without parsing the body or touching the
// GIN index. The one query that could tell the two apart is a phrase of the title's last word
// then the visitor's first name, which may then go unmatched.
func searchMetaTSV(m string) string {
	b := `' ' || body || ' '`
	return `CASE WHEN ` + m + ` = meta
   OR (meta = '' AND strpos(` + b + `, ' ' || ` + m + ` || ' ') > 0)
   OR (meta <> '' AND length(` + m + `) > length(meta) + 1 AND right(` + m + `, length(meta) + 1) = ' ' || meta
       AND strpos(` + b + `, ' ' || left(` + m + `, length(` + m + `) - length(meta) - 1) || ' ') > 0)
 THEN tsv ELSE to_tsvector('simple', ` + m + ` || ' ' || body) END`
}

// AppendSearchBody adds the message's own tsvector: concatenation offsets its positions past
// the document's last, as parsing the whole document would number them.
func (Dialect) AppendSearchBody() string {
	return `UPDATE conversation_search SET body = CASE WHEN body = '' THEN $2::text ELSE body || ' ' || $2::text END,
 tsv = tsv || to_tsvector('simple', $2::text) WHERE conversation_rid = $1 AND length(body) < $3`
}
func (Dialect) SetMessageField(field string) string {
	return `UPDATE events SET data = jsonb_set(data, '{` + field + `}', $3::jsonb) WHERE conversation_rid = $1 AND id = $2 AND type = 'message'`
}
func (Dialect) DeleteSearch() string {
	return `DELETE FROM conversation_search WHERE conversation_rid = $1`
}
func (Dialect) SetSearchBody() string {
	return `UPDATE conversation_search SET body = $2::text, meta = $3::text, tsv = to_tsvector('simple', $3::text || ' ' || $2::text) WHERE conversation_rid = $1`
}

func (Dialect) MetadataKeys() string { return "jsonb_object_keys(c.client_metadata) AS k(key)" }
func (Dialect) EpochMicros(col string) string {
	return "(extract(epoch FROM " + col + ") * 1000000)::bigint"
}

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func (Dialect) IsUniqueViolation(err error) bool { return pgCode(err) == "23505" }
func (Dialect) IsBusy(err error) bool {
	c := pgCode(err)
	return c == "40001" || c == "40P01"
}

// AnalysisLock: an advisory lock of the database, so it holds across server processes.
func (Dialect) AnalysisLock() string {
	return `SELECT pg_advisory_xact_lock(hashtextextended('parley.analyses', 0))`
}

// ChangeLock serializes the change-log writes of one assistant (see sqlstore.flushChanges):
// a transaction-scoped advisory lock keyed by a hash of the assistant id.
func (Dialect) ChangeLock() string {
	return `SELECT pg_advisory_xact_lock(hashtextextended('parley.changes:' || $1, 0))`
}

// EndpointDue: the due deliveries of each endpoint in a lateral subquery (sqlstore.Dialect),
// which locks them itself so that they are checked again once locked, as the claim by due time
// did. It may lock up to its limit of each endpoint's deliveries for one claim, which takes
// only that many in all; the others stay locked until the claim commits and concurrent claims
// skip them meanwhile.
func (Dialect) EndpointDue(due string) (string, string) {
	return "webhook_endpoints e CROSS JOIN LATERAL (SELECT x.rid, x.next_attempt_at, x.change_seq " + due + " FOR UPDATE OF x SKIP LOCKED) d", "TRUE"
}
