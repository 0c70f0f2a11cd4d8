package serving

import "time"

// Metrics receives the multi-model figures the managed cloud publishes for
// a multi-model endpoint, under the same names and meaning. The gateway
// turns them into Prometheus metrics; they carry no tenant or model label,
// so the receiver cannot add one. Methods are called concurrently and must
// not block.
type Metrics interface {
	// ModelLoadingWaitTime is how long an invocation waited for its target
	// model to be delivered and loaded (observed for every request that
	// did not find its model loaded).
	ModelLoadingWaitTime(time.Duration)
	// ModelDownloadingTime is how long delivering a model's plaintext to
	// the worker took (opening and decrypting the artifact included).
	ModelDownloadingTime(time.Duration)
	// ModelLoadingTime is how long the worker took to load a delivered
	// model.
	ModelLoadingTime(time.Duration)
	// ModelUnloadingTime is how long unloading a model took.
	ModelUnloadingTime(time.Duration)
	// ModelCacheHit is observed once per invocation: true when the model
	// was already loaded (the managed cloud reports its average).
	ModelCacheHit(hit bool)
	// LoadedModelCount is the number of models the pool's workers hold
	// now, reported after every change.
	LoadedModelCount(n int)
}

// NopMetrics discards metrics.
type NopMetrics struct{}

// ModelLoadingWaitTime does nothing.
func (NopMetrics) ModelLoadingWaitTime(time.Duration) {}

// ModelDownloadingTime does nothing.
func (NopMetrics) ModelDownloadingTime(time.Duration) {}

// ModelLoadingTime does nothing.
func (NopMetrics) ModelLoadingTime(time.Duration) {}

// ModelUnloadingTime does nothing.
func (NopMetrics) ModelUnloadingTime(time.Duration) {}

// ModelCacheHit does nothing.
func (NopMetrics) ModelCacheHit(bool) {}

// LoadedModelCount does nothing.
func (NopMetrics) LoadedModelCount(int) {}

// InvocationMetrics receives the managed cloud's per-endpoint invocation
// metrics, with their meaning — Invocations, Invocation4XXErrors,
// Invocation5XXErrors, ModelLatency and OverheadLatency — for every
// invocation that reached a live endpoint, whichever surface it came
// through (InvokeEndpoint, the Open Inference Protocol, the tenant
// gateway). The managed cloud's dimension EndpointName is replaced by the
// endpoint's Mode: endpoint names are tenants' (silo and bridge endpoints
// are named after them), so a label per endpoint would publish every
// tenant and grow with them. Methods are called concurrently and must not
// block.
type InvocationMetrics interface {
	// Invocation is one invocation of an endpoint of mode: the HTTP
	// status it was answered with and, when it succeeded, the time the
	// model took (ModelLatency) and the time the platform added around it
	// (OverheadLatency: authentication, authorization, routing, a
	// multi-model endpoint's load wait, the audit record, encoding).
	Invocation(mode Mode, status int, model, overhead time.Duration)
}

// NopInvocationMetrics discards invocation metrics.
type NopInvocationMetrics struct{}

// Invocation does nothing.
func (NopInvocationMetrics) Invocation(Mode, int, time.Duration, time.Duration) {}
