package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrateLockKey is the pg_advisory_lock key that serialises migrations and
// role setup between servers starting at once ("tenantml" in ASCII).
const migrateLockKey int64 = 0x74656e616e746d6c

// setUp connects as the owner role, applies pending migrations and ensures
// the app role with its grants, all under the advisory lock. It returns the
// database name the owner connected to, so that the app connection can be
// checked against it.
func setUp(ctx context.Context, adminURL, appRole, appPassword string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect postgres admin: %w", redact(err))
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return "", fmt.Errorf("take migration lock: %w", err)
	}
	// Closing the connection also releases the lock; unlock explicitly so a
	// pooled admin connection would not keep it.
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey) }()

	var dbName string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&dbName); err != nil {
		return "", fmt.Errorf("read database name: %w", err)
	}
	if err := migrate(ctx, conn); err != nil {
		return "", err
	}
	if err := ensureAppRole(ctx, conn, appRole, appPassword); err != nil {
		return "", err
	}
	return dbName, nil
}

// migrate applies the embedded migrations in name order, each in its own
// transaction, recording each in schema_migrations.
func migrate(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("create migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil {
				return fmt.Errorf("check: %w", err)
			}
			if done {
				return nil
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return fmt.Errorf("read: %w", err)
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("apply: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name) VALUES ($1)`, name); err != nil {
				return fmt.Errorf("record: %w", err)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// ensureAppRole creates the app role if it is missing (LOGIN, no superuser,
// no BYPASSRLS, no CREATEDB, no CREATEROLE) and grants it only data access:
// SELECT, INSERT, UPDATE and DELETE on the schema's tables, USAGE on its
// sequences, nothing on schema_migrations. The store's database is its own:
// every other table in the schema is granted too, and Open refuses to
// start if one of them lacks forced row-level security. An existing role keeps its
// attributes; Open's role check refuses it if they are unsafe.
func ensureAppRole(ctx context.Context, conn *pgx.Conn, role, password string) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, role).Scan(&exists); err != nil {
		return fmt.Errorf("look up app role: %w", err)
	}
	if !exists {
		// DDL takes no parameters: format() quotes the name and password
		// server-side.
		var stmt string
		err := conn.QueryRow(ctx, `SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION'
			|| CASE WHEN $2::text = '' THEN '' ELSE format(' PASSWORD %L', $2::text) END, $1::text)`, role, password).Scan(&stmt)
		if err != nil {
			return fmt.Errorf("build create role: %w", err)
		}
		if _, err := conn.Exec(ctx, stmt); err != nil && !isDuplicateRole(err) {
			return fmt.Errorf("create app role: %w", err)
		}
	}
	// One transaction, so a concurrent Open's role check never sees a
	// half-granted state. schema_migrations is left out on purpose.
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var schema string
		var tables []string
		err := tx.QueryRow(ctx, `SELECT current_schema(), COALESCE(array_agg(format('%I', c.relname) ORDER BY c.relname), '{}')
			FROM pg_class c
			WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND c.relname <> 'schema_migrations'`).
			Scan(&schema, &tables)
		if err != nil {
			return fmt.Errorf("list tables: %w", err)
		}
		r, s := pgx.Identifier{role}.Sanitize(), pgx.Identifier{schema}.Sanitize()
		stmts := []string{
			`GRANT USAGE ON SCHEMA ` + s + ` TO ` + r,
			`GRANT USAGE ON ALL SEQUENCES IN SCHEMA ` + s + ` TO ` + r,
			`REVOKE ALL ON schema_migrations FROM ` + r,
		}
		if len(tables) > 0 {
			stmts = append(stmts, `GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE `+strings.Join(tables, ", ")+` TO `+r)
		}
		for _, stmt := range stmts {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("grant app role: %w", err)
	}
	return nil
}

// isDuplicateRole reports that a concurrent CREATE ROLE won the race.
func isDuplicateRole(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "42710" || pe.Code == "23505")
}

// checkRole fails closed unless the connected role is bound by row-level
// security: not a superuser, no BYPASSRLS, owning (directly or through
// membership) neither a relation in the store's schema nor the schema nor
// the database, and every table it can reach has row-level security enabled
// and forced. adminDB, when set, must be the database the pool reaches.
func (db *DB) checkRole(ctx context.Context, adminDB string) error {
	var (
		user, dbName   string
		super, bypass  bool
		migrated       bool
		ownsDB, ownsNS bool
	)
	err := db.pool.QueryRow(ctx, `
		SELECT r.rolname, r.rolsuper, r.rolbypassrls, current_database(),
		       to_regclass('tenants') IS NOT NULL,
		       pg_has_role(current_user, d.datdba, 'MEMBER'),
		       COALESCE((SELECT pg_has_role(current_user, n.nspowner, 'MEMBER')
		                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		                 WHERE c.oid = to_regclass('tenants')), false)
		FROM pg_roles r, pg_database d
		WHERE r.rolname = current_user AND d.datname = current_database()`).
		Scan(&user, &super, &bypass, &dbName, &migrated, &ownsDB, &ownsNS)
	if err != nil {
		return fmt.Errorf("check app role: %w", err)
	}
	switch {
	case super:
		return fmt.Errorf("%w: role %q is a superuser", ErrUnsafeRole, user)
	case bypass:
		return fmt.Errorf("%w: role %q has BYPASSRLS", ErrUnsafeRole, user)
	case ownsDB:
		return fmt.Errorf("%w: role %q owns database %q", ErrUnsafeRole, user, dbName)
	case adminDB != "" && adminDB != dbName:
		return fmt.Errorf("app url reaches database %q but the admin url migrated %q", dbName, adminDB)
	case !migrated:
		return fmt.Errorf("database %q has no tenantml schema: open once with an admin url to migrate it", dbName)
	case ownsNS:
		return fmt.Errorf("%w: role %q owns the schema holding the tenantml tables", ErrUnsafeRole, user)
	}
	var owned, unguarded []string
	rows, err := db.pool.Query(ctx, `
		SELECT c.relname,
		       pg_has_role(current_user, c.relowner, 'MEMBER'),
		       c.relkind IN ('r', 'p') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
		         AND has_table_privilege(c.oid, 'SELECT, INSERT, UPDATE, DELETE')
		FROM pg_class c
		WHERE c.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = to_regclass('tenants'))
		ORDER BY c.relname`)
	if err != nil {
		return fmt.Errorf("check app role: %w", err)
	}
	for rows.Next() {
		var name string
		var own, open bool
		if err := rows.Scan(&name, &own, &open); err != nil {
			rows.Close()
			return fmt.Errorf("check app role: %w", err)
		}
		if own {
			owned = append(owned, name)
		}
		if open {
			unguarded = append(unguarded, name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check app role: %w", err)
	}
	switch {
	case len(owned) > 0:
		return fmt.Errorf("%w: role %q owns %v", ErrUnsafeRole, user, owned)
	case len(unguarded) > 0:
		return fmt.Errorf("%w: role %q can reach tables without forced row-level security: %v", ErrUnsafeRole, user, unguarded)
	}
	return nil
}
