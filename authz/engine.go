package authz

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
)

// Defaults of Engine's caches.
const (
	// DefaultPolicyCacheSize bounds the cache of parsed policy documents.
	DefaultPolicyCacheSize = 4096
	// DefaultEffectiveCacheSize bounds the cache of principals' effective
	// policies.
	DefaultEffectiveCacheSize = 4096
	// DefaultEffectiveTTL bounds how long a principal's effective policies
	// are reused. Writes through this process invalidate at once (Invalidate);
	// the TTL bounds how long another gateway's write can go unseen.
	DefaultEffectiveTTL = 5 * time.Second
)

// Engine decides requests with the IAM engine (iam.Authorize) over the
// caller's policies from the identity store:
//
//   - a principal of a tenant is denied any action on another tenant's
//     resource, before any policy (CrossTenant);
//   - the root user of the operator's account is allowed everything (as on
//     AWS); other accounts' roots are denied;
//   - IAM users: PoliciesForUser, with the user's permissions boundary;
//   - role sessions: PoliciesForRole, the role's boundary, and the session
//     policies (inline and managed, parsed as session policies); a session
//     issued before the role's SessionsRevokedBefore is denied.
//
// The request context holds the request's keys, the resource's tags
// (aws:ResourceTag/*), the principal's keys and the origin's keys. Parsed
// documents are cached by kind and SHA-256 of their text, so an edited
// policy is never served stale; principals' effective policies are cached
// for at most EffectiveTTL and dropped by Invalidate. Any error fails
// closed.
type Engine struct {
	AccountID string
	Identity  identity.Service
	// Now returns the current time (aws:CurrentTime); nil means time.Now.
	Now func() time.Time
	// MaxCached bounds the parsed-policy cache; 0 means
	// DefaultPolicyCacheSize.
	MaxCached int
	// MaxEffective bounds the effective-policy cache; 0 means
	// DefaultEffectiveCacheSize, negative disables it.
	MaxEffective int
	// EffectiveTTL bounds the age of a cached effective-policy set; 0
	// means DefaultEffectiveTTL.
	EffectiveTTL time.Duration

	mu        sync.Mutex
	parsed    map[[sha256.Size]byte]*iam.Policy
	effective map[effectiveKey]effectiveEntry
	gen       uint64 // bumped by Invalidate
}

var _ Authorizer = (*Engine)(nil)

type effectiveKey struct {
	account, kind, name string
}

type effectiveEntry struct {
	eff *identity.Effective
	at  time.Time
	gen uint64
}

// allowAllDoc stands for the root user's implicit permissions when a
// resource-based policy (a trust policy) takes part in the decision.
const allowAllDoc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// sessionPolicyGone stands for a managed session policy that no longer
// exists: the session may do nothing.
const sessionPolicyGone = `{"Version":"2012-10-17","Statement":[{"Sid":"SessionPolicyDeleted","Effect":"Deny","Action":"*","Resource":"*"}]}`

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Authorize implements Authorizer.
func (e *Engine) Authorize(ctx context.Context, req *Request) (Decision, error) {
	c := req.Caller
	if c == nil {
		return Decision{}, errors.New("authorize: no caller")
	}
	if CrossTenant(req) {
		return Deny("a principal of tenant " + c.TenantID + " may not act on another tenant's resources"), nil
	}
	if c.TenantID != "" && PlatformOnly(req.Action) {
		return Deny(req.Action + " is reserved to the platform: a principal of a tenant may not perform it"), nil
	}
	set, labels, denied, err := e.policySet(ctx, c, req.Resource.Policy)
	if err != nil {
		return Decision{}, fmt.Errorf("authorize: %w", err)
	}
	if denied != nil {
		return *denied, nil
	}
	if set == nil { // the operator's root, no resource policy
		return Allow("the account root user may perform every action in its account"), nil
	}
	ireq := &iam.Request{Principal: c.ARN, PrincipalAccount: c.Account, Action: req.Action, Resource: req.Resource.ARN, ResourceAccount: req.Resource.Account, Context: e.requestContext(c, req)}
	if c.Session != nil {
		ireq.RoleARN = c.Session.RoleARN
	}
	dec, diag := iam.Authorize(set, ireq)
	d := Decision{Effect: dec, Reason: diag.Reason()}
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

// Invalidate drops every cached effective-policy set: call it after any
// write to users, groups, roles, policies or attachments.
func (e *Engine) Invalidate() {
	e.mu.Lock()
	e.gen++
	e.effective = nil
	e.mu.Unlock()
}

// policySet gathers and parses the caller's policies. It returns a nil set
// for the operator's root without a resource policy, and a decision when
// the caller is denied before evaluation.
func (e *Engine) policySet(ctx context.Context, c *authn.Principal, resourcePolicy *iam.Policy) (*iam.PolicySet, map[string]string, *Decision, error) {
	set := &iam.PolicySet{Resource: resourcePolicy}
	labels := map[string]string{}
	var eff *identity.Effective
	var err error
	switch {
	case c.Type == authn.Root:
		if c.Account != e.AccountID {
			d := Deny("the root user of another account has no permissions here")
			return nil, nil, &d, nil
		}
		if resourcePolicy == nil {
			return nil, nil, nil, nil
		}
		p, err := e.Parse(allowAllDoc, iam.KindIdentity)
		if err != nil {
			return nil, nil, nil, err
		}
		set.Identity = []*iam.Policy{p}
		return set, labels, nil, nil
	case c.Type == authn.IAMUser:
		eff, err = e.effectivePolicies(ctx, c.Account, "user", c.UserName)
	case c.Type == authn.AssumedRole && c.Session != nil:
		eff, err = e.effectivePolicies(ctx, c.Account, "role", RoleName(c.Session.RoleARN))
	default:
		d := Deny("principal type " + string(c.Type) + " has no policies")
		return nil, nil, &d, nil
	}
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		d := Deny("the caller's user or role no longer exists")
		return nil, nil, &d, nil
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("load policies: %w", err)
	}
	if s := c.Session; s != nil && eff.SessionsRevokedBefore != nil && s.IssuedAt.Before(*eff.SessionsRevokedBefore) {
		d := Deny("the role's sessions issued before " + eff.SessionsRevokedBefore.UTC().Format(authn.TimeFormat) + " were revoked")
		return nil, nil, &d, nil
	}
	for i, doc := range eff.Policies {
		p, err := e.Parse(doc.Document, iam.KindIdentity)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("policy %s: %w", docLabel(doc), err)
		}
		set.Identity = append(set.Identity, p)
		labels["identity["+strconv.Itoa(i)+"]"] = docLabel(doc)
	}
	if eff.Boundary != nil {
		p, err := e.Parse(eff.Boundary.Document, iam.KindBoundary)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("permissions boundary: %w", err)
		}
		set.Boundaries = []*iam.Policy{p}
		labels["boundary[0]"] = docLabel(*eff.Boundary)
	}
	if s := c.Session; s != nil {
		if s.Policy != "" {
			p, err := e.Parse(s.Policy, iam.KindSession)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("session policy: %w", err)
			}
			set.Session = append(set.Session, p)
			labels["session[0]"] = "session policy"
		}
		for _, arn := range s.PolicyARNs {
			p, err := e.managedSessionPolicy(ctx, c.Account, arn)
			if err != nil {
				return nil, nil, nil, err
			}
			labels["session["+strconv.Itoa(len(set.Session))+"]"] = arn
			set.Session = append(set.Session, p)
		}
	}
	return set, labels, nil, nil
}

// effectivePolicies returns a user's or role's effective policies, from the
// cache when a fresh copy is there.
func (e *Engine) effectivePolicies(ctx context.Context, acct, kind, name string) (*identity.Effective, error) {
	key := effectiveKey{acct, kind, strings.ToLower(name)}
	now := e.now()
	ttl := e.EffectiveTTL
	if ttl <= 0 {
		ttl = DefaultEffectiveTTL
	}
	e.mu.Lock()
	ent, ok := e.effective[key]
	gen := e.gen
	e.mu.Unlock()
	if ok && ent.gen == gen && now.Sub(ent.at) < ttl && !now.Before(ent.at) {
		return ent.eff, nil
	}
	var (
		eff *identity.Effective
		err error
	)
	if kind == "user" {
		eff, err = e.Identity.PoliciesForUser(ctx, acct, name)
	} else {
		eff, err = e.Identity.PoliciesForRole(ctx, acct, name)
	}
	if err != nil || e.MaxEffective < 0 {
		return eff, err
	}
	limit := e.MaxEffective
	if limit == 0 {
		limit = DefaultEffectiveCacheSize
	}
	e.mu.Lock()
	if e.gen == gen { // no invalidation raced the read
		if e.effective == nil || len(e.effective) >= limit {
			e.effective = make(map[effectiveKey]effectiveEntry)
		}
		e.effective[key] = effectiveEntry{eff: eff, at: now, gen: gen}
	}
	e.mu.Unlock()
	return eff, nil
}

func (e *Engine) managedSessionPolicy(ctx context.Context, acct, arn string) (*iam.Policy, error) {
	pol, err := e.Identity.GetPolicy(ctx, acct, arn)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		// Deleted since the session began: the session may do nothing
		// (fail closed, without an internal error on every call).
		return e.Parse(sessionPolicyGone, iam.KindSession)
	}
	if err != nil {
		return nil, fmt.Errorf("session policy %s: %w", arn, err)
	}
	v, err := e.Identity.GetPolicyVersion(ctx, acct, arn, pol.DefaultVersionID)
	if err != nil {
		return nil, fmt.Errorf("session policy %s: %w", arn, err)
	}
	p, err := e.Parse(v.Document, iam.KindSession)
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

// RoleName is the last path segment of a role ARN.
func RoleName(roleARN string) string {
	return roleARN[strings.LastIndex(roleARN, "/")+1:]
}

// requestContext is the request's keys, the resource's tags, the
// principal's keys and the origin's keys.
func (e *Engine) requestContext(c *authn.Principal, req *Request) iam.Context {
	pk := c.ContextKeys()
	out := make(iam.Context, 0, len(req.Context)+len(req.Resource.Tags)+len(pk)+7)
	out = append(out, req.Context...)
	for k, v := range req.Resource.Tags {
		out = append(out, iam.Single("aws:ResourceTag/"+k, v))
	}
	for k, v := range pk {
		out = append(out, iam.Single(k, v))
	}
	return req.Origin.keys(out, e.now())
}

// Parse parses a policy document of kind, from the cache when the same
// text was parsed before.
func (e *Engine) Parse(doc string, kind iam.Kind) (*iam.Policy, error) {
	h := sha256.New()
	h.Write([]byte{byte(kind)})
	h.Write([]byte(doc))
	var key [sha256.Size]byte
	h.Sum(key[:0])
	e.mu.Lock()
	p, ok := e.parsed[key]
	e.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := iam.Parse([]byte(doc), iam.ParseOptions{Kind: kind})
	if err != nil {
		return nil, fmt.Errorf("parse policy: %w", err)
	}
	limit := e.MaxCached
	if limit <= 0 {
		limit = DefaultPolicyCacheSize
	}
	e.mu.Lock()
	if e.parsed == nil || len(e.parsed) >= limit {
		e.parsed = make(map[[sha256.Size]byte]*iam.Policy)
	}
	e.parsed[key] = p
	e.mu.Unlock()
	return p, nil
}
