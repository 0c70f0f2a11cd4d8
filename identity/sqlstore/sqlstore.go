package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store/sqltx"
)

// Dialect is what differs between the SQL databases (package sqltx).
type Dialect = sqltx.Dialect

// Tx is one database transaction as the queries need it (package sqltx).
type Tx = sqltx.Tx

// Row is a single-row result (package sqltx).
type Row = sqltx.Row

// Rows is a multi-row result (package sqltx).
type Rows = sqltx.Rows

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
type txn struct{ sqltx.Q }

func (s *Store) do(ctx context.Context, fn func(q *txn) error) error {
	return s.Run(ctx, func(tx Tx) error {
		return fn(&txn{sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}})
	})
}

// view is do for read-only work.
func (s *Store) view(ctx context.Context, fn func(q *txn) error) error {
	run := s.View
	if run == nil {
		run = s.Run
	}
	return run(ctx, func(tx Tx) error {
		return fn(&txn{sqltx.Q{Ctx: ctx, Tx: tx, Dialect: &s.Dialect}})
	})
}

func (q *txn) exec(query string, args ...any) (int64, error) { return q.Exec(query, args...) }

func (q *txn) row(query string, args ...any) Row { return q.Row(query, args...) }

func (q *txn) rows(query string, args ...any) (Rows, error) { return q.Rows(query, args...) }

func (q *txn) count(query string, args ...any) (int, error) { return q.Count(query, args...) }

// lock takes the row lock of a user, role, group or policy (by name) for
// the rest of the transaction, so that read-check-write sequences (the
// two-key limit, the five-version limit, the group and attachment limits)
// cannot interleave. A missing row is not an error here.
func (q *txn) lock(table, acct, name string) error {
	if !q.Dialect.RowLocks {
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

func (q *txn) time(t time.Time) any { return q.Dialect.Time(t.UTC().Truncate(time.Microsecond)) }

// timeCol scans a TEXT (RFC 3339) or TIMESTAMPTZ column; a NULL leaves
// *p nil when p is set.
type timeCol struct {
	t *time.Time
	p **time.Time
}

func (c timeCol) Scan(v any) error { return sqltx.TimeCol{T: c.t, P: c.p}.Scan(v) }

// jsonCol scans a JSON text (or JSONB) column into dst.
type jsonCol struct{ dst any }

func (c jsonCol) Scan(v any) error { return sqltx.JSONCol{Dst: c.dst}.Scan(v) }

func toJSON(v any) string { return sqltx.JSON(v) }

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

// tenantFilter keeps the rows of tenant t (column col); "" keeps all.
func tenantFilter(col, t string) (string, []any) {
	if t == "" {
		return "", nil
	}
	return " AND " + col + " = ?", []any{t}
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
func FromSQL(tx *sql.Tx) Tx { return sqltx.FromSQL(tx) }
