package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/quota"
)

// Row-level security on the quota tables: a tenant-scoped transaction sees
// and writes only its own overrides and never the tiers; only the
// operator path reads the tiers.
func TestDB_QuotasRLS(t *testing.T) {
	ctx := context.Background()
	db := seed(t, newEnv(t), "acme", "globex")
	n := int64(3)
	if err := db.Quotas().PutOverrides(ctx, "globex", quota.Limits{Endpoints: &n}); err != nil {
		t.Fatal(err)
	}
	if err := db.Quotas().PutOverrides(ctx, "acme", quota.Limits{Models: &n}); err != nil {
		t.Fatal(err)
	}
	if err := db.Quotas().CreateTier(ctx, &quota.Tier{Name: "gold", Version: 1}); err != nil {
		t.Fatal(err)
	}
	count := func(scope func(context.Context, func(pgx.Tx) error) error, query string) int {
		t.Helper()
		var c int
		if err := scope(ctx, func(tx pgx.Tx) error { return tx.QueryRow(ctx, query).Scan(&c) }); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return c
	}
	inAcme := func(ctx context.Context, fn func(pgx.Tx) error) error { return db.InTenant(ctx, "acme", fn) }
	if got := count(inAcme, `SELECT count(*) FROM tenant_quotas`); got != 1 {
		t.Fatalf("acme's scope sees %d override rows, want its own 1", got)
	}
	if got := count(inAcme, `SELECT count(*) FROM tenant_quotas WHERE tenant_id = 'globex'`); got != 0 {
		t.Fatalf("acme's scope sees globex's overrides")
	}
	if got := count(inAcme, `SELECT count(*) FROM quota_tiers`); got != 0 {
		t.Fatalf("acme's scope sees %d tiers, want none", got)
	}
	if got := count(db.AsOperator, `SELECT count(*) FROM tenant_quotas`); got != 2 {
		t.Fatalf("operator sees %d override rows, want 2", got)
	}
	err := db.InTenant(ctx, "acme", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO tenant_quotas (tenant_id, limits, updated_at) VALUES ('globex', '{}', now())`)
		return err
	})
	if tenantml.ErrorCode(err) != tenantml.EFORBIDDEN {
		t.Fatalf("acme writing globex's overrides: %v, want EFORBIDDEN", err)
	}
	err = db.InTenant(ctx, "acme", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE tenant_quotas SET limits = '{}' WHERE tenant_id = 'globex'`)
		if err == nil && tag.RowsAffected() != 0 {
			t.Errorf("acme's scope updated %d of globex's rows", tag.RowsAffected())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
