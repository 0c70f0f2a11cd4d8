package cache

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Key names a model of a tenant.
type Key struct {
	Tenant string
	Model  string
}

// Reason says why a model is unloaded.
type Reason string

// Unload reasons.
const (
	// ReasonEvicted: room was needed for another model.
	ReasonEvicted Reason = "evicted"
	// ReasonIdle: unused for longer than Config.IdleTimeout.
	ReasonIdle Reason = "idle"
	// ReasonRemoved: Remove or RemoveTenant asked for it.
	ReasonRemoved Reason = "removed"
	// ReasonRefused: loaded, but its measured size did not fit.
	ReasonRefused Reason = "refused"
	// ReasonStale: loaded into a worker that was replaced meanwhile.
	ReasonStale Reason = "stale"
)

// Errors of Acquire.
var (
	// ErrNotReady: the model cannot be loaded now (the capacity is pinned
	// or too recently loaded, or too many requests or loads wait).
	ErrNotReady = errors.New("model not ready")
	// ErrThrottled: the tenant's models do not fit its share.
	ErrThrottled = errors.New("tenant over its cache share")
	// ErrTooLarge: the model is larger than the whole cache.
	ErrTooLarge = errors.New("model larger than the cache")
	// ErrClosed: the cache is closed.
	ErrClosed = errors.New("cache closed")
	// ErrQuota: the tenant holds its limit of models or bytes
	// (Config.Limit) and none of its own models can make room now.
	ErrQuota = errors.New("tenant at its loaded-model quota")
)

// Observer receives the cache's figures. Its methods are called with the
// cache's lock held: they must be quick and must not call the cache.
type Observer interface {
	// Hit is called once per successful Acquire: true when the model was
	// loaded already, false when the request waited for a load.
	Hit(hit bool)
	// Waited is the time a request that missed waited for the load.
	Waited(d time.Duration)
	// Count is the number of loaded models, after every change.
	Count(n int)
}

// Config configures a Cache. Zero fields take the defaults New documents.
type Config[V any] struct {
	// Capacity is the bytes the cache may hold. Required.
	Capacity int64
	// Load loads a model and returns it with its measured size in bytes
	// (0: keep the estimate). It runs in its own goroutine with a context
	// bounded by LoadTimeout, not tied to any one request. Required.
	Load func(ctx context.Context, k Key) (V, int64, error)
	// Unload unloads a model. Errors are the Unload function's to report:
	// the cache considers the model gone. Required.
	Unload func(ctx context.Context, k Key, v V, why Reason)
	// Weight is a tenant's share weight (e.g. from its tier); default 1
	// for every tenant. Values <= 0 count as 1.
	Weight func(tenant string) float64
	// Limit, when set, caps what one tenant holds (loaded and loading):
	// models and bytes, a negative value meaning no cap. A tenant at its
	// cap recycles its own least recently used models to load another;
	// when they are pinned or too recently loaded, Acquire fails with
	// ErrQuota. It is called with the cache's lock held: it must be quick.
	Limit func(tenant string) (models int, bytes int64)
	// MinResidency protects a model from eviction for this long after its
	// load (thrash protection); default 0.
	MinResidency time.Duration
	// IdleTimeout is how long an unused model stays before Sweep unloads
	// it; 0 disables idle unloading.
	IdleTimeout time.Duration
	// DefaultEstimate is the reservation for a model never loaded before
	// when Acquire gets no hint; default 1 MiB.
	DefaultEstimate int64
	// MaxWaiters caps the requests waiting for one model; default 256.
	MaxWaiters int
	// MaxLoads caps the loads that run at once, default 4; MaxPending the
	// loads admitted in all, running or waiting for a turn, default 64.
	MaxLoads   int
	MaxPending int
	// LoadTimeout and UnloadTimeout bound Load and Unload; defaults 2 min
	// and 30 s.
	LoadTimeout   time.Duration
	UnloadTimeout time.Duration
	// MaxSizes caps the remembered sizes of models not loaded (the
	// estimates of reloads); default 1,000,000 (about 100 bytes each).
	MaxSizes int
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Observer receives hit, wait and count figures; optional.
	Observer Observer
}

type state uint8

const (
	loading state = iota
	ready
	unloading
	gone
)

type entry[V any] struct {
	key      Key
	st       state
	value    V
	bytes    int64 // reserved while loading, measured once ready
	refs     int
	waiters  int
	loadedAt time.Time
	lastUsed time.Time
	done     chan struct{} // closed when the current load or unload ends
	err      error         // the failed load's error
	elem     *list.Element // position in the LRU list while ready
	stale    bool          // dropped from the accounting; never unloaded by the cache
	remove   bool          // unload on the last Release
}

// Stats are the cache's counters and current figures.
type Stats struct {
	Hits, Misses           uint64
	Loads, LoadFailures    uint64
	Evictions, IdleUnloads uint64
	Removals               uint64
	NotReady, Throttled    uint64
	// Models and Bytes are the loaded models and their bytes; Reserved the
	// bytes reserved by loads in progress; Unloading the bytes of models
	// being unloaded.
	Models    int
	Bytes     int64
	Reserved  int64
	Unloading int64
	Loading   int
	// Waiting is the number of requests waiting for a load or unload.
	Waiting int
}

// Cache is a byte-bounded, tenant-fair model cache. It is safe for
// concurrent use.
type Cache[V any] struct {
	cfg Config[V]

	mu      sync.Mutex
	cond    *sync.Cond // signalled when bytes become physically free
	entries map[Key]*entry[V]
	lru     *list.List // ready entries, most recently used at the front
	usage   map[string]int64
	used    int64 // ready + reserved bytes: what admission counts
	// active holds the weight of every tenant holding bytes (read when it
	// became active) and totalWeight their sum; counts the ready models
	// per tenant and multi the tenants with several.
	active      map[string]float64
	totalWeight float64
	counts      map[string]int
	multi       map[string]struct{}
	// What the worker physically holds: ready models, models being
	// unloaded, and loads that started.
	ready     int64
	unloading int64
	started   int64
	reserved  int64
	waiting   int            // requests waiting for a load or unload
	loading   int            // admitted loads
	loadingBy map[string]int // admitted loads per tenant
	running   int            // loads started
	models    int
	sizes     map[Key]int64
	stats     Stats
	closed    bool
}

// New returns a cache with cfg's defaults filled in.
func New[V any](cfg Config[V]) *Cache[V] {
	if cfg.Weight == nil {
		cfg.Weight = func(string) float64 { return 1 }
	}
	if cfg.DefaultEstimate <= 0 {
		cfg.DefaultEstimate = 1 << 20
	}
	if cfg.MaxWaiters <= 0 {
		cfg.MaxWaiters = 256
	}
	if cfg.MaxLoads <= 0 {
		cfg.MaxLoads = 4
	}
	if cfg.MaxPending < cfg.MaxLoads {
		cfg.MaxPending = max(64, cfg.MaxLoads)
	}
	if cfg.LoadTimeout <= 0 {
		cfg.LoadTimeout = 2 * time.Minute
	}
	if cfg.UnloadTimeout <= 0 {
		cfg.UnloadTimeout = 30 * time.Second
	}
	if cfg.MaxSizes <= 0 {
		cfg.MaxSizes = 1000000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Cache[V]{
		cfg:       cfg,
		entries:   map[Key]*entry[V]{},
		lru:       list.New(),
		usage:     map[string]int64{},
		sizes:     map[Key]int64{},
		active:    map[string]float64{},
		counts:    map[string]int{},
		multi:     map[string]struct{}{},
		loadingBy: map[string]int{},
	}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Handle pins a loaded model until Release.
type Handle[V any] struct {
	c        *Cache[V]
	e        *entry[V]
	released atomic.Bool
}

// Value returns the loaded model.
func (h *Handle[V]) Value() V { return h.e.value }

// Key returns the model's key.
func (h *Handle[V]) Key() Key { return h.e.key }

// Bytes returns the model's measured size (fixed while it is loaded).
func (h *Handle[V]) Bytes() int64 { return h.e.bytes }

// Release unpins the model; calling it again does nothing.
func (h *Handle[V]) Release() {
	if h.released.Swap(true) {
		return
	}
	h.c.release(h.e)
}

func (c *Cache[V]) weight(t string) float64 {
	if w := c.cfg.Weight(t); w > 0 {
		return w
	}
	return 1
}

func (c *Cache[V]) addUsage(t string, n int64) {
	c.used += n
	old := c.usage[t]
	u := old + n
	if u != 0 {
		c.usage[t] = u
	} else {
		delete(c.usage, t)
	}
	switch {
	case old <= 0 && u > 0:
		w := c.weight(t)
		c.active[t] = w
		c.totalWeight += w
	case old > 0 && u <= 0:
		c.totalWeight -= c.active[t]
		delete(c.active, t)
		if len(c.active) == 0 {
			c.totalWeight = 0 // no drift from float rounding
		}
	}
}

// addModels counts a tenant's ready models.
func (c *Cache[V]) addModels(t string, n int) {
	m := c.counts[t] + n
	if m > 0 {
		c.counts[t] = m
	} else {
		delete(c.counts, t)
	}
	if m > 1 {
		c.multi[t] = struct{}{}
	} else {
		delete(c.multi, t)
	}
}

func (c *Cache[V]) countChanged() {
	if c.cfg.Observer != nil {
		c.cfg.Observer.Count(c.models)
	}
}

// Acquire returns a handle on k's model, loading it first if needed (see
// the package contract). hint estimates the model's size in bytes for its
// first load (e.g. the artifact's size); 0 means unknown. ctx bounds only
// this caller's wait: a load it started goes on for the others.
func (c *Cache[V]) Acquire(ctx context.Context, k Key, hint int64) (*Handle[V], error) {
	return c.acquire(ctx, k, hint, true)
}

// Preload loads k's model if it is not loaded, as Acquire would, and
// returns once it is loaded; it is not an invocation, so it counts as
// neither a hit nor a miss. The model is not pinned afterwards.
func (c *Cache[V]) Preload(ctx context.Context, k Key, hint int64) error {
	h, err := c.acquire(ctx, k, hint, false)
	if err != nil {
		return err
	}
	h.Release()
	return nil
}

// acquire is Acquire; observe says whether the hit or miss is counted.
func (c *Cache[V]) acquire(ctx context.Context, k Key, hint int64, observe bool) (*Handle[V], error) {
	start := c.cfg.Now()
	waited := false
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		e := c.entries[k]
		if e == nil {
			var victims []*entry[V]
			var err error
			e, victims, err = c.admit(k, hint)
			if err != nil {
				c.mu.Unlock()
				return nil, err
			}
			// The load goes on for every waiter whatever this caller does;
			// it keeps only the caller's trace, so that its span nests there.
			go c.load(trace.ContextWithSpanContext(context.Background(), trace.SpanContextFromContext(ctx)), e, victims)
		}
		if e.st == ready {
			e.refs++
			e.lastUsed = c.cfg.Now()
			c.lru.MoveToFront(e.elem)
			if observe {
				c.hit(!waited, start)
			}
			c.mu.Unlock()
			return &Handle[V]{c: c, e: e}, nil
		}
		if e.waiters >= c.cfg.MaxWaiters {
			c.stats.NotReady++
			c.mu.Unlock()
			return nil, ErrNotReady
		}
		e.waiters++
		c.waiting++
		done := e.done
		c.mu.Unlock()
		waited = true
		h, err := c.wait(ctx, e, done, start, observe)
		if h != nil || err != nil {
			return h, err
		}
	}
}

// hit records one successful Acquire.
func (c *Cache[V]) hit(hit bool, start time.Time) {
	if hit {
		c.stats.Hits++
	} else {
		c.stats.Misses++
	}
	if o := c.cfg.Observer; o != nil {
		o.Hit(hit)
		if !hit {
			o.Waited(c.cfg.Now().Sub(start))
		}
	}
}

// wait waits for e's load or unload. It returns a handle when the load
// succeeded, the load's error when it failed, and neither when the caller
// must look again (the model was unloaded or dropped).
func (c *Cache[V]) wait(ctx context.Context, e *entry[V], done <-chan struct{}, start time.Time, observe bool) (*Handle[V], error) {
	select {
	case <-done:
	case <-ctx.Done():
		c.mu.Lock()
		e.waiters--
		c.waiting--
		c.mu.Unlock()
		return nil, ctx.Err()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e.waiters--
	c.waiting--
	switch {
	case e.err != nil:
		return nil, e.err
	case e.st == ready && !e.stale:
		// Taken under the same lock as the load's completion observed
		// the waiter: the model cannot be evicted in between.
		e.refs++
		e.lastUsed = c.cfg.Now()
		c.lru.MoveToFront(e.elem)
		if observe {
			c.hit(false, start)
		}
		return &Handle[V]{c: c, e: e}, nil
	}
	return nil, nil
}

// admit reserves room for k's load, choosing the models to evict, and
// registers the loading entry. Called with the lock held.
func (c *Cache[V]) admit(k Key, hint int64) (*entry[V], []*entry[V], error) {
	est, measured := c.sizes[k]
	switch {
	case measured && est > c.cfg.Capacity:
		return nil, nil, ErrTooLarge
	case !measured && hint > 0:
		est = hint
	case !measured:
		est = c.cfg.DefaultEstimate
	}
	// An estimate only reserves; the measured size decides.
	est = min(est, c.cfg.Capacity)
	if c.loading >= c.cfg.MaxPending {
		c.stats.NotReady++
		return nil, nil, ErrNotReady
	}
	own, err := c.quotaRoom(k.Tenant, est)
	if err != nil {
		return nil, nil, err
	}
	for _, v := range own {
		c.beginUnload(v)
		c.stats.Evictions++
	}
	victims, err := c.makeRoom(k.Tenant, est, nil)
	if err != nil {
		if len(own) > 0 {
			go func() {
				for _, v := range own {
					c.runUnload(v, ReasonEvicted)
				}
			}()
		}
		return nil, nil, err
	}
	for _, v := range victims {
		c.beginUnload(v)
		c.stats.Evictions++
	}
	victims = append(own, victims...)
	e := &entry[V]{key: k, st: loading, bytes: est, done: make(chan struct{})}
	c.entries[k] = e
	c.addUsage(k.Tenant, est)
	c.loading++
	c.loadingBy[k.Tenant]++
	c.reserved += est
	return e, victims, nil
}

// load unloads the victims, waits until the worker physically has room
// (bytes freed elsewhere may still be unloading), loads e, then settles its
// measured size: kept, or unloaded when it was purged meanwhile (stale) or
// does not fit (refused).
func (c *Cache[V]) load(base context.Context, e *entry[V], victims []*entry[V]) {
	for _, v := range victims {
		c.runUnload(v, ReasonEvicted)
	}
	c.mu.Lock()
	for c.running >= c.cfg.MaxLoads || (!e.stale && c.ready+c.unloading+c.started+e.bytes > c.cfg.Capacity) {
		c.cond.Wait()
	}
	started := e.bytes
	c.started += started
	c.running++
	c.mu.Unlock()

	ctx, cancel := context.WithTimeout(base, c.cfg.LoadTimeout)
	val, size, loadErr := c.cfg.Load(ctx, e.key)
	cancel()

	c.mu.Lock()
	done := e.done // replaced below when the model is unloaded at once
	c.started -= started
	c.running--
	c.loading--
	if c.loadingBy[e.key.Tenant]--; c.loadingBy[e.key.Tenant] <= 0 {
		delete(c.loadingBy, e.key.Tenant)
	}
	if !e.stale {
		c.reserved -= e.bytes
		c.addUsage(e.key.Tenant, -e.bytes)
	}
	if loadErr == nil && size <= 0 {
		size = e.bytes
	}
	var (
		drop    []*entry[V] // victims of a larger-than-estimated model
		err     = loadErr
		keep    = loadErr == nil && !e.stale
		why     = ReasonStale
		removed bool
	)
	if keep && size > c.cfg.Capacity {
		c.remember(e.key, size) // later requests fail at once
		err, keep, why = ErrTooLarge, false, ReasonRefused
	}
	if keep && size > e.bytes {
		// Settle the difference as a new admission would.
		c.addUsage(e.key.Tenant, e.bytes)
		var rerr error
		drop, rerr = c.makeRoom(e.key.Tenant, size-e.bytes, e)
		c.addUsage(e.key.Tenant, -e.bytes)
		if rerr != nil {
			err, keep, why, drop = rerr, false, ReasonRefused, nil
		}
	}
	switch {
	case keep:
		for _, v := range drop {
			c.beginUnload(v)
			c.stats.Evictions++
		}
		c.addUsage(e.key.Tenant, size)
		c.ready += size
		e.bytes, e.value, e.st = size, val, ready
		now := c.cfg.Now()
		e.loadedAt, e.lastUsed = now, now
		e.elem = c.lru.PushFront(e)
		c.remember(e.key, size)
		c.stats.Loads++
		c.models++
		c.addModels(e.key.Tenant, 1)
		c.countChanged()
		if e.remove && e.waiters == 0 {
			// Removed while loading and nobody waits for it.
			c.beginUnload(e)
			c.stats.Removals++
			removed = true
		}
	case loadErr != nil:
		c.stats.LoadFailures++
		if c.entries[e.key] == e {
			delete(c.entries, e.key)
		}
		e.err, e.st = err, gone
	default:
		// Loaded but not kept: unload it before anyone loads it again.
		// The entry stays in the map, unloading, so requests wait.
		e.err, e.value, e.bytes = err, val, size
		e.st, e.done = unloading, make(chan struct{})
		c.unloading += size
	}
	close(done)
	c.cond.Broadcast()
	c.mu.Unlock()
	if !keep && loadErr == nil {
		c.runUnload(e, why)
	}
	for _, v := range drop {
		c.runUnload(v, ReasonEvicted)
	}
	if removed {
		c.runUnload(e, ReasonRemoved)
	}
}

// remember records a model's measured size, the estimate of its reloads.
func (c *Cache[V]) remember(k Key, size int64) {
	if _, ok := c.sizes[k]; !ok && len(c.sizes) >= c.cfg.MaxSizes {
		clear(c.sizes)
	}
	c.sizes[k] = size
}

// beginUnload takes a ready entry out of the accounting; the entry stays
// in the map (state unloading) so that requests for it wait for the unload
// and then share one reload. Called with the lock held.
func (c *Cache[V]) beginUnload(e *entry[V]) {
	e.st = unloading
	e.done = make(chan struct{})
	c.lru.Remove(e.elem)
	e.elem = nil
	c.addUsage(e.key.Tenant, -e.bytes)
	c.ready -= e.bytes
	c.unloading += e.bytes
	c.models--
	c.addModels(e.key.Tenant, -1)
	c.countChanged()
}

// runUnload unloads an entry begun by beginUnload and wakes its waiters.
func (c *Cache[V]) runUnload(e *entry[V], why Reason) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.UnloadTimeout)
	c.cfg.Unload(ctx, e.key, e.value, why)
	cancel()
	c.mu.Lock()
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	e.st = gone
	c.unloading -= e.bytes
	close(e.done)
	c.cond.Broadcast()
	c.mu.Unlock()
}

func (c *Cache[V]) release(e *entry[V]) {
	c.mu.Lock()
	e.refs--
	e.lastUsed = c.cfg.Now()
	unload := e.refs == 0 && e.remove && e.st == ready && !e.stale
	if unload {
		c.beginUnload(e)
		c.stats.Removals++
	}
	c.mu.Unlock()
	if unload {
		c.runUnload(e, ReasonRemoved)
	}
}

// drop takes an entry out of the accounting without unloading it: its
// worker is gone. A ready entry leaves the map at once; a loading one stays,
// so that its result, which may have reached a new worker, is unloaded
// before anyone loads the model again. Called with the lock held.
func (c *Cache[V]) drop(e *entry[V]) {
	if e.stale || (e.st != ready && e.st != loading) {
		return
	}
	e.stale = true
	c.addUsage(e.key.Tenant, -e.bytes)
	if e.st == loading {
		c.reserved -= e.bytes
		return
	}
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	c.lru.Remove(e.elem)
	e.elem = nil
	c.ready -= e.bytes
	c.models--
	c.addModels(e.key.Tenant, -1)
	c.countChanged()
	c.cond.Broadcast()
}

// Invalidate drops h's model from the cache without unloading it: its
// worker no longer holds it (e.g. the worker restarted). The next Acquire
// loads it again. h stays valid until Release.
func (c *Cache[V]) Invalidate(h *Handle[V]) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(h.e)
}

// Purge drops every model without unloading it: the worker holding them
// was replaced. Loads in progress finish, are unloaded, and their waiters
// load again.
func (c *Cache[V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		c.drop(e)
	}
}

// Remove unloads k's model now, or on its last Release when it is in use
// or loading.
func (c *Cache[V]) Remove(k Key) {
	c.removeIf(func(e *entry[V]) bool { return e.key == k })
}

// RemoveTenant removes every model of tenant, as Remove does.
func (c *Cache[V]) RemoveTenant(tenant string) {
	c.removeIf(func(e *entry[V]) bool { return e.key.Tenant == tenant })
}

func (c *Cache[V]) removeIf(match func(*entry[V]) bool) {
	var now []*entry[V]
	c.mu.Lock()
	for _, e := range c.entries {
		if !match(e) || (e.st != ready && e.st != loading) {
			continue
		}
		if e.st == ready && e.refs == 0 && e.waiters == 0 {
			c.beginUnload(e)
			c.stats.Removals++
			now = append(now, e)
			continue
		}
		e.remove = true
	}
	c.mu.Unlock()
	for _, e := range now {
		c.runUnload(e, ReasonRemoved)
	}
}

// Sweep unloads the models unused for Config.IdleTimeout and returns how
// many it unloaded.
func (c *Cache[V]) Sweep() int {
	if c.cfg.IdleTimeout <= 0 {
		return 0
	}
	var idle []*entry[V]
	c.mu.Lock()
	now := c.cfg.Now()
	for el := c.lru.Back(); el != nil; {
		e := el.Value.(*entry[V])
		el = el.Prev()
		if now.Sub(e.lastUsed) < c.cfg.IdleTimeout {
			break // the rest were used more recently
		}
		if e.refs > 0 || e.waiters > 0 {
			continue
		}
		c.beginUnload(e)
		c.stats.IdleUnloads++
		idle = append(idle, e)
	}
	c.mu.Unlock()
	for _, e := range idle {
		c.runUnload(e, ReasonIdle)
	}
	return len(idle)
}

// Stats returns the counters and current figures.
func (c *Cache[V]) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Models, s.Loading, s.Waiting = c.models, c.loading, c.waiting
	s.Bytes, s.Reserved, s.Unloading = c.ready, c.reserved, c.unloading
	return s
}

// Status is a model's state in the cache.
type Status uint8

// Model states.
const (
	// Absent: the cache neither holds nor loads the model.
	Absent Status = iota
	// Loading: a load is admitted or running.
	Loading
	// Loaded: the model is loaded; an Acquire returns without a load.
	Loaded
	// Unloading: an unload is running; an Acquire waits for it, then loads.
	Unloading
)

// statusOf maps an entry's state. Called with the lock held.
func statusOf[V any](e *entry[V]) Status {
	switch {
	case e == nil || e.stale || e.st == gone:
		return Absent
	case e.st == loading:
		return Loading
	case e.st == ready:
		return Loaded
	}
	return Unloading
}

// Status returns k's model's state.
func (c *Cache[V]) Status(k Key) Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return statusOf(c.entries[k])
}

// Entry is one model of Entries.
type Entry struct {
	Key    Key
	Status Status
	// Bytes is the model's measured size, or its reservation while it
	// loads.
	Bytes int64
}

// Entries lists the models the cache holds, loads or unloads, in no
// particular order.
func (c *Cache[V]) Entries() []Entry {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]Entry, 0, len(c.entries))
	for k, e := range c.entries {
		if st := statusOf(e); st != Absent {
			out = append(out, Entry{Key: k, Status: st, Bytes: e.bytes})
		}
	}
	return out
}

// Usage returns the bytes tenant holds (loaded and reserved).
func (c *Cache[V]) Usage(tenant string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.usage[tenant]
}

// Close makes every later Acquire fail with ErrClosed. Loaded models stay
// loaded: the worker holding them is stopped by its owner.
func (c *Cache[V]) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
}

// Usages returns the bytes every tenant holds (loaded and reserved), for
// metering; tenants holding nothing are absent.
func (c *Cache[V]) Usages() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.usage))
	for t, u := range c.usage {
		out[t] = u
	}
	return out
}
