package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// The attack suite (attack_*_test.go) runs against a real tenantml serve
// on each metadata store: SQLite in the data dir, and a fresh PostgreSQL
// database with row-level security (TENANTML_TEST_POSTGRES, default the
// superuser on 127.0.0.1:5432 that scripts/test-deps.sh starts). PostgreSQL
// is skipped only when it is unreachable and CI is not "true".

// attackPostgresDefault is the superuser connection used when
// TENANTML_TEST_POSTGRES is unset (the same default as store/postgres).
const attackPostgresDefault = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// attackStore is one metadata store the suite runs on.
type attackStore struct {
	name string
	// env returns the server environment selecting the store, or skips or
	// fails t when the store is unavailable.
	env func(t *testing.T) map[string]string
}

// attackStores are the stores every attack runs on.
var attackStores = []attackStore{
	{name: "sqlite", env: func(*testing.T) map[string]string { return map[string]string{} }},
	{name: "postgres", env: attackPostgresEnv},
}

// attackPostgresEnv creates a fresh database and application role on the
// test PostgreSQL server, dropped when t ends (after the server stopped:
// cleanups run last-registered first), and returns TENANTML_STORE (the app
// role, subject to row-level security) and TENANTML_STORE_ADMIN (the owner
// that migrates and creates the app role).
func attackPostgresEnv(t *testing.T) map[string]string {
	t.Helper()
	raw := os.Getenv("TENANTML_TEST_POSTGRES")
	if raw == "" {
		raw = attackPostgresDefault
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
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	suffix := hex.EncodeToString(b[:])
	db, role := "tenantml_attack_"+suffix, "tenantml_attack_app_"+suffix
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, raw)
		if err != nil {
			t.Errorf("drop test database: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{role}.Sanitize()); err != nil {
			t.Errorf("drop test role: %v", err)
		}
	})
	admin := *base
	admin.Path = "/" + db
	app := admin
	app.User = url.UserPassword(role, "pw-"+suffix)
	return map[string]string{"TENANTML_STORE": app.String(), "TENANTML_STORE_ADMIN": admin.String()}
}

// attackServerEnv is rootEnv plus the store's settings, an artifact
// limit small enough to test, and workers started from the tenantml
// binary.
func attackServerEnv(t *testing.T, st attackStore) map[string]string {
	t.Helper()
	env := st.env(t)
	env["TENANTML_MAX_ARTIFACT_BYTES"] = "1048576"
	env["TENANTML_WORKER_EXECUTABLE"] = buildBinary(t)
	for k, v := range rootEnv {
		env[k] = v
	}
	return env
}
