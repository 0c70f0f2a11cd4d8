package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BenchmarkDB_InTenant measures what tenant scoping costs: FindTenant
// (BEGIN, set_config, a SELECT under the RLS policy, COMMIT) against its
// peer in the same run, the same SELECT in a plain transaction on a
// superuser pool that bypasses RLS and sets nothing. It reports both
// latencies and their ratio.
func BenchmarkDB_InTenant(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	db := seed(b, e, "acme", "globex", "initech")
	peer, err := pgxpool.New(ctx, e.adminURL())
	if err != nil {
		b.Fatal(err)
	}
	defer peer.Close()
	svc := db.Tenants()
	var scoped, plain time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := svc.FindTenant(ctx, "acme"); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		err := pgx.BeginFunc(ctx, peer, func(tx pgx.Tx) error {
			var id string
			return tx.QueryRow(ctx, `SELECT tenant_id FROM tenants WHERE tenant_id = $1`, "acme").Scan(&id)
		})
		if err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		scoped += mid.Sub(start)
		plain += end.Sub(mid)
	}
	n := float64(b.N)
	b.ReportMetric(float64(scoped.Nanoseconds())/n, "ns/scoped-find")
	b.ReportMetric(float64(plain.Nanoseconds())/n, "ns/unscoped-find")
	b.ReportMetric(float64(scoped)/float64(plain), "scoped/unscoped")
}
