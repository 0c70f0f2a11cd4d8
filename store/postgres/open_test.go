package postgres_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/storetest"
)

// (g) Open fails closed when the app connection's role could escape
// row-level security, whichever way it could.
func TestOpen_RefusesUnsafeRole(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seed(t, e, "acme") // migrated, with a safe app role
	superuser := e.base.User.Username()
	suffix := randomHex(t)
	bypass, owner, member, dbOwner := "tml_bypass_"+suffix, "tml_owner_"+suffix, "tml_member_"+suffix, "tml_dbowner_"+suffix
	grants := func(role string) string {
		return "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO " + pgx.Identifier{role}.Sanitize()
	}
	e.addRole(t, bypass, "BYPASSRLS")
	e.addRole(t, owner, "")
	e.addRole(t, member, "")
	e.addRole(t, dbOwner, "")
	e.exec(t,
		grants(bypass),
		"CREATE TABLE side_table (id int)", "ALTER TABLE side_table OWNER TO "+pgx.Identifier{owner}.Sanitize(), grants(owner),
		"GRANT "+pgx.Identifier{superuser}.Sanitize()+" TO "+pgx.Identifier{member}.Sanitize(),
		"ALTER DATABASE "+pgx.Identifier{e.dbName}.Sanitize()+" OWNER TO "+pgx.Identifier{dbOwner}.Sanitize(),
	)

	tests := []struct {
		name string
		cfg  postgres.Config
		want string // substring of the error
	}{
		{"SuperuserWithAdmin", postgres.Config{URL: e.adminURL(), AdminURL: e.adminURL()}, "is a superuser"},
		{"Superuser", postgres.Config{URL: e.adminURL()}, "is a superuser"},
		{"BypassRLS", postgres.Config{URL: e.urlAs(bypass, "")}, "has BYPASSRLS"},
		{"OwnsTable", postgres.Config{URL: e.urlAs(owner, "")}, "owns [side_table]"},
		{"MemberOfTableOwner", postgres.Config{URL: e.urlAs(member, "")}, "owns"},
		{"OwnsDatabase", postgres.Config{URL: e.urlAs(dbOwner, "")}, "owns database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := postgres.Open(ctx, tt.cfg)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded with an unsafe role")
			}
			if !errors.Is(err, postgres.ErrUnsafeRole) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want ErrUnsafeRole mentioning %q", err, tt.want)
			}
		})
	}
}

// Open refuses configurations it cannot make safe, with clear errors that
// never echo a password.
func TestOpen_ErrConfig(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	tests := []struct {
		name string
		cfg  postgres.Config
		want string
	}{
		{"UnknownRole", postgres.Config{URL: e.urlAs(e.appRole+"_x", "")}, "connect"},
		{"AppRoleMismatch", postgres.Config{URL: e.appURL(), AdminURL: e.adminURL(), AppRole: "someone_else"}, "differs from the url's user"},
		{"BadURL", postgres.Config{URL: "postgres://u:s3cret-pw@127.0.0.1:5432/db?sslmode=bogus"}, "invalid connection string"},
		{"BadAdminURL", postgres.Config{URL: e.appURL(), AdminURL: "postgres://u:s3cret-pw@127.0.0.1:5432/db?sslmode=bogus"}, "invalid connection string"},
		{"Unreachable", postgres.Config{URL: "postgres://u:s3cret-pw@127.0.0.1:1/db?connect_timeout=5"}, "connect"},
		{"EmptyURL", postgres.Config{AdminURL: e.adminURL()}, "url is required"},
		{"NotURL", postgres.Config{URL: "::not a url"}, "parse postgres url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := postgres.Open(ctx, tt.cfg)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open = %v, want it to mention %q", err, tt.want)
			}
			t.Logf("Open: %v", err)
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}

	t.Run("UnmigratedExistingRole", func(t *testing.T) {
		e.addRole(t, "tml_plain_"+randomHex(t), "")
		role := e.roles[0]
		_, err := postgres.Open(ctx, postgres.Config{URL: e.urlAs(role, "")})
		if err == nil || !strings.Contains(err.Error(), "no tenantml schema") {
			t.Fatalf("Open on an unmigrated database = %v, want a no-schema error", err)
		}
	})
}

// (h) Two servers opening the same fresh database at once both succeed:
// the advisory lock serialises migrations and role setup.
func TestOpen_Concurrent(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 4
	dbs := make([]*postgres.DB, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(ctx, e.config()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = dbs[i].Close() })
	}
	for i, db := range dbs {
		if err := db.Tenants().CreateTenant(ctx, storetest.NewTenant("tenant-"+string(rune('a'+i)))); err != nil {
			t.Fatalf("store %d: %v", i, err)
		}
	}
	if got, want := countMigrations(t, e), embeddedMigrations(t); got != want {
		t.Fatalf("schema_migrations has %d rows, want %d (each migration once)", got, want)
	}
}

// Reopening keeps the data and does not re-run migrations.
func TestOpen_Reopen(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db, err := postgres.Open(ctx, e.config())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tenants().CreateTenant(ctx, storetest.NewTenant("acme")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, cfg := range []postgres.Config{e.config(), {URL: e.appURL()}} {
		db := open(t, cfg)
		if _, err := db.Tenants().FindTenant(ctx, "acme"); err != nil {
			t.Fatalf("tenant lost across reopen: %v", err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("ping: %v", err)
		}
	}
	if got, want := countMigrations(t, e), embeddedMigrations(t); got != want {
		t.Fatalf("schema_migrations has %d rows, want %d", got, want)
	}
}

func countMigrations(t *testing.T, e *env) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.adminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// embeddedMigrations counts the migration files the package embeds.
func embeddedMigrations(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("list migrations: %v (%d files)", err, len(files))
	}
	return len(files)
}
