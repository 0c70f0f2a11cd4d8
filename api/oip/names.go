package oip

import (
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
)

// ModelName is what an Open Inference Protocol model name names: an
// endpoint and, on a multi-model endpoint, a TargetModel.
//
// The name is the endpoint's name, optionally followed by a '.' and the
// TargetModel exactly as InvokeEndpoint's X-Amzn-SageMaker-Target-Model
// carries it: "acme" is the single-model endpoint acme,
// "pool-endpoint.globex.tar.gz" the model globex.tar.gz of the
// multi-model endpoint pool-endpoint. Endpoint names never contain '.',
// so the first '.' ends the endpoint: the mapping is one-to-one. A
// TargetModel with '/' is sent percent-encoded ("%2F") in the URL path.
type ModelName struct {
	Endpoint string
	// TargetModel is "" for a name without '.'; otherwise it is validated
	// and normalised as InvokeEndpoint's (serving.NormalizeTargetModel)
	// by the resolution, before any policy or storage access.
	TargetModel string
}

// ParseModelName splits an Open Inference Protocol model name.
func ParseModelName(name string) (ModelName, error) {
	ep, tm, dotted := strings.Cut(name, ".")
	if dotted && tm == "" {
		return ModelName{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "model name %q: a '.' must be followed by the TargetModel", printable(name))
	}
	if err := serving.ValidateName("endpointName", ep); err != nil {
		return ModelName{}, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "model name %q: %s", printable(name), tenantml.ErrorMessage(err))
	}
	return ModelName{Endpoint: ep, TargetModel: tm}, nil
}

// String returns the model name: the endpoint, and '.' and the
// TargetModel when there is one.
func (n ModelName) String() string {
	if n.TargetModel == "" {
		return n.Endpoint
	}
	return n.Endpoint + "." + n.TargetModel
}

// printable renders a caller's name for an error message.
func printable(s string) string { return serving.Printable(s) }
