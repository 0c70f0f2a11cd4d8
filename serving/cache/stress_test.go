package cache_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving/cache"
)

// TestCache_Concurrent hammers one cache from many goroutines (run it with
// -race): acquires with exact size hints, releases, removals and sweeps.
// The fake worker checks that no model in use is unloaded, that no model
// is loaded twice, and that what it holds never exceeds the capacity.
func TestCache_Concurrent(t *testing.T) {
	const capacity = 100
	e := newEnv(t, capacity, func(c *cache.Config[string]) {
		c.IdleTimeout = time.Millisecond
		c.MaxLoads = 3
		c.Now = time.Now
	})
	size := func(k cache.Key) int64 { return int64(5 + (len(k.Tenant)*7+int(k.Model[1]))%20) }
	tenants := []string{"a", "bb", "ccc"}
	for _, tn := range tenants {
		for i := range 10 {
			e.f.size[key(tn, i)] = size(key(tn, i))
		}
	}
	var maxSeen int64
	var mu sync.Mutex
	checkBound := func() {
		e.f.mu.Lock()
		defer e.f.mu.Unlock()
		mu.Lock()
		defer mu.Unlock()
		maxSeen = max(maxSeen, e.f.residentSum)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 1500 {
				k := key(tenants[rng.IntN(len(tenants))], rng.IntN(10))
				switch r := rng.IntN(100); {
				case r < 2:
					e.c.Remove(k)
				case r < 3:
					e.c.Sweep()
				default:
					h, err := e.c.Acquire(context.Background(), k, size(k))
					if err != nil {
						if !errors.Is(err, cache.ErrNotReady) && !errors.Is(err, cache.ErrThrottled) {
							t.Errorf("Acquire: %v", err)
						}
						continue
					}
					e.f.mu.Lock()
					e.f.held[k]++
					e.f.mu.Unlock()
					checkBound()
					e.put(h)
				}
			}
		})
	}
	wg.Wait()
	s := e.c.Stats()
	if maxSeen > capacity {
		t.Errorf("the worker held %d bytes at one point, capacity %d", maxSeen, capacity)
	}
	if s.Bytes > capacity || s.Reserved != 0 || s.Loading != 0 {
		t.Errorf("final stats %+v", s)
	}
	t.Logf("stats %+v, peak resident %d", s, maxSeen)
}
