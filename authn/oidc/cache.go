package oidc

import (
	"fmt"
	"sync"
	"time"
)

// Cache keeps one Verifier per registered provider, so that discovery
// documents and keys are fetched once per provider, not per token; a
// provider registered again (another creation time) gets a new one. It is
// safe for concurrent use.
type Cache struct {
	// Options configures every Verifier the cache creates.
	Options Options

	mu sync.Mutex
	m  map[string]cached
}

type cached struct {
	created time.Time
	v       *Verifier
}

// Verifier returns the cached verifier of the provider key (its ARN)
// created at created, creating it from cfg when absent or stale.
func (c *Cache) Verifier(key string, created time.Time, cfg ProviderConfig) (*Verifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && e.created.Equal(created) {
		return e.v, nil
	}
	v, err := NewVerifier(cfg, c.Options)
	if err != nil {
		return nil, fmt.Errorf("oidc provider %s: %w", key, err)
	}
	if c.m == nil {
		c.m = map[string]cached{}
	}
	c.m[key] = cached{created: created, v: v}
	return v, nil
}
