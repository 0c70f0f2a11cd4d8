package authz

import (
	"context"
	"strconv"
	"time"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
)

// Decision is the outcome of authorizing a request. Its Effect is the IAM
// engine's typed decision: there is no string form to mistype.
type Decision struct {
	Effect iam.Decision
	// Statement is the deciding statement; nil for an implicit deny or a
	// decision taken without policies.
	Statement *StatementRef
	// Reason explains the decision to the caller.
	Reason string
}

// Allowed reports whether the decision allows the request.
func (d Decision) Allowed() bool { return d.Effect == iam.Allowed }

// Allow returns an allow decided without policies, for reason.
func Allow(reason string) Decision { return Decision{Effect: iam.Allowed, Reason: reason} }

// Deny returns an implicit deny decided without policies, for reason.
func Deny(reason string) Decision { return Decision{Effect: iam.ImplicitlyDenied, Reason: reason} }

// StatementRef names one statement of one policy.
type StatementRef struct {
	// Policy names the policy, e.g. "identity[0]" or a policy ARN.
	Policy string
	// Index is the statement's position in the policy.
	Index int
	// Sid is the statement's Sid, if any.
	Sid string
}

// Resource is what an action acts on, as the request's target resolves it.
type Resource struct {
	// ARN names the resource. For a resource that does not exist it is the
	// ARN the request names.
	ARN string
	// Tenant is the tenant that owns the resource; "" for platform and
	// shared resources and for a resource that does not exist.
	Tenant string
	// Tags are the resource's tags (aws:ResourceTag/<key>).
	Tags map[string]string
	// Policy is the resource-based policy (a role's trust policy, a key
	// policy, a bucket policy), nil if none.
	Policy *iam.Policy
	// Account owns the resource when its ARN does not say (an S3 bucket's
	// ARN names no account): a caller of another account is then decided
	// across accounts. "" means the ARN's account.
	Account string
}

// Missing returns the resource as it would be if it did not exist: only
// its ARN is left. A tenant principal's request for another tenant's
// resource is decided on this, so that it is decided exactly like a
// request for a missing one.
func (r Resource) Missing() Resource { return Resource{ARN: r.ARN, Account: r.Account} }

// OwnerAccount is the account that owns the resource: Account, else the
// account its ARN names ("" for none).
func (r Resource) OwnerAccount() string {
	if r.Account != "" {
		return r.Account
	}
	return arn.AccountOf(r.ARN)
}

// Origin is where a request came from: the request-derived global keys.
type Origin struct {
	// SourceIP is the TCP peer (aws:SourceIp); "" when not over HTTP.
	SourceIP string
	// SecureTransport reports TLS (aws:SecureTransport).
	SecureTransport bool
	// Region is the SigV4 credential scope's region (aws:RequestedRegion).
	Region string
	// VPCEndpoint and VPC name the listener the request arrived on
	// (aws:SourceVpce, aws:SourceVpc), "" when it has none.
	VPCEndpoint, VPC string
	// Time is the request time (aws:CurrentTime, aws:EpochTime); zero
	// means the authorizer's clock.
	Time time.Time
}

// Network is the network path a request arrived by: the VPC endpoint (and
// VPC) of the named listener it came in on, zero for the default listener.
type Network struct {
	VPCEndpoint, VPC string
}

type networkKey struct{}

// WithNetwork returns ctx carrying the network path n (a server sets it
// for the connections of a named listener).
func WithNetwork(ctx context.Context, n Network) context.Context {
	return context.WithValue(ctx, networkKey{}, n)
}

// NetworkOf returns the network path ctx carries (zero for none).
func NetworkOf(ctx context.Context) Network {
	n, _ := ctx.Value(networkKey{}).(Network)
	return n
}

// keys appends the origin's condition keys to ctx.
func (o Origin) keys(ctx iam.Context, now time.Time) iam.Context {
	t := o.Time
	if t.IsZero() {
		t = now
	}
	t = t.UTC()
	ctx = append(ctx,
		iam.Single("aws:CurrentTime", t.Format(authn.TimeFormat)),
		iam.Single("aws:EpochTime", strconv.FormatInt(t.Unix(), 10)),
		iam.Single("aws:SecureTransport", strconv.FormatBool(o.SecureTransport)),
	)
	if o.SourceIP != "" {
		ctx = append(ctx, iam.Single("aws:SourceIp", o.SourceIP))
	}
	if o.Region != "" {
		ctx = append(ctx, iam.Single("aws:RequestedRegion", o.Region))
	}
	if o.VPCEndpoint != "" {
		ctx = append(ctx, iam.Single("aws:SourceVpce", o.VPCEndpoint))
	}
	if o.VPC != "" {
		ctx = append(ctx, iam.Single("aws:SourceVpc", o.VPC))
	}
	return ctx
}

// Request is one authorization question: may Caller perform Action on
// Resource, given the request's condition keys?
type Request struct {
	Caller   *authn.Principal
	Action   string
	Resource Resource
	// Context holds the request's own condition keys (aws:RequestTag/*,
	// aws:TagKeys, sts:ExternalId, s3:prefix, sagemaker:TargetModel, ...).
	// The principal's keys, the resource's tags and the origin's keys are
	// added by the authorizer.
	Context iam.Context
	Origin  Origin
}

// Authorizer decides requests. An error fails the request closed.
type Authorizer interface {
	Authorize(ctx context.Context, req *Request) (Decision, error)
}

// CrossTenant reports whether req asks a tenant principal to act on a
// resource of another tenant: the tenant boundary every authorizer refuses.
func CrossTenant(req *Request) bool {
	if req.Caller == nil {
		return false
	}
	ct := req.Caller.TenantID
	return ct != "" && req.Resource.Tenant != "" && req.Resource.Tenant != ct
}

// RootOnly allows every action to the root user of the operator's account,
// as AWS does for an account's root user, and denies everyone else.
type RootOnly struct {
	AccountID string
}

// Authorize implements Authorizer.
func (a *RootOnly) Authorize(_ context.Context, req *Request) (Decision, error) {
	if c := req.Caller; c != nil && c.Type == authn.Root && c.Account == a.AccountID {
		return Allow("the account root user may perform every action in its account"), nil
	}
	return Deny("no policy allows the action"), nil
}

// PlatformOnly reports the actions a principal of a tenant may never
// perform, whatever its policies say: they change what the platform
// decides about a tenant — its existence, status, tier, isolation model and
// quotas, or its erasure — and a tenant deciding them for itself would
// escalate (a tier is a quota and a price); and the deployment's accounts
// (each an IAM namespace with its own root user).
func PlatformOnly(action string) bool {
	switch action {
	case "tenantml:CreateTenant", "tenantml:UpdateTenant", "tenantml:SuspendTenant", "tenantml:ResumeTenant",
		"tenantml:DeleteTenant", "tenantml:EraseTenant", "tenantml:EraseTenantOverride", "tenantml:SetTenantIsolation",
		"tenantml:CreateTier", "tenantml:UpdateTier", "tenantml:DeleteTier", "tenantml:SetTenantQuotas",
		"tenantml:CreateAccount", "tenantml:ListAccounts":
		return true
	}
	return false
}
