package api

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// Decision is the outcome of authorizing a request.
type Decision struct {
	// Effect is "Allowed", "ExplicitlyDenied" or "ImplicitlyDenied".
	Effect string
	// Statement is the deciding statement; nil for an implicit deny.
	Statement *StatementRef
	// Reason explains the decision to the caller.
	Reason string
}

// StatementRef names one statement of one policy.
type StatementRef struct {
	// Policy names the policy, e.g. "identity[0]" or a policy ARN.
	Policy string
	// Index is the statement's position in the policy.
	Index int
	// Sid is the statement's Sid, if any.
	Sid string
}

// Allowed reports whether the decision allows the request.
func (d Decision) Allowed() bool { return d.Effect == "Allowed" }

// Authenticator establishes who sent a request. It returns an EUNAUTHORIZED
// error when the request carries no valid credentials.
type Authenticator interface {
	Authenticate(r *http.Request) (*authn.Principal, error)
}

// Authorizer decides whether caller may perform action on resource. An
// error fails the request closed.
type Authorizer interface {
	Authorize(ctx context.Context, caller *authn.Principal, action, resource string) (Decision, error)
}

// AuditRecord is what the pipeline reports to the audit log for every
// request. It never holds secrets, tokens or payload bodies.
type AuditRecord struct {
	Time      time.Time
	RequestID string
	Action    string
	Resource  string
	// TenantID is the tenant the target resource belongs to, when known.
	TenantID  string
	Caller    *authn.Principal // nil when authentication failed
	SourceIP  string
	UserAgent string
	Decision  Decision
	ErrorCode string
	Status    int
	Latency   time.Duration
	// TenantSuspended is set when the request was refused because the
	// caller's tenant is suspended or pending deletion.
	TenantSuspended bool
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

// Op is one API operation: the IAM action it needs, the resource it acts on
// and the handler that does the work once the pipeline has allowed it.
type Op struct {
	// Action is the IAM action, e.g. "tenantml:CreateTenant".
	Action string
	// Resource returns the ARN the action applies to.
	Resource func(r *http.Request) string
	// TenantID returns the tenant the resource belongs to, if any.
	TenantID func(r *http.Request) string
	// AlwaysAllowed, when set, skips the authorizer for actions that need
	// no permission (sts:GetCallerIdentity); it is the reason recorded in
	// the audit event.
	AlwaysAllowed string
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

// ErrorWriter writes an error in a surface's wire format.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, err error)

// Pipeline runs every operation through authenticate → authorize → handle →
// audit. All fields are required except WriteError (JSON by default).
type Pipeline struct {
	Authn      Authenticator
	Authz      Authorizer
	Audit      Auditor
	Log        *slog.Logger
	WriteError ErrorWriter
	// Now returns the current time; tests replace it.
	Now func() time.Time
	// Tenants, when set, refuses every request of a principal tagged with
	// a suspended or pending-deletion tenant (TenantTag), before any
	// authorization, and flags it in the audit record.
	Tenants TenantGate
}

// WithErrors returns a copy of p that writes errors with write, for a
// surface with its own wire format.
func (p *Pipeline) WithErrors(write ErrorWriter) *Pipeline {
	c := *p
	c.WriteError = write
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
		Time:      start,
		RequestID: RequestID(r.Context()),
		Action:    op.Action,
		SourceIP:  sourceIP(r),
		UserAgent: r.UserAgent(),
	}
	if op.Stream != nil {
		p.serveStream(w, r, op, rec, start)
		return
	}
	buf := newBufferedResponse()
	err := p.run(r, op, rec, func(r *http.Request, c *authn.Principal) error { return op.Handle(buf, r, c) })
	if err != nil {
		p.writeError(buf.reset(), r, err)
		rec.ErrorCode = ErrorCode(err)
	}
	rec.Status = buf.status
	rec.Latency = p.Now().Sub(start)
	if aerr := p.Audit.Record(r.Context(), rec); aerr != nil {
		p.Log.ErrorContext(r.Context(), "audit record failed; refusing request", "requestId", rec.RequestID, "action", op.Action, "error", aerr)
		p.writeError(w, r, &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "the audit log is unavailable; the request was not completed", Err: aerr})
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
		p.writeError(buf, r, err)
		rec.ErrorCode, rec.Status, rec.Latency = ErrorCode(err), buf.status, p.Now().Sub(start)
		if aerr := p.Audit.Record(r.Context(), rec); aerr != nil {
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
	if aerr := p.Audit.Record(r.Context(), rec); aerr != nil {
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

// auditFailed answers 503 for a request whose audit record failed.
func (p *Pipeline) auditFailed(w http.ResponseWriter, r *http.Request, rec *AuditRecord, aerr error) {
	p.Log.ErrorContext(r.Context(), "audit record failed; refusing request", "requestId", rec.RequestID, "action", rec.Action, "error", aerr)
	p.writeError(w, r, &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "the audit log is unavailable; the request was not completed", Err: aerr})
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

// run authenticates, authorizes and calls handle, filling rec as it learns.
func (p *Pipeline) run(r *http.Request, op Op, rec *AuditRecord, handle func(*http.Request, *authn.Principal) error) error {
	caller, err := p.Authn.Authenticate(r)
	if err != nil {
		rec.Decision = Decision{Effect: "ImplicitlyDenied", Reason: "authentication failed"}
		return err
	}
	rec.Caller = caller
	if op.Resource != nil {
		rec.Resource = op.Resource(r)
	}
	if op.TenantID != nil {
		rec.TenantID = op.TenantID(r)
	}
	if err := p.checkTenant(r.Context(), caller, rec); err != nil {
		return err
	}
	if op.AlwaysAllowed != "" {
		rec.Decision = Decision{Effect: "Allowed", Reason: op.AlwaysAllowed}
		return handle(r.WithContext(authn.NewContext(r.Context(), caller)), caller)
	}
	d, err := p.Authz.Authorize(withRequest(r.Context(), r), caller, op.Action, rec.Resource)
	if err != nil {
		rec.Decision = Decision{Effect: "ImplicitlyDenied", Reason: "authorization failed: " + tenantml.ErrorMessage(err)}
		return err
	}
	rec.Decision = d
	if !d.Allowed() {
		return &tenantml.Error{Code: tenantml.EFORBIDDEN, Message: deniedMessage(caller, op.Action, rec.Resource, d)}
	}
	return handle(r.WithContext(authn.NewContext(r.Context(), caller)), caller)
}

// checkTenant refuses the request of a principal whose tenant is not
// active. It looks only at the caller's own tenant, so the answer says
// nothing about any other tenant; it fails closed when the status cannot
// be read.
func (p *Pipeline) checkTenant(ctx context.Context, caller *authn.Principal, rec *AuditRecord) error {
	t := caller.Tags[TenantTag]
	if p.Tenants == nil || t == "" {
		return nil
	}
	inactive, err := p.Tenants.Inactive(ctx, t)
	if err != nil {
		rec.Decision = Decision{Effect: "ImplicitlyDenied", Reason: "tenant status unavailable"}
		return &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "tenant status is unavailable; the request was not completed", Err: err}
	}
	if inactive {
		rec.TenantSuspended = true
		rec.Decision = Decision{Effect: "ImplicitlyDenied", Reason: "the caller's tenant is suspended"}
		return &tenantml.Error{Code: tenantml.EFORBIDDEN, Message: "tenant " + t + " is not active: requests of its principals are refused until an operator resumes it"}
	}
	return nil
}

// AuthorizeRequest asks the pipeline's authorizer whether caller may
// perform action on resource, with r's condition keys (aws:SourceIp, ...),
// for handlers that must check a second action (a presign checks the
// action the URL would grant).
func (p *Pipeline) AuthorizeRequest(r *http.Request, caller *authn.Principal, action, resource string) (Decision, error) {
	return p.Authz.Authorize(withRequest(r.Context(), r), caller, action, resource)
}

// deniedMessage is the AWS-style explanation a denied caller reads. It names
// only the caller's own identity and the resource it asked for.
func deniedMessage(c *authn.Principal, action, resource string, d Decision) string {
	kind := "no identity-based policy allows"
	if d.Effect == "ExplicitlyDenied" {
		kind = "an explicit deny in a policy denies"
	}
	msg := "User: " + c.ARN + " is not authorized to perform: " + action
	if resource != "" {
		msg += " on resource: " + resource
	}
	return msg + " because " + kind + " the " + action + " action"
}

func (p *Pipeline) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if p.WriteError != nil {
		p.WriteError(w, r, err)
		return
	}
	Error(w, r, p.Log, err)
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
