package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/tenant"
)

// Config says how to reach PostgreSQL.
type Config struct {
	// URL is the application's connection, e.g.
	// postgres://tenantml_app@127.0.0.1:5432/tenantml. Its role must not be
	// a superuser, must not have BYPASSRLS and must own nothing; Open
	// refuses to start otherwise. pgxpool parameters such as pool_max_conns
	// may be given in the URL.
	URL string
	// AdminURL is an optional owner connection to the same database. When
	// set, Open runs the embedded migrations through it (the admin role owns
	// every schema object), creates the app role if it is missing and grants
	// it only SELECT, INSERT, UPDATE and DELETE on the tables and USAGE on
	// sequences.
	AdminURL string
	// AppRole is the application role; empty means the user in URL. When
	// both are set they must agree.
	AppRole string
}

// DB is an open PostgreSQL metadata store. All access to tenant-owned rows
// goes through InTenant; cross-tenant reads go through AsOperator.
type DB struct {
	pool *pgxpool.Pool
	// Now returns the current time; tests replace it.
	Now func() time.Time
}

var _ store.Store = (*DB)(nil)

// ErrUnsafeRole is returned (wrapped) by Open when the application role
// could escape row-level security: it is a superuser, has BYPASSRLS, or owns
// (or is a member of the owner of) a table, the schema or the database.
var ErrUnsafeRole = errors.New("unsafe app role")

// Open migrates the database (when cfg.AdminURL is set), connects as the
// application role and verifies that role cannot bypass row-level security.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres url is required")
	}
	poolCfg, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", redact(err))
	}
	switch {
	case cfg.AppRole == "":
		cfg.AppRole = poolCfg.ConnConfig.User
	case poolCfg.ConnConfig.User != cfg.AppRole:
		return nil, fmt.Errorf("app role %q differs from the url's user %q", cfg.AppRole, poolCfg.ConnConfig.User)
	}
	var adminDB string
	if cfg.AdminURL != "" {
		adminDB, err = setUp(ctx, cfg.AdminURL, cfg.AppRole, poolCfg.ConnConfig.Password)
		if err != nil {
			return nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", redact(err))
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	db := &DB{pool: pool, Now: time.Now}
	if err := db.checkRole(ctx, adminDB); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Close closes every pooled connection.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping postgres: %w", err)
	}
	return nil
}

// Tenants returns the tenant registry.
func (db *DB) Tenants() tenant.Service { return &TenantService{db: db} }

// Secrets returns the platform secrets (operator path only).
func (db *DB) Secrets() store.Secrets { return &secrets{db: db} }

// InTenant runs fn in one transaction scoped to tenantID: the transaction
// first runs SELECT set_config('app.tenant_id', tenantID, true), so
// row-level security shows and accepts only that tenant's rows, and the
// setting ends with the transaction. fn's error rolls the transaction back
// and is returned; a write that row-level security refuses comes back as
// EFORBIDDEN. An empty tenantID is refused.
func (db *DB) InTenant(ctx context.Context, tenantID string, fn func(pgx.Tx) error) error {
	if tenantID == "" {
		return tenantml.Errorf(tenantml.EINVALID, "a tenant-scoped transaction needs a tenant ID")
	}
	return db.scoped(ctx, "app.tenant_id", tenantID, fn)
}

// AsOperator runs fn in one transaction on the operator path: it sets
// app.operator = 'on' for the transaction only, which the operator policies
// match on every table. Operator-wide operations use it: listing and
// creating tenants, the key sweeps across tenants, the platform secrets and
// every IAM entity query (Identity: IAM entities are account-scoped; see
// docs/store-postgres.md).
func (db *DB) AsOperator(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.scoped(ctx, "app.operator", "on", fn)
}

func (db *DB) scoped(ctx context.Context, setting, value string, fn func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, setting, value); err != nil {
			return fmt.Errorf("set %s: %w", setting, err)
		}
		return fn(tx)
	})
	if isRLSViolation(err) {
		return &tenantml.Error{Code: tenantml.EFORBIDDEN, Message: "row-level security refused a write outside the transaction's scope", Err: err}
	}
	return err
}

// isRLSViolation reports a WITH CHECK failure of a row-level security
// policy (SQLSTATE 42501 with that message).
func isRLSViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501" && strings.Contains(pe.Message, "row-level security")
}

// isUniqueViolation reports a PRIMARY KEY or UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// redact drops a connection string that pgx echoes in its parse errors, so
// a password never reaches a log.
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		return errors.New("invalid connection string (check its form and parameters such as sslmode)")
	}
	return err
}

type secrets struct{ db *DB }

func (s *secrets) GetSecret(ctx context.Context, name string) ([]byte, error) {
	var v []byte
	err := s.db.AsOperator(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT value FROM platform_secrets WHERE name = $1`, name).Scan(&v)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "secret %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	return v, nil
}

func (s *secrets) PutSecretIfAbsent(ctx context.Context, name string, value []byte) (bool, error) {
	return s.changeOne(ctx, "put secret "+name, `INSERT INTO platform_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, value)
}

func (s *secrets) ReplaceSecret(ctx context.Context, name string, old, value []byte) (bool, error) {
	return s.changeOne(ctx, "replace secret "+name, `UPDATE platform_secrets SET value = $1 WHERE name = $2 AND value = $3`, value, name, old)
}

// changeOne runs a statement that changes at most one secret, on the
// operator path, and reports whether it did.
func (s *secrets) changeOne(ctx context.Context, op, query string, args ...any) (bool, error) {
	var n int64
	err := s.db.AsOperator(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, query, args...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return false, fmt.Errorf("%s: %w", op, err)
	}
	return n == 1, nil
}
