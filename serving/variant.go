package serving

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// Mode is a variant's container mode, named as the managed cloud's
// ContainerDefinition.Mode.
type Mode string

// Container modes.
const (
	// ModeSingle serves one model, loaded before the worker reports ready
	// (POST /invocations).
	ModeSingle Mode = "SingleModel"
	// ModeMulti serves the models it is told to load (POST /models) and
	// invokes them by name (POST /models/{name}/invoke).
	ModeMulti Mode = "MultiModel"
)

// Opener opens the plaintext of one model artifact (a model.tar.gz as the
// managed cloud packs it, or a bare model file). Every call returns a new
// reader positioned at the start, so a restarted worker can be given its
// model again. The gateway implements it over the tenant's encrypted
// artifact store: decryption streams through the returned reader.
type Opener interface {
	Open(ctx context.Context) (io.ReadCloser, error)
}

// OpenerFunc adapts a function to Opener.
type OpenerFunc func(ctx context.Context) (io.ReadCloser, error)

// Open calls f.
func (f OpenerFunc) Open(ctx context.Context) (io.ReadCloser, error) { return f(ctx) }

// VariantSpec describes one production variant's workers.
type VariantSpec struct {
	// Endpoint and Variant name the variant (EndpointName,
	// ProductionVariants[].VariantName).
	Endpoint string
	Variant  string
	// Tenant is the tenant whose model the workers hold (silo, bridge). It
	// is empty for a shared pool variant, whose workers hold pool tenants'
	// models only. A backend never lets workers of different Tenant values
	// (or a tenant's and the pool's) share a process or a user.
	Tenant string
	// Mode is ModeSingle or ModeMulti.
	Mode Mode
	// Image names the model server (a backend's registered image); empty
	// selects the native runtime, `tenantml worker`.
	Image string
	// InstanceType names the worker size (see DefaultInstanceTypes).
	InstanceType string
	// InstanceCount is the number of workers (InitialInstanceCount).
	InstanceCount int
	// Model is the artifact of a ModeSingle variant; nil for ModeMulti.
	Model Opener
}

// ID returns "endpoint/variant", the variant's unique name.
func (s VariantSpec) ID() string { return s.Endpoint + "/" + s.Variant }

// nameRE is the managed cloud's rule for endpoint and variant names.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$`)

// Validate checks the spec's fields (not whether the image or instance type
// exist: that is the backend's table).
func (s VariantSpec) Validate() error {
	switch {
	case !nameRE.MatchString(s.Endpoint):
		return fmt.Errorf("%w: endpoint name %q", ErrInvalidSpec, s.Endpoint)
	case !nameRE.MatchString(s.Variant):
		return fmt.Errorf("%w: variant name %q", ErrInvalidSpec, s.Variant)
	case s.InstanceCount < 1:
		return fmt.Errorf("%w: instance count %d, want >= 1", ErrInvalidSpec, s.InstanceCount)
	case s.InstanceType == "":
		return fmt.Errorf("%w: no instance type", ErrInvalidSpec)
	}
	switch s.Mode {
	case ModeSingle:
		if s.Model == nil {
			return fmt.Errorf("%w: a single-model variant needs a model", ErrInvalidSpec)
		}
	case ModeMulti:
		if s.Model != nil {
			return fmt.Errorf("%w: a multi-model variant loads its models on demand, not at start", ErrInvalidSpec)
		}
	default:
		return fmt.Errorf("%w: mode %q", ErrInvalidSpec, s.Mode)
	}
	return nil
}

// Errors a backend or the pool returns; the gateway maps each to the managed
// cloud's error (see docs/serving.md).
var (
	// ErrInvalidSpec: the variant spec is malformed (ValidationException).
	ErrInvalidSpec = errors.New("invalid variant spec")
	// ErrUnknownInstanceType: no such instance type (ValidationException).
	ErrUnknownInstanceType = errors.New("unknown instance type")
	// ErrUnknownImage: no such registered image (ValidationException).
	ErrUnknownImage = errors.New("unknown image")
	// ErrStartFailed: the workers did not become ready (the endpoint
	// fails; the error's text is its FailureReason).
	ErrStartFailed = errors.New("variant failed to start")
	// ErrUnavailable: no ready worker can take the request now
	// (ServiceUnavailable).
	ErrUnavailable = errors.New("no worker available")
	// ErrStopped: the variant is stopping or stopped.
	ErrStopped = errors.New("variant stopped")
	// ErrModelNotReady: the pool cannot load the target model now, or too
	// many requests already wait for it (ModelNotReadyException).
	ErrModelNotReady = errors.New("model not ready")
	// ErrThrottled: the tenant's models do not fit its share of the pool
	// (ThrottlingException).
	ErrThrottled = errors.New("throttled")
	// ErrModelTooLarge: the model does not fit in a worker at all.
	ErrModelTooLarge = errors.New("model too large for the instance")
)
