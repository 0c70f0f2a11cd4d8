package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

func TestDB_Keys(t *testing.T) {
	keystest.Run(t, func(t *testing.T) keys.Store {
		e := newEnv(t)
		return open(t, postgresConfig(e.appURL(), e.adminURL())).Keys()
	})
}

// Row-level security on kms_keys and kms_aliases: a tenant's transaction
// sees and changes only its own rows and cannot write another tenant's; an
// unscoped transaction sees and reaches nothing.
func TestDB_KeysRLS(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := open(t, postgresConfig(e.appURL(), e.adminURL()))
	ks := db.Keys()
	for _, tenant := range []string{"acme", "globex"} {
		if _, err := ks.PutKey(ctx, &keys.Record{Tenant: tenant, ID: "k-" + tenant, Meta: []byte("{}"), Keyset: []byte("wrapped")}); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.PutAlias(ctx, &keys.Alias{Tenant: tenant, Name: "alias/x", KeyID: "k-" + tenant}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		scope    string // "" = unscoped
		stmt     string
		query    bool
		want     int64
		wantCode string // for writes refused by RLS in a scoped transaction
		wantRLS  bool   // for writes refused by RLS in an unscoped transaction
	}{
		{name: "TenantSeesOwnKeys", scope: "acme", stmt: `SELECT count(*) FROM kms_keys`, query: true, want: 1},
		{name: "TenantSeesOwnAliases", scope: "acme", stmt: `SELECT count(*) FROM kms_aliases`, query: true, want: 1},
		{name: "TenantDeleteOther", scope: "acme", stmt: `DELETE FROM kms_keys WHERE tenant_id = 'globex'`, want: 0},
		{name: "TenantUpdateOtherAlias", scope: "acme", stmt: `UPDATE kms_aliases SET key_id = 'k-acme' WHERE tenant_id = 'globex'`, want: 0},
		{name: "ErrTenantInsertForOther", scope: "acme", stmt: `INSERT INTO kms_keys (tenant_id, key_id, meta, keyset, revision) VALUES ('globex', 'evil', '', '', 1)`, wantCode: tenantml.EFORBIDDEN},
		{name: "ErrTenantMoveKey", scope: "acme", stmt: `UPDATE kms_keys SET tenant_id = 'globex'`, wantCode: tenantml.EFORBIDDEN},
		{name: "UnscopedSeesNoKeys", stmt: `SELECT count(*) FROM kms_keys`, query: true, want: 0},
		{name: "UnscopedDeletesNothing", stmt: `DELETE FROM kms_keys`, want: 0},
		{name: "ErrUnscopedInsert", stmt: `INSERT INTO kms_aliases (tenant_id, name, key_id, revision) VALUES ('acme', 'alias/y', 'k', 1)`, wantRLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int64
			run := func(tx pgx.Tx) error {
				if tt.query {
					return tx.QueryRow(ctx, tt.stmt).Scan(&n)
				}
				tag, err := tx.Exec(ctx, tt.stmt)
				n = tag.RowsAffected()
				return err
			}
			var err error
			if tt.scope != "" {
				err = db.InTenant(ctx, tt.scope, run)
			} else {
				err = pgx.BeginFunc(ctx, db.PoolForTest(), run)
			}
			switch {
			case tt.wantCode != "":
				if code := tenantml.ErrorCode(err); code != tt.wantCode {
					t.Fatalf("err = %v (code %q), want %q", err, code, tt.wantCode)
				}
			case tt.wantRLS:
				if err == nil || !strings.Contains(err.Error(), "row-level security") {
					t.Fatalf("err = %v, want a row-level security violation", err)
				}
			case err != nil:
				t.Fatal(err)
			case n != tt.want:
				t.Fatalf("rows = %d, want %d", n, tt.want)
			}
		})
	}
	for _, tenant := range []string{"acme", "globex"} {
		if got, err := ks.ListKeys(ctx, tenant); err != nil || len(got) != 1 || got[0].ID != "k-"+tenant {
			t.Fatalf("%s's keys after the statements: %v (%v), want only k-%s", tenant, got, err, tenant)
		}
	}
	if got, err := ks.ListTenants(ctx); err != nil || strings.Join(got, ",") != "acme,globex" {
		t.Fatalf("ListTenants = %v (%v), want acme,globex", got, err)
	}
}
