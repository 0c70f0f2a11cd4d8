package cache

// Waiters returns the requests waiting for k's load or unload.
func (c *Cache[V]) Waiters(k Key) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.entries[k]; e != nil {
		return e.waiters
	}
	return 0
}
