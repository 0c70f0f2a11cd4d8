package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml/store/postgres"
)

// defaultTestURL is the superuser connection the tests use when
// TENANTML_TEST_POSTGRES is unset (scripts/test-deps.sh starts this server).
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// env is one fresh database and app role name on the test server, dropped
// (with every role the test added) when the test ends.
type env struct {
	base    *url.URL // superuser, maintenance database
	dbName  string
	appRole string
	appPass string
	roles   []string
}

// newEnv creates a fresh database with a random name; createOptions are
// appended to its CREATE DATABASE. It skips the test when PostgreSQL is
// unreachable, unless CI=true, where it fails.
func newEnv(t testing.TB, createOptions ...string) *env {
	t.Helper()
	raw := os.Getenv("TENANTML_TEST_POSTGRES")
	if raw == "" {
		raw = defaultTestURL
	}
	base, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("TENANTML_TEST_POSTGRES: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, raw)
	if err != nil {
		msg := "PostgreSQL unreachable at " + base.Redacted() + " (run scripts/test-deps.sh or set TENANTML_TEST_POSTGRES): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer conn.Close(ctx)
	suffix := randomHex(t)
	e := &env{base: base, dbName: "tenantml_test_" + suffix, appRole: "tenantml_app_" + suffix, appPass: "pw-" + suffix}
	e.roles = append(e.roles, e.appRole)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{e.dbName}.Sanitize()+" "+strings.Join(createOptions, " ")); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() { e.drop(t) })
	return e
}

func (e *env) drop(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.base.String())
	if err != nil {
		t.Errorf("drop test database: %v", err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{e.dbName}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database: %v", err)
	}
	for _, r := range e.roles {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
			t.Errorf("drop test role %s: %v", r, err)
		}
	}
}

func randomHex(t testing.TB) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// adminURL is the superuser's connection to the fresh database.
func (e *env) adminURL() string {
	u := *e.base
	u.Path = "/" + e.dbName
	return u.String()
}

// urlAs is a connection to the fresh database as role (with password when
// not empty) plus extra query parameters.
func (e *env) urlAs(role, password string, params ...string) string {
	u := *e.base
	u.Path = "/" + e.dbName
	if password == "" {
		u.User = url.User(role)
	} else {
		u.User = url.UserPassword(role, password)
	}
	q := u.Query()
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// appURL is the app role's connection to the fresh database.
func (e *env) appURL(params ...string) string { return e.urlAs(e.appRole, e.appPass, params...) }

// config is the normal configuration: app URL plus the owner URL.
func (e *env) config(params ...string) postgres.Config {
	return postgres.Config{URL: e.appURL(params...), AdminURL: e.adminURL()}
}

// exec runs statements as the superuser in the fresh database.
func (e *env) exec(t *testing.T, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.adminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// addRole creates a login role that is dropped with the environment.
func (e *env) addRole(t *testing.T, name, attrs string) {
	t.Helper()
	e.roles = append([]string{name}, e.roles...)
	e.exec(t, "CREATE ROLE "+pgx.Identifier{name}.Sanitize()+" LOGIN "+attrs)
}

// open opens a store and closes it when the test ends.
func open(t testing.TB, cfg postgres.Config) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// quote quotes an SQL identifier.
func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// postgresConfig is a Config with the given app and admin URLs.
func postgresConfig(appURL, adminURL string) postgres.Config {
	return postgres.Config{URL: appURL, AdminURL: adminURL}
}
