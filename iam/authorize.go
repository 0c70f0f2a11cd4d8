package iam

import (
	"strings"

	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/iam/internal/ascii"
)

// PolicySet is every policy that takes part in one decision. Nil or empty
// fields are absent policy types: no permissions boundary means no boundary
// limit, no session policy means no session limit, no guardrail levels means
// no guardrails. A PolicySet is read-only during Authorize and may be shared
// by concurrent calls.
type PolicySet struct {
	// Identity holds the caller's identity-based policies; any may allow.
	Identity []*Policy
	// Resource is the resource-based policy of the resource, if any.
	Resource *Policy
	// Boundaries are the permissions boundary policies; when present, one of
	// them must allow.
	Boundaries []*Policy
	// Session holds the session policies; when present, one must allow.
	Session []*Policy
	// Guardrails are the platform guardrail levels (service control
	// policies), outermost first; every level must allow.
	Guardrails []GuardrailLevel
	// IdentityIndex holds further identity-based policies, indexed for sets
	// with very many of them; they count exactly like Identity, and are
	// labelled identity[len(Identity)+i] in diagnostics.
	IdentityIndex *IdentityIndex
}

// GuardrailLevel is one level of guardrails (an organization root, OU or
// account in AWS terms): at least one of its policies must allow.
type GuardrailLevel struct {
	// Name identifies the level in explanations ("root", "ou-tenants").
	Name     string
	Policies []*Policy
}

// Decision is the result of Authorize.
type Decision uint8

const (
	// ImplicitlyDenied: no applicable allow (the default).
	ImplicitlyDenied Decision = iota
	// Allowed: every required policy type allows and nothing denies.
	Allowed
	// ExplicitlyDenied: a Deny statement matched.
	ExplicitlyDenied
)

// String returns "Allowed", "ExplicitlyDenied" or "ImplicitlyDenied".
func (d Decision) String() string {
	switch d {
	case Allowed:
		return "Allowed"
	case ExplicitlyDenied:
		return "ExplicitlyDenied"
	}
	return "ImplicitlyDenied"
}

// MaxVariables is the number of distinct policy variables one statement may
// use; Parse rejects statements with more. The bound lets Authorize resolve
// variables into a fixed array without allocating.
const MaxVariables = 16

// evalState is the per-call scratch space of Authorize; it lives on the stack.
// It must not point at the Diagnostics: escape analysis is field-insensitive,
// and the Diagnostics' overflow slices reach the heap.
type evalState struct {
	req    *Request
	caller caller

	resourceAccount string
	crossAccount    bool
}

// Authorize decides req against set. It is a pure function: no I/O, no
// context, no error. Malformed requests (empty action, unparsable ARNs) fail
// closed as ImplicitlyDenied. The evaluation order is the IAM User Guide's:
//
//  1. An explicit Deny in any policy (guardrail, resource, identity,
//     boundary, session) denies.
//  2. Every guardrail level must allow.
//  3. Within one account, a resource-based policy that grants to the
//     caller's own ARN (session or user ARN, or "*") allows on its own.
//  4. Otherwise an identity-based policy, or a resource-based policy that
//     grants to the caller's role, must allow; then the permissions boundary
//     and the session policies, when present, must allow too.
//     Role trust policies and KMS key policies are the exception the guide
//     names: for sts:* actions on an IAM role and for any action on a KMS
//     key, the resource-based policy must allow even within one account (a
//     grant to the account then delegates to identity-based policies).
//  5. Across accounts (caller account != resource account) the caller's side
//     (identity, boundary, session) must allow AND the resource owner's
//     resource-based policy must allow the caller (its account, role or ARN).
//
// Authorize does not allocate for requests whose policies use only literal
// and wildcard matching and policy variables bound to request values.
func Authorize(set *PolicySet, req *Request) (Decision, Diagnostics) {
	var d Diagnostics
	d.Principal, d.Action, d.Resource = req.Principal, req.Action, req.Resource
	if set == nil || req.Action == "" {
		d.missing = missingIdentity
		return ImplicitlyDenied, d
	}
	e := evalState{req: req, caller: classify(req)}
	resAccount := req.ResourceAccount
	if resAccount == "" {
		resAccount = arn.AccountOf(req.Resource)
	}
	e.crossAccount = resAccount != "" && e.caller.account != "" && resAccount != e.caller.account
	d.crossAccount = e.crossAccount
	d.resourceAccount = resAccount
	e.resourceAccount = resAccount

	var ov overflow
	dec := e.decide(set, &d, &ov)
	d.moreAllows, d.moreDenies = ov.allows, ov.denies
	return dec, d
}

// decide runs the evaluation order documented on Authorize.
func (e *evalState) decide(set *PolicySet, d *Diagnostics, ov *overflow) Decision {
	// One pass over every policy collects denies and allows.
	denied := false
	guardOK := true
	for i := range set.Guardrails {
		lvl := &set.Guardrails[i]
		allow := false
		for j, p := range lvl.Policies {
			a, dn, _ := e.evalPolicy(d, ov, p, KindGuardrail, j, lvl.Name)
			allow = allow || a
			denied = denied || dn
		}
		if !allow && guardOK {
			guardOK = false
			d.level = lvl.Name
		}
	}
	idAllow := false
	for i, p := range set.Identity {
		a, dn, _ := e.evalPolicy(d, ov, p, KindIdentity, i, "")
		idAllow = idAllow || a
		denied = denied || dn
	}
	if set.IdentityIndex != nil {
		a, dn := e.evalIdentityIndexed(d, ov, set.IdentityIndex, len(set.Identity))
		idAllow = idAllow || a
		denied = denied || dn
	}
	var rbp grant
	if set.Resource != nil {
		_, dn, g := e.evalPolicy(d, ov, set.Resource, KindResource, 0, "")
		rbp = g
		denied = denied || dn
	}
	boundOK := len(set.Boundaries) == 0
	for i, p := range set.Boundaries {
		a, dn, _ := e.evalPolicy(d, ov, p, KindBoundary, i, "")
		boundOK = boundOK || a
		denied = denied || dn
	}
	sessOK := len(set.Session) == 0
	for i, p := range set.Session {
		a, dn, _ := e.evalPolicy(d, ov, p, KindSession, i, "")
		sessOK = sessOK || a
		denied = denied || dn
	}

	switch {
	case denied:
		d.useDenies = true
		return ExplicitlyDenied
	case !guardOK:
		d.missing = missingGuardrail
		return ImplicitlyDenied
	}
	if !e.crossAccount && rbp == grantNone && resourcePolicyRequired(e.req) {
		d.missing = missingResource
		return ImplicitlyDenied
	}
	if e.crossAccount {
		switch {
		case !idAllow:
			d.missing = missingIdentity
		case !boundOK:
			d.missing = missingBoundary
		case !sessOK:
			d.missing = missingSession
		case rbp == grantNone:
			d.missing = missingResource
		default:
			return Allowed
		}
		return ImplicitlyDenied
	}
	if rbp == grantDirect {
		d.direct = true
		return Allowed
	}
	switch {
	case !idAllow && rbp != grantRole:
		d.missing = missingIdentity
	case !boundOK:
		d.missing = missingBoundary
	case !sessOK:
		d.missing = missingSession
	default:
		return Allowed
	}
	return ImplicitlyDenied
}

// resourcePolicyRequired reports whether the request's resource is one whose
// resource-based policy must allow even within one account: an IAM role
// acted on by an sts: action (its trust policy) or a KMS key (its key policy).
func resourcePolicyRequired(req *Request) bool {
	r := req.Resource
	if len(r) < 4 || r[:4] != "arn:" {
		return false
	}
	// The service component follows the partition: check it before splitting.
	i := strings.IndexByte(r[4:], ':')
	if i < 0 {
		return false
	}
	svc := r[4+i+1:]
	switch {
	case strings.HasPrefix(svc, "iam:") && len(req.Action) > 4 && strings.EqualFold(req.Action[:4], "sts:"):
		parts, ok := arn.Split(r)
		return ok && strings.HasPrefix(parts[5], "role/")
	case strings.HasPrefix(svc, "kms:"):
		parts, ok := arn.Split(r)
		return ok && strings.HasPrefix(parts[5], "key/")
	}
	return false
}

// maxIndexedAction is the longest action looked up in an action index;
// longer actions fall back to scanning every statement.
const maxIndexedAction = 128

// evalPolicy evaluates every statement of p that can match the action and
// records the applicable ones. It returns whether an Allow applied, whether a
// Deny applied, and for a resource-based policy the strongest grant of its
// applicable Allow statements.
func (e *evalState) evalPolicy(d *Diagnostics, ov *overflow, p *Policy, kind Kind, idx int, level string) (allowed, denied bool, g grant) {
	if p == nil {
		return false, false, grantNone
	}
	visit := func(i int) {
		a, dn, sg := e.visit(d, ov, p, kind, idx, level, i)
		allowed = allowed || a
		denied = denied || dn
		if sg > g {
			g = sg
		}
	}
	if p.index != nil && len(e.req.Action) <= maxIndexedAction {
		var buf [maxIndexedAction]byte
		n := lowerInto(buf[:], e.req.Action)
		for _, i := range p.index[string(buf[:n])] {
			visit(int(i))
		}
		for _, i := range p.wild {
			visit(int(i))
		}
		return allowed, denied, g
	}
	for i := range p.Statements {
		visit(i)
	}
	return allowed, denied, g
}

// visit evaluates statement i of p and records it in the diagnostics: as an
// allow or deny when it applies, as a near miss when an Allow statement names
// the action but fails on another element.
func (e *evalState) visit(d *Diagnostics, ov *overflow, p *Policy, kind Kind, idx int, level string, i int) (allowed, denied bool, g grant) {
	st := &p.Statements[i]
	ok, sg, m := e.applies(st)
	if !ok {
		// Near misses explain the caller's own policies; a resource-based
		// policy belongs to the resource owner and is never described.
		if m.why != missNone && st.Effect == Allow && kind != KindResource {
			m.ref = StatementRef{Kind: kind, Policy: int32(idx), Level: level, Index: int32(i), Sid: st.Sid, Effect: st.Effect}
			m.st = st
			d.addMiss(m)
		}
		return false, false, grantNone
	}
	ref := StatementRef{Kind: kind, Policy: int32(idx), Level: level, Index: int32(i), Sid: st.Sid, Effect: st.Effect}
	if st.Effect == Deny {
		d.addDeny(ref, ov)
		return false, true, grantNone
	}
	d.addAllow(ref, ov)
	return true, false, sg
}

// lowerInto writes s lower-cased (ASCII) into buf, which must be long enough,
// and returns the length written.
func lowerInto(buf []byte, s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return len(s)
}

// applies reports whether st applies to the request and, for a statement with
// a Principal, how it granted. When a statement names the action but does not
// apply, the miss says which element failed (for explanations).
func (e *evalState) applies(st *Statement) (bool, grant, miss) {
	req := e.req
	hit := false
	for i := range st.actions {
		if st.actions[i].Match(req.Action, nil) {
			hit = true
			break
		}
	}
	if hit == st.notAction {
		return false, grantNone, miss{}
	}
	g := grantDirect
	if st.hasPrinc {
		if st.notPrinc && st.Effect == Deny {
			if st.principal.excludes(req, &e.caller) {
				return false, grantNone, miss{why: missPrincipal}
			}
		} else if st.notPrinc {
			if g = st.principal.notGrant(req, &e.caller); g == grantNone {
				return false, grantNone, miss{why: missPrincipal}
			}
		} else if g = st.principal.match(req, &e.caller); g == grantNone {
			return false, grantNone, miss{why: missPrincipal}
		}
	}
	if len(st.vars) == 0 {
		return e.matchRest(st, nil, g)
	}
	return e.matchWithVars(st, g)
}

// matchWithVars resolves the statement's policy variables into a fixed array
// (kept out of applies so that statements without variables do not pay for
// zeroing it) and matches the rest of the statement.
func (e *evalState) matchWithVars(st *Statement, g grant) (bool, grant, miss) {
	var buf [MaxVariables]string
	for i := range st.vars {
		v, ok := e.resolve(&st.vars[i])
		if !ok {
			// An unresolvable variable: the statement does not apply.
			return false, grantNone, miss{why: missVariable, idx: int16(i)}
		}
		buf[i] = v
	}
	return e.matchRest(st, buf[:len(st.vars)], g)
}

// matchRest matches Resource/NotResource and the conditions, with the
// statement's variables resolved into vars.
func (e *evalState) matchRest(st *Statement, vars []string, g grant) (bool, grant, miss) {
	req := e.req
	if st.hasResource {
		hit := false
		for i := range st.resources {
			if st.resources[i].Match(req.Resource, vars) {
				hit = true
				break
			}
		}
		if hit == st.notResource {
			return false, grantNone, miss{why: missResource}
		}
	}
	for i := range st.conds {
		c := &st.conds[i]
		vs, present := e.lookup(c.keyLower, c.key)
		if !c.eval(vs, present, vars) {
			return false, grantNone, miss{why: missCondition, idx: int16(i)}
		}
	}
	return true, g, miss{}
}

// resolve returns the value of a policy variable: a single-valued context
// key, or the default. Multivalued and missing keys without a default do not
// resolve.
func (e *evalState) resolve(v *variable) (string, bool) {
	vs, ok := e.lookup(v.key, v.name)
	if ok && !vs.multi {
		return vs.one, true
	}
	// The IAM User Guide: a multivalued context key cannot be used as a
	// policy variable; it falls back to the default, if any.
	if v.hasDefault {
		return v.def, true
	}
	return "", false
}

// lookup finds a condition key, given lower-cased: the request context
// first (compared case-insensitively), then the keys the engine derives from
// the request itself (aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalType, aws:ResourceAccount, aws:username).
func (e *evalState) lookup(keyLower, keyAsWritten string) (values, bool) {
	ctx := e.req.Context
	for i := range ctx {
		// Policies and callers usually spell a key the same way: try the
		// exact comparison before folding case.
		if k := ctx[i].Key; len(k) == len(keyLower) && (k == keyAsWritten || ascii.EqualFoldLower(k, keyLower)) {
			kv := &ctx[i]
			return values{one: kv.Value, many: kv.Values, multi: kv.Multi}, true
		}
	}
	switch keyLower {
	case "aws:principalarn":
		if v := e.principalARN(); v != "" {
			return values{one: v}, true
		}
	case "aws:principalaccount":
		if e.caller.account != "" {
			return values{one: e.caller.account}, true
		}
	case "aws:principaltype":
		if t := e.caller.principalType(); t != "" {
			return values{one: t}, true
		}
	case "aws:resourceaccount":
		if e.resourceAccount != "" {
			return values{one: e.resourceAccount}, true
		}
	case "aws:username":
		if e.caller.kind == principalUser {
			return values{one: e.caller.userName}, true
		}
	}
	return values{}, false
}

// principalARN is aws:PrincipalArn: for a role session the role's ARN, else
// the caller's ARN.
func (e *evalState) principalARN() string {
	if e.caller.kind != principalSession {
		return e.req.Principal
	}
	if e.req.RoleARN != "" {
		return e.req.RoleARN
	}
	parts, _ := arn.Split(e.req.Principal)
	return "arn:" + parts[1] + ":iam::" + e.caller.account + ":role/" + e.caller.roleName
}
