// Package runtime is the SageMaker Runtime surface: InvokeEndpoint,
// POST /endpoints/{EndpointName}/invocations (REST-JSON, SigV4 service
// "sagemaker"), as `aws sagemaker-runtime invoke-endpoint` and boto3 send
// it, over a serving.DataPlane.
//
// Every request is authorized by the IAM engine as sagemaker:InvokeEndpoint
// on the endpoint's ARN with its tags and, for a multi-model endpoint, the
// condition key sagemaker:TargetModel — the normalised TargetModel, which
// is also exactly the key the worker loads. A multi-model endpoint never
// serves a request without TargetModel, whatever the policies say.
// Another tenant's
// endpoint answers as a missing one. No store read sits on the path: the
// data plane holds the live endpoints in memory.
package runtime

import (
	"io"
	"net/http"
	"strconv"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/serving"
)

// MaxPayloadBytes is InvokeEndpoint's payload limit, as SageMaker's.
const MaxPayloadBytes = 6 << 20

// Headers of InvokeEndpoint.
const (
	HeaderTargetModel      = "X-Amzn-SageMaker-Target-Model"
	HeaderTargetVariant    = "X-Amzn-SageMaker-Target-Variant"
	HeaderCustomAttributes = "X-Amzn-SageMaker-Custom-Attributes"
	HeaderInvokedVariant   = "X-Amzn-Invoked-Production-Variant"
)

// Surface serves InvokeEndpoint.
type Surface struct {
	Data      serving.DataPlane
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
	// Meter measures the invocations; nil measures nothing.
	Meter *Meter
}

// Protocol is SageMaker Runtime's REST-JSON error form.
func Protocol() *api.JSONProtocol {
	return &api.JSONProtocol{Dialect: api.Dialect{
		tenantml.EINVALID:         {Code: "ValidationError", Status: http.StatusBadRequest},
		tenantml.ENOTFOUND:        {Code: "ValidationError", Status: http.StatusBadRequest},
		tenantml.EFORBIDDEN:       {Code: "AccessDeniedException", Status: http.StatusForbidden},
		tenantml.ETOOMANYREQUESTS: {Code: "ThrottlingException", Status: http.StatusBadRequest},
		tenantml.EUNAVAILABLE:     {Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable},
		tenantml.EINTERNAL:        {Code: "InternalFailure", Status: http.StatusInternalServerError},
	}}
}

// Register adds InvokeEndpoint to srv.
func (s *Surface) Register(srv *api.Server) {
	p := s.Pipeline.WithProtocol(Protocol())
	srv.HandleWithLimit("POST /endpoints/{name}/invocations", MaxPayloadBytes, s.Meter.Wrap(p.Handler(api.Op{
		Action: "sagemaker:InvokeEndpoint",
		Target: s.target,
		Handle: s.invoke,
	})))
}

// notFound is SageMaker Runtime's answer for an endpoint that does not
// exist (or is another tenant's).
func (s *Surface) notFound(r *http.Request) func(name string) error {
	acct := CallerAccount(r, s.AccountID)
	return func(name string) error {
		return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationError", "Endpoint %s of account %s not found.", name, acct)
	}
}

// target resolves the endpoint and the TargetModel condition key.
func (s *Surface) target(r *http.Request, _ *authn.Principal) (*api.Target, error) {
	rs := Resolver{Data: s.Data, Region: s.Region, AccountID: s.AccountID}
	res, err := rs.Resolve(r, r.PathValue("name"), r.Header.Get(HeaderTargetModel), Missing{Endpoint: s.notFound(r), Model: serving.ErrModelNotFound})
	if err != nil {
		return nil, err
	}
	return res.Target, nil
}

// invoke sends the request to the endpoint and writes the model's answer.
func (s *Surface) invoke(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	name := r.PathValue("name")
	ep, ok := s.Data.Endpoint(CallerAccount(r, s.AccountID), name)
	if !ok {
		return s.notFound(r)(name)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return api.DecodeError(err)
	}
	in := &serving.InvokeInput{
		TargetVariant:    r.Header.Get(HeaderTargetVariant),
		ContentType:      r.Header.Get("Content-Type"),
		Accept:           r.Header.Get("Accept"),
		CustomAttributes: r.Header.Get(HeaderCustomAttributes),
		Body:             body,
	}
	if tm := r.Header.Get(HeaderTargetModel); tm != "" {
		if in.TargetModel, err = serving.NormalizeTargetModel(tm); err != nil {
			return err
		}
	}
	if ep.Multi && in.TargetModel == "" {
		// Policies should have refused it (the pool policy conditions on
		// sagemaker:TargetModel); the data plane refuses it whatever they say.
		return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "Endpoint %s is a multi-model endpoint: the request must name a TargetModel.", name)
	}
	answered := Invoking(r.Context(), ep)
	out, err := s.Data.Invoke(r.Context(), ep, in)
	if err != nil {
		api.ReportUsage(r.Context(), api.Usage{BytesIn: int64(len(body))})
		return err
	}
	answered(out.ModelLatency)
	api.ReportUsage(r.Context(), api.Usage{BytesIn: int64(len(body)), BytesOut: int64(len(out.Body)), ModelTime: out.ModelLatency})
	if out.ContentType != "" {
		w.Header().Set("Content-Type", out.ContentType)
	}
	if out.CustomAttributes != "" {
		w.Header().Set(HeaderCustomAttributes, out.CustomAttributes)
	}
	w.Header().Set(HeaderInvokedVariant, out.Variant)
	w.Header().Set("Content-Length", strconv.Itoa(len(out.Body)))
	w.WriteHeader(http.StatusOK)
	_, err = w.Write(out.Body)
	return err
}
