package cache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving/cache"
)

func TestCache_Acquire(t *testing.T) {
	t.Run("HitAfterLoad", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		k := key("a", 1)
		e.use(t, k)
		e.use(t, k)
		if got := e.f.loadCount(k); got != 1 {
			t.Errorf("loads = %d, want 1", got)
		}
		s := e.c.Stats()
		if s.Hits != 1 || s.Misses != 1 || s.Models != 1 || s.Bytes != 10 {
			t.Errorf("stats %+v, want 1 hit, 1 miss, 1 model of 10 bytes", s)
		}
	})

	t.Run("Singleflight", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		gate := make(chan struct{})
		e.f.setGate(gate)
		k := key("a", 1)
		const n = 50
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				h, err := e.get(t, k)
				if err != nil {
					errs <- err
					return
				}
				e.put(h)
			})
		}
		<-e.f.started
		waitFor(t, "all requests waiting", func() bool { return e.c.Waiters(k) == n })
		// Never ready before loaded: a request now cannot get the model.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		if _, err := e.c.Acquire(ctx, k, 0); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire during the load: %v, want the caller's deadline", err)
		}
		cancel()
		close(gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("Acquire: %v", err)
		}
		if got := e.f.loadCount(k); got != 1 {
			t.Errorf("%d concurrent first requests caused %d loads, want 1", n, got)
		}
	})

	t.Run("ErrLoadShared", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		k := key("a", 1)
		boom := errors.New("corrupt artifact")
		e.f.fail[k] = boom
		gate := make(chan struct{})
		e.f.setGate(gate)
		var wg sync.WaitGroup
		errs := make([]error, 5)
		for i := range errs {
			wg.Go(func() { _, errs[i] = e.c.Acquire(context.Background(), k, 0) })
		}
		<-e.f.started
		waitFor(t, "waiters", func() bool { return e.c.Waiters(k) == len(errs) })
		close(gate)
		wg.Wait()
		for _, err := range errs {
			if !errors.Is(err, boom) {
				t.Errorf("Acquire = %v, want the load's error", err)
			}
		}
		if got := e.f.loadCount(k); got != 1 {
			t.Errorf("loads = %d, want 1", got)
		}
		// No negative caching: a later request tries again.
		e.f.setGate(nil)
		delete(e.f.fail, k)
		e.use(t, k)
		if got := e.f.loadCount(k); got != 2 {
			t.Errorf("loads = %d, want 2", got)
		}
		if s := e.c.Stats(); s.Bytes != 10 || s.Reserved != 0 || s.LoadFailures != 1 {
			t.Errorf("stats %+v, want 10 bytes, nothing reserved, 1 failure", s)
		}
	})

	t.Run("ErrCallerContext", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		gate := make(chan struct{})
		e.f.setGate(gate)
		k := key("a", 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() {
			_, err := e.c.Acquire(ctx, k, 0)
			done <- err
		}()
		<-e.f.started
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Acquire = %v, want context.Canceled", err)
		}
		// The load goes on for others and succeeds.
		close(gate)
		e.use(t, k)
		if got := e.f.loadCount(k); got != 1 {
			t.Errorf("loads = %d, want 1", got)
		}
	})

	t.Run("ErrTooLarge", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		k := key("a", 1)
		e.f.size[k] = 101
		// The hint only estimates: the load is tried, measured, refused.
		if _, err := e.c.Acquire(context.Background(), k, 500); !errors.Is(err, cache.ErrTooLarge) {
			t.Errorf("Acquire = %v, want ErrTooLarge", err)
		}
		// Once measured, it is refused without another load.
		waitFor(t, "the refused model's unload", func() bool { return e.c.Stats().Unloading == 0 })
		if _, err := e.c.Acquire(context.Background(), k, 0); !errors.Is(err, cache.ErrTooLarge) {
			t.Errorf("second Acquire = %v, want ErrTooLarge", err)
		}
		if got := e.f.loadCount(k); got != 1 {
			t.Errorf("loads = %d, want 1", got)
		}
	})

	t.Run("ErrClosed", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		e.c.Close()
		if _, err := e.c.Acquire(context.Background(), key("a", 1), 0); !errors.Is(err, cache.ErrClosed) {
			t.Errorf("Acquire = %v, want ErrClosed", err)
		}
	})
}

func TestCache_Bytes(t *testing.T) {
	t.Run("EvictsLRU", func(t *testing.T) {
		e := newEnv(t, 30, nil)
		for i := range 3 {
			e.use(t, key("a", i))
			e.clock.Advance(time.Second)
		}
		e.use(t, key("a", 0)) // m1 is now the least recently used
		e.use(t, key("a", 3))
		got := e.f.unloaded()
		if len(got) != 1 || got[0].key != key("a", 1) || got[0].why != cache.ReasonEvicted {
			t.Errorf("unloads %v, want a/m1 evicted", got)
		}
		if s := e.c.Stats(); s.Bytes != 30 || s.Models != 3 {
			t.Errorf("stats %+v, want 30 bytes in 3 models", s)
		}
	})

	t.Run("MeasuredSizeMakesRoom", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		for i := range 5 {
			e.use(t, key("a", i))
		}
		k := key("a", 9)
		e.f.size[k] = 60 // estimated at 10, measures 60
		e.use(t, k)
		waitFor(t, "the evictions it caused", func() bool { return e.c.Stats().Unloading == 0 })
		if s := e.c.Stats(); s.Bytes > 100 || s.Bytes != 60+10*int64(len(e.f.resident)-1) {
			t.Errorf("stats %+v with resident %v", s, e.f.resident)
		}
		if e.f.residentSum > 100 {
			t.Errorf("worker holds %d bytes, more than 100", e.f.residentSum)
		}
		// Its next load reserves the measured size.
		e.c.Remove(k)
		if got := e.c.Stats().Bytes; got != 40 {
			t.Fatalf("bytes after remove = %d, want 40", got)
		}
		e.use(t, k)
		if got := e.f.loadCount(k); got != 2 {
			t.Errorf("loads = %d, want 2", got)
		}
	})

	t.Run("MeasuredSizeRefused", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		h, err := e.get(t, key("b", 1)) // pinned: cannot make room
		if err != nil {
			t.Fatal(err)
		}
		k := key("a", 1)
		e.f.size[k] = 95
		if _, err := e.c.Acquire(context.Background(), k, 0); !errors.Is(err, cache.ErrThrottled) && !errors.Is(err, cache.ErrNotReady) {
			t.Fatalf("Acquire = %v, want a refusal", err)
		}
		// The refusal is answered at once; the unload follows.
		waitFor(t, "the refused model's unload", func() bool { return e.c.Stats().Unloading == 0 })
		got := e.f.unloaded()
		if len(got) != 1 || got[0].key != k || got[0].why != cache.ReasonRefused {
			t.Errorf("unloads %v, want a/m1 refused", got)
		}
		if s := e.c.Stats(); s.Bytes != 10 || s.Reserved != 0 {
			t.Errorf("stats %+v, want only b/m1's 10 bytes", s)
		}
		e.put(h)
	})
}

func TestCache_References(t *testing.T) {
	t.Run("PinnedNeverEvicted", func(t *testing.T) {
		e := newEnv(t, 20, nil)
		h, err := e.get(t, key("a", 1))
		if err != nil {
			t.Fatal(err)
		}
		e.use(t, key("a", 2))
		e.clock.Advance(time.Second)
		e.use(t, key("a", 3)) // evicts m2, not the older but pinned m1
		if got := e.f.unloaded(); len(got) != 1 || got[0].key != key("a", 2) {
			t.Errorf("unloads %v, want a/m2", got)
		}
		h2, err := e.get(t, key("a", 3))
		if err != nil {
			t.Fatal(err)
		}
		// Everything pinned: refuse rather than evict.
		if _, err := e.get(t, key("a", 4)); err == nil {
			t.Fatal("a load succeeded with the whole cache pinned")
		}
		e.put(h)
		e.put(h2)
		e.use(t, key("a", 4))
	})

	t.Run("RemoveInUse", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		k := key("a", 1)
		h, err := e.get(t, k)
		if err != nil {
			t.Fatal(err)
		}
		e.c.Remove(k)
		if got := e.f.unloaded(); len(got) != 0 {
			t.Fatalf("unloaded %v while in use", got)
		}
		e.put(h)
		h.Release() // a second Release does nothing
		if got := e.f.unloaded(); len(got) != 1 || got[0].why != cache.ReasonRemoved {
			t.Errorf("unloads %v, want a/m1 removed on release", got)
		}
	})

	t.Run("RemoveTenant", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		for i := range 3 {
			e.use(t, key("a", i))
			e.use(t, key("b", i))
		}
		e.c.RemoveTenant("a")
		for _, u := range e.f.unloaded() {
			if u.key.Tenant != "a" {
				t.Errorf("removing tenant a unloaded %v", u.key)
			}
		}
		if got := e.c.Usage("a"); got != 0 {
			t.Errorf("tenant a holds %d bytes after RemoveTenant", got)
		}
		if got := e.c.Usage("b"); got != 30 {
			t.Errorf("tenant b holds %d bytes, want 30", got)
		}
	})

	t.Run("ReloadAfterEvictionIsOneLoad", func(t *testing.T) {
		e := newEnv(t, 20, nil)
		k := key("a", 1)
		e.use(t, k)
		e.use(t, key("a", 3))
		ugate := make(chan struct{})
		e.f.mu.Lock()
		e.f.unloadGate = ugate
		e.f.mu.Unlock()
		// m2 evicts m1; m1's unload hangs until the gate opens.
		done2 := make(chan error)
		go func() {
			h, err := e.c.Acquire(context.Background(), key("a", 2), 0)
			if err == nil {
				h.Release()
			}
			done2 <- err
		}()
		waitFor(t, "m1 unloading", func() bool { return e.c.Stats().Models == 1 })
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				// These wait for m1's unload, then share one reload
				// (which evicts m3).
				h, err := e.c.Acquire(context.Background(), k, 0)
				if err != nil {
					errs <- err
					return
				}
				h.Release()
			})
		}
		waitFor(t, "requests waiting for the unload", func() bool { return e.c.Waiters(k) == n })
		close(ugate)
		wg.Wait()
		if err := <-done2; err != nil {
			t.Errorf("Acquire m2: %v", err)
		}
		close(errs)
		for err := range errs {
			t.Errorf("Acquire m1 after its eviction: %v", err)
		}
		if got := e.f.loadCount(k); got != 2 {
			t.Errorf("m1 loaded %d times, want 2 (first load and one reload)", got)
		}
	})
}

func TestCache_Bounds(t *testing.T) {
	t.Run("MaxWaiters", func(t *testing.T) {
		e := newEnv(t, 100, func(c *cache.Config[string]) { c.MaxWaiters = 3 })
		gate := make(chan struct{})
		e.f.setGate(gate)
		k := key("a", 1)
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				if h, err := e.c.Acquire(context.Background(), k, 0); err == nil {
					h.Release()
				}
			})
		}
		waitFor(t, "3 waiters", func() bool { return e.c.Waiters(k) == 3 })
		if _, err := e.c.Acquire(context.Background(), k, 0); !errors.Is(err, cache.ErrNotReady) {
			t.Errorf("4th waiter: %v, want ErrNotReady", err)
		}
		close(gate)
		wg.Wait()
	})

	t.Run("MaxPending", func(t *testing.T) {
		e := newEnv(t, 100, func(c *cache.Config[string]) { c.MaxLoads, c.MaxPending = 1, 1 })
		gate := make(chan struct{})
		e.f.setGate(gate)
		done := make(chan struct{})
		go func() {
			defer close(done)
			if h, err := e.c.Acquire(context.Background(), key("a", 1), 0); err == nil {
				h.Release()
			}
		}()
		<-e.f.started
		if _, err := e.c.Acquire(context.Background(), key("a", 2), 0); !errors.Is(err, cache.ErrNotReady) {
			t.Errorf("second load beyond MaxPending: %v, want ErrNotReady", err)
		}
		close(gate)
		<-done
	})

	t.Run("MinResidency", func(t *testing.T) {
		e := newEnv(t, 20, func(c *cache.Config[string]) { c.MinResidency = time.Second })
		e.use(t, key("a", 1))
		e.use(t, key("b", 1))
		e.clock.Advance(999 * time.Millisecond)
		if _, err := e.get(t, key("c", 1)); !errors.Is(err, cache.ErrNotReady) {
			t.Fatalf("load evicting models 999ms old: %v, want ErrNotReady", err)
		}
		if got := e.f.unloaded(); len(got) != 0 {
			t.Fatalf("thrash protection evicted %v", got)
		}
		e.clock.Advance(time.Millisecond)
		e.use(t, key("c", 1))
	})

	t.Run("Sweep", func(t *testing.T) {
		e := newEnv(t, 100, func(c *cache.Config[string]) { c.IdleTimeout = time.Minute })
		e.use(t, key("a", 1))
		h, err := e.get(t, key("a", 2))
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(30 * time.Second)
		e.use(t, key("a", 3))
		e.clock.Advance(30 * time.Second)
		if got := e.c.Sweep(); got != 1 {
			t.Errorf("Sweep unloaded %d, want 1 (m1; m2 is in use, m3 recent)", got)
		}
		if got := e.f.unloaded(); len(got) != 1 || got[0].key != key("a", 1) || got[0].why != cache.ReasonIdle {
			t.Errorf("unloads %v, want a/m1 idle", got)
		}
		e.put(h)
	})
}

func TestCache_MaxLoads(t *testing.T) {
	// Two loads admitted, one runs at a time: the second starts only when
	// the first finished.
	e := newEnv(t, 100, func(c *cache.Config[string]) { c.MaxLoads, c.MaxPending = 1, 2 })
	gate := make(chan struct{})
	e.f.setGate(gate)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			if h, err := e.c.Acquire(context.Background(), key("a", i), 0); err == nil {
				h.Release()
			} else {
				t.Errorf("Acquire: %v", err)
			}
		})
	}
	first := <-e.f.started
	waitFor(t, "the second load admitted", func() bool { return e.c.Stats().Loading == 2 })
	select {
	case k := <-e.f.started:
		t.Fatalf("%v started while %v was running", k, first)
	default:
	}
	gate <- struct{}{}
	<-e.f.started
	close(gate)
	wg.Wait()
}

func TestCache_Purge(t *testing.T) {
	t.Run("Loaded", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		e.use(t, key("a", 1))
		h, err := e.get(t, key("a", 2))
		if err != nil {
			t.Fatal(err)
		}
		// The worker restarted: its models are gone without unloads.
		e.f.mu.Lock()
		clear(e.f.resident)
		e.f.mu.Unlock()
		e.c.Purge()
		if s := e.c.Stats(); s.Models != 0 || s.Bytes != 0 {
			t.Errorf("stats after purge %+v, want empty", s)
		}
		e.put(h)
		e.use(t, key("a", 1))
		if got := e.f.loadCount(key("a", 1)); got != 2 {
			t.Errorf("loads = %d, want 2", got)
		}
		if got := e.f.unloaded(); len(got) != 0 {
			t.Errorf("purge unloaded %v", got)
		}
	})

	t.Run("Loading", func(t *testing.T) {
		e := newEnv(t, 100, nil)
		gate := make(chan struct{})
		e.f.setGate(gate)
		k := key("a", 1)
		done := make(chan error)
		go func() {
			h, err := e.c.Acquire(context.Background(), k, 0)
			if err == nil {
				h.Release()
			}
			done <- err
		}()
		<-e.f.started
		e.c.Purge()
		e.f.setGate(nil)
		close(gate)
		if err := <-done; err != nil {
			t.Fatalf("Acquire across a purge: %v", err)
		}
		// The first load went to the replaced worker: unloaded as stale,
		// and the waiter loaded again.
		if got := e.f.loadCount(k); got != 2 {
			t.Errorf("loads = %d, want 2", got)
		}
		if got := e.f.unloaded(); len(got) != 1 || got[0].why != cache.ReasonStale {
			t.Errorf("unloads %v, want one stale", got)
		}
	})
}
