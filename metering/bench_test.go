package metering_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml/metering"
)

// BenchmarkMeter_Sync meters audit events from a real log into SQLite:
// the figure is the time per event metered (read, aggregated, committed
// with the watermark), which bounds how far behind the meter can fall.
func BenchmarkMeter_Sync(b *testing.B) {
	clk := &clock{t: t0}
	log := openLogB(b, clk)
	store := openStoreB(b)
	ctx := context.Background()
	tenants := []string{"acme", "globex", "initech", "umbrella"}
	for i := range b.N {
		if _, err := log.Append(ctx, invoke(tenants[i%len(tenants)], clk.Now(), "", 100, 20, 3)); err != nil {
			b.Fatal(err)
		}
		clk.Advance(time.Second)
	}
	m := &metering.Meter{Store: store, Events: log, Source: "audit/bench"}
	b.ResetTimer()
	n, err := m.Sync(ctx)
	if err != nil || n != int64(b.N) {
		b.Fatalf("metered %d of %d: %v", n, b.N, err)
	}
}
