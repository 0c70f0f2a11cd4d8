package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml/identity"
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

// Store implements identity.Service over SQL. The adapter that builds it
// runs the transactions (and so, on PostgreSQL, decides the row-level
// security scope they run in).
type Store struct {
	// Run runs fn in one transaction, committing when it returns nil.
	Run func(ctx context.Context, fn func(Tx) error) error
	// View, when set, runs fn in one read-only transaction; the read
	// methods use it (SQLite then reads without taking the write lock).
	// Nil means Run.
	View func(ctx context.Context, fn func(Tx) error) error
	// Dialect says how the database differs.
	Dialect Dialect
	// Now returns the current time.
	Now func() time.Time
	// Rand supplies the randomness of unique IDs (crypto/rand.Reader).
	Rand io.Reader
}

var _ identity.Service = (*Store)(nil)

// txn is one transaction with placeholder rewriting.
type txn struct {
	ctx context.Context
	tx  Tx
	d   *Dialect
}

func (s *Store) do(ctx context.Context, fn func(q *txn) error) error {
	return s.Run(ctx, func(tx Tx) error {
		return fn(&txn{ctx: ctx, tx: tx, d: &s.Dialect})
	})
}

// view is do for read-only work.
func (s *Store) view(ctx context.Context, fn func(q *txn) error) error {
	run := s.View
	if run == nil {
		run = s.Run
	}
	return run(ctx, func(tx Tx) error {
		return fn(&txn{ctx: ctx, tx: tx, d: &s.Dialect})
	})
}

func (q *txn) rebind(query string) string {
	if !q.d.Numbered {
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

func (q *txn) exec(query string, args ...any) (int64, error) {
	return q.tx.Exec(q.ctx, q.rebind(query), args...)
}

func (q *txn) row(query string, args ...any) Row {
	return q.tx.QueryRow(q.ctx, q.rebind(query), args...)
}

func (q *txn) rows(query string, args ...any) (Rows, error) {
	return q.tx.Query(q.ctx, q.rebind(query), args...)
}

func (q *txn) count(query string, args ...any) (int, error) {
	var n int
	err := q.row(query, args...).Scan(&n)
	return n, err
}

// lock takes the row lock of a user, role, group or policy (by name) for
// the rest of the transaction, so that read-check-write sequences (the
// two-key limit, the five-version limit, the group and attachment limits)
// cannot interleave. A missing row is not an error here.
func (q *txn) lock(table, acct, name string) error {
	if !q.d.RowLocks {
		return nil
	}
	rows, err := q.rows(`SELECT 1 FROM `+table+` WHERE account_id = ? AND name_lc = ? FOR UPDATE`, acct, lower(name))
	if err != nil {
		return fmt.Errorf("lock %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

func (q *txn) time(t time.Time) any { return q.d.Time(t.UTC().Truncate(time.Microsecond)) }

// timeCol scans a TEXT (RFC 3339) or TIMESTAMPTZ column; a NULL leaves
// *p nil when p is set.
type timeCol struct {
	t *time.Time
	p **time.Time
}

func (c timeCol) Scan(v any) error {
	var t time.Time
	switch x := v.(type) {
	case nil:
		if c.p != nil {
			*c.p = nil
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
	if c.p != nil {
		*c.p = &t
	} else {
		*c.t = t
	}
	return nil
}

// jsonCol scans a JSON text (or JSONB) column into dst.
type jsonCol struct{ dst any }

func (c jsonCol) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return json.Unmarshal([]byte(x), c.dst)
	case []byte:
		return json.Unmarshal(x, c.dst)
	default:
		b, err := json.Marshal(x)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, c.dst)
	}
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		if _, isMap := v.(map[string]string); isMap {
			return "{}"
		}
		return "[]"
	}
	return string(b)
}

func lower(s string) string { return strings.ToLower(s) }

func noSuch(what, name string) error {
	return identity.ErrNoSuchEntity(what, name)
}

func exists(what, name string) error {
	return identity.Errorf(identity.EntityAlreadyExists, "%s with name %s already exists", what, name)
}

// page returns the page size, or ValidationError.
func page(opt identity.ListOptions) (int, error) {
	n, err := identity.ClampMaxItems(opt.MaxItems)
	if err != nil {
		return 0, err
	}
	if opt.PathPrefix != "" && (len(opt.PathPrefix) > identity.MaxPathLength || opt.PathPrefix[0] != '/') {
		return 0, identity.Errorf(identity.ValidationError, "path prefix must begin with / and be at most %d characters", identity.MaxPathLength)
	}
	return n, nil
}

// pathFilter returns the SQL fragment and arguments keeping rows whose
// column col starts with prefix.
func pathFilter(col, prefix string) (string, []any) {
	if prefix == "" || prefix == "/" {
		return "", nil
	}
	return " AND substr(" + col + ", 1, ?) = ?", []any{len(prefix), prefix}
}

// boundaryExists reports NoSuchEntity unless arn is a built-in policy or a
// managed policy of acct.
func (q *txn) policyExists(acct, arn string) error {
	pa, _, _, err := identity.ParsePolicyARN(arn)
	if err != nil {
		return err
	}
	if pa == identity.BuiltinAccount {
		if _, ok := identity.BuiltinPolicy(arn); ok {
			return nil
		}
		return identity.ErrNoSuchPolicy(arn)
	}
	if pa != acct {
		return identity.ErrNoSuchPolicy(arn)
	}
	n, err := q.count(`SELECT COUNT(*) FROM iam_policies WHERE account_id = ? AND arn = ?`, acct, arn)
	if err != nil {
		return fmt.Errorf("look up policy: %w", err)
	}
	if n == 0 {
		return identity.ErrNoSuchPolicy(arn)
	}
	return nil
}

func validAccount(acct string) error { return identity.ValidateAccount(acct) }

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
