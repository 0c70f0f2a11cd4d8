package arn

import (
	"errors"
	"fmt"
)

// ARN is a parsed Amazon Resource Name.
type ARN struct {
	Partition string // "aws"
	Service   string // "sagemaker"
	Region    string // "us-east-1", empty for global services
	AccountID string // 12-digit account, empty for some services (s3)
	Resource  string // "endpoint/pool-endpoint"; may contain ':' and '/'
}

// ErrMalformed is wrapped by every error Parse returns.
var ErrMalformed = errors.New("malformed ARN")

// Parse parses s as an ARN. It requires the "arn" prefix, six components and
// non-empty partition, service and resource components.
func Parse(s string) (ARN, error) {
	parts, ok := Split(s)
	if !ok {
		return ARN{}, fmt.Errorf("%w %q: want arn:partition:service:region:account-id:resource", ErrMalformed, s)
	}
	if parts[0] != "arn" {
		return ARN{}, fmt.Errorf("%w %q: must start with \"arn:\"", ErrMalformed, s)
	}
	a := ARN{Partition: parts[1], Service: parts[2], Region: parts[3], AccountID: parts[4], Resource: parts[5]}
	switch {
	case a.Partition == "":
		return ARN{}, fmt.Errorf("%w %q: empty partition", ErrMalformed, s)
	case a.Service == "":
		return ARN{}, fmt.Errorf("%w %q: empty service", ErrMalformed, s)
	case a.Resource == "":
		return ARN{}, fmt.Errorf("%w %q: empty resource", ErrMalformed, s)
	}
	return a, nil
}

// String formats a as "arn:partition:service:region:account-id:resource".
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

// Split splits s at its first five colons into the six ARN components
// without allocating. ok is false when s has fewer than five colons.
func Split(s string) (parts [6]string, ok bool) {
	n, start := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			parts[n] = s[start:i]
			start = i + 1
			if n++; n == 5 {
				parts[5] = s[start:]
				return parts, true
			}
		}
	}
	return parts, false
}

// AccountOf returns the account component of an ARN, or "" when s is not an
// ARN. It does not allocate.
func AccountOf(s string) string {
	if len(s) < 4 || s[:4] != "arn:" {
		return ""
	}
	n, start := 1, 4
	for i := 4; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		if n == 4 {
			return s[start:i]
		}
		n++
		start = i + 1
	}
	return ""
}

// Match reports whether the ARN s matches the ARN pattern, component by
// component, with '*' and '?' wildcards. It compiles the pattern on every call;
// callers on a hot path compile once with CompileARNPattern.
func Match(pattern, s string) bool {
	p := CompileARNPattern(pattern)
	return p.Match(s, nil)
}

// New returns the ARN of resource in the aws partition: service, region
// ("" for global services such as IAM) and account.
func New(service, region, account, resource string) ARN {
	return ARN{Partition: "aws", Service: service, Region: region, AccountID: account, Resource: resource}
}

// Root returns the ARN of an account's root user, arn:aws:iam::<account>:root.
func Root(account string) string { return New("iam", "", account, "root").String() }
