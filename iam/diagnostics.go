package iam

import (
	"fmt"
	"strconv"
	"strings"
)

// StatementRef identifies a statement that took part in a decision.
type StatementRef struct {
	// Kind is the type of the policy holding the statement.
	Kind Kind
	// Effect is the statement's effect.
	Effect Effect
	// Policy is the position of the policy in its PolicySet field (always 0
	// for the resource-based policy).
	Policy int32
	// Index is the statement's position in the policy.
	Index int32
	// Level is the guardrail level name, for KindGuardrail.
	Level string
	// Sid is the statement's Sid, possibly empty.
	Sid string
}

// PolicyLabel names the policy the way diagnostics and the simulator do:
// "identity[0]", "resource", "boundary[0]", "session[0]", "scp[root][0]".
func (r StatementRef) PolicyLabel() string {
	switch r.Kind {
	case KindResource:
		return "resource"
	case KindGuardrail:
		return "scp[" + r.Level + "][" + strconv.Itoa(int(r.Policy)) + "]"
	}
	return r.Kind.String() + "[" + strconv.Itoa(int(r.Policy)) + "]"
}

// String describes the statement: `statement 0 (Sid "X") of identity[0]`.
func (r StatementRef) String() string {
	s := "statement " + strconv.Itoa(int(r.Index))
	if r.Sid != "" {
		s += fmt.Sprintf(" (Sid %q)", r.Sid)
	}
	return s + " of " + r.PolicyLabel()
}

// missing says which policy type lacked an allow in an implicit deny.
type missing uint8

const (
	missingNone      missing = iota
	missingIdentity          // no identity-based (or same-account resource-based) allow
	missingResource          // cross-account: the resource owner's policy does not allow
	missingBoundary          // the permissions boundary does not allow
	missingSession           // the session policy does not allow
	missingGuardrail         // a guardrail level does not allow
)

// inlineRefs and inlineDenies are the numbers of Allow and Deny statement
// references kept without allocating.
const (
	inlineRefs   = 4
	inlineDenies = 2
)

// Diagnostics explain a decision. The zero value explains a default deny.
// Diagnostics are built without allocating for up to four Allow and two
// Deny statements; Statements and Reason allocate and are meant for the audit log
// and for users.
type Diagnostics struct {
	// Principal, Action and Resource echo the request.
	Principal, Action, Resource string

	resourceAccount string
	crossAccount    bool
	direct          bool // allowed by a direct resource-based grant
	missing         missing
	level           string // guardrail level lacking an allow
	useDenies       bool

	nMiss         int
	misses        [inlineMisses]miss
	nAllow, nDeny int
	allows        [inlineRefs]StatementRef
	denies        [inlineDenies]StatementRef
	moreAllows    []StatementRef
	moreDenies    []StatementRef
}

// inlineMisses is the number of near-miss Allow statements kept for
// explaining an implicit deny.
const inlineMisses = 2

// missWhy says which element kept a statement that names the requested
// action from applying.
type missWhy uint8

const (
	missNone missWhy = iota
	missPrincipal
	missVariable
	missResource
	missCondition
)

// miss is an Allow statement that names the action but did not apply.
type miss struct {
	ref StatementRef
	st  *Statement
	why missWhy
	idx int16 // variable or condition index
}

func (d *Diagnostics) addMiss(m miss) {
	if d.nMiss < inlineMisses {
		d.misses[d.nMiss] = m
		d.nMiss++
	}
}

// describe explains the miss without revealing policy values: it names the
// element, operator and key, never the values a request would need.
func (m *miss) describe() string {
	s := m.ref.String() + " names this action"
	switch m.why {
	case missPrincipal:
		return s + " but does not name this principal"
	case missResource:
		return s + " but not this resource"
	case missVariable:
		if int(m.idx) < len(m.st.vars) {
			return s + " but its policy variable ${" + m.st.vars[m.idx].name + "} has no value in this request"
		}
	case missCondition:
		if int(m.idx) < len(m.st.conds) {
			c := &m.st.conds[m.idx]
			return s + fmt.Sprintf(" but its condition %s on %q is not met", c.operator, c.key)
		}
	}
	return s + " but does not apply"
}

// overflow holds statement references beyond the inline ones. It is kept
// apart from Diagnostics during evaluation because escape analysis is
// field-insensitive: appending inside Diagnostics would push the request's
// strings, and with them its context, onto the heap.
type overflow struct {
	allows, denies []StatementRef
}

func (d *Diagnostics) addAllow(r StatementRef, ov *overflow) {
	if d.nAllow < inlineRefs {
		d.allows[d.nAllow] = r
	} else {
		ov.allows = append(ov.allows, r)
	}
	d.nAllow++
}

func (d *Diagnostics) addDeny(r StatementRef, ov *overflow) {
	if d.nDeny < inlineDenies {
		d.denies[d.nDeny] = r
	} else {
		ov.denies = append(ov.denies, r)
	}
	d.nDeny++
}

// Statements returns the deciding statements: the Deny statements that
// matched for an explicit deny; otherwise the Allow statements that applied
// (for an implicit deny, the allows that were not enough).
func (d *Diagnostics) Statements() []StatementRef {
	if d.useDenies {
		return joinRefs(d.denies[:min(d.nDeny, inlineDenies)], d.moreDenies)
	}
	return joinRefs(d.allows[:min(d.nAllow, inlineRefs)], d.moreAllows)
}

func joinRefs(a, b []StatementRef) []StatementRef {
	out := make([]StatementRef, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

// MissingAllow names the policy type that lacked an allow in an implicit
// deny: "identity", "resource", "boundary", "session", "scp", or "" when the
// decision was not an implicit deny for that reason.
func (d *Diagnostics) MissingAllow() string {
	switch d.missing {
	case missingIdentity:
		return "identity"
	case missingResource:
		return "resource"
	case missingBoundary:
		return "boundary"
	case missingSession:
		return "session"
	case missingGuardrail:
		return "scp"
	}
	return ""
}

// Reason is a sentence for the person whose request was decided: what was
// decided, which statements decided it, and for an implicit deny which
// policy lacked an allow and what to change.
func (d *Diagnostics) Reason() string {
	what := fmt.Sprintf("%q on %q by %q", d.Action, d.Resource, d.Principal)
	refs := d.Statements()
	list := func() string {
		parts := make([]string, len(refs))
		for i, r := range refs {
			parts[i] = r.String()
		}
		return strings.Join(parts, ", ")
	}
	if d.useDenies {
		return fmt.Sprintf("explicitly denied: %s is denied by %s; an explicit Deny overrides every Allow", what, list())
	}
	if d.missing == missingNone {
		if len(refs) == 0 {
			return fmt.Sprintf("implicitly denied: no policy allows %s", what)
		}
		s := fmt.Sprintf("allowed: %s is allowed by %s", what, list())
		if d.direct {
			s += " (the resource-based policy grants to the caller directly)"
		}
		return s
	}
	var s string
	switch d.missing {
	case missingIdentity:
		if d.crossAccount {
			s = fmt.Sprintf("implicitly denied: no identity-based policy of the caller's account allows %s; a cross-account request needs an allow from the caller's identity-based policies as well as from the resource-based policy", what)
		} else {
			s = fmt.Sprintf("implicitly denied: no identity-based or resource-based policy allows %s", what)
		}
	case missingResource:
		if d.crossAccount {
			s = fmt.Sprintf("implicitly denied: %s is a cross-account request and the resource-based policy of account %s does not allow the caller", what, d.resourceAccount)
		} else {
			s = fmt.Sprintf("implicitly denied: the resource-based policy (a role trust policy or KMS key policy, which must always allow) does not allow %s", what)
		}
	case missingBoundary:
		s = fmt.Sprintf("implicitly denied: the permissions boundary does not allow %s; a boundary caps the permissions that identity-based policies grant", what)
	case missingSession:
		s = fmt.Sprintf("implicitly denied: the session policy does not allow %s; a session policy caps the permissions of the role session", what)
	case missingGuardrail:
		s = fmt.Sprintf("implicitly denied: the guardrail level %q (service control policies) does not allow %s; every guardrail level must allow", d.level, what)
	}
	if len(refs) > 0 {
		s += "; allowing statements that were not enough: " + list()
	}
	if d.missing == missingIdentity || d.missing == missingBoundary || d.missing == missingSession || d.missing == missingGuardrail {
		for i := 0; i < d.nMiss; i++ {
			if i == 0 {
				s += "; closest: "
			} else {
				s += "; "
			}
			s += d.misses[i].describe()
		}
	}
	return s
}
