package serving

import (
	"context"
	"fmt"
	"io"
	"time"
)

// Backend runs the workers of variants: local child processes
// (serving/local) or, at scale, one Kubernetes Deployment per variant.
// The gateway and the pool see only these interfaces.
type Backend interface {
	// Start starts spec.InstanceCount workers and returns once every one
	// of them answers GET /ping (single-model: with the model loaded). ctx
	// bounds only the wait: the workers live until Variant.Stop. On
	// failure no worker is left running and the error wraps
	// ErrStartFailed with a reason fit for FailureReason.
	Start(ctx context.Context, spec VariantSpec) (Variant, error)
}

// Variant is a running variant's set of workers.
type Variant interface {
	// Spec returns the spec the variant was started with.
	Spec() VariantSpec
	// Instances returns the variant's workers in a stable order, ready or
	// not (a crashed worker keeps its place while it restarts).
	Instances() []Instance
	// Invoke sends a single-model invocation to a ready worker (round
	// robin); it fails with ErrUnavailable when none is ready.
	Invoke(ctx context.Context, inv Invocation) (*Response, error)
	// Stop refuses new invocations, waits (within ctx) for those in
	// flight, stops every worker and deletes their copies of the models.
	Stop(ctx context.Context) error
}

// Instance is one worker of a variant.
type Instance interface {
	// ID is stable for the variant's life, e.g. "endpoint/variant/0".
	ID() string
	// Incarnation changes whenever the worker process is replaced (a
	// restart after a crash): models loaded into an older incarnation are
	// gone.
	Incarnation() uint64
	// Ready reports whether the worker answers /ping now.
	Ready() bool
	// Invoke sends inv to this worker: POST /invocations, or POST
	// /models/{inv.Model}/invoke when inv.Model is set.
	Invoke(ctx context.Context, inv Invocation) (*Response, error)
	// LoadModel delivers a model's plaintext to this worker, privately,
	// under the opaque name, and has the worker load it (POST /models).
	LoadModel(ctx context.Context, name string, src io.Reader) (ModelStatus, error)
	// UnloadModel unloads the model (DELETE /models/{name}) and deletes
	// the worker's copy. Unloading a model the worker does not hold is
	// not an error.
	UnloadModel(ctx context.Context, name string) error
}

// Invocation is one inference request as the container contract carries it.
type Invocation struct {
	// Model is the opaque model name for a multi-model worker; empty for
	// single-model (POST /invocations).
	Model string
	// TargetModel is the caller's TargetModel, passed to the worker in
	// X-Amzn-SageMaker-Target-Model for its logs; optional.
	TargetModel string
	// ContentType and Accept are the request's media types.
	ContentType string
	Accept      string
	// CustomAttributes is X-Amzn-SageMaker-Custom-Attributes, passed
	// through both ways.
	CustomAttributes string
	// Body is the request payload.
	Body []byte
}

// Response is a worker's successful answer.
type Response struct {
	ContentType      string
	CustomAttributes string
	Body             []byte
	// Latency is the time from sending the request to the worker to
	// reading its answer, when the layer that sent it measured it (the
	// pool does); 0 when unmeasured.
	Latency time.Duration
}

// ModelStatus reports a model a worker has loaded.
type ModelStatus struct {
	// Name is the opaque model name.
	Name string
	// MemoryBytes is the memory the worker reports for the loaded model
	// (the native worker: runtime.Info.MemoryBytes), or, for a model
	// server that reports none, the size of the delivered artifact.
	MemoryBytes int64
	// ArtifactBytes is the size of the delivered plaintext.
	ArtifactBytes int64
	// DeliveryTime is the time spent streaming the plaintext to the worker
	// (the managed cloud's ModelDownloadingTime).
	DeliveryTime time.Duration
	// LoadTime is the time the worker spent loading it (POST /models;
	// ModelLoadingTime).
	LoadTime time.Duration
}

// ModelError is a worker's 4xx or 5xx answer. The gateway returns it as the
// managed cloud's ModelError with OriginalStatusCode and OriginalMessage.
type ModelError struct {
	// Status is the worker's HTTP status.
	Status int
	// Message is the worker's error message (its body, truncated).
	Message string
}

func (e *ModelError) Error() string {
	return fmt.Sprintf("model error: status %d: %s", e.Status, e.Message)
}
