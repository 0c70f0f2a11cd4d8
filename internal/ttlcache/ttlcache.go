// Package ttlcache is the bounded, expiring, invalidatable map that the
// request path's caches of store reads are built on (a role's session
// revocation time, a tenant's status, a resolved access key, an audit data
// key).
//
// Its contract:
//
//   - an entry is served for at most TTL after it was put: the TTL bounds
//     how long a write made by another process sharing the store goes
//     unseen;
//   - at most Max entries are held (an expired entry, else an arbitrary
//     one, makes room);
//   - Invalidate drops every entry at once: call it after any write,
//     through this process, that may change a cached value;
//   - a value read from the store is put with the generation read before
//     the read (Gen), and dropped when an Invalidate came in between, so a
//     value read before a write is never cached after it.
//
// The key must identify everything the value depends on — for a tenant's
// state, the tenant (and account): the cache never answers one key's
// lookup with another key's value. A nil *Cache is a disabled cache.
package ttlcache

import (
	"sync"
	"time"
)

// Cache is a bounded map from K to V whose entries expire; see the package
// documentation. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu  sync.Mutex
	gen uint64
	m   map[K]entry[V]
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a cache of at most max entries, each served for at most ttl,
// on the clock now (time.Now when nil). It returns nil, a disabled cache,
// when ttl or max is not positive.
func New[K comparable, V any](ttl time.Duration, max int, now func() time.Time) *Cache[K, V] {
	if ttl <= 0 || max <= 0 {
		return nil
	}
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{ttl: ttl, max: max, now: now, m: map[K]entry[V]{}}
}

// Get returns k's value if it was put less than TTL ago and not
// invalidated since.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return zero, false
	}
	if age := now.Sub(e.at); age >= c.ttl || age < 0 {
		delete(c.m, k)
		return zero, false
	}
	return e.v, true
}

// Gen returns the invalidation generation: read it before reading the
// value that will be put.
func (c *Cache[K, V]) Gen() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Put caches v under k, unless the cache was invalidated since gen was
// read (then v may predate a write, and is dropped).
func (c *Cache[K, V]) Put(k K, v V, gen uint64) {
	if c == nil {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		c.makeRoom(now)
	}
	c.m[k] = entry[V]{v: v, at: now}
}

// makeRoom drops the expired entries, or one entry when none is; c.mu is
// held.
func (c *Cache[K, V]) makeRoom(now time.Time) {
	for k, e := range c.m {
		if now.Sub(e.at) >= c.ttl {
			delete(c.m, k)
		}
	}
	for k := range c.m {
		if len(c.m) < c.max {
			return
		}
		delete(c.m, k)
	}
}

// Delete drops k's entry.
func (c *Cache[K, V]) Delete(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, k)
}

// Invalidate drops every entry, and every value read before it that is
// not put yet.
func (c *Cache[K, V]) Invalidate() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// Len returns the number of entries held (expired ones included until
// they are looked up or make room).
func (c *Cache[K, V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
