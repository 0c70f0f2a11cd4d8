// Package cachesim replays request traces through the pool's model cache
// (serving/cache) and through an ideal byte-bounded LRU, to measure hit
// rates and fairness without workers: loads are instantaneous and time is
// a manual clock advanced per request. The cache's fairness test and the
// bench/serving program use it.
//
// A trace draws tenants from a Zipf distribution, each tenant owning one
// model, and can interleave a scanning tenant (ScanTenant) that requests
// its own models one after another, never repeating within the scan.
// Results count hits overall and for the other tenants (every tenant but
// the scanner); a request the cache refuses (ErrNotReady, ErrThrottled)
// counts as a miss and as refused.
package cachesim
