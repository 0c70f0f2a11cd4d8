package iam

import (
	"strings"

	"github.com/tenantml/tenantml/iam/arn"
)

// Request is what is being decided: who (Principal) does what (Action) to
// which resource (Resource), with the request context of condition keys.
//
// Building a Request does not need to allocate: Context is a slice the caller
// may back with a stack array, and single-valued keys carry their value
// inline (KeyValue.Value).
type Request struct {
	// Principal is the caller's ARN: an assumed-role session
	// (arn:aws:sts::111122223333:assumed-role/Role/Session), an IAM user,
	// an account root, or a service principal name.
	Principal string
	// PrincipalAccount is the caller's account; empty means the account of
	// Principal.
	PrincipalAccount string
	// RoleARN is, for an assumed-role session, the ARN of the role (with its
	// path). Empty means derived from Principal (without a path); resource
	// policies that name the role match either. Callers on a hot path should
	// set it: aws:PrincipalArn is the role ARN, and deriving it allocates.
	RoleARN string
	// Action is "service:Operation", e.g. "sagemaker:InvokeEndpoint".
	Action string
	// Resource is the ARN of the resource acted on.
	Resource string
	// ResourceAccount owns the resource; empty means the account of Resource,
	// and when that is empty too, the caller's account.
	ResourceAccount string
	// Context holds the request's condition keys.
	Context Context
}

// Context is the request context: condition keys and their values. Key names
// are case-insensitive. A key appears at most once; the first wins.
type Context []KeyValue

// KeyValue is one condition key of the request context. A single-valued key
// sets Value; a multi-valued key sets Multi and Values (possibly empty, which
// is the empty set, not a missing key).
type KeyValue struct {
	Key    string
	Value  string
	Values []string
	Multi  bool
}

// Single returns a single-valued context entry.
func Single(key, value string) KeyValue { return KeyValue{Key: key, Value: value} }

// Multi returns a multi-valued context entry.
func Multi(key string, values ...string) KeyValue {
	return KeyValue{Key: key, Values: values, Multi: true}
}

// Lookup returns the entry for key, compared case-insensitively.
func (c Context) Lookup(key string) (KeyValue, bool) {
	for i := range c {
		if strings.EqualFold(c[i].Key, key) {
			return c[i], true
		}
	}
	return KeyValue{}, false
}

// values is an allocation-free view of a context value set.
type values struct {
	one   string
	many  []string
	multi bool
}

func (v values) len() int {
	if v.multi {
		return len(v.many)
	}
	return 1
}

func (v values) at(i int) string {
	if v.multi {
		return v.many[i]
	}
	return v.one
}

// principalKind classifies Request.Principal.
type principalKind uint8

const (
	principalOther   principalKind = iota // service or federated name
	principalSession                      // sts assumed-role session
	principalUser                         // iam user
	principalRoot                         // account root
	principalRole                         // iam role ARN used directly
	principalFedUser                      // sts federated-user session
)

// caller is the derived identity information of a request.
type caller struct {
	kind     principalKind
	account  string
	roleName string // for sessions: the role name
	userName string // for IAM users: the user name (last path element)
}

func classify(req *Request) caller {
	var c caller
	p := req.Principal
	// Find the colons ending the partition, service, region and account
	// components without building the full component array.
	var colon [5]int
	n := 0
	if len(p) > 4 && p[:4] == "arn:" {
		colon[0], n = 3, 1
		for i := 4; i < len(p) && n < 5; i++ {
			if p[i] == ':' {
				colon[n] = i
				n++
			}
		}
	}
	if n == 5 {
		svc := p[colon[1]+1 : colon[2]]
		c.account = p[colon[3]+1 : colon[4]]
		res := p[colon[4]+1:]
		switch {
		case svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
			c.kind = principalSession
			name := res[len("assumed-role/"):]
			if i := strings.IndexByte(name, '/'); i >= 0 {
				name = name[:i]
			}
			c.roleName = name
		case svc == "sts" && strings.HasPrefix(res, "federated-user/"):
			c.kind = principalFedUser
		case svc == "iam" && res == "root":
			c.kind = principalRoot
		case svc == "iam" && strings.HasPrefix(res, "user/"):
			c.kind = principalUser
			c.userName = res[strings.LastIndexByte(res, '/')+1:]
		case svc == "iam" && strings.HasPrefix(res, "role/"):
			c.kind = principalRole
			c.roleName = res[strings.LastIndexByte(res, '/')+1:]
		}
	}
	if req.PrincipalAccount != "" {
		c.account = req.PrincipalAccount
	}
	return c
}

// roleNameOf returns the role name of an IAM role ARN (path stripped) and its
// account, or ok false.
func roleNameOf(s string) (account, name string, ok bool) {
	parts, isARN := arn.Split(s)
	if !isARN || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return "", "", false
	}
	res := parts[5]
	return parts[4], res[strings.LastIndexByte(res, '/')+1:], true
}

// principalType is the aws:PrincipalType value for the caller.
func (c *caller) principalType() string {
	switch c.kind {
	case principalSession, principalRole:
		return "AssumedRole"
	case principalUser:
		return "User"
	case principalRoot:
		return "Account"
	case principalFedUser:
		return "FederatedUser"
	}
	return ""
}
