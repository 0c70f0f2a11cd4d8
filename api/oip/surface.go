package oip

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/runtime"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/serving"
)

// The IAM actions of the surface.
const (
	// ActionInfer is inference: the same action as InvokeEndpoint, so the
	// same policies decide both.
	ActionInfer = "sagemaker:InvokeEndpoint"
	// ActionDescribe is model metadata and readiness.
	ActionDescribe = "sagemaker:DescribeEndpoint"
	// ActionIndex, ActionLoad and ActionUnload are the model repository
	// extension's, for operators.
	ActionIndex  = "tenantml:IndexModelRepository"
	ActionLoad   = "tenantml:LoadModel"
	ActionUnload = "tenantml:UnloadModel"
	// ActionServerMetadata is GET /v2, allowed to every authenticated
	// caller.
	ActionServerMetadata = "tenantml:GetInferenceServerMetadata"
)

// Service is the SigV4 service every request is signed for, as
// InvokeEndpoint's.
const Service = "sagemaker"

// Surface serves the Open Inference Protocol's REST API over a data plane.
type Surface struct {
	Data       serving.DataPlane
	Repository serving.ModelRepository
	Pipeline   *api.Pipeline
	Region     string
	AccountID  string
	// Ready reports whether the server can serve requests (its store and
	// audit log): GET /v2/health/ready.
	Ready func(ctx context.Context) error
	// Version is the server's version, for GET /v2.
	Version string
	// Meter measures the inferences; nil measures nothing.
	Meter *runtime.Meter
}

// Protocol is the protocol's error form, {"error": message}; the code
// recorded in the audit event is SageMaker Runtime's for the same error.
func Protocol() *ErrorProtocol {
	return &ErrorProtocol{Dialect: api.Dialect{
		tenantml.EINVALID:         {Code: "ValidationError", Status: http.StatusBadRequest},
		tenantml.ENOTFOUND:        {Code: "ModelNotFound", Status: http.StatusNotFound},
		tenantml.EUNAUTHORIZED:    {Code: "UnauthorizedException", Status: http.StatusUnauthorized},
		tenantml.EFORBIDDEN:       {Code: "AccessDeniedException", Status: http.StatusForbidden},
		tenantml.ETOOMANYREQUESTS: {Code: "ThrottlingException", Status: http.StatusTooManyRequests},
		tenantml.EUNAVAILABLE:     {Code: "ServiceUnavailable", Status: http.StatusServiceUnavailable},
		tenantml.EINTERNAL:        {Code: "InternalFailure", Status: http.StatusInternalServerError},
	}}
}

// ErrorProtocol writes errors as the protocol's error objects.
type ErrorProtocol struct {
	Dialect api.Dialect
}

// Describe implements api.Protocol.
func (p *ErrorProtocol) Describe(err error) api.WireError { return p.Dialect.Describe(err) }

// WriteError implements api.Protocol.
func (p *ErrorProtocol) WriteError(w http.ResponseWriter, _ *http.Request, e api.WireError) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64((e.RetryAfter+time.Second-1)/time.Second), 10))
	}
	writeJSON(w, e.Status, map[string]string{"error": e.Message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":"the response could not be encoded"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b) // a client that went away is not an error: the audit record stands
}

// indexTarget is every endpoint of the caller's account: the index lists
// its own account's models only.
func (s *Surface) indexTarget(r *http.Request, c *authn.Principal) (*api.Target, error) {
	acct := s.AccountID
	if c != nil && c.Account != "" {
		acct = c.Account
	}
	return &api.Target{Resource: authz.Resource{ARN: serving.ARN(s.Region, acct, serving.KindEndpoint, "*")}}, nil
}

// Register adds the protocol's routes to srv.
func (s *Surface) Register(srv *api.Server) {
	p := s.Pipeline.WithProtocol(Protocol())
	srv.Handle("GET /v2/health/live", http.HandlerFunc(s.live))
	srv.Handle("GET /v2/health/ready", http.HandlerFunc(s.ready))
	srv.Handle("GET /v2", p.Handler(api.Op{Action: ActionServerMetadata, Service: Service,
		AlwaysAllowed: "server metadata names no resource", Handle: s.serverMetadata}))
	for _, prefix := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		srv.Handle("GET "+prefix, p.Handler(api.Op{Action: ActionDescribe, Service: Service, Target: s.modelTarget, Handle: s.metadata}))
		srv.Handle("GET "+prefix+"/ready", p.Handler(api.Op{Action: ActionDescribe, Service: Service, Target: s.modelTarget, Handle: s.modelReady}))
		srv.HandleWithLimit("POST "+prefix+"/infer", runtime.MaxPayloadBytes,
			s.Meter.Wrap(p.Handler(api.Op{Action: ActionInfer, Service: Service, Target: s.modelTarget, Handle: s.infer})))
	}
	srv.Handle("POST /v2/repository/index", p.Handler(api.Op{Action: ActionIndex, Service: Service,
		Target: s.indexTarget, Handle: s.index}))
	srv.Handle("POST /v2/repository/models/{name}/load", p.Handler(api.Op{Action: ActionLoad, Service: Service, Target: s.modelTarget, Handle: s.load}))
	srv.Handle("POST /v2/repository/models/{name}/unload", p.Handler(api.Op{Action: ActionUnload, Service: Service, Target: s.modelTarget, Handle: s.unload}))
}

// live answers the liveness probe: no authentication, no tenant data,
// like GET /healthz.
func (s *Surface) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"live": true})
}

// ready answers the readiness probe: the server's store and audit log
// answer. Like GET /readyz it is not authenticated and names no model.
func (s *Surface) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if s.Ready != nil && s.Ready(ctx) != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "error": "the server is not ready"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"ready": true})
}

func (s *Surface) serverMetadata(w http.ResponseWriter, _ *http.Request, _ *authn.Principal) error {
	writeJSON(w, http.StatusOK, map[string]any{"name": "tenantml", "version": s.Version, "extensions": []string{"model_repository"}})
	return nil
}

// notFound is the answer for a model that does not exist — and, to a
// tenant principal, for one another tenant owns.
func notFound(name string) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ModelNotFound", "model %q not found", printable(name))
}

// modelTarget resolves the model a request names, as InvokeEndpoint's
// target: the endpoint's ARN, tenant and tags, the condition key
// sagemaker:TargetModel, another tenant's model hidden as a missing one.
func (s *Surface) modelTarget(r *http.Request, _ *authn.Principal) (*api.Target, error) {
	name := r.PathValue("name")
	mn, err := ParseModelName(name)
	if err != nil {
		return nil, err
	}
	if v := r.PathValue("version"); v != "" {
		if err := serving.ValidateName("version", v); err != nil {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "version %q is not a variant name", printable(v))
		}
	}
	gone := func(string) error { return notFound(name) }
	rs := runtime.Resolver{Data: s.Data, Region: s.Region, AccountID: s.AccountID}
	res, err := rs.Resolve(r, mn.Endpoint, mn.TargetModel, runtime.Missing{Endpoint: gone, Model: func(string, string) error { return notFound(name) }})
	if err != nil {
		return nil, err
	}
	t := res.Target
	if t.Parameters == nil {
		t.Parameters = map[string]any{}
	}
	t.Parameters["model"] = name
	if v := r.PathValue("version"); v != "" {
		t.Parameters["version"] = v
	}
	return t, nil
}

// call is a model request once the pipeline allowed it: the live
// endpoint, the normalised TargetModel and the version (variant).
type call struct {
	name, version, targetModel string
	ep                         *serving.LiveEndpoint
}

// model finds the live endpoint and the model, then checks the version,
// for a handler. A pool model's existence is checked before anything of
// the request is: another tenant's model is answered (by the pipeline)
// before the handler runs, so a missing model must be answered before the
// handler looks at the version or the body, or their errors would tell
// the two apart.
func (s *Surface) model(r *http.Request) (*call, error) {
	c := &call{name: r.PathValue("name"), version: r.PathValue("version")}
	mn, err := ParseModelName(c.name)
	if err != nil {
		return nil, err
	}
	if mn.TargetModel != "" {
		if c.targetModel, err = serving.NormalizeTargetModel(mn.TargetModel); err != nil {
			return nil, err
		}
	}
	ep, ok := s.Data.Endpoint(runtime.CallerAccount(r, s.AccountID), mn.Endpoint)
	if !ok {
		return nil, notFound(c.name)
	}
	c.ep = ep
	if ep.Multi && c.targetModel == "" {
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "%s is a multi-model endpoint: name one of its models, %s.<TargetModel>", ep.Name, ep.Name)
	}
	if !ep.Multi && c.targetModel != "" {
		return nil, notFound(c.name)
	}
	if ep.Multi {
		_, found, err := s.Data.ResolveModel(r.Context(), ep, c.targetModel)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, notFound(c.name)
		}
	}
	if c.version != "" {
		found := false
		for _, v := range ep.Variants {
			found = found || v.Name == c.version
		}
		if !found {
			return nil, tenantml.AWSErrorf(tenantml.ENOTFOUND, "ModelNotFound", "model %q has no version %q", printable(c.name), printable(c.version))
		}
	}
	return c, nil
}

// dataErr gives the data plane's errors the protocol's meaning: a missing
// model (or another tenant's) is the model's not-found answer.
func (c *call) dataErr(err error) error {
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return notFound(c.name)
	}
	return err
}

// tensor is a $metadata_tensor.
type tensor struct {
	Name     string  `json:"name"`
	Datatype string  `json:"datatype"`
	Shape    []int64 `json:"shape"`
}

func (s *Surface) metadata(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	c, err := s.model(r)
	if err != nil {
		return err
	}
	if _, err := s.Repository.ModelState(r.Context(), c.ep, c.version, c.targetModel); err != nil {
		return c.dataErr(err)
	}
	versions := make([]string, 0, len(c.ep.Variants))
	for _, v := range c.ep.Variants {
		versions = append(versions, v.Name)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"name": c.name, "versions": versions, "platform": "tenantml",
		"inputs":  []tensor{{Name: InputName, Datatype: "FP32", Shape: []int64{-1, -1}}},
		"outputs": []tensor{{Name: OutputName, Datatype: "FP32", Shape: []int64{-1, -1}}},
	})
	return nil
}

// modelReady answers 200 {"name", "ready": true} for a model that answers
// without a load, and 400 {"name", "ready": false, "error"} (the
// protocol's 4xx for false) for one that would load first.
func (s *Surface) modelReady(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	c, err := s.model(r)
	if err != nil {
		return err
	}
	st, err := s.Repository.ModelState(r.Context(), c.ep, c.version, c.targetModel)
	if err != nil {
		return c.dataErr(err)
	}
	if st != serving.ModelReady {
		writeJSON(w, http.StatusBadRequest, map[string]any{"name": c.name, "ready": false,
			"error": "model " + strconv.Quote(c.name) + " is not loaded (" + string(st) + "): its next inference or a repository load loads it"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": c.name, "ready": true})
	return nil
}

// customAttributes is the request parameter passed to the model as
// X-Amzn-SageMaker-Custom-Attributes, and answered from it.
const customAttributes = "custom_attributes"

// maxCustomAttributes is SageMaker's limit of the header.
const maxCustomAttributes = 1024

func (s *Surface) infer(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	c, err := s.model(r)
	if err != nil {
		return err
	}
	if r.Header.Get("Inference-Header-Content-Length") != "" {
		return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "binary tensor data is not supported: send the request as JSON")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "content type %q: the request must be application/json", printable(ct))
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return api.DecodeError(err)
	}
	req, batch, err := DecodeInfer(body)
	if err != nil {
		return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "%s", err.Error())
	}
	in := &serving.InvokeInput{TargetModel: c.targetModel, TargetVariant: c.version, ContentType: "text/csv", Accept: "text/csv"}
	if v, ok := req.Parameters[customAttributes]; ok {
		ca, isString := v.(string)
		if !isString || len(ca) > maxCustomAttributes {
			return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "parameter %s must be a string of at most %d bytes", customAttributes, maxCustomAttributes)
		}
		in.CustomAttributes = ca
	}
	in.Body = AppendCSV(make([]byte, 0, len(batch.X)*8), batch)
	if len(in.Body) > runtime.MaxPayloadBytes {
		return tenantml.Errorf(tenantml.ETOOLARGE, "the tensor is larger than %d bytes as the model's rows", runtime.MaxPayloadBytes)
	}
	answered := runtime.Invoking(r.Context(), c.ep)
	out, err := s.Data.Invoke(r.Context(), c.ep, in)
	if err != nil {
		return c.dataErr(err)
	}
	answered(out.ModelLatency)
	// Metered as the payload the model received and answered (the
	// tensors as CSV rows), as for InvokeEndpoint.
	api.ReportUsage(r.Context(), api.Usage{BytesIn: int64(len(in.Body)), BytesOut: int64(len(out.Body)), ModelTime: out.ModelLatency})
	if mt, _, _ := mime.ParseMediaType(out.ContentType); mt != "text/csv" {
		return modelAnswerErr("the model answered " + strconv.Quote(printable(out.ContentType)) + ", not text/csv")
	}
	tensorOut, err := DecodeCSVOutput(out.Body, batch.Rows)
	if err != nil {
		return modelAnswerErr(err.Error())
	}
	resp := InferResponse{ModelName: c.name, ModelVersion: out.Variant, ID: req.ID, Outputs: []ResponseOutput{tensorOut}}
	if resp.ID == "" {
		resp.ID = api.RequestID(r.Context())
	}
	if out.CustomAttributes != "" {
		resp.Parameters = Parameters{customAttributes: out.CustomAttributes}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// modelAnswerErr is the answer when the model's response cannot be read
// as an output tensor: the model's fault, reported as SageMaker reports a
// model's error.
func modelAnswerErr(msg string) error {
	return &tenantml.Error{Code: tenantml.EINVALID, AWSCode: "ModelError", Status: http.StatusFailedDependency, Message: msg}
}

// repositoryEntry is one $repository_index_response entry.
type repositoryEntry struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	State   string `json:"state"`
	Reason  string `json:"reason"`
}

func (s *Surface) index(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	var req struct {
		Ready          bool   `json:"ready"`
		RepositoryName string `json:"repository_name"`
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return api.DecodeError(err)
	}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "the body is not an index request: %s", jsonProblem(err))
		}
	}
	out := []repositoryEntry{}
	for _, m := range s.Repository.IndexModels(runtime.CallerAccount(r, s.AccountID)) {
		if c.TenantID != "" && m.Tenant != c.TenantID {
			continue // a tenant's principal lists only its tenant's models
		}
		if req.Ready && m.State != serving.ModelReady {
			continue
		}
		out = append(out, repositoryEntry{Name: ModelName{Endpoint: m.Endpoint, TargetModel: m.TargetModel}.String(), Version: m.Variant, State: string(m.State)})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Surface) load(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	return s.repositoryOp(w, r, "load", s.Repository.LoadModel)
}

func (s *Surface) unload(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	return s.repositoryOp(w, r, "unload", s.Repository.UnloadModel)
}

// repositoryOp runs a load or unload of the model r names and answers
// {"name", op: true}.
func (s *Surface) repositoryOp(w http.ResponseWriter, r *http.Request, op string, do func(context.Context, *serving.LiveEndpoint, string, string) error) error {
	c, err := s.model(r)
	if err != nil {
		return err
	}
	if err := do(r.Context(), c.ep, "", c.targetModel); err != nil {
		return c.dataErr(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": c.name, op: true})
	return nil
}
