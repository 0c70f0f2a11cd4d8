// Package sqltx is the database-neutral layer under the query packages
// both metadata stores share (identity/sqlstore, serving/sqlstore): a
// transaction interface that *sql.Tx (through FromSQL) and pgx.Tx (through
// a wrapper in store/postgres) both satisfy, the Dialect saying how the
// databases differ, placeholder rewriting, and column scanners for times
// and JSON. It imports no driver and no domain package.
//
// Queries are written with ? placeholders; Q rewrites them to $1, $2, ...
// when Dialect.Numbered is set. No query text ever comes from input.
package sqltx

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect is what differs between the SQL databases.
type Dialect struct {
	// Numbered rewrites ? placeholders as $1, $2, ... (PostgreSQL).
	Numbered bool
	// IsUnique reports a PRIMARY KEY or UNIQUE violation.
	IsUnique func(error) bool
	// Time converts a time to a query argument (a string for SQLite's TEXT
	// columns, the time itself for TIMESTAMPTZ).
	Time func(time.Time) any
	// RowLocks makes lock take row locks (SELECT ... FOR UPDATE). SQLite
	// needs none: its write transactions are exclusive.
	RowLocks bool
}

// Rebind rewrites the ? placeholders of query as $1, $2, ... when the
// dialect is Numbered.
func (d *Dialect) Rebind(query string) string {
	if !d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Tx is one database transaction as the queries need it; *sql.Tx (through
// FromSQL) and pgx.Tx (through a small wrapper) both provide it.
type Tx interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
	Query(ctx context.Context, query string, args ...any) (Rows, error)
}

// Row is a single-row result; Scan returns sql.ErrNoRows (or an error
// wrapping it) when there is no row.
type Row interface {
	Scan(dest ...any) error
}

// Rows is a multi-row result.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Q is one transaction with its dialect: the queries' view of it.
type Q struct {
	Ctx     context.Context
	Tx      Tx
	Dialect *Dialect
}

// Exec runs a statement and returns the number of rows it affected.
func (q *Q) Exec(query string, args ...any) (int64, error) {
	return q.Tx.Exec(q.Ctx, q.Dialect.Rebind(query), args...)
}

// Row runs a query that returns at most one row.
func (q *Q) Row(query string, args ...any) Row {
	return q.Tx.QueryRow(q.Ctx, q.Dialect.Rebind(query), args...)
}

// Rows runs a query.
func (q *Q) Rows(query string, args ...any) (Rows, error) {
	return q.Tx.Query(q.Ctx, q.Dialect.Rebind(query), args...)
}

// Count runs a query returning one integer.
func (q *Q) Count(query string, args ...any) (int, error) {
	var n int
	err := q.Row(query, args...).Scan(&n)
	return n, err
}

// TimeCol scans a TEXT (RFC 3339) or TIMESTAMPTZ column into *T, in UTC.
// When P is set instead, a NULL leaves *P nil and a time is stored in a
// new *P.
type TimeCol struct {
	T *time.Time
	P **time.Time
}

// Scan implements sql.Scanner.
func (c TimeCol) Scan(v any) error {
	var t time.Time
	switch x := v.(type) {
	case nil:
		if c.P != nil {
			*c.P = nil
			return nil
		}
		return errors.New("time column is NULL")
	case time.Time:
		t = x
	case string:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, x); err != nil {
			return err
		}
	case []byte:
		var err error
		if t, err = time.Parse(time.RFC3339Nano, string(x)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unsupported time column type %T", v)
	}
	t = t.UTC()
	if c.P != nil {
		*c.P = &t
	} else {
		*c.T = t
	}
	return nil
}

// JSONCol scans a JSON text (or JSONB) column into Dst; NULL leaves Dst
// unchanged.
type JSONCol struct{ Dst any }

// Scan implements sql.Scanner.
func (c JSONCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return json.Unmarshal([]byte(x), c.Dst)
	case []byte:
		return json.Unmarshal(x, c.Dst)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, c.Dst)
	}
}

// JSON encodes v for a JSON column: a nil map as {}, a nil slice (or
// anything that cannot be encoded) as [].
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		if _, isMap := v.(map[string]string); isMap {
			return "{}"
		}
		return "[]"
	}
	return string(b)
}

// FromSQL adapts a database/sql transaction.
func FromSQL(tx *sql.Tx) Tx { return sqlTx{tx} }

type sqlTx struct{ tx *sql.Tx }

func (t sqlTx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t sqlTx) QueryRow(ctx context.Context, query string, args ...any) Row {
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t sqlTx) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

type sqlRows struct{ r *sql.Rows }

func (r sqlRows) Next() bool             { return r.r.Next() }
func (r sqlRows) Scan(dest ...any) error { return r.r.Scan(dest...) }
func (r sqlRows) Err() error             { return r.r.Err() }
func (r sqlRows) Close()                 { _ = r.r.Close() }
