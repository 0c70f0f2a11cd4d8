package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/tenant"
)

func openWithTenants(t *testing.T, ids ...string) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, id := range ids {
		if err := db.Tenants().CreateTenant(ctx, &tenant.Tenant{ID: id, Isolation: tenant.Pool, Tier: "basic", HomeRegion: "us-east-1"}); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// TestStmtCache_Reuse: a read repeated on a connection is prepared once.
func TestStmtCache_Reuse(t *testing.T) {
	ctx := context.Background()
	db := openWithTenants(t, "acme")
	if _, err := db.Tenants().FindTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	first, reads := db.Prepares(), db.Reads()
	for range 20 {
		got, err := db.Tenants().FindTenant(ctx, "acme")
		if err != nil || got.ID != "acme" {
			t.Fatalf("FindTenant = %v, %v", got, err)
		}
	}
	if _, err := db.Tenants().FindTenant(ctx, "nobody"); err == nil {
		t.Fatal("found a tenant that does not exist")
	}
	if got := db.Prepares(); got != first {
		t.Fatalf("21 more reads prepared %d statements, want 0", got-first)
	}
	if got := db.Reads() - reads; got != 21 {
		t.Fatalf("Reads counted %d reads, want 21", got)
	}
}

// TestStmtCache_NestedSameQuery runs a query while the rows of the same
// query are still open on the same connection: each gets its own
// statement and both read every row.
func TestStmtCache_NestedSameQuery(t *testing.T) {
	ctx := context.Background()
	db := openWithTenants(t, "acme", "globex", "initech")
	want := []string{"acme", "globex", "initech"}
	const q = `SELECT tenant_id FROM tenants ORDER BY tenant_id`
	tx, err := db.SQLDB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ids := func(rows *sql.Rows) []string {
		t.Helper()
		var out []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			out = append(out, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	outer, err := tx.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var id string
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		got = append(got, id)
		inner, err := tx.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if in := ids(inner); !slices.Equal(in, want) {
			t.Fatalf("inner query while the outer is open = %v, want %v", in, want)
		}
		inner.Close()
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	if !slices.Equal(got, want) {
		t.Fatalf("outer query = %v, want %v", got, want)
	}
	// The cached statement is usable again once its rows are closed.
	again, err := tx.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if got := ids(again); !slices.Equal(got, want) {
		t.Fatalf("query after the nested ones = %v, want %v", got, want)
	}
}

// TestOpen_KeepsIdleConnections: connections used at once by concurrent
// requests stay open for the next burst instead of being closed and
// reopened (database/sql keeps 2 by default).
func TestOpen_KeepsIdleConnections(t *testing.T) {
	ctx := context.Background()
	db := openWithTenants(t)
	const n = 16
	conns := make([]*sql.Conn, n)
	for i := range conns {
		c, err := db.SQLDB().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	for _, c := range conns {
		c.Close()
	}
	if st := db.Stats(); st.Idle < n || st.MaxIdleClosed != 0 {
		t.Fatalf("after %d concurrent connections: %d idle, %d closed for the idle limit", n, st.Idle, st.MaxIdleClosed)
	}
}
