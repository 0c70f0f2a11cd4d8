package cache

// makeRoom chooses the models to evict so that need more bytes fit for
// tenant, following the policy in the package documentation; exclude is
// never chosen (a model settling its own size). It evicts nothing itself
// and returns an error when the candidates cannot free enough. Called with
// the lock held.
func (c *Cache[V]) makeRoom(tenant string, need int64, exclude *entry[V]) ([]*entry[V], error) {
	capacity := c.cfg.Capacity
	free := capacity - c.used
	if need <= free {
		return nil, nil
	}
	if need > capacity {
		return nil, ErrTooLarge
	}
	deficit := need - free
	now := c.cfg.Now()

	// Shares among the tenants holding bytes, the requester included.
	mine := c.usage[tenant]
	wMine, active := c.active[tenant]
	if !active {
		wMine = c.weight(tenant)
	}
	total := c.totalWeight
	if !active {
		total += wMine
	}
	share := func(w float64) float64 { return float64(capacity) * w / total }
	// A tenant holding nothing may always load one model; past that it is
	// over its share when the load would take it beyond.
	over := mine > 0 && float64(mine+need) > share(wMine)

	// Usage and model counts of tenants as victims are picked.
	type after struct {
		bytes  int64
		models int
	}
	picked := map[string]after{}
	state := func(t string) (int64, int) {
		a, ok := picked[t]
		if !ok {
			return c.usage[t], c.counts[t]
		}
		return a.bytes, a.models
	}
	// tier: 1 = a borrower's model (a tenant holding several models and
	// more than its share), 2 = another tenant's model, 3 = the
	// requester's own, 0 = not to be taken by this requester.
	tier := func(e *entry[V]) int {
		t := e.key.Tenant
		if t == tenant {
			return 3
		}
		u, n := state(t)
		w := c.active[t]
		if over && float64(u)/w <= float64(mine)/wMine {
			return 0 // an over-share requester takes only from larger tenants
		}
		if n > 1 && float64(u) > share(w) {
			return 1
		}
		return 2
	}
	candidate := func(e *entry[V]) bool {
		return e != exclude && e.refs == 0 && e.waiters == 0 && now.Sub(e.loadedAt) >= c.cfg.MinResidency
	}

	var victims []*entry[V]
	chosen := map[*entry[V]]bool{}
	var freed int64
	pass := func(want int) {
		for el := c.lru.Back(); el != nil && freed < deficit; el = el.Prev() {
			e := el.Value.(*entry[V])
			if chosen[e] || !candidate(e) || tier(e) != want {
				continue
			}
			chosen[e] = true
			victims = append(victims, e)
			freed += e.bytes
			u, n := state(e.key.Tenant)
			picked[e.key.Tenant] = after{u - e.bytes, n - 1}
		}
	}
	if c.hasBorrowers(share) {
		pass(1)
	}
	pass(2)
	pass(3)
	if freed >= deficit {
		return victims, nil
	}
	// Throttled only when fairness is what refuses: the unpinned, settled
	// models could make room, but not ones this tenant may take.
	var evictable int64
	for el := c.lru.Back(); el != nil && evictable < deficit; el = el.Prev() {
		if e := el.Value.(*entry[V]); candidate(e) {
			evictable += e.bytes
		}
	}
	if over && evictable >= deficit {
		c.stats.Throttled++
		return nil, ErrThrottled
	}
	c.stats.NotReady++
	return nil, ErrNotReady
}

// hasBorrowers reports whether a tenant holds several models and more than
// its share, so that the first pass is worth scanning for.
func (c *Cache[V]) hasBorrowers(share func(float64) float64) bool {
	for t := range c.multi {
		if float64(c.usage[t]) > share(c.active[t]) {
			return true
		}
	}
	return false
}

// quotaRoom chooses the tenant's own models to unload so that one more
// model of need bytes fits its Config.Limit: least recently used first,
// among its unpinned models loaded at least MinResidency ago. It evicts
// nothing itself; ErrQuota when they cannot make enough room. Called with
// the lock held.
func (c *Cache[V]) quotaRoom(tenant string, need int64) ([]*entry[V], error) {
	if c.cfg.Limit == nil {
		return nil, nil
	}
	maxModels, maxBytes := c.cfg.Limit(tenant)
	excessModels, excessBytes := 0, int64(0)
	if maxModels >= 0 {
		excessModels = c.counts[tenant] + c.loadingBy[tenant] + 1 - maxModels
	}
	if maxBytes >= 0 {
		if need > maxBytes {
			c.stats.Throttled++
			return nil, ErrQuota
		}
		excessBytes = c.usage[tenant] + need - maxBytes
	}
	if excessModels <= 0 && excessBytes <= 0 {
		return nil, nil
	}
	now := c.cfg.Now()
	var own []*entry[V]
	for el := c.lru.Back(); el != nil && (excessModels > 0 || excessBytes > 0); el = el.Prev() {
		e := el.Value.(*entry[V])
		if e.key.Tenant != tenant || e.refs > 0 || e.waiters > 0 || now.Sub(e.loadedAt) < c.cfg.MinResidency {
			continue
		}
		own = append(own, e)
		excessModels--
		excessBytes -= e.bytes
	}
	if excessModels > 0 || excessBytes > 0 {
		c.stats.Throttled++
		return nil, ErrQuota
	}
	return own, nil
}
