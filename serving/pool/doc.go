// Package pool serves a shared multi-model variant: it places each pool
// tenant's TargetModel on one of the variant's workers, loads it there on
// first use, keeps the workers' models within their memory with
// serving/cache (byte-bounded, fair across tenants, singleflight loads,
// reference-counted unloads), and invokes it.
//
// # Contract
//
//   - The caller (the gateway) has authenticated and authorized the
//     request and resolved its TargetModel to a Target: the owning tenant,
//     the model's name relative to the endpoint's prefix, and an Opener of
//     its plaintext. The pool never resolves names or reads storage itself.
//   - A model lives on exactly one worker, chosen by rendezvous hashing of
//     (tenant, model) over the variant's instances. Inside the worker it is
//     known only by an opaque name derived from (tenant, model).
//   - First use: one load (Opener → Instance.LoadModel: the plaintext is
//     streamed into the worker's private directory and loaded with POST
//     /models), however many requests arrive; the requests wait for it,
//     at most Config.MaxWaiters of them, and are refused beyond with
//     serving.ErrModelNotReady. A request never reaches a worker before
//     its model is loaded.
//   - Refusals: serving.ErrModelNotReady (capacity pinned or too recently
//     loaded, too many waiters or loads), serving.ErrThrottled (the
//     tenant's models do not fit its share), serving.ErrModelTooLarge (the
//     model exceeds a worker's cache). A model that fails to load returns
//     its error (the worker's *serving.ModelError, or the Opener's error)
//     to every request that waited for it.
//   - A worker that restarts loses its models: the pool notices the new
//     incarnation, forgets them and loads again on the next request; an
//     invocation that meets a worker without its model (404) is retried
//     once after a reload.
//   - Figures: serving.Metrics receives the managed cloud's multi-model
//     metrics (ModelCacheHit, ModelLoadingWaitTime, ModelDownloadingTime,
//     ModelLoadingTime, ModelUnloadingTime, LoadedModelCount), without
//     tenant or model labels; serving.Events receives ModelLoaded,
//     ModelLoadFailed and ModelUnloaded naming the tenant and TargetModel,
//     for the audit log.
package pool
