package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/storetest"
)

// (a) The adapter passes the contract suite every store passes.
func TestDB_Contract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		e := newEnv(t)
		db, err := postgres.Open(context.Background(), e.config())
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}

// seed creates tenants a and b through the service (operator path) and
// returns the open store.
func seed(t testing.TB, e *env, ids ...string) *postgres.DB {
	t.Helper()
	db := open(t, e.config())
	for _, id := range ids {
		if err := db.Tenants().CreateTenant(context.Background(), storetest.NewTenant(id)); err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
	}
	return db
}

// operatorView returns every tenant's display name, read on the operator
// path.
func operatorView(t *testing.T, db *postgres.DB) map[string]string {
	t.Helper()
	ctx := context.Background()
	got := map[string]string{}
	err := db.AsOperator(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tenant_id, display_name FROM tenants`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			got[id] = name
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatalf("operator read: %v", err)
	}
	return got
}

// (b) Inside InTenant(A), hand-written statements without a tenant filter
// reach only A's row; B's row is intact afterwards. (c) Writing a row for B
// from A's transaction fails with EFORBIDDEN and leaves nothing behind.
func TestDB_InTenant(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := open(t, e.config())

	tests := []struct {
		name     string
		stmt     string
		wantRows int64  // rows the statement reports for tenant A's transaction
		wantErr  string // error code, when the statement must fail
		wantA    string // A's display name afterwards ({a}, {b} name the tenants), "" when A must be gone
	}{
		{name: "Update", stmt: `UPDATE tenants SET display_name = 'x'`, wantRows: 1, wantA: "x"},
		{name: "UpdateByOtherID", stmt: `UPDATE tenants SET display_name = 'x' WHERE tenant_id = '{b}'`, wantRows: 0, wantA: "Tenant {a}"},
		{name: "Delete", stmt: `DELETE FROM tenants`, wantRows: 1, wantA: ""},
		{name: "DeleteByOtherID", stmt: `DELETE FROM tenants WHERE tenant_id = '{b}'`, wantRows: 0, wantA: "Tenant {a}"},
		{name: "ErrInsertForOther", stmt: `INSERT INTO tenants (tenant_id, display_name, isolation, tier, home_region, status, created_at, updated_at, version)
			VALUES ('{b}-new', 'evil', 'pool', 'basic', 'us-east-1', 'active', now(), now(), 1)`, wantErr: tenantml.EFORBIDDEN, wantA: "Tenant {a}"},
		{name: "ErrMoveRowToOther", stmt: `UPDATE tenants SET tenant_id = '{b}-moved'`, wantErr: tenantml.EFORBIDDEN, wantA: "Tenant {a}"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := fmt.Sprintf("tenant-a%d", i), fmt.Sprintf("tenant-b%d", i)
			for _, id := range []string{a, b} {
				if err := db.Tenants().CreateTenant(ctx, storetest.NewTenant(id)); err != nil {
					t.Fatal(err)
				}
			}
			var seen []string
			var affected int64
			err := db.InTenant(ctx, a, func(tx pgx.Tx) error {
				rows, err := tx.Query(ctx, `SELECT tenant_id FROM tenants`)
				if err != nil {
					return err
				}
				seen, err = pgx.CollectRows(rows, pgx.RowTo[string])
				if err != nil {
					return err
				}
				tag, err := tx.Exec(ctx, strings.NewReplacer("{a}", a, "{b}", b).Replace(tt.stmt))
				affected = tag.RowsAffected()
				return err
			})
			if got := strings.Join(seen, ","); got != a {
				t.Errorf("SELECT * FROM tenants in %s's transaction saw %q, want only %q", a, got, a)
			}
			if tt.wantErr != "" {
				if code := tenantml.ErrorCode(err); code != tt.wantErr {
					t.Fatalf("error = %v (code %q), want code %q", err, code, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("statement: %v", err)
			} else if affected != tt.wantRows {
				t.Errorf("rows affected = %d, want %d", affected, tt.wantRows)
			}
			all := operatorView(t, db)
			if all[b] != "Tenant "+b {
				t.Errorf("tenant B after A's transaction: %q (present %v), want intact", all[b], len(all[b]) > 0)
			}
			wantA := tt.wantA
			if wantA != "" {
				wantA = strings.NewReplacer("{a}", a, "{b}", b).Replace(wantA)
			}
			if all[a] != wantA {
				t.Errorf("tenant A after its transaction: %q, want %q", all[a], wantA)
			}
			for id := range all {
				if strings.HasPrefix(id, b+"-") {
					t.Errorf("A's transaction left a row %q for B", id)
				}
			}
		})
	}

	t.Run("ErrEmptyTenant", func(t *testing.T) {
		called := false
		err := db.InTenant(ctx, "", func(pgx.Tx) error { called = true; return nil })
		if code := tenantml.ErrorCode(err); code != tenantml.EINVALID || called {
			t.Fatalf("InTenant(\"\") = %v (code %q, fn called %v), want EINVALID without running fn", err, code, called)
		}
	})

	t.Run("FnErrorRollsBack", func(t *testing.T) {
		if err := db.Tenants().CreateTenant(ctx, storetest.NewTenant("rollback")); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := db.InTenant(ctx, "rollback", func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE tenants SET display_name = 'changed'`); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTenant = %v, want fn's error", err)
		}
		if got := operatorView(t, db)["rollback"]; got != "Tenant rollback" {
			t.Fatalf("display name after failed transaction = %q, want unchanged", got)
		}
	})
}

// (d) The app role Open creates has no superuser, BYPASSRLS, CREATEDB or
// CREATEROLE, owns nothing, and holds only data privileges.
func TestDB_AppRole(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seed(t, e, "acme")
	conn, err := pgx.Connect(ctx, e.adminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	var super, bypass, createDB, createRole, login bool
	err = conn.QueryRow(ctx, `SELECT rolsuper, rolbypassrls, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1`, e.appRole).
		Scan(&super, &bypass, &createDB, &createRole, &login)
	if err != nil {
		t.Fatalf("read pg_roles: %v", err)
	}
	if super || bypass || createDB || createRole || !login {
		t.Fatalf("app role: super=%v bypassrls=%v createdb=%v createrole=%v login=%v; want only login", super, bypass, createDB, createRole, login)
	}

	checks := []struct {
		name  string
		query string
		want  string
	}{
		{"OwnsNoTable", `SELECT count(*)::text FROM pg_tables WHERE tableowner = $1`, "0"},
		{"OwnsNoRelation", `SELECT count(*)::text FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`, "0"},
		{"OwnsNoSchema", `SELECT count(*)::text FROM pg_namespace WHERE nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)`, "0"},
		{"TablesForceRLS", `SELECT string_agg(relname || '=' || relrowsecurity || '/' || relforcerowsecurity, ',' ORDER BY relname) FROM pg_class WHERE relname IN ('tenants', 'platform_secrets') AND $1 <> ''`, "platform_secrets=true/true,tenants=true/true"},
		{"DataPrivileges", `SELECT has_table_privilege($1, 'tenants', 'SELECT')::text || has_table_privilege($1, 'tenants', 'INSERT')::text || has_table_privilege($1, 'tenants', 'UPDATE')::text || has_table_privilege($1, 'tenants', 'DELETE')::text`, "truetruetruetrue"},
		{"NoTruncateReferencesTrigger", `SELECT (has_table_privilege($1, 'tenants', 'TRUNCATE') OR has_table_privilege($1, 'tenants', 'REFERENCES') OR has_table_privilege($1, 'tenants', 'TRIGGER'))::text`, "false"},
		{"NoMigrationsTable", `SELECT has_table_privilege($1, 'schema_migrations', 'SELECT, INSERT, UPDATE, DELETE')::text`, "false"},
		{"PasswordFromURL", `SELECT (rolpassword IS NOT NULL)::text FROM pg_authid WHERE rolname = $1`, "true"},
		{"NotMemberOfOwner", `SELECT pg_has_role($1, (SELECT relowner FROM pg_class WHERE relname = 'tenants'), 'MEMBER')::text`, "false"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			var got string
			if err := conn.QueryRow(ctx, c.query, e.appRole).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

// (e) With one pooled connection, a transaction after InTenant(A) (and after
// AsOperator) runs on the same backend yet carries neither setting and sees
// no tenant rows.
func TestDB_PooledConnection(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	seed(t, e, "acme", "globex") // migrate and create through a normal store
	db := open(t, postgres.Config{URL: e.appURL("pool_max_conns", "1")})

	scopes := []struct {
		name string
		run  func(fn func(pgx.Tx) error) error
	}{
		{"AfterInTenant", func(fn func(pgx.Tx) error) error { return db.InTenant(ctx, "acme", fn) }},
		{"AfterAsOperator", func(fn func(pgx.Tx) error) error { return db.AsOperator(ctx, fn) }},
	}
	for _, sc := range scopes {
		t.Run(sc.name, func(t *testing.T) {
			var pidIn, pidAfter int32
			var countIn, countAfter int
			err := sc.run(func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `SELECT pg_backend_pid(), count(*) FROM tenants`).Scan(&pidIn, &countIn)
			})
			if err != nil {
				t.Fatal(err)
			}
			if countIn == 0 {
				t.Fatalf("scoped transaction saw no tenants; the test proves nothing")
			}
			var tenantSetting, operatorSetting *string
			err = pgx.BeginFunc(ctx, db.PoolForTest(), func(tx pgx.Tx) error {
				return tx.QueryRow(ctx, `SELECT pg_backend_pid(), current_setting('app.tenant_id', true), current_setting('app.operator', true), (SELECT count(*) FROM tenants)`).
					Scan(&pidAfter, &tenantSetting, &operatorSetting, &countAfter)
			})
			if err != nil {
				t.Fatal(err)
			}
			if pidAfter != pidIn {
				t.Fatalf("second transaction ran on backend %d, first on %d: not the same pooled connection", pidAfter, pidIn)
			}
			if (tenantSetting != nil && *tenantSetting != "") || (operatorSetting != nil && *operatorSetting != "") {
				t.Fatalf("settings leaked into the next transaction: app.tenant_id=%v app.operator=%v", deref(tenantSetting), deref(operatorSetting))
			}
			if countAfter != 0 {
				t.Fatalf("next transaction saw %d tenants, want 0", countAfter)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

// (f) A transaction that sets neither app.tenant_id nor app.operator sees
// no rows of any table and cannot write one.
func TestDB_Unscoped(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := seed(t, e, "acme", "globex")
	if _, err := db.Secrets().PutSecretIfAbsent(ctx, "root", []byte("sealed")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		stmt    string
		query   bool
		wantErr bool
	}{
		{name: "SelectTenants", stmt: `SELECT count(*) FROM tenants`, query: true},
		{name: "SelectSecrets", stmt: `SELECT count(*) FROM platform_secrets`, query: true},
		{name: "UpdateTenants", stmt: `UPDATE tenants SET display_name = 'x'`},
		{name: "DeleteSecrets", stmt: `DELETE FROM platform_secrets`},
		{name: "ErrInsertTenant", stmt: `INSERT INTO tenants (tenant_id, display_name, isolation, tier, home_region, status, created_at, updated_at, version) VALUES ('sneaky', '', 'pool', 'basic', 'us-east-1', 'active', now(), now(), 1)`, wantErr: true},
		{name: "ErrInsertSecret", stmt: `INSERT INTO platform_secrets (name, value) VALUES ('other', 'x')`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int64
			err := pgx.BeginFunc(ctx, db.PoolForTest(), func(tx pgx.Tx) error {
				if tt.query {
					return tx.QueryRow(ctx, tt.stmt).Scan(&n)
				}
				tag, err := tx.Exec(ctx, tt.stmt)
				n = tag.RowsAffected()
				return err
			})
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "row-level security") {
					t.Fatalf("unscoped write = %v, want a row-level security violation", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("unscoped statement reached %d rows, want 0", n)
			}
		})
	}
	if all := operatorView(t, db); len(all) != 2 || all["acme"] != "Tenant acme" {
		t.Fatalf("rows changed by unscoped transactions: %v", all)
	}
	if v, err := db.Secrets().GetSecret(ctx, "root"); err != nil || string(v) != "sealed" {
		t.Fatalf("secret after unscoped transactions = %q, %v", v, err)
	}
}

// TestDB_AccountsOperatorOnly: the accounts table is a platform table:
// neither a tenant-scoped nor an unscoped transaction sees or writes it.
func TestDB_AccountsOperatorOnly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := seed(t, e, "acme")
	if err := db.Accounts().CreateAccount(ctx, &identity.Account{ID: "111111111111", Name: "dev", RootAccessKeyID: "AKIADEVROOT000000001", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(fn func(pgx.Tx) error) error{
		"Tenant":   func(fn func(pgx.Tx) error) error { return db.InTenant(ctx, "acme", fn) },
		"Unscoped": func(fn func(pgx.Tx) error) error { return pgx.BeginFunc(ctx, db.PoolForTest(), fn) },
	} {
		t.Run(name, func(t *testing.T) {
			var n int
			if err := run(func(tx pgx.Tx) error { return tx.QueryRow(ctx, `SELECT count(*) FROM accounts`).Scan(&n) }); err != nil || n != 0 {
				t.Errorf("accounts seen: %d, %v; want 0", n, err)
			}
			err := run(func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO accounts (account_id, name, name_lc, root_key_id, created_at) VALUES ('222222222222', 'x-1', 'x-1', 'AKIAX', now())`)
				return err
			})
			if err == nil || !strings.Contains(err.Error(), "row-level security") {
				t.Errorf("insert = %v, want a row-level security violation", err)
			}
		})
	}
	if got, err := db.Accounts().ListAccounts(ctx); err != nil || len(got) != 1 {
		t.Errorf("operator view: %d accounts, %v", len(got), err)
	}
}
