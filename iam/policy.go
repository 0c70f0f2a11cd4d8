package iam

import (
	"github.com/tenantml/tenantml/iam/arn"
)

// Effect is a statement's effect.
type Effect uint8

const (
	// Allow grants the matched requests.
	Allow Effect = iota + 1
	// Deny explicitly denies the matched requests; it overrides any Allow.
	Deny
)

// String returns "Allow" or "Deny".
func (e Effect) String() string {
	switch e {
	case Allow:
		return "Allow"
	case Deny:
		return "Deny"
	}
	return "Unknown"
}

// Kind is the type of a policy: where it is attached decides which elements
// it may use and how it takes part in evaluation.
type Kind uint8

const (
	// KindIdentity is an identity-based policy attached to a user or role.
	KindIdentity Kind = iota
	// KindResource is a resource-based policy; it must name a Principal.
	KindResource
	// KindBoundary is a permissions boundary.
	KindBoundary
	// KindSession is a session policy passed when a session was created.
	KindSession
	// KindGuardrail is a platform guardrail, the equivalent of an AWS
	// Organizations service control policy.
	KindGuardrail
)

// String returns the lower-case name of the kind ("identity", "resource", ...).
func (k Kind) String() string {
	switch k {
	case KindIdentity:
		return "identity"
	case KindResource:
		return "resource"
	case KindBoundary:
		return "boundary"
	case KindSession:
		return "session"
	case KindGuardrail:
		return "scp"
	}
	return "unknown"
}

// Size limits in characters, whitespace excluded, as IAM enforces them.
const (
	LimitManaged   = 6144  // customer managed policy
	LimitInline    = 10240 // all inline policies of a role
	LimitSession   = 2048  // session policy
	LimitGuardrail = 5120  // service control policy
	LimitResource  = 20480 // resource-based policy (S3 bucket policy size)
)

// Policy versions.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// Policy is a parsed, validated and compiled policy document. It is immutable
// after Parse and safe for concurrent use by any number of Authorize calls.
type Policy struct {
	// Version is the effective version; a document without one is 2008-10-17.
	Version string
	// ID is the optional Id element.
	ID string
	// Kind is the kind the policy was parsed as.
	Kind Kind
	// Statements are in document order.
	Statements []Statement

	// index maps a lower-cased literal action to the statements naming it;
	// wild lists the statements with a wildcard action or NotAction. nil index
	// means "scan every statement" (small policies).
	index map[string][]int32
	wild  []int32
}

// Statement is one compiled statement. Only Sid and Effect are exported; the
// matchers are internal.
type Statement struct {
	// Sid is the optional statement ID.
	Sid string
	// Effect is Allow or Deny.
	Effect Effect

	notAction   bool
	actions     []arn.Glob
	hasResource bool
	notResource bool
	resources   []arn.ARNPattern
	hasPrinc    bool
	notPrinc    bool
	principal   principalSet
	conds       []condition
	vars        []variable
}

// indexThreshold is the statement count above which a policy gets an action
// index; below it a linear scan is faster than hashing the action.
const indexThreshold = 4

func (p *Policy) buildIndex() {
	if len(p.Statements) <= indexThreshold {
		return
	}
	p.index = make(map[string][]int32)
	for i := range p.Statements {
		s := &p.Statements[i]
		lits := make([]string, 0, len(s.actions))
		ok := !s.notAction
		for j := range s.actions {
			lit, isLit := s.actions[j].IsLiteral()
			if !isLit {
				ok = false
				break
			}
			lits = append(lits, lit)
		}
		if !ok {
			p.wild = append(p.wild, int32(i))
			continue
		}
		for _, lit := range lits {
			if l := p.index[lit]; len(l) > 0 && l[len(l)-1] == int32(i) {
				continue // the statement names the action twice
			}
			p.index[lit] = append(p.index[lit], int32(i))
		}
	}
}
