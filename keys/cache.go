package keys

import (
	"container/list"
	"crypto/sha256"
	"sync"

	"github.com/tink-crypto/tink-go/v2/tink"
)

// DefaultKeysetCacheSize is the number of built keyset primitives a Service
// keeps when Config.KeysetCacheSize is 0.
const DefaultKeysetCacheSize = 1024

// keyRef names one key of one tenant in the cache.
type keyRef struct{ tenant, id string }

// cacheEntry is one built primitive, cached under its tenant, key ID and the
// SHA-256 of the exact wrapped keyset it was built from.
type cacheEntry struct {
	ref    keyRef
	digest [sha256.Size]byte
	aead   tink.AEAD
}

// primitiveCache is a bounded LRU map from (tenant, key ID, SHA-256 of the
// wrapped keyset) to the AEAD primitive built from that keyset. It saves the
// KEK unwrap (a remote call with an external KMS), the keyset parse and the
// primitive construction; it never answers whether a key may be used — the
// caller reads the key record and checks its state on every call, and looks
// the primitive up by the digest of the wrapped keyset in that record, so a
// rotated, rewrapped or replaced keyset misses.
//
// It is written here rather than imported because go.mod has no LRU library
// and the needs are small: a lookup by (tenant, key ID) to evict a destroyed
// key, by tenant to evict an erased tenant, and an epoch so a primitive built
// from a record read before an eviction is not cached after it.
//
// A nil *primitiveCache is a disabled cache: lookups miss, puts are dropped.
type primitiveCache struct {
	mu    sync.Mutex
	max   int
	epoch uint64     // incremented by every eviction of a key or tenant
	order *list.List // of *cacheEntry, most recently used first
	byRef map[keyRef]map[[sha256.Size]byte]*list.Element
}

// newPrimitiveCache returns a cache of at most size entries: 0 means
// DefaultKeysetCacheSize, a negative size disables caching (nil).
func newPrimitiveCache(size int) *primitiveCache {
	switch {
	case size < 0:
		return nil
	case size == 0:
		size = DefaultKeysetCacheSize
	}
	return &primitiveCache{max: size, order: list.New(), byRef: map[keyRef]map[[sha256.Size]byte]*list.Element{}}
}

// currentEpoch returns the eviction epoch; read it before reading the key
// record whose primitive may be put.
func (c *primitiveCache) currentEpoch() uint64 {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

// get returns the primitive built from wrapped keyset digest d of key ref.
func (c *primitiveCache) get(ref keyRef, d [sha256.Size]byte) (tink.AEAD, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byRef[ref][d]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).aead, true
}

// put caches a primitive built from a record read at epoch. It is dropped
// if a key or tenant was evicted since: the record may be one destroyed
// meanwhile, and its material must not outlive the eviction.
func (c *primitiveCache) put(ref keyRef, d [sha256.Size]byte, a tink.AEAD, epoch uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch != c.epoch {
		return
	}
	if e, ok := c.byRef[ref][d]; ok {
		c.order.MoveToFront(e)
		return
	}
	for c.order.Len() >= c.max {
		c.remove(c.order.Back())
	}
	m := c.byRef[ref]
	if m == nil {
		m = map[[sha256.Size]byte]*list.Element{}
		c.byRef[ref] = m
	}
	m[d] = c.order.PushFront(&cacheEntry{ref: ref, digest: d, aead: a})
}

// remove unlinks e; c.mu must be held.
func (c *primitiveCache) remove(e *list.Element) {
	ce := c.order.Remove(e).(*cacheEntry)
	m := c.byRef[ce.ref]
	delete(m, ce.digest)
	if len(m) == 0 {
		delete(c.byRef, ce.ref)
	}
	ce.aead = nil
}

// dropKey evicts every primitive of one key, whatever its keyset digest.
func (c *primitiveCache) dropKey(ref keyRef) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, e := range c.byRef[ref] {
		c.remove(e)
	}
}

// forget evicts every primitive of one key without advancing the epoch:
// for a key found missing from the store (destroyed by another process),
// where in-flight puts need not be refused and a tenant's lookups of
// missing keys must not keep other tenants' primitives from being cached.
func (c *primitiveCache) forget(ref keyRef) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byRef[ref] {
		c.remove(e)
	}
}

// dropTenant evicts every primitive of tenant's keys.
func (c *primitiveCache) dropTenant(tenant string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for ref, m := range c.byRef {
		if ref.tenant != tenant {
			continue
		}
		for _, e := range m {
			c.remove(e)
		}
	}
}

// count returns the number of cached primitives of key ref, or of every key
// of ref.tenant when ref.id is empty (for tests).
func (c *primitiveCache) count(ref keyRef) int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for r, m := range c.byRef {
		if r.tenant == ref.tenant && (ref.id == "" || r.id == ref.id) {
			n += len(m)
		}
	}
	return n
}

// len returns the number of cached primitives.
func (c *primitiveCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
