package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// BenchmarkLog_Append measures durable (fsynced) appends per second, with
// one appender (one fsync per event: the peer to compare against) and with
// many concurrent appenders sharing fsyncs through group commit.
//
//	go test ./audit -run '^$' -bench 'Log_Append' -benchtime 100000x
func BenchmarkLog_Append(b *testing.B) {
	for _, par := range []int{1, 64, 256} {
		b.Run(fmt.Sprintf("appenders=%d", par), func(b *testing.B) {
			l, err := audit.Open(context.Background(), audit.Config{Dir: b.TempDir(), Logger: discardLogger()})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close(context.Background())
			ev := event("acme", "alice", "InvokeEndpoint", audit.Allowed)
			b.SetParallelism(max(1, par/2)) // GOMAXPROCS is 2 here
			b.ResetTimer()
			if par == 1 {
				for b.Loop() {
					if _, err := l.Append(context.Background(), ev); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := l.Append(context.Background(), ev); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			st := l.Stats()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(st.Appended)/float64(max(1, st.Batches)), "events/fsync")
		})
	}
}

// BenchmarkVerify measures offline verification speed in events per minute
// over a log of 200,000 events.
//
//	go test ./audit -run '^$' -bench 'Verify' -benchtime 3x
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	dir := b.TempDir()
	l, err := audit.Open(context.Background(), audit.Config{Dir: dir, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	ev := event("acme", "alice", "InvokeEndpoint", audit.Allowed)
	done := make(chan error, 256)
	for w := range 256 {
		go func() {
			for i := w; i < n; i += 256 {
				if _, err := l.Append(context.Background(), ev); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 256 {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		rep, err := audit.Verify(dir, audit.VerifyOptions{})
		if err != nil || !rep.OK() || rep.Events != n {
			b.Fatalf("Verify = %s, %v", rep.Summary(), err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Minutes(), "events/min")
}

// seedBenchLog appends n events spread over tenants tenant-0..tenant-(t-1)
// from many goroutines and closes the log.
func seedBenchLog(b *testing.B, dir string, n, tenants int) {
	b.Helper()
	l, err := audit.Open(context.Background(), audit.Config{Dir: dir, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	const workers = 256
	done := make(chan error, workers)
	for w := range workers {
		go func() {
			for i := w; i < n; i += workers {
				ev := event(fmt.Sprintf("tenant-%d", i%tenants), "alice", "InvokeEndpoint", audit.Allowed)
				if i%7 == 0 {
					ev.Decision.Effect = audit.ImplicitlyDenied
				}
				if _, err := l.Append(context.Background(), ev); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range workers {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(context.Background()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLog_Lookup measures a tenant's newest-first page of denied
// events and the time to reopen a log of 200,000 events over 100 tenants.
//
//	go test ./audit -run '^$' -bench 'Log_(Lookup|Open)'
func BenchmarkLog_Lookup(b *testing.B) {
	dir := b.TempDir()
	seedBenchLog(b, dir, 200_000, 100)
	l, err := audit.Open(context.Background(), audit.Config{Dir: dir, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	b.Run("tenant-denied-page", func(b *testing.B) {
		for b.Loop() {
			page, err := l.Lookup(context.Background(), audit.Filter{TenantID: "tenant-42", Effect: audit.Denied, Limit: 50})
			if err != nil || len(page.Events) != 50 {
				b.Fatalf("Lookup = %d, %v", len(page.Events), err)
			}
		}
	})
	b.Run("operator-page", func(b *testing.B) {
		for b.Loop() {
			page, err := l.Lookup(context.Background(), audit.Filter{AllTenants: true, Limit: 50})
			if err != nil || len(page.Events) != 50 {
				b.Fatalf("Lookup = %d, %v", len(page.Events), err)
			}
		}
	})
}

func BenchmarkLog_Open(b *testing.B) {
	dir := b.TempDir()
	seedBenchLog(b, dir, 200_000, 100)
	for b.Loop() {
		l, err := audit.Open(context.Background(), audit.Config{Dir: dir, Logger: discardLogger()})
		if err != nil {
			b.Fatal(err)
		}
		if err := l.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
