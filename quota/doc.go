// Package quota is tenantml's admission domain: service tiers and their
// per-tenant overrides, the limits they resolve to, and the pure decisions
// that enforce them.
//
// # Tiers and overrides
//
// A Tier names default Limits (invocation rate and burst, concurrent
// invocations, loaded models and their bytes in pool memory, stored object
// bytes, endpoint and model counts, management-API rate and burst) and a
// fair-share Weight. A tenant's tier is tenant.Tenant.Tier; a tenant may
// carry Overrides. Effective limits are the tier's, each field replaced by
// the override when one is set; Unlimited (-1) lifts a limit, and a field
// left unset in a tier is unlimited. A tenant whose tier names no defined
// tier gets the default tier's limits (DefaultTier), so an unknown tier
// never means "no limits".
//
// # Decisions
//
// Every decision is a pure function of its inputs and the time passed in:
// GCRA (the generic cell rate algorithm, as redis_rate computes it) for
// rates with bursts, counters for in-flight invocations, and comparisons
// for counted resources. Nothing here reads a clock, a store or the
// network: the Service takes its clock and Store, the RateLimiter
// implementations (Local here, quota/redisrate for Redis) take theirs.
//
// # Seams
//
// Domain packages never import quota. Each names the small interface it
// needs — serving.ResourceQuota (endpoint and model counts, checked by the
// control plane), artifact.StorageQuota (stored bytes, checked at each
// write's commit point), the pool's per-tenant model limits and weights
// (serving/pool.Config) — and cmd/tenantml adapts the Service to them.
// Rates and concurrency are checked once per request by the API pipeline's
// admission stage (api.Admitter), also adapted in cmd/tenantml.
package quota
