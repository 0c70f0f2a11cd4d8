package cache_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving/cache"
)

// TestCache_Status follows a model through Preload, Acquire and Remove:
// its status and the listed entries say whether it is loaded, and a
// preload counts as neither hit nor miss.
func TestCache_Status(t *testing.T) {
	var hits, misses int
	e := newEnv(t, 100, func(c *cache.Config[string]) {
		c.Observer = observerFunc(func(hit bool) {
			if hit {
				hits++
			} else {
				misses++
			}
		})
	})
	k := key("a", 1)
	if got := e.c.Status(k); got != cache.Absent {
		t.Fatalf("before: %v", got)
	}
	gate := make(chan struct{})
	e.f.setGate(gate)
	done := make(chan error, 1)
	go func() { done <- e.c.Preload(context.Background(), k, 0) }()
	<-e.f.started
	if got := e.c.Status(k); got != cache.Loading {
		t.Fatalf("during the load: %v", got)
	}
	if got := e.c.Entries(); len(got) != 1 || got[0].Key != k || got[0].Status != cache.Loading {
		t.Fatalf("entries during the load: %+v", got)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := e.c.Status(k); got != cache.Loaded {
		t.Fatalf("after Preload: %v", got)
	}
	if s := e.c.Stats(); s.Hits != 0 || s.Misses != 0 || s.Loads != 1 || hits+misses != 0 {
		t.Fatalf("a preload counted: stats %+v, observer %d hits %d misses", s, hits, misses)
	}
	// Not pinned: an invocation is a hit, and Remove unloads at once.
	e.use(t, k)
	if s := e.c.Stats(); s.Hits != 1 || s.Loads != 1 || hits != 1 {
		t.Fatalf("after Acquire: %+v", s)
	}
	e.c.Remove(k)
	if got := e.c.Status(k); got != cache.Absent {
		t.Fatalf("after Remove: %v", got)
	}
	if got := e.c.Entries(); len(got) != 0 {
		t.Fatalf("entries after Remove: %+v", got)
	}
	t.Run("PreloadRefused", func(t *testing.T) {
		// A preload takes the same admission as an invocation: a model
		// larger than the cache is refused.
		e := newEnv(t, 100, nil)
		big := key("b", 1)
		e.f.mu.Lock()
		e.f.size[big] = 1000
		e.f.mu.Unlock()
		if err := e.c.Preload(context.Background(), big, 1000); err == nil {
			t.Fatal("a model larger than the cache was preloaded")
		}
	})
}

// observerFunc counts hits; the other figures are ignored.
type observerFunc func(hit bool)

func (f observerFunc) Hit(hit bool)       { f(hit) }
func (observerFunc) Waited(time.Duration) {}
func (observerFunc) Count(int)            {}
