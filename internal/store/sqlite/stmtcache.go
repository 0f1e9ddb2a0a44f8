package sqlite

import (
	"container/list"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"modernc.org/sqlite"
)

// The modernc driver prepares, runs and finalizes every statement that database/sql sends
// with arguments: parsing and planning cost more than running the short statements of a
// write (an import of one conversation runs about thirty). cachingDriver keeps each
// connection's prepared statements by query text (a bounded LRU), so that a statement is
// prepared once per connection and then only bound and stepped.

// stmtCacheSize bounds the statements kept per connection (list queries vary with their
// filters; the rest are a fixed set).
const stmtCacheSize = 256

const driverName = "sqlite-parley"

// writerDriverName is the writer's driver: its statements run to the end whatever their
// context. SQLite answers an interrupted write inside a transaction by rolling the whole
// transaction back, and with group commit that transaction holds other requests' writes too;
// a request whose context has ended fails before its next statement instead (database/sql
// checks the context first).
const writerDriverName = "sqlite-parley-writer"

func init() {
	sql.Register(driverName, cachingDriver{d: &sqlite.Driver{}})
	sql.Register(writerDriverName, cachingDriver{d: &sqlite.Driver{}, uninterrupted: true})
}

type cachingDriver struct {
	d             driver.Driver
	uninterrupted bool
}

// innerConn is what the modernc connection implements and database/sql uses.
type innerConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	ic, ok := c.(innerConn)
	if !ok {
		c.Close()
		return nil, errors.New("sqlite: the driver's connection lacks an interface the statement cache needs")
	}
	return &cachingConn{innerConn: ic, byQuery: map[string]*list.Element{}, lru: list.New(), uninterrupted: d.uninterrupted}, nil
}

type cachedStmt struct {
	query string
	stmt  driver.Stmt
	busy  bool // rows of it are open
}

type cachingConn struct {
	innerConn
	byQuery       map[string]*list.Element
	lru           *list.List // front: most recently used
	uninterrupted bool       // see writerDriverName
}

// stmt returns the cached statement of query, preparing it if needed; ok is false when the
// cached one is busy (the caller then prepares its own, one-off).
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.byQuery[query]; ok {
		c.lru.MoveToFront(e)
		return e.Value.(*cachedStmt), nil
	}
	st, err := c.innerConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	cs := &cachedStmt{query: query, stmt: st}
	c.byQuery[query] = c.lru.PushFront(cs)
	for c.lru.Len() > stmtCacheSize {
		back := c.lru.Back()
		old := back.Value.(*cachedStmt)
		if old.busy {
			break // closed when its rows are (it is dropped from the map below)
		}
		c.lru.Remove(back)
		delete(c.byQuery, old.query)
		old.stmt.Close()
	}
	return cs, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.uninterrupted {
		ctx = context.WithoutCancel(ctx)
	}
	if len(args) == 0 {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs.busy {
		return c.innerConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.uninterrupted {
		ctx = context.WithoutCancel(ctx)
	}
	if len(args) == 0 {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs.busy {
		return c.innerConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

func (c *cachingConn) Close() error {
	var err error
	for e := c.lru.Front(); e != nil; e = e.Next() {
		err = errors.Join(err, e.Value.(*cachedStmt).stmt.Close())
	}
	c.lru.Init()
	clear(c.byQuery)
	return errors.Join(err, c.innerConn.Close())
}

// cachedRows frees its statement for the next use when closed.
type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.cs.busy = false
	return err
}

// ColumnTypeDatabaseTypeName passes the column types through (database/sql asks for them).
func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}
