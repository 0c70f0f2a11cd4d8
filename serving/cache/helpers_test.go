package cache_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving/cache"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
)

type unloadRec struct {
	key cache.Key
	why cache.Reason
}

// fake is a worker: Load and Unload keep a resident set, and the test
// checks the real-memory bound and that nothing in use is unloaded.
type fake struct {
	capacity int64

	mu          sync.Mutex
	size        map[cache.Key]int64 // measured size; default 10
	loads       map[cache.Key]int
	unloads     []unloadRec
	resident    map[cache.Key]int64
	residentSum int64
	held        map[cache.Key]int
	fail        map[cache.Key]error
	gate        chan struct{} // loads wait for it when set
	unloadGate  chan struct{} // unloads wait for it when set
	started     chan cache.Key
	violations  []string
}

func newFake(capacity int64) *fake {
	return &fake{
		capacity: capacity,
		size:     map[cache.Key]int64{}, loads: map[cache.Key]int{},
		resident: map[cache.Key]int64{}, held: map[cache.Key]int{},
		fail: map[cache.Key]error{}, started: make(chan cache.Key, 1024),
	}
}

func (f *fake) load(ctx context.Context, k cache.Key) (string, int64, error) {
	f.mu.Lock()
	f.loads[k]++
	gate := f.gate
	f.mu.Unlock()
	select {
	case f.started <- k: // tests that wait for a load read it
	default:
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return "", 0, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.fail[k]; err != nil {
		return "", 0, err
	}
	n := f.size[k]
	if n == 0 {
		n = 10
	}
	if _, ok := f.resident[k]; ok {
		f.violations = append(f.violations, fmt.Sprintf("%v loaded twice", k))
	}
	f.resident[k] = n
	f.residentSum += n
	// The bound holds for what the worker really holds, except for the
	// model just loaded beyond its estimate, which the cache settles next.
	return k.Tenant + "/" + k.Model, n, nil
}

func (f *fake) unload(_ context.Context, k cache.Key, v string, why cache.Reason) {
	f.mu.Lock()
	gate := f.unloadGate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held[k] > 0 {
		f.violations = append(f.violations, fmt.Sprintf("%v unloaded while in use (%s)", k, why))
	}
	if v != k.Tenant+"/"+k.Model {
		f.violations = append(f.violations, fmt.Sprintf("%v unloaded with value %q", k, v))
	}
	f.residentSum -= f.resident[k]
	delete(f.resident, k)
	f.unloads = append(f.unloads, unloadRec{k, why})
}

func (f *fake) setGate(g chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = g
}

func (f *fake) loadCount(k cache.Key) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads[k]
}

func (f *fake) unloaded() []unloadRec {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]unloadRec(nil), f.unloads...)
}

func (f *fake) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, v := range f.violations {
		t.Error(v)
	}
}

type env struct {
	c     *cache.Cache[string]
	f     *fake
	clock *servingtest.Clock
}

// newEnv builds a cache over a fake worker; mod adjusts the config.
func newEnv(t *testing.T, capacity int64, mod func(*cache.Config[string])) *env {
	t.Helper()
	f := newFake(capacity)
	clk := servingtest.NewClock()
	cfg := cache.Config[string]{
		Capacity: capacity,
		Load:     f.load,
		Unload:   f.unload,
		Now:      clk.Now,
		// Estimates equal to the real default size keep tests exact.
		DefaultEstimate: 10,
	}
	if mod != nil {
		mod(&cfg)
	}
	e := &env{c: cache.New(cfg), f: f, clock: clk}
	t.Cleanup(func() { f.check(t) })
	return e
}

// get acquires k and registers the handle as held until release.
func (e *env) get(t *testing.T, k cache.Key) (*cache.Handle[string], error) {
	t.Helper()
	h, err := e.c.Acquire(context.Background(), k, 0)
	if err == nil {
		if got, want := h.Value(), k.Tenant+"/"+k.Model; got != want {
			t.Errorf("Value() = %q, want %q", got, want)
		}
		e.f.mu.Lock()
		e.f.held[k]++
		e.f.mu.Unlock()
	}
	return h, err
}

func (e *env) put(h *cache.Handle[string]) {
	e.f.mu.Lock()
	e.f.held[h.Key()]--
	e.f.mu.Unlock()
	h.Release()
}

// use acquires and releases k, failing the test on error.
func (e *env) use(t *testing.T, k cache.Key) {
	t.Helper()
	h, err := e.get(t, k)
	if err != nil {
		t.Fatalf("Acquire(%v): %v", k, err)
	}
	e.put(h)
}

func key(tenant string, n int) cache.Key {
	return cache.Key{Tenant: tenant, Model: fmt.Sprintf("m%d", n)}
}

// waitFor polls cond until it holds or a deadline passes: the condition is
// another goroutine's state that has no channel of its own.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
