package api

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/tenant"
	"github.com/tenantml/tenantml/tracing"
)

// Authenticator establishes who sent a request. It returns an
// authentication error (tenantml.EUNAUTHORIZED) when the request carries
// no valid credentials.
type Authenticator interface {
	Authenticate(r *http.Request) (*authn.Principal, error)
}

// Scope is the SigV4 credential scope a request was signed for.
type Scope struct {
	Region, Service string
}

// ScopedAuthenticator is an Authenticator that also reports the SigV4
// credential scope of the request ("" for other schemes); the pipeline
// checks it against the server's region and the operation's service.
type ScopedAuthenticator interface {
	AuthenticateScoped(r *http.Request) (*authn.Principal, Scope, error)
}

// AuditRecord is what the pipeline reports to the audit log for every
// request. It never holds secrets, tokens or payload bodies.
type AuditRecord struct {
	Time      time.Time
	RequestID string
	Action    string
	Resource  string
	// TenantID is the tenant whose trail the event belongs to: the
	// caller's tenant for a tenant principal, else the tenant that owns the
	// resource, when known. Always a valid tenant ID or "".
	TenantID string
	// ResourceTenant is the tenant that owns the resource ("" for none);
	// with CrossTenant it is shown to the operator only.
	ResourceTenant string
	// CrossTenant is set when a tenant principal named another tenant's
	// resource; the request was answered as for a missing one.
	CrossTenant bool
	Caller      *authn.Principal // nil when authentication failed
	SourceIP    string
	UserAgent   string
	// VPCEndpoint is the named listener's VPC endpoint ("" for none).
	VPCEndpoint string
	Decision    authz.Decision
	// ErrorCode is the code the caller was sent ("" on success).
	ErrorCode string
	Status    int
	Latency   time.Duration
	// TenantSuspended is set when the request was refused because the
	// caller's tenant is suspended or pending deletion.
	TenantSuspended bool
	// RequestParameters are the request's parameters worth auditing
	// (session tags asked for, names created); never secrets.
	RequestParameters map[string]any
	// BytesIn and BytesOut count payload bytes of data events.
	BytesIn, BytesOut int64
	// ModelTime is the time the model's workers spent on an invocation.
	ModelTime time.Duration
}

// TenantGate tells whether a tenant's principals may make requests.
type TenantGate interface {
	// Inactive reports whether tenant exists and is not active (suspended
	// or pending deletion). An unknown tenant is not inactive: IAM
	// policies alone govern its principals.
	Inactive(ctx context.Context, tenant string) (bool, error)
}

// Auditor durably records an audit record; the response is sent only after
// Record returns nil.
type Auditor interface {
	Record(ctx context.Context, rec *AuditRecord) error
}

// Admission is what the admission stage decides on: an authorized request
// about to be handled.
type Admission struct {
	Caller   *authn.Principal
	Action   string
	Resource authz.Resource
}

// Admitter is the admission stage between authorization and the handler
// (quotas, rate limits, fair queues). Admit returns a release function the
// pipeline calls when the handler is done, or an error (ETOOMANYREQUESTS
// with RetryAfter) that refuses the request.
type Admitter interface {
	Admit(ctx context.Context, a *Admission) (release func(), err error)
}

// Op is one API operation: the IAM action it needs, what it acts on, and the
// handler that does the work once the pipeline has allowed it.
type Op struct {
	// Action is the IAM action, e.g. "tenantml:CreateTenant".
	Action string
	// Audited, when set, is the action the audit event records instead of
	// Action: S3 authorizes HeadObject as s3:GetObject and UploadPart as
	// s3:PutObject, while CloudTrail names the operation.
	Audited string
	// Service is the SigV4 service the request must be signed for; ""
	// means the Action's prefix ("sts" for "sts:AssumeRole").
	Service string
	// Target resolves what the action acts on; nil for an operation
	// without a resource. An error fails the request before authorization.
	Target func(r *http.Request, c *authn.Principal) (*Target, error)
	// AlwaysAllowed, when set, skips authorization for actions that need
	// no permission (sts:GetCallerIdentity); it is the reason recorded in
	// the audit event.
	AlwaysAllowed string
	// Refuse, when set, makes the operation refuse every request once it
	// is authenticated: Handle returns the answer (an unknown operation, a
	// malformed body) and the audit event records an implicit deny for
	// this reason.
	Refuse string
	// Handle does the work. It writes its response to w (buffered by the
	// pipeline) or returns an error, which the pipeline writes.
	Handle func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error
	// Stream, when set, is used instead of Handle for responses too large
	// to buffer (artifact downloads). It returns the status, headers and
	// body to send, or an error, which the pipeline writes as for Handle.
	// The audit record (with the returned status) is made durable before
	// the first byte is sent; if it cannot be, the body is closed unread and
	// the answer is 503. A body that fails mid-stream aborts the
	// connection (the client sees a response shorter than its
	// Content-Length) and is logged at error level with the request ID.
	Stream func(r *http.Request, c *authn.Principal) (*Stream, error)
}

// auditedAction is the action the audit event records.
func (op Op) auditedAction() string {
	if op.Audited != "" {
		return op.Audited
	}
	return op.Action
}

// Target is what an operation acts on, as resolved for one request.
type Target struct {
	authz.Resource
	// Context holds the request's condition keys (aws:RequestTag/*, ...).
	Context iam.Context
	// Also are further actions the request needs on the same resource
	// (sts:TagSession for an AssumeRole with tags).
	Also []string
	// NotFound is the error the operation answers for a missing resource.
	// When the resource belongs to another tenant than the caller's, the
	// pipeline decides the request as for a missing resource and, if that
	// is allowed, answers NotFound without calling the handler; it must be
	// set whenever Tenant can be.
	NotFound error
	// Hide, when set, is answered (if the request is allowed) instead of
	// calling the handler: a resource the request names besides the target
	// (a policy to attach, a group's member) belongs to another tenant, and
	// Hide is exactly what the handler answers when that one is missing.
	Hide error
	// Parameters are recorded in the audit event (never secrets).
	Parameters map[string]any
}

// QuietAnswer, as a Target's NotFound, is the bodiless success a protocol
// answers for a missing resource where that is not an error: S3's
// DeleteObject of a missing key is 204 No Content, so the same request for
// another tenant's object must be too. The pipeline writes Status alone
// and records no error code.
type QuietAnswer struct {
	Status int
}

// Error implements error.
func (q *QuietAnswer) Error() string {
	return "answered " + http.StatusText(q.Status) + " as for a missing resource"
}

// Stream is a streamed response of an Op.
type Stream struct {
	// Status is the HTTP status; 0 means 200.
	Status int
	// Header holds the response headers; set Content-Length so that a
	// client can tell an aborted stream from a complete one.
	Header http.Header
	// Body is the response body, closed by the pipeline; nil for none.
	Body io.ReadCloser
}

// Pipeline runs every operation through authenticate → tenant context →
// authorize → admit → handle → audit. Authn, Authz, Audit and Log are
// required. A request is audited even when its client went away mid-way
// (the record is written under a context its cancellation does not reach).
type Pipeline struct {
	Authn Authenticator
	Authz authz.Authorizer
	Audit Auditor
	Log   *slog.Logger
	// Protocol writes errors; ManagementProtocol when nil.
	Protocol Protocol
	// Service, when set, is the SigV4 service every operation's requests
	// must be signed for unless the Op names its own ("tenantml" for the
	// management API, whose actions have several prefixes).
	Service string
	// Region is the server's region: SigV4 requests must be scoped to it
	// (or, for the global services IAM and STS, to us-east-1). "" skips
	// the scope check.
	Region string
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// Tenants, when set, refuses every request of a principal of a
	// suspended or pending-deletion tenant, before any authorization, and
	// flags it in the audit record.
	Tenants TenantGate
	// Admit, when set, is the admission stage.
	Admit Admitter
	// Tracer, when set, traces every request: a root span with a span
	// per stage (authenticate, authorize, admit, handle); see package
	// tracing for what spans carry.
	Tracer trace.Tracer
}

// WithProtocol returns a copy of p that writes errors with proto.
func (p *Pipeline) WithProtocol(proto Protocol) *Pipeline {
	c := *p
	c.Protocol = proto
	return &c
}

// Handler returns the http.Handler that runs op through the pipeline.
func (p *Pipeline) Handler(op Op) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(w, r, op)
	})
}

func (p *Pipeline) serve(w http.ResponseWriter, r *http.Request, op Op) {
	start := p.Now()
	rec := &AuditRecord{
		Time:        start,
		RequestID:   RequestID(r.Context()),
		Action:      truncateText(op.auditedAction(), maxAuditedAction),
		SourceIP:    sourceIP(r),
		UserAgent:   truncateText(r.UserAgent(), maxAuditedUserAgent),
		VPCEndpoint: authz.NetworkOf(r.Context()).VPCEndpoint,
	}
	r, span := p.startRequest(r, op)
	defer endRequest(span, rec)
	if op.Stream != nil {
		p.serveStream(w, r, op, rec, start)
		return
	}
	buf := newBufferedResponse()
	err := p.run(r, op, rec, func(r *http.Request, c *authn.Principal) error { return op.Handle(buf, r, c) })
	var quiet *QuietAnswer
	switch {
	case errors.As(err, &quiet):
		buf.reset().WriteHeader(quiet.Status)
	case err != nil:
		rec.ErrorCode = p.writeError(buf.reset(), r, err, rec.Resource)
	}
	rec.Status = buf.status
	rec.Latency = p.Now().Sub(start)
	if aerr := p.Audit.Record(context.WithoutCancel(r.Context()), rec); aerr != nil {
		p.auditFailed(w, r, rec, aerr)
		return
	}
	buf.flushTo(w)
}

// serveStream is serve for an Op with Stream: errors are buffered and
// audited as in serve; a stream is audited first, then sent unbuffered.
func (p *Pipeline) serveStream(w http.ResponseWriter, r *http.Request, op Op, rec *AuditRecord, start time.Time) {
	var st *Stream
	err := p.run(r, op, rec, func(r *http.Request, c *authn.Principal) error {
		s, err := op.Stream(r, c)
		if err != nil {
			if s != nil && s.Body != nil {
				_ = s.Body.Close()
			}
			return err
		}
		if s == nil {
			return tenantml.Errorf(tenantml.EINTERNAL, "stream handler returned no response")
		}
		st = s
		return nil
	})
	if err != nil {
		buf := newBufferedResponse()
		rec.ErrorCode = p.writeError(buf, r, err, rec.Resource)
		rec.Status, rec.Latency = buf.status, p.Now().Sub(start)
		if aerr := p.Audit.Record(context.WithoutCancel(r.Context()), rec); aerr != nil {
			p.auditFailed(w, r, rec, aerr)
			return
		}
		buf.flushTo(w)
		return
	}
	if st.Body != nil {
		defer st.Body.Close()
	}
	rec.Status = st.Status
	if rec.Status == 0 {
		rec.Status = http.StatusOK
	}
	rec.Latency = p.Now().Sub(start)
	if aerr := p.Audit.Record(context.WithoutCancel(r.Context()), rec); aerr != nil {
		p.auditFailed(w, r, rec, aerr)
		return
	}
	for k, v := range st.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Status)
	if st.Body == nil || r.Method == http.MethodHead {
		return
	}
	cw := &clientWriter{w: w}
	n, err := io.Copy(cw, st.Body)
	if err == nil {
		return
	}
	if cw.err != nil { // the client went away: nothing to tell it
		p.Log.InfoContext(r.Context(), "client stopped reading a streamed response", "requestId", rec.RequestID, "action", op.Action, "bytes", n, "error", cw.err)
		return
	}
	p.Log.ErrorContext(r.Context(), "streamed response failed; aborting the connection", "requestId", rec.RequestID, "action", op.Action, "resource", rec.Resource, "bytes", n, "error", err)
	panic(http.ErrAbortHandler)
}

// errAuditUnavailable is the answer to a request whose audit record failed.
func errAuditUnavailable(cause error) error {
	return &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "the audit log is unavailable; the request was not completed", Err: cause}
}

// auditFailed answers 503 for a request whose audit record failed.
func (p *Pipeline) auditFailed(w http.ResponseWriter, r *http.Request, rec *AuditRecord, aerr error) {
	p.Log.ErrorContext(r.Context(), "audit record failed; refusing request", "requestId", rec.RequestID, "action", rec.Action, "error", aerr)
	p.writeError(w, r, errAuditUnavailable(aerr), "")
}

// clientWriter remembers the first write error, so that a failure of the
// client's connection is told apart from a failure of the body.
type clientWriter struct {
	w   io.Writer
	err error
}

func (c *clientWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// run authenticates, resolves the caller's tenant and the target,
// authorizes, admits and calls handle, filling rec as it learns.
func (p *Pipeline) run(r *http.Request, op Op, rec *AuditRecord, handle func(*http.Request, *authn.Principal) error) error {
	_, span := p.stage(r.Context(), tracing.SpanAuthenticate, rec)
	caller, scope, err := p.authenticate(r)
	span.End()
	if err != nil {
		rec.Decision = authz.Deny("authentication failed")
		return err
	}
	rec.Caller = caller
	if op.Service == "" {
		op.Service = p.Service
	}
	if err := checkScope(scope, p.Region, op); err != nil {
		rec.Decision = authz.Deny("credential scope rejected")
		return err
	}
	ctx := authn.NewContext(r.Context(), caller)
	r = r.WithContext(ctx)
	if err := p.checkTenant(ctx, caller, rec); err != nil {
		return err
	}
	var target Target
	if op.Target != nil {
		t, err := op.Target(r, caller)
		if err != nil {
			rec.Decision = authz.Deny("the request's target could not be resolved")
			return err
		}
		if t != nil {
			target = *t
		}
	}
	hide := target.Hide
	if authz.CrossTenant(&authz.Request{Caller: caller, Resource: target.Resource}) {
		rec.ResourceTenant = target.Resource.Tenant
		target.Resource = target.Resource.Missing()
		hide = target.NotFound
		if hide == nil {
			hide = tenantml.Errorf(tenantml.ENOTFOUND, "the resource does not exist")
		}
	}
	if hide != nil && caller.TenantID != "" {
		rec.CrossTenant = true
	}
	rec.Resource = target.ARN
	rec.RequestParameters = target.Parameters
	if caller.TenantID == "" && target.Tenant != "" {
		rec.TenantID = target.Tenant
	}
	if rec.ResourceTenant == "" {
		rec.ResourceTenant = target.Tenant
	}
	switch {
	case op.Refuse != "":
		rec.Decision = authz.Deny(op.Refuse)
		return handle(r, caller)
	case op.AlwaysAllowed != "":
		rec.Decision = authz.Allow(op.AlwaysAllowed)
	default:
		origin := p.origin(r, scope)
		for _, action := range append([]string{op.Action}, target.Also...) {
			actx, span := p.stage(ctx, tracing.SpanAuthorize, rec)
			d, err := p.Authz.Authorize(actx, &authz.Request{Caller: caller, Action: action, Resource: target.Resource, Context: target.Context, Origin: origin})
			span.SetAttributes(tracing.Action.String(action), tracing.Decision.String(d.Effect.String()))
			span.End()
			if err != nil {
				rec.Decision = authz.Deny("authorization failed: " + tenantml.ErrorMessage(err))
				return err
			}
			rec.Decision = d
			if !d.Allowed() {
				return tenantml.Errorf(tenantml.EFORBIDDEN, "%s", deniedMessage(caller, action, target.ARN, d))
			}
		}
	}
	actx, span := p.stage(ctx, tracing.SpanAdmit, rec)
	if p.Admit != nil {
		release, err := p.Admit.Admit(actx, &Admission{Caller: caller, Action: op.Action, Resource: target.Resource})
		if err != nil {
			span.End()
			return err
		}
		defer release()
	}
	span.End()
	if hide != nil {
		return hide
	}
	uctx, usage := withUsage(r.Context())
	uctx, span = p.stage(uctx, tracing.SpanHandle, rec)
	err = handle(r.WithContext(uctx), caller)
	span.End()
	usage.record(rec)
	if tenantml.ErrorCode(err) == tenantml.EFORBIDDEN && rec.Decision.Allowed() {
		// The operation refused what the policies allowed (the tenant
		// invariant refusing a session, a key policy): the request was
		// denied, and the event says so.
		rec.Decision = authz.Deny("refused by the operation: " + tenantml.ErrorMessage(err))
	}
	return err
}

// authenticate runs the authenticator, with the credential scope when it
// reports one.
func (p *Pipeline) authenticate(r *http.Request) (*authn.Principal, Scope, error) {
	if sa, ok := p.Authn.(ScopedAuthenticator); ok {
		return sa.AuthenticateScoped(r)
	}
	c, err := p.Authn.Authenticate(r)
	return c, Scope{}, err
}

// origin is where r came from, for the request-derived condition keys.
func (p *Pipeline) origin(r *http.Request, scope Scope) authz.Origin {
	o := authz.Origin{SourceIP: sourceIP(r), SecureTransport: r.TLS != nil, Region: scope.Region, Time: p.Now()}
	n := authz.NetworkOf(r.Context())
	o.VPCEndpoint, o.VPC = n.VPCEndpoint, n.VPC
	return o
}

// Check asks the authorizer whether caller may perform action on res, as
// the pipeline would (the tenant boundary included), for handlers that
// must authorize a second action or resource (a copy's source, a presign).
// A resource of another tenant is decided as a missing one; hidden reports
// it, and the handler must then answer exactly as for a missing resource.
func (p *Pipeline) Check(r *http.Request, caller *authn.Principal, action string, res authz.Resource, keys iam.Context) (d authz.Decision, hidden bool, err error) {
	req := &authz.Request{Caller: caller, Action: action, Resource: res, Context: keys, Origin: p.origin(r, Scope{})}
	if authz.CrossTenant(req) {
		req.Resource, hidden = res.Missing(), true
	}
	d, err = p.Authz.Authorize(r.Context(), req)
	return d, hidden, err
}

// checkTenant resolves the caller's tenant: it must be a valid tenant ID
// and, when a TenantGate is set, active. It looks only at the caller's own
// tenant, so the answer says nothing about any other tenant; it fails
// closed when the status cannot be read.
func (p *Pipeline) checkTenant(ctx context.Context, caller *authn.Principal, rec *AuditRecord) error {
	t := caller.TenantID
	if t == "" {
		return nil
	}
	if err := tenant.ValidateID(t); err != nil {
		rec.Decision = authz.Deny("the caller's tenant ID is not valid")
		return tenantml.Errorf(tenantml.EFORBIDDEN, "the caller's tenant is not valid: requests of its principals are refused")
	}
	rec.TenantID = t
	if p.Tenants == nil {
		return nil
	}
	inactive, err := p.Tenants.Inactive(ctx, t)
	if err != nil {
		rec.Decision = authz.Deny("tenant status unavailable")
		return &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "tenant status is unavailable; the request was not completed", Err: err}
	}
	if inactive {
		rec.TenantSuspended = true
		rec.Decision = authz.Deny("the caller's tenant is suspended")
		return tenantml.Errorf(tenantml.EFORBIDDEN, "tenant %s is not active: requests of its principals are refused until an operator resumes it", t)
	}
	return nil
}

// Denied is the error the pipeline answers when no policy allows caller
// action on resource: for handlers that must refuse, in the same words, a
// request they cannot answer as for a missing resource (a write over
// another tenant's object, where a missing one would be created).
func Denied(c *authn.Principal, action, resource string) error {
	return tenantml.Errorf(tenantml.EFORBIDDEN, "%s", deniedMessage(c, action, resource, authz.Deny("")))
}

// deniedMessage is the AWS-style explanation a denied caller reads. It names
// only the caller's own identity and the resource it asked for.
func deniedMessage(c *authn.Principal, action, resource string, d authz.Decision) string {
	kind := "no identity-based policy allows"
	if d.Effect == iam.ExplicitlyDenied {
		kind = "an explicit deny in a policy denies"
	}
	msg := "User: " + c.ARN + " is not authorized to perform: " + action
	if resource != "" {
		msg += " on resource: " + resource
	}
	return msg + " because " + kind + " the " + action + " action"
}

// writeError writes err in the pipeline's protocol and returns the code
// the caller was sent. Failures of the server are logged with their cause.
func (p *Pipeline) writeError(w http.ResponseWriter, r *http.Request, err error, resource string) string {
	proto := p.Protocol
	if proto == nil {
		proto = ManagementProtocol{}
	}
	e := proto.Describe(err)
	e.Resource = resource
	if e.Status >= 500 {
		p.Log.ErrorContext(r.Context(), "request failed", "requestId", RequestID(r.Context()), "method", r.Method, "path", truncateText(r.URL.Path, maxAuditedAction), "code", e.Code, "error", err)
	}
	proto.WriteError(w, r, e)
	return e.Code
}

// sourceIP is the TCP peer address. X-Forwarded-For is ignored: trusting it
// would let a client choose its aws:SourceIp.
func sourceIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// bufferedResponse holds a handler's response until the audit record is
// durable.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func newBufferedResponse() *bufferedResponse {
	return &bufferedResponse{header: http.Header{}, status: http.StatusOK}
}

func (b *bufferedResponse) Header() http.Header { return b.header }

func (b *bufferedResponse) WriteHeader(status int) {
	if !b.wrote {
		b.status, b.wrote = status, true
	}
}

func (b *bufferedResponse) Write(p []byte) (int, error) {
	b.wrote = true
	return b.body.Write(p)
}

// reset discards anything written so that an error can replace it.
func (b *bufferedResponse) reset() *bufferedResponse {
	b.header = http.Header{}
	b.status, b.wrote = http.StatusOK, false
	b.body.Reset()
	return b
}

func (b *bufferedResponse) flushTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes()) // a client that went away is not an error: the audit record stands
}

// At returns an Op.Target naming a fixed resource (a collection, the
// account's trail) that belongs to no tenant.
func At(arn string) func(*http.Request, *authn.Principal) (*Target, error) {
	return func(*http.Request, *authn.Principal) (*Target, error) {
		return &Target{Resource: authz.Resource{ARN: arn}}, nil
	}
}
