package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/storetest"
)

func TestDB_Autoscaling(t *testing.T) {
	storetest.RunAutoscaling(t, func(t *testing.T) store.Store {
		db, err := postgres.Open(context.Background(), newEnv(t).config())
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// Row-level security on the autoscaling tables: a tenant-scoped view
// reads and changes only its tenant's rows, whatever its filter says.
func TestDB_AutoscalingRowLevelSecurity(t *testing.T) {
	db, err := postgres.Open(context.Background(), newEnv(t).config())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	const acct = "123456789012"
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	rid := func(e string) autoscale.ResourceID { return autoscale.ResourceID{Endpoint: e, Variant: "AllTraffic"} }
	for _, tn := range []string{"acme", "globex"} {
		if err := db.Autoscaling().PutTarget(ctx, &autoscale.Target{TenantID: tn, AccountID: acct, ResourceID: rid(tn), MinCapacity: 1, MaxCapacity: 2, CreatedAt: at}); err != nil {
			t.Fatal(err)
		}
		if err := db.Autoscaling().AddActivity(ctx, &autoscale.Activity{TenantID: tn, AccountID: acct, ID: tn + "-1", ResourceID: rid(tn), StatusCode: "Successful", StartTime: at, EndTime: at}); err != nil {
			t.Fatal(err)
		}
	}
	acme := db.AutoscalingInTenant("acme")
	t.Run("ReadsOnlyOwn", func(t *testing.T) {
		ts, err := acme.Targets(ctx, autoscale.Filter{AllTenants: true, AccountID: acct})
		if err != nil || len(ts) != 1 || ts[0].TenantID != "acme" {
			t.Fatalf("acme's scope read %d targets (%v)", len(ts), err)
		}
		as, err := acme.Activities(ctx, autoscale.Filter{AllTenants: true, AccountID: acct})
		if err != nil || len(as) != 1 || as[0].TenantID != "acme" {
			t.Fatalf("acme's scope read %d activities (%v)", len(as), err)
		}
	})
	t.Run("WritesNoOtherTenant", func(t *testing.T) {
		if err := acme.DeleteTarget(ctx, "globex", acct, rid("globex")); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("acme's scope deleted globex's target: %v", err)
		}
		if err := acme.AddActivity(ctx, &autoscale.Activity{TenantID: "globex", AccountID: acct, ID: "forged", ResourceID: rid("globex"), StartTime: at, EndTime: at}); err == nil {
			t.Error("acme's scope wrote an activity of globex")
		}
		if err := acme.PutTarget(ctx, &autoscale.Target{TenantID: "acme", AccountID: acct, ResourceID: rid("globex"), MinCapacity: 1, MaxCapacity: 1, CreatedAt: at}); err == nil {
			t.Error("acme's scope took over globex's target name")
		}
		if ts, _ := db.Autoscaling().Targets(ctx, autoscale.Filter{Tenant: "globex", AccountID: acct}); len(ts) != 1 {
			t.Error("globex's target is gone")
		}
	})
}
