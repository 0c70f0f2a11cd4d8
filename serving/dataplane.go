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
	// ModelLatency is how long the worker took to answer (for a pool
	// model not loaded yet, its load included), as the gateway measured it.
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
