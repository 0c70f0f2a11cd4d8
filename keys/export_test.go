package keys

// CachedPrimitives returns the number of keyset primitives s caches for key
// id of tenant, or for every key of tenant when id is empty.
func CachedPrimitives(s *Service, tenant, id string) int {
	return s.cache.count(keyRef{tenant, id})
}

// CacheLen returns the number of keyset primitives s caches.
func CacheLen(s *Service) int { return s.cache.len() }
