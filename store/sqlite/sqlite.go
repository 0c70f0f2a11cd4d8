// Package sqlite is the embedded metadata store: one SQLite file in the data
// directory through modernc.org/sqlite (pure Go, no cgo), in WAL mode with a
// busy timeout, foreign keys on and write transactions taken immediately so
// that concurrent writers queue instead of failing. Migrations are embedded
// and applied in order on Open.
//
// SQLite has no row-level security; tenancy is enforced by every query
// taking the tenant explicitly (see package store). Use store/postgres where
// the database itself must enforce it.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/sqltx"
	"github.com/tenantml/tenantml/tenant"

	msqlite "modernc.org/sqlite"
)

//go:embed migrations/*.sql
var migrations embed.FS

// maxIdleConns is how many idle connections the pool keeps.
const maxIdleConns = 64

// DB is an open SQLite metadata store.
type DB struct {
	db    *sql.DB
	conns *stmtConnector
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and applies
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	base, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	conns := &stmtConnector{Connector: base}
	db := sql.OpenDB(conns)
	// Requests read the store concurrently (the tenant gate, credentials,
	// keys). database/sql keeps 2 idle connections by default, so under
	// concurrent load most queries opened a connection (a file open and
	// four pragmas) and closed it after; keep as many as concurrent
	// requests use, and let a quiet server shed them.
	db.SetMaxIdleConns(maxIdleConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &DB{db: db, conns: conns, Now: time.Now}
	if err := s.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

// Reads returns how many queries (SELECTs, inside transactions or not) the
// store has run since Open: a benchmark's count of store reads per request.
func (s *DB) Reads() int64 { return s.conns.queries.Load() }

// Stats returns the connection pool's statistics.
func (s *DB) Stats() sql.DBStats { return s.db.Stats() }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// Ping reports whether the database answers a query.
func (s *DB) Ping(ctx context.Context) error {
	var one int
	if err := s.db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping sqlite: %w", err)
	}
	return nil
}

// Tenants returns the tenant registry.
func (s *DB) Tenants() tenant.Service { return &TenantService{db: s} }

// Secrets returns the platform secrets.
func (s *DB) Secrets() store.Secrets { return &secrets{db: s} }

func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.applyMigration(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (s *DB) applyMigration(ctx context.Context, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration %s: %w", name, err)
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return fmt.Errorf("check migration %s: %w", name, err)
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return fmt.Errorf("read migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("apply migration %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, name, formatTime(s.Now())); err != nil {
		return fmt.Errorf("record migration %s: %w", name, err)
	}
	return tx.Commit()
}

// inTx runs fn in one write transaction, committing if fn succeeds.
func (s *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// runTx runs fn in one write transaction, for the query packages shared
// with store/postgres (identity/sqlstore, serving/sqlstore).
func (s *DB) runTx(ctx context.Context, fn func(sqltx.Tx) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return fn(sqltx.FromSQL(tx)) })
}

// viewTx runs fn in one deferred, read-only transaction: in WAL mode it
// reads beside the writer instead of queueing for BEGIN IMMEDIATE.
func (s *DB) viewTx(ctx context.Context, fn func(sqltx.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(sqltx.FromSQL(tx)); err != nil {
		return err
	}
	return tx.Commit()
}

const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

// isUniqueViolation reports a PRIMARY KEY or UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

type secrets struct{ db *DB }

func (s *secrets) GetSecret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.db.db.QueryRowContext(ctx, `SELECT value FROM platform_secrets WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "secret %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	return v, nil
}

func (s *secrets) PutSecretIfAbsent(ctx context.Context, name string, value []byte) (bool, error) {
	return s.changeOne(ctx, "put secret "+name, `INSERT INTO platform_secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, value)
}

func (s *secrets) ReplaceSecret(ctx context.Context, name string, old, value []byte) (bool, error) {
	return s.changeOne(ctx, "replace secret "+name, `UPDATE platform_secrets SET value = ? WHERE name = ? AND value = ?`, value, name, old)
}

// changeOne runs a statement that changes at most one secret and reports
// whether it did.
func (s *secrets) changeOne(ctx context.Context, op, query string, args ...any) (bool, error) {
	res, err := s.db.db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	return n == 1, nil
}
