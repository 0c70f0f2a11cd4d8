package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"reflect"
	"sync/atomic"
)

// maxCachedStmts bounds the prepared statements one connection keeps. The
// store's SQL is static text, so a few dozen distinct queries are reused;
// queries beyond the bound are prepared for one use, as without the cache.
const maxCachedStmts = 256

// stmtConnector opens connections that keep their read statements
// prepared. modernc.org/sqlite prepares (parses and plans) the SQL text on
// every QueryContext and finalizes it after; the store's reads are a few
// static queries run on every request, and parsing was most of their cost.
type stmtConnector struct {
	driver.Connector
	queries  atomic.Int64 // QueryContext calls (Reads)
	prepares atomic.Int64 // statements prepared by QueryContext (for tests)
}

// cacheableConn is what a connection must implement to be wrapped:
// everything database/sql uses of modernc.org/sqlite's connections.
type cacheableConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// Connect implements driver.Connector. A connection that lacks one of the
// interfaces of cacheableConn is returned as it is, without a cache.
func (c *stmtConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	cc, ok := conn.(cacheableConn)
	if !ok {
		return conn, nil
	}
	return &stmtConn{cacheableConn: cc, connector: c, stmts: map[string]*cachedStmt{}}, nil
}

// stmtConn is one connection with its prepared read statements. Like the
// connection it wraps, it is used by one goroutine at a time
// (database/sql's guarantee), so the cache needs no lock.
type stmtConn struct {
	cacheableConn
	connector *stmtConnector
	stmts     map[string]*cachedStmt
}

type cachedStmt struct {
	stmt  driver.Stmt
	inUse bool // its rows are open: a second use prepares another statement
}

// QueryContext runs query with the connection's prepared statement for that
// text, preparing it on first use. While the rows of an earlier call with
// the same text are still open (a nested query on one transaction), it
// prepares a statement for this one call instead.
func (c *stmtConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.connector.queries.Add(1)
	cs := c.stmts[query]
	if cs == nil || cs.inUse {
		st, err := c.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		c.connector.prepares.Add(1)
		if _, ok := st.(driver.StmtQueryContext); !ok {
			st.Close()
			return c.cacheableConn.QueryContext(ctx, query, args)
		}
		fresh := &cachedStmt{stmt: st}
		if cs == nil && len(c.stmts) < maxCachedStmts {
			c.stmts[query] = fresh
		} else {
			// Used once: closed with its rows.
			return c.run(ctx, fresh, args, func() error { return st.Close() })
		}
		cs = fresh
	}
	return c.run(ctx, cs, args, nil)
}

// run executes cs and marks it in use until its rows are closed; done, if
// set, runs after the rows are closed.
func (c *stmtConn) run(ctx context.Context, cs *cachedStmt, args []driver.NamedValue, done func() error) (driver.Rows, error) {
	rows, err := cs.stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		if done != nil {
			err = errors.Join(err, done())
		}
		return nil, err
	}
	cs.inUse = true
	return &stmtRows{Rows: rows, release: func() error {
		cs.inUse = false
		if done != nil {
			return done()
		}
		return nil
	}}, nil
}

// Close closes the cached statements, then the connection.
func (c *stmtConn) Close() error {
	var errs []error
	for _, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
	}
	c.stmts = nil
	errs = append(errs, c.cacheableConn.Close())
	return errors.Join(errs...)
}

// stmtRows releases its statement when closed. It forwards the column type
// methods of modernc.org/sqlite's rows.
type stmtRows struct {
	driver.Rows
	release func() error
	closed  bool
}

func (r *stmtRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return errors.Join(r.Rows.Close(), r.release())
}

func (r *stmtRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *stmtRows) ColumnTypeLength(i int) (int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeLength); ok {
		return t.ColumnTypeLength(i)
	}
	return 0, false
}

func (r *stmtRows) ColumnTypeNullable(i int) (bool, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypeNullable); ok {
		return t.ColumnTypeNullable(i)
	}
	return false, false
}

func (r *stmtRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}

func (r *stmtRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	if t, ok := r.Rows.(driver.RowsColumnTypePrecisionScale); ok {
		return t.ColumnTypePrecisionScale(i)
	}
	return 0, 0, false
}
