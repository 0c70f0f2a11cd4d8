package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// AWSRouter serves the AWS services that share the root path "/": JSON 1.1
// services (KMS, SageMaker, Application Auto Scaling) dispatched by their
// X-Amz-Target header, "<TargetPrefix>.<Operation>", and query-protocol
// services (IAM, STS) dispatched by their Action parameter. It is built
// once, at startup.
//
// It reads the request body (bounded by the server's limit) once, restores
// it for SigV4 verification, and, for JSON services, decodes it into the
// operation's input before the pipeline runs, so that the operation's
// Target and Handle read the same value (Input). Unknown operations and
// malformed bodies still run through the pipeline — authenticated and
// audited, with the code they are answered with — and never reach a
// handler.
type AWSRouter struct {
	query     map[string]http.Handler
	queryFall *Pipeline
	queryP    *QueryProtocol
	json      map[string]*jsonService
}

type jsonService struct {
	prefix   string // "TrentService"
	service  string // SigV4 service and action prefix, "kms"
	pipeline *Pipeline
	ops      map[string]http.Handler
	news     map[string]func() any
}

// NewAWSRouter returns an empty router. Unknown query actions are answered
// through p in protocol's form.
func NewAWSRouter(p *Pipeline, protocol *QueryProtocol) *AWSRouter {
	return &AWSRouter{query: map[string]http.Handler{}, queryFall: p.WithProtocol(protocol), queryP: protocol, json: map[string]*jsonService{}}
}

// Register routes query-protocol requests whose Action is action to h.
func (a *AWSRouter) Register(action string, h http.Handler) { a.query[action] = h }

// JSONService registers a JSON 1.1 service: requests whose X-Amz-Target
// starts with prefix+"." go to its operations, through p in protocol's
// form; service is its SigV4 service name and IAM action prefix ("kms").
func (a *AWSRouter) JSONService(prefix, service string, p *Pipeline, protocol Protocol) *JSONRegistrar {
	s := &jsonService{prefix: prefix, service: service, pipeline: p.WithProtocol(protocol), ops: map[string]http.Handler{}, news: map[string]func() any{}}
	a.json[prefix] = s
	return &JSONRegistrar{s: s}
}

// JSONRegistrar adds operations to one JSON 1.1 service.
type JSONRegistrar struct{ s *jsonService }

// Register routes the operation name (the part of X-Amz-Target after the
// prefix) to op. newInput returns a pointer for the request body to be
// decoded into; the op reads it with Input. op.Action defaults to
// "<service>:<name>".
func (j *JSONRegistrar) Register(name string, newInput func() any, op Op) {
	if op.Action == "" {
		op.Action = j.s.service + ":" + name
	}
	j.s.ops[name] = j.s.pipeline.Handler(op)
	j.s.news[name] = newInput
}

// Operations returns every operation the router dispatches, sorted: query
// actions by name ("AssumeRole") and JSON 1.1 operations by target
// ("TrentService.Encrypt"), for suites that must cover every one.
func (a *AWSRouter) Operations() []string {
	out := slices.Collect(maps.Keys(a.query))
	for prefix, s := range a.json {
		for name := range s.ops {
			out = append(out, prefix+"."+name)
		}
	}
	slices.Sort(out)
	return out
}

// ServeHTTP implements http.Handler.
func (a *AWSRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		a.serveJSON(w, r, target)
		return
	}
	a.serveQuery(w, r)
}

func (a *AWSRouter) serveJSON(w http.ResponseWriter, r *http.Request, target string) {
	prefix, name, _ := strings.Cut(target, ".")
	s, ok := a.json[prefix]
	if !ok {
		op := refused("unknown service", "tenantml:UnknownTarget", tenantml.AWSErrorf(tenantml.EINVALID, "UnknownOperationException", "unknown X-Amz-Target %q", truncateText(target, 64)))
		op.Target = func(*http.Request, *authn.Principal) (*Target, error) {
			return &Target{Parameters: map[string]any{"target": truncateText(target, maxAuditedAction)}}, nil
		}
		a.queryFall.Handler(op).ServeHTTP(w, r)
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.pipeline.Handler(refused("unreadable body", s.service+":"+name, err)).ServeHTTP(w, r)
		return
	}
	h, ok := s.ops[name]
	if !ok {
		s.pipeline.Handler(refused("unknown operation", s.service+":"+name, tenantml.AWSErrorf(tenantml.EINVALID, "UnknownOperationException", "unknown operation %q", truncateText(name, 64)))).ServeHTTP(w, r)
		return
	}
	in := s.news[name]()
	if err := decodeJSON11(body, in); err != nil {
		s.pipeline.Handler(refused("malformed request", s.service+":"+name, err)).ServeHTTP(w, r)
		return
	}
	h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), inputKey{}, in)))
}

func (a *AWSRouter) serveQuery(w http.ResponseWriter, r *http.Request) {
	action, err := peekAction(r)
	if err != nil {
		a.queryFall.Handler(refused("unreadable request", "tenantml:MalformedRequest", err)).ServeHTTP(w, r)
		return
	}
	if h, ok := a.query[action]; ok {
		h.ServeHTTP(w, r)
		return
	}
	if action == "" {
		a.queryFall.Handler(refused("no action", "tenantml:MissingAction",
			tenantml.AWSErrorf(tenantml.EINVALID, "MissingAction", "the request must contain the parameter Action"))).ServeHTTP(w, r)
		return
	}
	op := refused("unknown action", "tenantml:UnknownAction",
		tenantml.AWSErrorf(tenantml.EINVALID, "InvalidAction", "the action %s is not valid for this web service", truncateText(action, 64)))
	op.Target = func(*http.Request, *authn.Principal) (*Target, error) {
		return &Target{Parameters: map[string]any{"action": truncateText(action, maxAuditedAction)}}, nil
	}
	a.queryFall.Handler(op).ServeHTTP(w, r)
}

// refused is an operation that authenticates and audits the request, then
// answers err.
func refused(reason, action string, err error) Op {
	return Op{Action: action, Service: AnyService, Refuse: reason, Handle: func(http.ResponseWriter, *http.Request, *authn.Principal) error { return err }}
}

type inputKey struct{}

// Input returns the decoded JSON 1.1 input of the request the AWSRouter
// dispatched (the pointer its registration's newInput returned).
func Input[T any](r *http.Request) *T {
	v, _ := r.Context().Value(inputKey{}).(*T)
	if v == nil {
		v = new(T)
	}
	return v
}

// InputValue returns the decoded JSON 1.1 input of the request the
// AWSRouter dispatched, as its registration's newInput returned it (nil
// when there is none).
func InputValue(r *http.Request) any { return r.Context().Value(inputKey{}) }

// readBody reads the whole (bounded) body and restores it for the
// verifier and the handler.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, tenantml.AWSErrorf(tenantml.ETOOLARGE, "RequestEntityTooLarge", "request body exceeds %d bytes", tooLarge.Limit)
		}
		return nil, &tenantml.Error{Code: tenantml.EINVALID, AWSCode: "SerializationException", Message: "could not read the request body", Err: err}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// decodeJSON11 decodes a JSON 1.1 body into in; an empty body is an empty
// input.
func decodeJSON11(body []byte, in any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return tenantml.AWSErrorf(tenantml.EINVALID, "SerializationException", "the request body is not valid JSON for this operation: %s", truncateText(err.Error(), 200))
	}
	return nil
}

// peekAction reads Action from the query or the form body and restores the
// body for the handler.
func peekAction(r *http.Request) (string, error) {
	if a := r.URL.Query().Get("Action"); a != "" {
		return a, nil
	}
	if r.Body == nil || r.Method != http.MethodPost {
		return "", nil
	}
	body, err := readBody(r)
	if err != nil {
		return "", err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", tenantml.AWSErrorf(tenantml.EINVALID, "MalformedQueryString", "the request parameters are malformed")
	}
	return form.Get("Action"), nil
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
