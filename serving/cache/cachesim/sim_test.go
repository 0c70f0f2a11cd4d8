package cachesim_test

import (
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving/cache"
	"github.com/tenantml/tenantml/serving/cache/cachesim"
)

// sim is the scenario scaled to a unit test (bench/serving runs it
// at full scale): 2,000 tenants with one model each, Zipf-distributed
// requests, a cache holding 5% of the models; optionally one tenant
// scanning its 1,000 models with a third of all requests.
func sim(scan bool, size func(cache.Key) int64) cachesim.TraceConfig {
	cfg := cachesim.TraceConfig{Tenants: 2000, ZipfS: 1.1, Requests: 60000, Size: size, Seed: 42}
	if scan {
		cfg.ScanModels, cfg.ScanEvery = 1000, 2
	}
	return cfg
}

const (
	warmup   = 6000
	capacity = 100 * 10 // 5% of 2,000 models of 10 bytes
	step     = time.Millisecond
)

func replay(t *testing.T, trace []cachesim.Request, warmup int) cachesim.Result {
	t.Helper()
	r, err := cachesim.Replay(trace, cache.Config[struct{}]{Capacity: capacity, MinResidency: 100 * time.Millisecond}, step, warmup)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReplay_Fairness: the cache's hit rate is close to an ideal LRU's on
// the same trace, and a tenant scanning all its models leaves the other
// tenants' hit rate within 10% of the run without the scan, where a plain
// LRU loses far more.
func TestReplay_Fairness(t *testing.T) {
	sizes := map[string]func(cache.Key) int64{
		"EqualSizes": nil,
		// 5 to 15 bytes, fixed per model, mean 10.
		"MixedSizes": func(k cache.Key) int64 {
			h := 0
			for _, c := range k.Tenant + k.Model {
				h = h*31 + int(c)
			}
			return int64(5 + (h&0x7fffffff)%11)
		},
	}
	for name, size := range sizes {
		t.Run(name, func(t *testing.T) {
			plain := cachesim.Trace(sim(false, size))
			scanned := cachesim.Trace(sim(true, size))

			lru := cachesim.LRU(plain, capacity, warmup)
			got := replay(t, plain, warmup)
			t.Logf("no scan: cache hit rate %.4f, ideal LRU %.4f, %d loads, %d refused", got.HitRate(), lru.HitRate(), got.Loads, got.Refused)
			if got.HitRate() < 0.95*lru.HitRate() {
				t.Errorf("hit rate %.4f, below 95%% of the ideal LRU's %.4f", got.HitRate(), lru.HitRate())
			}

			lruScan := cachesim.LRU(scanned, capacity, warmup*3/2)
			gotScan := replay(t, scanned, warmup*3/2)
			if gotScan.OtherRequests != got.OtherRequests {
				t.Fatalf("%d other requests with the scan, %d without: the warm-ups differ", gotScan.OtherRequests, got.OtherRequests)
			}
			t.Logf("scan: others' hit rate %.4f (LRU %.4f), scanner's %.4f, %d refused",
				gotScan.OtherHitRate(), lruScan.OtherHitRate(), ratio(gotScan.Hits-gotScan.OtherHits, gotScan.Requests-gotScan.OtherRequests), gotScan.Refused)
			if gotScan.OtherHitRate() < 0.9*got.OtherHitRate() {
				t.Errorf("others' hit rate fell from %.4f to %.4f with the scan, more than 10%%", got.OtherHitRate(), gotScan.OtherHitRate())
			}
			// The scenario is a real threat: a plain LRU loses more than
			// 10% of the others' hits to the scan.
			if lruScan.OtherHitRate() >= 0.9*lru.OtherHitRate() {
				t.Errorf("plain LRU kept %.4f of %.4f under the scan: the scan does not stress the cache", lruScan.OtherHitRate(), lru.OtherHitRate())
			}
		})
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}
