// Package sqlstore implements store.Store once, over database/sql, for every engine. What
// differs between engines (placeholders, time columns, JSON paths, full-text search, locking)
// sits behind the small Dialect interface that each engine package provides.
package sqlstore

import (
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
	// SearchMatch is an SQL condition on conversation alias c that holds when its search
	// document matches q's terms, with q's value bound at $n.
	SearchMatch(n int) string
	// SearchArg is the value bound for SearchMatch's placeholder.
	SearchArg(q search.Query) string
	// InsertSearch creates the search document of a conversation.
	InsertSearch(rid int64, assistantID, meta string) (string, []any)
	// UpdateSearchMeta ($1 row id, $2 text) replaces the document's conversation fields;
	// AppendSearchBody ($1 row id, $2 text, $3 size cap) adds a message's text unless the body
	// has reached the cap; DeleteSearch ($1 row id) removes the document.
	UpdateSearchMeta() string
	AppendSearchBody() string
	DeleteSearch() string
	// SetMessageField ($1 conversation row id, $2 event id, $3 JSON) sets one field of a
	// message's data (message_insights, feedback).
	SetMessageField(field string) string
	// IsUniqueViolation reports whether err is a unique-constraint violation.
	IsUniqueViolation(err error) bool
	// IsBusy reports whether err is a transient lock conflict worth retrying.
	IsBusy(err error) bool
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
