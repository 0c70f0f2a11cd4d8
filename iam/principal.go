package iam

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantml/tenantml/iam/arn"
)

// grant says how a resource-based policy statement matched the caller. The
// kind matters within one account: a grant to the session or user ARN is
// direct and is not limited by an implicit deny in a permissions boundary or
// session policy; a grant to the role ARN is; a grant to the account only
// delegates to the account's identity-based policies.
type grant uint8

const (
	grantNone    grant = iota
	grantAccount       // the caller's account (ID or root ARN)
	grantRole          // the role the caller's session belongs to
	grantDirect        // the caller's own ARN, or everyone ("*")
)

// principalSet is a compiled Principal or NotPrincipal element.
type principalSet struct {
	any      bool
	accounts []string
	roles    []roleRef
	exact    []string
}

type roleRef struct {
	arn, account, name string
}

// parsePrincipal compiles a Principal/NotPrincipal element: "*" or an object
// with AWS, Service, Federated and CanonicalUser members whose values are a
// string or an array of strings.
func parsePrincipal(raw json.RawMessage) (principalSet, error) {
	var ps principalSet
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return ps, fmt.Errorf("must be \"*\" or an object, got %q", star)
		}
		ps.any = true
		return ps, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return ps, fmt.Errorf("must be \"*\" or an object")
	}
	if len(obj) == 0 {
		return ps, fmt.Errorf("empty principal")
	}
	for _, typ := range sortedKeys(obj) {
		vals, err := parseStrings(obj[typ])
		if err != nil {
			return ps, fmt.Errorf("%s: %w", typ, err)
		}
		switch typ {
		case "AWS":
			for _, v := range vals {
				if err := ps.addAWS(v); err != nil {
					return ps, fmt.Errorf("AWS: %w", err)
				}
			}
		case "Service", "Federated", "CanonicalUser":
			for _, v := range vals {
				if v == "" {
					return ps, fmt.Errorf("%s: empty value", typ)
				}
				if v == "*" && typ != "Service" {
					ps.any = true
					continue
				}
				if strings.ContainsAny(v, "*?") {
					return ps, fmt.Errorf("%s: wildcard not allowed in %q", typ, v)
				}
				ps.exact = append(ps.exact, v)
			}
		default:
			return ps, fmt.Errorf("unknown principal type %q", typ)
		}
	}
	return ps, nil
}

func (ps *principalSet) addAWS(v string) error {
	switch {
	case v == "*":
		ps.any = true
		return nil
	case isAccountID(v):
		ps.accounts = append(ps.accounts, v)
		return nil
	case strings.ContainsAny(v, "*?"):
		return fmt.Errorf("wildcard not allowed in %q (use \"*\" or a condition)", v)
	}
	a, err := arn.Parse(v)
	if err != nil {
		return fmt.Errorf("invalid principal %q: want an account ID or an ARN", v)
	}
	switch {
	case a.Service == "iam" && a.Resource == "root":
		ps.accounts = append(ps.accounts, a.AccountID)
	case a.Service == "iam" && strings.HasPrefix(a.Resource, "role/"):
		_, name, _ := roleNameOf(v)
		ps.roles = append(ps.roles, roleRef{arn: v, account: a.AccountID, name: name})
	default:
		ps.exact = append(ps.exact, v)
	}
	return nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// roleMatches reports whether a role entry names the caller's role.
func (r *roleRef) matches(req *Request, c *caller) bool {
	if req.RoleARN != "" && req.RoleARN == r.arn {
		return true
	}
	if (c.kind == principalSession || c.kind == principalRole) && c.account == r.account && c.roleName == r.name {
		return true
	}
	return false
}

// match returns the strongest grant of the set to the caller.
func (ps *principalSet) match(req *Request, c *caller) grant {
	if ps.any || slices.Contains(ps.exact, req.Principal) {
		return grantDirect
	}
	for i := range ps.roles {
		if ps.roles[i].matches(req, c) {
			return grantRole
		}
	}
	if c.account != "" && slices.Contains(ps.accounts, c.account) {
		return grantAccount
	}
	return grantNone
}

// notGrant is the grant an Allow statement with NotPrincipal gives the
// caller: "everyone except the listed principals". A caller whose own ARN
// (for a session: its session or role ARN) is listed gets nothing from it,
// except that its account, when not listed, still receives an account-level
// grant (which only delegates to identity-based policies).
func (ps *principalSet) notGrant(req *Request, c *caller) grant {
	if ps.any {
		return grantNone
	}
	self := slices.Contains(ps.exact, req.Principal)
	if !self && (c.kind == principalSession || c.kind == principalRole) {
		for i := range ps.roles {
			if ps.roles[i].matches(req, c) {
				self = true
				break
			}
		}
	}
	account := c.account != "" && slices.Contains(ps.accounts, c.account)
	if c.kind == principalRoot {
		self = self || account
	}
	switch {
	case !self:
		return grantDirect
	case !account && c.account != "":
		return grantAccount
	}
	return grantNone
}

// excludes reports whether a NotPrincipal set (in a Deny statement) lists
// every identity the caller acts as, so that the Deny does not apply. The IAM
// User Guide warns that AWS may validate the account, then the role, then the
// assumed-role session, and AWS's examples list all three; so a role session
// is exempt only when its session ARN, its role and its account are all
// listed, an IAM user only when the user and its account are. Listing too
// little keeps the Deny in force (fail closed).
func (ps *principalSet) excludes(req *Request, c *caller) bool {
	if ps.any {
		return true
	}
	self := slices.Contains(ps.exact, req.Principal)
	role := false
	for i := range ps.roles {
		if ps.roles[i].matches(req, c) {
			role = true
			break
		}
	}
	account := c.account != "" && slices.Contains(ps.accounts, c.account)
	switch c.kind {
	case principalSession:
		return self && role && account
	case principalRole:
		return role && account
	case principalRoot:
		return account
	case principalOther:
		return self
	}
	return self && account
}
