package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
)

type requestKey struct{}

// withRequest records the HTTP request being authorized, so that the
// authorizer can read request-derived condition keys (aws:SourceIp,
// aws:SecureTransport) and surfaces their parameters.
func withRequest(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the HTTP request the pipeline is authorizing.
func RequestFrom(ctx context.Context) (*http.Request, bool) {
	r, ok := ctx.Value(requestKey{}).(*http.Request)
	return r, ok
}

// DefaultPolicyCacheSize bounds IAMAuthorizer's cache of parsed policies.
const DefaultPolicyCacheSize = 4096

// IAMAuthorizer decides requests with the IAM engine (iam.Authorize) over
// the caller's policies from the identity store:
//
//   - the root user of the operator's account is allowed everything (as on
//     AWS); other accounts' roots are denied;
//   - IAM users: PoliciesForUser, with the user's permissions boundary;
//   - role sessions: PoliciesForRole, the role's boundary, and the session
//     policies (inline Policy and managed PolicyArns, parsed as session
//     policies); a session issued before the role's SessionsRevokedBefore
//     is denied.
//
// The request context holds the principal's ContextKeys plus aws:CurrentTime,
// aws:EpochTime, aws:SecureTransport, aws:SourceIp and aws:RequestedRegion
// (the SigV4 credential scope's region). Parsed documents are
// cached by kind and SHA-256 of their text (bounded: the cache is emptied
// when full), so an edited policy is never served stale. Any error — a store
// failure, a stored document that no longer parses — fails closed.
type IAMAuthorizer struct {
	AccountID string
	Identity  identity.Service
	// Now returns the current time (aws:CurrentTime).
	Now func() time.Time
	// MaxCached bounds the parsed-policy cache; 0 means DefaultPolicyCacheSize.
	MaxCached int

	mu    sync.Mutex
	cache map[[sha256.Size]byte]*iam.Policy
}

var _ Authorizer = (*IAMAuthorizer)(nil)

// allowAll stands for the root user's implicit permissions when a
// resource-based policy (a trust policy) takes part in the decision.
const allowAllDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// sessionPolicyGone stands for a managed session policy that no longer
// exists: the session may do nothing.
const sessionPolicyGone = `{"Version":"2012-10-17","Statement":[{"Sid":"SessionPolicyDeleted","Effect":"Deny","Action":"*","Resource":"*"}]}`

// Authorize implements Authorizer.
func (a *IAMAuthorizer) Authorize(ctx context.Context, c *authn.Principal, action, resource string) (Decision, error) {
	return a.Decide(ctx, c, action, resource, nil, nil)
}

// Decide is Authorize with an optional resource-based policy of the
// resource (a role's trust policy) and extra request context keys (e.g.
// aws:RequestTag/*, sts:ExternalId).
func (a *IAMAuthorizer) Decide(ctx context.Context, c *authn.Principal, action, resource string, resourcePolicy *iam.Policy, extra iam.Context) (Decision, error) {
	if c == nil {
		return Decision{}, errors.New("authorize: no caller")
	}
	set, labels, denied, err := a.policySet(ctx, c, resourcePolicy)
	if err != nil {
		return Decision{}, fmt.Errorf("authorize: %w", err)
	}
	if denied != nil {
		return *denied, nil
	}
	if set == nil { // the operator's root, no resource policy
		return Decision{Effect: "Allowed", Reason: "the account root user may perform every action in its account"}, nil
	}
	req := &iam.Request{Principal: c.ARN, PrincipalAccount: c.Account, Action: action, Resource: resource, Context: a.requestContext(ctx, c, extra)}
	if c.Session != nil {
		req.RoleARN = c.Session.RoleARN
	}
	dec, diag := iam.Authorize(set, req)
	d := Decision{Effect: dec.String(), Reason: diag.Reason()}
	if refs := diag.Statements(); len(refs) > 0 {
		ref := refs[0]
		name := ref.PolicyLabel()
		if l, ok := labels[name]; ok {
			name = l
		}
		d.Statement = &StatementRef{Policy: name, Index: int(ref.Index), Sid: ref.Sid}
	}
	return d, nil
}

// policySet gathers and parses the caller's policies. It returns a nil set
// for the operator's root without a resource policy, and a decision when
// the caller is denied before evaluation.
func (a *IAMAuthorizer) policySet(ctx context.Context, c *authn.Principal, resourcePolicy *iam.Policy) (*iam.PolicySet, map[string]string, *Decision, error) {
	set := &iam.PolicySet{Resource: resourcePolicy}
	labels := map[string]string{}
	var eff *identity.Effective
	var err error
	switch {
	case c.Type == authn.Root:
		if c.Account != a.AccountID {
			return nil, nil, &Decision{Effect: "ImplicitlyDenied", Reason: "the root user of another account has no permissions here"}, nil
		}
		if resourcePolicy == nil {
			return nil, nil, nil, nil
		}
		p, err := a.parse(allowAllDoc, iam.KindIdentity)
		if err != nil {
			return nil, nil, nil, err
		}
		set.Identity = []*iam.Policy{p}
		return set, labels, nil, nil
	case c.Type == authn.IAMUser:
		eff, err = a.Identity.PoliciesForUser(ctx, c.Account, c.UserName)
	case c.Type == authn.AssumedRole && c.Session != nil:
		eff, err = a.Identity.PoliciesForRole(ctx, c.Account, roleName(c.Session.RoleARN))
	default:
		return nil, nil, &Decision{Effect: "ImplicitlyDenied", Reason: "principal type " + string(c.Type) + " has no policies"}, nil
	}
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return nil, nil, &Decision{Effect: "ImplicitlyDenied", Reason: "the caller's user or role no longer exists"}, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load policies: %w", err)
	}
	if s := c.Session; s != nil && eff.SessionsRevokedBefore != nil && s.IssuedAt.Before(*eff.SessionsRevokedBefore) {
		return nil, nil, &Decision{Effect: "ImplicitlyDenied", Reason: "the role's sessions issued before " + eff.SessionsRevokedBefore.UTC().Format(authn.TimeFormat) + " were revoked"}, nil
	}
	for i, doc := range eff.Policies {
		p, err := a.parse(doc.Document, iam.KindIdentity)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("policy %s: %w", docLabel(doc), err)
		}
		set.Identity = append(set.Identity, p)
		labels["identity["+strconv.Itoa(i)+"]"] = docLabel(doc)
	}
	if eff.Boundary != nil {
		p, err := a.parse(eff.Boundary.Document, iam.KindBoundary)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("permissions boundary: %w", err)
		}
		set.Boundaries = []*iam.Policy{p}
		labels["boundary[0]"] = docLabel(*eff.Boundary)
	}
	if s := c.Session; s != nil {
		if s.Policy != "" {
			p, err := a.parse(s.Policy, iam.KindSession)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("session policy: %w", err)
			}
			set.Session = append(set.Session, p)
			labels["session[0]"] = "session policy"
		}
		for _, arn := range s.PolicyARNs {
			p, err := a.managedSessionPolicy(ctx, c.Account, arn)
			if err != nil {
				return nil, nil, nil, err
			}
			labels["session["+strconv.Itoa(len(set.Session))+"]"] = arn
			set.Session = append(set.Session, p)
		}
	}
	return set, labels, nil, nil
}

func (a *IAMAuthorizer) managedSessionPolicy(ctx context.Context, acct, arn string) (*iam.Policy, error) {
	pol, err := a.Identity.GetPolicy(ctx, acct, arn)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		// Deleted since the session began: the session may do nothing
		// (fail closed, without an internal error on every call).
		return a.parse(sessionPolicyGone, iam.KindSession)
	}
	if err != nil {
		return nil, fmt.Errorf("session policy %s: %w", arn, err)
	}
	v, err := a.Identity.GetPolicyVersion(ctx, acct, arn, pol.DefaultVersionID)
	if err != nil {
		return nil, fmt.Errorf("session policy %s: %w", arn, err)
	}
	p, err := a.parse(v.Document, iam.KindSession)
	if err != nil {
		return nil, fmt.Errorf("session policy %s: %w", arn, err)
	}
	return p, nil
}

func docLabel(d identity.Document) string {
	if d.ARN != "" {
		return d.ARN + " " + d.VersionID
	}
	return d.Source + " inline " + d.Name
}

// roleName is the last path segment of a role ARN.
func roleName(roleARN string) string {
	return roleARN[strings.LastIndex(roleARN, "/")+1:]
}

// requestContext is the principal's keys, the request-derived global keys
// and extra.
func (a *IAMAuthorizer) requestContext(ctx context.Context, c *authn.Principal, extra iam.Context) iam.Context {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	t := now().UTC()
	out := make(iam.Context, 0, 16+len(extra))
	out = append(out, extra...)
	for k, v := range c.ContextKeys() {
		out = append(out, iam.Single(k, v))
	}
	out = append(out,
		iam.Single("aws:CurrentTime", t.Format(authn.TimeFormat)),
		iam.Single("aws:EpochTime", strconv.FormatInt(t.Unix(), 10)),
	)
	if r, ok := RequestFrom(ctx); ok {
		out = append(out,
			iam.Single("aws:SecureTransport", strconv.FormatBool(r.TLS != nil)),
			iam.Single("aws:SourceIp", sourceIP(r)),
		)
		if region := scopeRegion(r); region != "" {
			out = append(out, iam.Single("aws:RequestedRegion", region))
		}
	}
	return out
}

// scopeRegion is the region of the request's SigV4 credential scope
// (aws:RequestedRegion), "" when unsigned.
func scopeRegion(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); cred == "" && strings.HasPrefix(auth, "AWS4-") {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			cred, _, _ = strings.Cut(auth[i+len("Credential="):], ",")
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[2]
}

// Parse parses a policy document of kind, from the cache when the same
// text was parsed before.
func (a *IAMAuthorizer) Parse(doc string, kind iam.Kind) (*iam.Policy, error) {
	return a.parse(doc, kind)
}

func (a *IAMAuthorizer) parse(doc string, kind iam.Kind) (*iam.Policy, error) {
	h := sha256.New()
	h.Write([]byte{byte(kind)})
	h.Write([]byte(doc))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	a.mu.Lock()
	p, ok := a.cache[key]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := iam.Parse([]byte(doc), iam.ParseOptions{Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	limit := a.MaxCached
	if limit <= 0 {
		limit = DefaultPolicyCacheSize
	}
	a.mu.Lock()
	if a.cache == nil || len(a.cache) >= limit {
		a.cache = make(map[[sha256.Size]byte]*iam.Policy)
	}
	a.cache[key] = p
	a.mu.Unlock()
	return p, nil
}
