package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/tenant"
)

// BenchmarkDB_FindTenant reads one tenant, the read the gateway's tenant
// gate makes on every request of a tenant principal, from one goroutine and
// from 64 at once (the second measures the connection pool under the
// concurrency of 64 clients):
//
//	go test -run '^$' -bench FindTenant -benchmem ./store/sqlite
func BenchmarkDB_FindTenant(b *testing.B) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "meta.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Tenants().CreateTenant(ctx, &tenant.Tenant{ID: "acme", Isolation: tenant.Pool, Tier: "basic", HomeRegion: "us-east-1"}); err != nil {
		b.Fatal(err)
	}
	for _, par := range []int{1, 64} {
		b.Run(fmt.Sprintf("goroutines=%d", par), func(b *testing.B) {
			b.ReportAllocs()
			b.SetParallelism(max(1, par/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := db.Tenants().FindTenant(ctx, "acme"); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
