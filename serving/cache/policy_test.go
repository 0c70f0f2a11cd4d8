package cache_test

import (
	"errors"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving/cache"
)

// fill loads n models of tenant (10 bytes each), one second apart.
func (e *env) fill(t *testing.T, tenant string, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		e.use(t, key(tenant, i))
		e.clock.Advance(time.Second)
	}
}

func evictedTenants(e *env) map[string]int {
	out := map[string]int{}
	for _, u := range e.f.unloaded() {
		if u.why == cache.ReasonEvicted {
			out[u.key.Tenant]++
		}
	}
	return out
}

func TestCache_Fairness(t *testing.T) {
	t.Run("BorrowIdleCapacity", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		e.fill(t, "a", 0, 10) // a alone fills the whole cache
		if got := e.c.Usage("a"); got != 100 {
			t.Fatalf("a holds %d, want all 100 bytes", got)
		}
		e.fill(t, "b", 0, 1) // b is within its share: a's borrowed capacity goes
		if got := evictedTenants(e); got["a"] != 1 || len(got) != 1 {
			t.Errorf("evictions %v, want one of a's", got)
		}
	})

	t.Run("ReclaimBorrowedFirst", func(t *testing.T) {
		e := newEnv(t, 120, nil)
		e.fill(t, "b", 0, 2) // the least recently used models are b's
		e.fill(t, "a", 0, 8)
		e.fill(t, "c", 0, 2)
		// d (share 30 of 120 among four) takes from a, which holds more
		// than twice its share, not from b's older models.
		e.fill(t, "d", 0, 1)
		if got := evictedTenants(e); got["a"] != 1 || len(got) != 1 {
			t.Errorf("evictions %v, want one of a's", got)
		}
	})

	t.Run("OverShareTakesOnlyFromLarger", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		e.fill(t, "b", 0, 4) // older
		e.fill(t, "a", 0, 6)
		e.fill(t, "a", 6, 1) // a (70 > 50 after) must recycle its own
		if got := evictedTenants(e); got["a"] != 1 || len(got) != 1 {
			t.Errorf("evictions %v, want one of a's own", got)
		}
		if got := e.c.Usage("b"); got != 40 {
			t.Errorf("b holds %d, want its 40", got)
		}
	})

	t.Run("WeightedShares", func(t *testing.T) {
		weights := map[string]float64{"a": 3, "b": 1}
		e := newEnv(t, 100, func(c *cache.Config[string]) {
			c.Weight = func(t string) float64 { return weights[t] }
		})
		e.fill(t, "b", 0, 4)
		e.fill(t, "a", 0, 6)
		e.fill(t, "a", 6, 1) // a's share is 75: b (40 > 25) gives way
		if got := evictedTenants(e); got["b"] != 1 || len(got) != 1 {
			t.Errorf("evictions %v, want one of b's", got)
		}
	})

	t.Run("ErrThrottled", func(t *testing.T) {
		e := newEnv(t, 100, func(c *cache.Config[string]) { c.MinResidency = 5 * time.Second })
		e.fill(t, "b", 0, 4)
		e.clock.Advance(10 * time.Second)
		for i := range 6 {
			e.use(t, key("a", i)) // a's models are all younger than 5 s
		}
		// a's working set does not fit its share: refused, b untouched.
		if _, err := e.get(t, key("a", 6)); !errors.Is(err, cache.ErrThrottled) {
			t.Fatalf("Acquire = %v, want ErrThrottled", err)
		}
		if got := e.c.Usage("b"); got != 40 {
			t.Errorf("b holds %d, want 40", got)
		}
		// b, within its share, recycles its own model while a's are
		// young...
		e.use(t, key("b", 4))
		if got := evictedTenants(e); got["b"] != 1 || len(got) != 1 {
			t.Errorf("evictions %v, want one of b's own", got)
		}
		// ...and once they settled, takes from a, over its share.
		e.clock.Advance(5 * time.Second)
		e.use(t, key("b", 5))
		if got := evictedTenants(e); got["a"] != 1 || got["b"] != 1 {
			t.Errorf("evictions %v, want one of a's and b's own", got)
		}
		if s := e.c.Stats(); s.Throttled != 1 {
			t.Errorf("stats %+v, want 1 throttled", s)
		}
	})

	t.Run("ScanRecyclesOwnShare", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		for _, tn := range []string{"b", "c", "d", "e"} {
			e.fill(t, tn, 0, 2)
		}
		e.fill(t, "a", 0, 50) // a scans its 50 models
		if got := evictedTenants(e); len(got) != 1 || got["a"] == 0 {
			t.Errorf("evictions %v, want a's own only", got)
		}
		for _, tn := range []string{"b", "c", "d", "e"} {
			if got := e.c.Usage(tn); got != 20 {
				t.Errorf("%s holds %d after a's scan, want its 20", tn, got)
			}
		}
	})
}
