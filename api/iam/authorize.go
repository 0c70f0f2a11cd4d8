package iam

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
)

// contextAuthorizer decides IAM actions with the condition keys AWS puts
// in their request context, so that ABAC policies such as the built-in
// TenantAdmin and TenantRoleBoundary work:
//
//   - aws:RequestTag/<key> and aws:TagKeys from Tags.member.N (and
//     aws:TagKeys from TagKeys.member.N for Untag*);
//   - iam:PermissionsBoundary from PermissionsBoundary, iam:PolicyARN from
//     PolicyArn;
//   - for an action on an existing user, role or policy (anything but
//     Create*), aws:ResourceTag/<key> from the entity's tags, and the
//     entity's real ARN (with its path) as the resource.
//
// An entity that does not exist has no resource tags; a store failure
// fails closed.
type contextAuthorizer struct{ s *Surface }

func (a contextAuthorizer) Authorize(ctx context.Context, c *authn.Principal, action, resource string) (api.Decision, error) {
	var extra iam.Context
	if r, ok := api.RequestFrom(ctx); ok {
		f, err := api.ParseForm(r)
		if err != nil {
			return api.Decision{}, err
		}
		extra = requestKeys(f)
	}
	if !strings.HasPrefix(action, "iam:Create") || action == "iam:CreateAccessKey" || action == "iam:CreatePolicyVersion" {
		arn, tags, err := a.s.entity(ctx, resource)
		if err != nil {
			return api.Decision{}, fmt.Errorf("authorize: %w", err)
		}
		resource = arn
		for k, v := range tags {
			extra = append(extra, iam.Single("aws:ResourceTag/"+k, v))
		}
	}
	return a.s.Authorizer.Decide(ctx, c, action, resource, nil, extra)
}

// requestKeys are the request-derived IAM condition keys.
func requestKeys(f url.Values) iam.Context {
	var out iam.Context
	tags := formTags(f)
	keys := formList(f, "TagKeys")
	for k, v := range tags {
		out = append(out, iam.Single("aws:RequestTag/"+k, v))
		keys = append(keys, k)
	}
	if len(keys) > 0 {
		out = append(out, iam.Multi("aws:TagKeys", keys...))
	}
	if b := f.Get("PermissionsBoundary"); b != "" {
		out = append(out, iam.Single("iam:PermissionsBoundary", b))
	}
	if p := f.Get("PolicyArn"); p != "" {
		out = append(out, iam.Single("iam:PolicyARN", p))
	}
	return out
}

// entity resolves the user, role or policy a resource ARN names to its
// stored ARN and tags. Unknown entities and ARNs of other kinds come back
// unchanged and untagged.
func (s *Surface) entity(ctx context.Context, resource string) (string, map[string]string, error) {
	parts := strings.SplitN(resource, ":", 6)
	if len(parts) != 6 {
		return resource, nil, nil
	}
	kind, rest, _ := strings.Cut(parts[5], "/")
	name := rest[strings.LastIndex(rest, "/")+1:]
	if name == "" {
		return resource, nil, nil
	}
	var (
		arn  string
		tags map[string]string
		err  error
	)
	switch kind {
	case "user":
		u, e := s.Service.GetUser(ctx, s.AccountID, name)
		if err = e; e == nil {
			arn, tags = u.ARN, u.Tags
		}
	case "role":
		r, e := s.Service.GetRole(ctx, s.AccountID, name)
		if err = e; e == nil {
			arn, tags = r.ARN, r.Tags
		}
	case "policy":
		p, e := s.Service.GetPolicy(ctx, s.AccountID, resource)
		if err = e; e == nil {
			arn, tags = p.ARN, p.Tags
		}
	default:
		return resource, nil, nil
	}
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND || code == tenantml.EINVALID {
		return resource, nil, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("look up %s: %w", kind, err)
	}
	return arn, tags, nil
}
