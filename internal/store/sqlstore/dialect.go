// Package sqlstore implements store.Store once, over database/sql, for every engine. What
// differs between engines (placeholders, time columns, JSON paths, full-text search, locking)
// sits behind the small Dialect interface that each engine package provides.
package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/parleyhq/parley/internal/search"
)

// Dialect is what an engine package tells the shared SQL.
type Dialect interface {
	// Name is "sqlite" or "postgres".
	Name() string
	// Rebind turns the $1, $2 placeholders the shared SQL is written with into the engine's.
	Rebind(query string) string
	// Time is the value stored in a time column.
	Time(t time.Time) any
	// ForUpdate is appended to a SELECT that reads a row the transaction will change.
	ForUpdate() string
	// SkipLocked is appended to a SELECT that claims queued rows.
	SkipLocked() string
	// MetadataText is an SQL expression for the text form of metadata key (bound at
	// placeholder $n) of conversation alias c: strings as they are, numbers and booleans as
	// their JSON text.
	MetadataText(n int) string
	// MetadataKeyArg is the value bound for MetadataText's placeholder.
	MetadataKeyArg(key string) any
	// SearchArg is the value bound for the search placeholder of the Search* SQL: q's terms.
	SearchArg(q search.Query) string
	// SearchRows is a query of the row ids (column rid) of conversations whose documents
	// match the search argument (bound at $q); it may yield other assistants' conversations
	// too (the assistant's id is bound at $a), which the list's condition on c drops.
	SearchRows(a, q int) string
	// SearchCount is a query of the number of the assistant's (id at $a) conversations whose
	// documents match the search argument ($q), from the search index alone.
	SearchCount(a, q int) string
	// Sparse returns a FROM clause that yields conversation alias c for each row id of the
	// query rows (column rid), the row ids first and then their conversations, and the
	// condition that joins them: a page of few matches reads those and sorts them.
	Sparse(rows string) (from, cond string)
	// SearchProbe is a condition on conversation alias c, with the search argument at $q,
	// for walking the sort order: a word in many conversations fills a page after a few rows.
	SearchProbe(q int) string
	// SearchIDs is a query of one row: the number of the assistant's ($a) conversations whose
	// documents match ($q), and their comma-separated row ids when there are at most $lim of
	// them (else NULL). "" when the engine counts and pages a word's matches from its index
	// without reading them out.
	SearchIDs(a, q, lim int) string
	// IDsMax is the most matches, among total conversations, whose row ids a word search reads
	// out with SearchIDs (one read of the index for the count and the page); above it the
	// search counts (SearchCount) and walks the order (SearchProbe).
	IDsMax(total int64) int64
	// IDList is an aggregate of the comma-separated values of the integer column col, or ""
	// when the engine does not read ids out (see SearchIDs).
	IDList(col string) string
	// InIDs is a condition on conversation alias c: its row id is one of SearchIDs' ids, bound
	// at $n. With walk the page walks the sort order and checks each row against the ids;
	// without, it reads the ids' rows and sorts them.
	InIDs(n int, walk bool) string
	// SparseMax is the most matches of a word search among total conversations whose page
	// is read by sorting the matches; above it the page walks the order (SearchProbe). Sorting
	// costs a row read per match, walking about 21·total/matches checks.
	SparseMax(total int64) int64
	// Unordered is an ORDER BY expression for column col that the engine must not read in
	// order from an index (sparse pages sort their matches).
	Unordered(col string) string
	// InsertSearch creates the search document of a conversation.
	InsertSearch(rid int64, assistantID, meta, body string) (string, []any)
	// UpdateSearchMeta ($1 row id, $2 text) replaces the document's conversation fields (an
	// engine may skip new fields whose added words the body holds in the same order, so that
	// no query could tell; see the dialects); AppendSearchBody ($1 row id, $2 text, $3 size
	// cap) adds a message's text unless the body has reached the cap; DeleteSearch ($1 row
	// id) removes the document.
	UpdateSearchMeta() string
	AppendSearchBody() string
	DeleteSearch() string
	// SetSearchBody ($1 row id, $2 text, $3 fields) replaces the document's message text (an
	// edited message rebuilds it) and writes its conversation fields whole.
	SetSearchBody() string
	// SetMessageField ($1 conversation row id, $2 event id, $3 JSON) sets one field of a
	// message's data (message_insights, feedback).
	SetMessageField(field string) string
	// SetMessageFields ($1 conversation row id, then n pairs: event id, JSON) sets one field
	// of the data of n messages in one statement (MessageFieldsCase builds its CASE).
	SetMessageFields(field string, n int) string
	// MetadataKeys is a table expression, joined to conversation alias c, with one row per
	// top-level key of c's client_metadata, the key in column k.key.
	MetadataKeys() string
	// EpochMicros is an integer SQL expression for the time column col in Unix microseconds.
	EpochMicros(col string) string
	// ChangeLock ($1 assistant id) takes a lock, held until commit, that orders the change-log
	// writes of one assistant's transactions ("" when the engine has a single writer).
	ChangeLock() string
	// AnalysisLock takes a lock, held until commit, that one transaction at a time holds
	// while it writes the analyses of conversations ("" when the engine has a single writer).
	// Each conversation's row moves its counts between rollup rows, a batch's in no order
	// that another batch could share; two batches that wrote them at once could deadlock.
	AnalysisLock() string
	// EndpointDue joins each webhook endpoint e to d, its first due deliveries as due selects
	// them (due is a query on webhook_deliveries x after its SELECT list, with ORDER BY and
	// LIMIT; d has rid, next_attempt_at and change_seq), and locks those of d as SkipLocked
	// does. Delivery claims use it to read the due deliveries endpoint by endpoint.
	EndpointDue(due string) (from, where string)
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation(err error) bool
	// IsBusy reports whether err is a transient lock conflict worth retrying.
	IsBusy(err error) bool
}

// Prober is implemented by an engine whose walk over the sort order can check each
// conversation against a word search on its own, once the words are exact (SQLite: FTS5
// merges every word a prefix starts for each row it checks, so the prefix is first restated
// as the index's words that start with it).
type Prober interface {
	// ProbeMin is the fewest matches, among total conversations, for which a page walks the
	// order checking each conversation (ProbeEach) rather than against a list of every match
	// (SearchProbe): a common word fills a page after a few rows.
	ProbeMin(total int64) int64
	// ProbeArg is the argument of ProbeEach for q, or false when q's prefix starts too many
	// words of the index.
	ProbeArg(ctx context.Context, r *sql.DB, q search.Query) (string, bool, error)
	// ProbeEach is a condition on conversation alias c: its document matches ProbeArg's
	// argument, bound at $q.
	ProbeEach(q int) string
}

// dbTime scans a time column of either engine: integer microseconds (SQLite) or a timestamp.
type dbTime struct{ t time.Time }

func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case int64:
		d.t = time.UnixMicro(x).UTC()
	case time.Time:
		d.t = x.UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", v)
	}
	return nil
}

// nullTime scans a nullable time column.
type nullTime struct{ t *time.Time }

func (n *nullTime) Scan(v any) error {
	if v == nil {
		n.t = nil
		return nil
	}
	var d dbTime
	if err := d.Scan(v); err != nil {
		return err
	}
	n.t = &d.t
	return nil
}

// nullBytes scans a nullable text or JSON column into bytes.
type nullBytes struct{ b []byte }

func (n *nullBytes) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		n.b = nil
	case []byte:
		n.b = append([]byte(nil), x...)
	case string:
		n.b = []byte(x)
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into bytes", v)
	}
	return nil
}

var _ sql.Scanner = (*dbTime)(nil)
