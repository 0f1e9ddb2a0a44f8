// Package sqlite is Parley's embedded default engine: one SQLite file in WAL mode, one writer
// connection (SQLite allows one writer at a time; queueing in Go is cheaper than busy waits)
// and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parleyhq/parley/internal/search"
	"github.com/parleyhq/parley/internal/store"
	"github.com/parleyhq/parley/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file inside the data directory.
const FileName = "parley.db"

// Open opens (creating if needed) the database in dataDir and migrates it.
func Open(ctx context.Context, dataDir string, now store.ClockFunc) (*sqlstore.Store, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	return OpenFile(ctx, filepath.Join(dataDir, FileName), now)
}

// OpenFile opens the database at path and migrates it.
func OpenFile(ctx context.Context, path string, now store.ClockFunc) (*sqlstore.Store, error) {
	pragmas := []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)", "cache_size(-32000)", "temp_store(MEMORY)"}
	dsn := func(extra ...string) string {
		v := url.Values{}
		for _, p := range append(pragmas, extra...) {
			v.Add("_pragma", p)
		}
		return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + v.Encode()
	}
	w, err := sql.Open(writerDriverName, dsn()+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: migrate %s: %w", path, err)
	}
	// Readers keep a smaller page cache each (the operating system caches the file too): the
	// server's memory stays bounded with a pool of them (docs/performance.md).
	r, err := sql.Open(driverName, dsn("query_only(1)", "cache_size(-16000)"))
	if err != nil {
		w.Close()
		return nil, err
	}
	// One reader per core: SQLite work is CPU-bound once the file is cached, more readers only
	// contend, and each holds its page cache and, for a common word's search, tens of MB of
	// working memory that the allocator keeps (measured in docs/performance.md).
	r.SetMaxOpenConns(max(2, runtime.GOMAXPROCS(0)))
	r.SetMaxIdleConns(max(2, runtime.GOMAXPROCS(0)))
	st := sqlstore.New(w, r, Dialect{vocab: newVocabCache()}, now)
	st.EnableGroupCommit() // one writer connection: concurrent writes share commits
	return st, nil
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
	return goose.NewProvider(goose.DialectSQLite3, db, mustSub(migrations, "migrations"), goose.WithAllowOutofOrder(true))
}

// Dialect is SQLite's side of the shared SQL.
type Dialect struct {
	vocab *vocabCache // nil: no cache
}

var placeholder = regexp.MustCompile(`\$(\d+)`)

func (Dialect) Name() string { return "sqlite" }

// Rebind turns $1, $2, ... into SQLite's parameters: plain ? when they come in order, once
// each (as in every multi-row INSERT), else ?NNN. The driver looks each numbered parameter's
// name up in a list as long as the statement's parameters, which made a 800-parameter INSERT
// spend a quarter of the import's CPU time binding.
func (Dialect) Rebind(q string) string {
	ms := placeholder.FindAllStringSubmatch(q, -1)
	for i, m := range ms {
		if m[1] != strconv.Itoa(i+1) {
			return placeholder.ReplaceAllString(q, "?$1")
		}
	}
	return placeholder.ReplaceAllString(q, "?")
}
func (Dialect) Time(t time.Time) any          { return t.UnixMicro() }
func (Dialect) SkipLocked() string            { return "" }
func (Dialect) ChangeLock() string            { return "" }
func (Dialect) AnalysisLock() string          { return "" }
func (Dialect) ForUpdate() string             { return "" }
func (Dialect) MetadataKeyArg(key string) any { return key }

// MetadataText looks the key up with json_each rather than a JSON path, so that any key works
// (a path cannot quote every character). Objects and arrays never match.
func (Dialect) MetadataText(n int) string {
	return "(SELECT CASE j.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE CAST(j.value AS TEXT) END" +
		" FROM json_each(c.client_metadata) j WHERE j.key = $" + strconv.Itoa(n) + ")"
}

// The search index holds every assistant's documents; a document's aid column is its
// assistant's token, so that a search counts the assistant's matches in the index alone.
// Queries look for their words in meta and body only.
func aidToken(assistantID string) string { return "a" + strings.ReplaceAll(assistantID, "-", "") }

func (Dialect) SearchArg(q search.Query) string { return inText(q, q.FTS5()) }

// inText limits the FTS5 expression expr of q to the meta and body columns when one of q's
// words could be (or, as a prefix, start) an assistant token: with such a column filter FTS5
// reads every match's positions to find their columns, which made a common word's count
// about 1.7 times as slow. A word that cannot be in the aid column matches the same
// documents without the filter.
func inText(q search.Query, expr string) string {
	for _, t := range q.Terms {
		for _, p := range t.Parts {
			if mayBeAidToken(p) {
				return `{meta body} : (` + expr + `)`
			}
		}
	}
	return expr
}

// mayBeAidToken reports whether the word w (letters and digits, as search.Tokens gives them;
// folded to lower case here too, as FTS5 folds a query) is an assistant token or the start of
// one: "a" and at most 32 hexadecimal digits.
func mayBeAidToken(w string) bool {
	w = strings.ToLower(w)
	if len(w) == 0 || len(w) > len("a")+32 || w[0] != 'a' {
		return false
	}
	for i := 1; i < len(w); i++ {
		if c := w[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
func (Dialect) SearchRows(_, q int) string {
	return "SELECT rowid AS rid FROM conversation_search WHERE conversation_search MATCH $" + strconv.Itoa(q)
}

// SearchCount counts the matches alone when every document is the assistant's (one
// assistant: the embedded default), else those that also have the assistant's token, which
// costs a walk of that token's long list. Both in one statement, so one snapshot.
func (Dialect) SearchCount(a, q int) string {
	qa, qq := "$"+strconv.Itoa(a), "$"+strconv.Itoa(q)
	return `SELECT CASE WHEN (SELECT conversation_count FROM assistants WHERE id = ` + qa + `) = (SELECT sum(conversation_count) FROM assistants)
 THEN (SELECT count(*) FROM conversation_search WHERE conversation_search MATCH ` + qq + `)
 ELSE (SELECT count(*) FROM conversation_search WHERE conversation_search MATCH 'aid : "a' || replace(` + qa + `, '-', '') || '" AND ' || ` + qq + `) END`
}

// SearchIDs: SQLite counts a word's matches from the FTS5 index alone and pages them without
// their ids (SearchProbe, ProbeEach), so the ids are never read out.
func (Dialect) SearchIDs(a, q, lim int) string { return "" }
func (Dialect) IDsMax(int64) int64             { return 0 }
func (Dialect) IDList(string) string           { return "" }
func (Dialect) InIDs(int, bool) string         { panic("sqlite: InIDs without SearchIDs") }

// ProbeMin: a word in a twentieth of the conversations fills a page of 21 within about 420
// rows checked one by one; below that the list of matches (SearchProbe) is cheaper.
func (Dialect) ProbeMin(total int64) int64 { return max(1, total/20) }

// probeWords bounds the words a prefix is restated as.
const probeWords = 64

// ProbeArg restates the prefix of q's last term as the index's words that start with it
// (vocab.go).
func (d Dialect) ProbeArg(ctx context.Context, r *sql.DB, q search.Query) (string, bool, error) {
	p := q.PrefixPart()
	if p == "" {
		return d.SearchArg(q), true, nil
	}
	words, err := d.vocab.prefixWords(ctx, r, p, probeWords)
	if err != nil {
		return "", false, err
	}
	if len(words) == 0 || len(words) > probeWords {
		return "", false, nil
	}
	return inText(q, q.FTS5Expanded(words)), true, nil
}

// ProbeEach looks the conversation's document up by row id and matches it alone.
func (Dialect) ProbeEach(q int) string {
	return "EXISTS (SELECT 1 FROM conversation_search s WHERE s.rowid = c.rid AND s.conversation_search MATCH $" + strconv.Itoa(q) + ")"
}

// Sparse makes the row ids the outer loop: CROSS JOIN fixes SQLite's join order, which
// without statistics would scan the assistant's conversations instead.
func (Dialect) Sparse(rows string) (string, string) {
	return "(" + rows + ") m CROSS JOIN conversations c", "c.rid = m.rid"
}

// SearchProbe keeps the list of matches (FTS5 answers a match for one row slowly for a
// prefix: it merges the prefix's terms for each), read once; the unary + keeps SQLite from
// looking the matches up by row id, so that it walks the order and checks the list.
func (d Dialect) SearchProbe(q int) string { return "+c.rid IN (" + d.SearchRows(1, q) + ")" }

// SparseMax: walking checks an in-memory list (cheap), sorting reads a row per match: √(4·total),
// 2,000 matches of a million.
func (Dialect) SparseMax(total int64) int64 { return max(200, int64(math.Sqrt(4*float64(total)))) }

// Unordered: a unary + keeps SQLite from reading the order from an index.
func (Dialect) Unordered(col string) string { return "+" + col }

// EndpointDue: the due deliveries of each endpoint by rowid (sqlstore.Dialect). The
// writer's transaction is the lock.
func (Dialect) EndpointDue(due string) (string, string) {
	return "webhook_endpoints e CROSS JOIN webhook_deliveries d", "d.rid IN (SELECT x.rid " + due + ")"
}

func (Dialect) InsertSearch(rid int64, assistantID, meta, body string) (string, []any) {
	return `INSERT INTO conversation_search (rowid, meta, body, aid) VALUES ($1, $2, $3, $4)`, []any{rid, meta, body, aidToken(assistantID)}
}

// UpdateSearchMeta leaves the document as it is when the new fields only add, before the
// stored ones, words that the body already holds in the same order (an analysis' first title,
// the opening of a visitor message): FTS5 would otherwise take every word of the document out of
// the index and put it back, and write a segment at the commit. The stored fields then lack
// those words; a query finds the same documents, since a query's words and phrases may come
// from any column. SetSearchBody writes the fields whole again, as the body may lose the words.
func (Dialect) UpdateSearchMeta() string {
	return `UPDATE conversation_search SET meta = $2 WHERE rowid = $1 AND NOT ($2 = meta
 OR (meta = '' AND instr(' ' || body || ' ', ' ' || $2 || ' ') > 0)
 OR (meta <> '' AND length($2) > length(meta) + 1 AND substr($2, -(length(meta) + 1)) = ' ' || meta
     AND instr(' ' || body || ' ', ' ' || substr($2, 1, length($2) - length(meta) - 1) || ' ') > 0))`
}
func (Dialect) AppendSearchBody() string {
	return `UPDATE conversation_search SET body = CASE WHEN body = '' THEN $2 ELSE body || ' ' || $2 END WHERE rowid = $1 AND length(body) < $3`
}
func (Dialect) SetMessageField(field string) string {
	return `UPDATE events SET data = json_set(data, '$.` + field + `', json($3)) WHERE conversation_rid = $1 AND id = $2 AND type = 'message'`
}
func (Dialect) DeleteSearch() string { return `DELETE FROM conversation_search WHERE rowid = $1` }
func (Dialect) SetSearchBody() string {
	return `UPDATE conversation_search SET body = $2, meta = $3 WHERE rowid = $1`
}

func (Dialect) MetadataKeys() string          { return "json_each(c.client_metadata) k" }
func (Dialect) EpochMicros(col string) string { return col }

func (Dialect) IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func (Dialect) IsBusy(err error) bool {
	var e *sqlite.Error
	if errors.As(err, &e) {
		c := e.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return err != nil && strings.Contains(err.Error(), "database is locked")
}
