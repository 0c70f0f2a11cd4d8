// Package cache is the pool's model cache: which tenants' models a
// multi-model worker holds, bounded by the bytes they occupy, shared fairly
// between tenants. It is pure: it calls the Load and Unload functions it is
// given and does no I/O of its own; time comes from Config.Now.
//
// # Contract
//
//   - Bytes: the cache holds at most Config.Capacity bytes, counting each
//     loaded model's measured size (what Load returns: the worker's
//     runtime.Info.MemoryBytes) and each load in progress at its estimate
//     (the model's last measured size, else Acquire's hint, else
//     Config.DefaultEstimate). A load starts only after the models it
//     evicts are unloaded, so the models resident in the worker never
//     exceed the capacity. A model whose measured size needs more room than
//     its estimate makes room again, or is unloaded and refused.
//   - Singleflight: concurrent Acquires of a model that is not loaded cause
//     one Load; they all wait for it and all get its result (its error too).
//     A model is never handed out before its Load returned. A reload after
//     an eviction is one Load however many requests arrive: requests that
//     find the model being unloaded wait for the unload and then share one
//     new Load.
//   - Reference counts: a Handle pins its model; a pinned model is never
//     evicted or unloaded, so an unload never races an invocation. Remove
//     of a pinned model unloads it on its last Release.
//   - Bounded waiting: at most Config.MaxWaiters requests wait for one
//     model, at most Config.MaxLoads loads run at once and at most
//     Config.MaxPending are admitted (the others wait for a turn); beyond
//     that Acquire fails at once with ErrNotReady instead of queueing.
//   - Idle models are unloaded by Sweep (Config.IdleTimeout).
//
// # Fairness
//
// Each tenant's share is Capacity × its weight ÷ the total weight of the
// tenants holding models (the requester included), so shares follow who
// is active. A tenant may borrow idle capacity: while there is free space
// any load is admitted. A tenant holding no model may always load one. A
// tenant is over its share when it holds models and the load would take
// it beyond its share; it is a borrower when it holds several models and
// more than its share.
//
// When space must be freed for tenant T's model, the victims are chosen
// among unpinned models loaded at least Config.MinResidency ago (thrash
// protection), least recently used first, in this order:
//
//  1. models of borrowers (borrowed capacity is reclaimed first);
//  2. models of other tenants;
//  3. T's own models.
//
// A tenant over its share takes from others (1 and 2) only if they hold
// more than it does (bytes per weight): it can never push out a smaller
// tenant, so it recycles its own models. If the candidates cannot free
// enough, nothing is evicted and Acquire fails: with ErrThrottled when T
// is over its share and fairness is what refuses (its working set does
// not fit what it may use), with ErrNotReady otherwise (the capacity is
// pinned or too recently loaded; retry later).
//
// With many small tenants of one model each this is plain LRU (every
// requester holds nothing, nobody borrows); one tenant scanning its many
// models recycles its own share instead of evicting everyone; a burst of
// misses cannot thrash models loaded moments ago. Weights are read when a
// tenant starts holding models.
package cache
