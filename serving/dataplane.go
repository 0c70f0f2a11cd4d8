package serving

import (
	"context"
	"time"

	"github.com/tenantml/tenantml"
)

// ErrModelNotFound is the answer for a multi-model endpoint's TargetModel
// with no object under the endpoint's prefix, and for one another tenant
// owns: the one text both answer with.
func ErrModelNotFound(endpoint, targetModel string) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationError", "Model %s of endpoint %s not found.", targetModel, endpoint)
}

// LiveEndpoint is a deployed endpoint as the data plane routes to it: what
// authorizing and routing an invocation needs, held in memory so that no
// store read sits on the hot path.
type LiveEndpoint struct {
	AccountID string
	Name      string
	ARN       string
	// Tenant owns the endpoint; "" for a platform (pool) endpoint.
	Tenant string
	Tags   map[string]string
	// Multi reports a MultiModel endpoint: every invocation names a
	// TargetModel under Prefix.
	Multi  bool
	Prefix S3URL
	// Variants are the production variants traffic is split between.
	Variants []LiveVariant
}

// LiveVariant is one variant of a live endpoint.
type LiveVariant struct {
	Name   string
	Weight float64
}

// InvokeInput is one InvokeEndpoint request, TargetModel normalised
// (NormalizeTargetModel).
type InvokeInput struct {
	TargetModel      string
	TargetVariant    string
	ContentType      string
	Accept           string
	CustomAttributes string
	Body             []byte
}

// InvokeOutput is the model's answer and the variant that gave it.
type InvokeOutput struct {
	Variant          string
	ContentType      string
	CustomAttributes string
	Body             []byte
	// ModelLatency is the managed cloud's ModelLatency: the time the
	// worker took to answer, from sending it the request to reading its
	// response (a multi-model endpoint's wait for a load is not in it: that
	// is ModelLoadingWaitTime).
	ModelLatency time.Duration
}

// DataPlane routes invocations to deployed endpoints.
type DataPlane interface {
	// Endpoint returns the live endpoint acct/name, false when none is
	// deployed.
	Endpoint(acct, name string) (*LiveEndpoint, bool)
	// ResolveModel resolves a multi-model endpoint's TargetModel to the
	// tenant that owns its object (the tenant of the key that encrypts
	// it); found is false when no object exists under the prefix.
	ResolveModel(ctx context.Context, ep *LiveEndpoint, targetModel string) (owner string, found bool, err error)
	// Invoke sends in to one of ep's variants (TargetVariant, else chosen
	// by weight). Errors carry SageMaker Runtime's codes: ModelError for a
	// worker's 4xx/5xx, ModelNotReadyException, ServiceUnavailable,
	// ValidationError.
	Invoke(ctx context.Context, ep *LiveEndpoint, in *InvokeInput) (*InvokeOutput, error)
}

// ModelState is a model's state in a data plane, as the Open Inference
// Protocol's model repository extension names it.
type ModelState string

// Model states.
const (
	// ModelReady: the model is loaded and answers without a load.
	ModelReady ModelState = "READY"
	// ModelLoading: a load is in progress.
	ModelLoading ModelState = "LOADING"
	// ModelUnloading: an unload is in progress.
	ModelUnloading ModelState = "UNLOADING"
	// ModelUnavailable: the model exists but is not loaded (a pool model
	// loads on its next invocation).
	ModelUnavailable ModelState = "UNAVAILABLE"
)

// IndexedModel is one entry of a data plane's model index: a live
// single-model endpoint's variant, or a multi-model endpoint's model that
// is loaded, loading or unloading.
type IndexedModel struct {
	Endpoint string
	Variant  string
	// TargetModel is the multi-model endpoint's model; "" for a
	// single-model endpoint.
	TargetModel string
	// Tenant owns the model: the endpoint's tenant, or the pool model's
	// owner.
	Tenant string
	State  ModelState
}

// ModelRepository is what a data plane tells and does about the models it
// serves, beyond invoking them: the Open Inference Protocol's readiness
// and model repository extension. Like DataPlane, its callers have
// authorized the request and resolved the TargetModel; variant "" means
// the endpoint's first variant.
type ModelRepository interface {
	// ModelState reports whether the model answers now. A single-model
	// endpoint's live variant is ModelReady (it serves only once its
	// model is loaded); a multi-model endpoint's model is ModelReady only
	// while a worker holds it. A missing TargetModel is ENOTFOUND.
	ModelState(ctx context.Context, ep *LiveEndpoint, variant, targetModel string) (ModelState, error)
	// LoadModel loads a multi-model endpoint's model now, as its first
	// invocation would, without invoking it; for a single-model endpoint
	// it does nothing (its model is loaded while it is live).
	LoadModel(ctx context.Context, ep *LiveEndpoint, variant, targetModel string) error
	// UnloadModel unloads a multi-model endpoint's model (at once, or when
	// its invocations in flight finish); its next invocation loads it
	// again. A single-model endpoint's model is unloaded only by deleting
	// or updating the endpoint: EINVALID.
	UnloadModel(ctx context.Context, ep *LiveEndpoint, variant, targetModel string) error
	// IndexModels lists the models of account acct's live endpoints:
	// every single-model endpoint's variants, and the models multi-model
	// endpoints hold, are loading or unloading (their other objects, the
	// whole prefix, are not listed).
	IndexModels(acct string) []IndexedModel
}
