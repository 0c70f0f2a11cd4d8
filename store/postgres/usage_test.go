package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/storetest"
)

func TestDB_Usage(t *testing.T) {
	storetest.RunUsage(t, func(t *testing.T) store.Store {
		db, err := postgres.Open(context.Background(), newEnv(t).config())
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// Row-level security on usage_records: a tenant-scoped view reads only its
// tenant's records and writes nothing, not even its own.
func TestDB_UsageRowLevelSecurity(t *testing.T) {
	db, err := postgres.Open(context.Background(), newEnv(t).config())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer db.Close()
	ctx := context.Background()
	hour := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if err := db.Usage().Commit(ctx, &metering.Batch{Source: "audit/a", From: 0, To: 2, Records: []metering.Record{
		{TenantID: "acme", Hour: hour, Dimension: metering.Invocations, Value: 2},
		{TenantID: "globex", Hour: hour, Dimension: metering.Invocations, Value: 5},
	}}); err != nil {
		t.Fatal(err)
	}
	f := metering.Filter{AllTenants: true, From: hour, To: hour.Add(time.Hour)}
	tests := []struct {
		name, tenant string
		filter       metering.Filter
		want         int64 // total value seen
	}{
		{"OwnRecords", "acme", f, 2},
		{"OtherTenantsRecordsInvisible", "acme", metering.Filter{TenantID: "globex", From: f.From, To: f.To}, 0},
		{"OtherTenant", "globex", f, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := db.UsageInTenant(tt.tenant).Records(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, r := range rs {
				if r.TenantID != tt.tenant {
					t.Errorf("tenant %s read %s's record", tt.tenant, r.TenantID)
				}
				sum += r.Value
			}
			if sum != tt.want {
				t.Errorf("total %d, want %d", sum, tt.want)
			}
		})
	}
	t.Run("TenantCannotWrite", func(t *testing.T) {
		err := db.UsageInTenant("acme").Commit(ctx, &metering.Batch{Source: "audit/a", From: 2, To: 3, Records: []metering.Record{{TenantID: "acme", Hour: hour, Dimension: metering.Invocations, Value: 1}}})
		if err == nil {
			t.Fatal("a tenant-scoped transaction wrote usage")
		}
		if w, _ := db.Usage().Watermark(ctx, "audit/a"); w != 2 {
			t.Errorf("watermark %d after a refused write, want 2", w)
		}
	})
}
