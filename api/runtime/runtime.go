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
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
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
	srv.HandleWithLimit("POST /endpoints/{name}/invocations", MaxPayloadBytes, p.Handler(api.Op{
		Action: "sagemaker:InvokeEndpoint",
		Target: s.target,
		Handle: s.invoke,
	}))
}

// notFound is SageMaker Runtime's answer for an endpoint that does not
// exist (or is another tenant's).
func (s *Surface) notFound(name string) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ValidationError", "Endpoint %s of account %s not found.", name, s.AccountID)
}

// target resolves the endpoint from the data plane and the TargetModel
// condition key.
func (s *Surface) target(r *http.Request, _ *authn.Principal) (*api.Target, error) {
	name := r.PathValue("name")
	if err := serving.ValidateName("endpointName", name); err != nil {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "%s", tenantml.ErrorMessage(err))
	}
	t := &api.Target{Resource: authz.Resource{ARN: serving.ARN(s.Region, s.AccountID, serving.KindEndpoint, name)}, NotFound: s.notFound(name)}
	if tm := r.Header.Get(HeaderTargetModel); tm != "" {
		norm, err := serving.NormalizeTargetModel(tm)
		if err != nil {
			return nil, err
		}
		t.Context = iam.Context{iam.Single("sagemaker:TargetModel", norm)}
		t.Parameters = map[string]any{"targetModel": norm}
	}
	ep, ok := s.Data.Endpoint(s.AccountID, name)
	if !ok {
		return t, nil
	}
	t.Tenant, t.Tags = ep.Tenant, ep.Tags
	if ep.Multi && t.Context != nil {
		// Whatever the policies say, a tenant's principal reaches only
		// models its tenant owns: another tenant's object under a shared
		// prefix answers as a missing model.
		norm := t.Parameters["targetModel"].(string)
		owner, found, err := s.Data.ResolveModel(r.Context(), ep, norm)
		if err != nil {
			return nil, err
		}
		if c, _ := authn.FromContext(r.Context()); found && c != nil && c.TenantID != "" && owner != c.TenantID {
			t.Hide = serving.ErrModelNotFound(name, norm)
		}
	}
	return t, nil
}

// invoke sends the request to the endpoint and writes the model's answer.
func (s *Surface) invoke(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	name := r.PathValue("name")
	ep, ok := s.Data.Endpoint(s.AccountID, name)
	if !ok {
		return s.notFound(name)
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
	out, err := s.Data.Invoke(r.Context(), ep, in)
	if err != nil {
		api.ReportUsage(r.Context(), api.Usage{BytesIn: int64(len(body))})
		return err
	}
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
