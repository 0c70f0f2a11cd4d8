package iam

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
)

// target resolves what an IAM action acts on, with the condition keys AWS
// puts in its request context, so that ABAC policies such as the built-in
// TenantAdmin and TenantRoleBoundary work:
//
//   - aws:RequestTag/<key> and aws:TagKeys from Tags.member.N (and
//     aws:TagKeys from TagKeys.member.N for Untag*);
//   - iam:PermissionsBoundary from PermissionsBoundary, iam:PolicyARN from
//     PolicyArn;
//   - for an action on an existing user, role or policy (anything but
//     Create*), the entity's real ARN (with its path), its tenant and
//     aws:ResourceTag/<key> from its tags.
//
// An entity of another tenant than the caller's is decided and answered as
// one that does not exist (the pipeline hides it), and so is a policy of
// another tenant named by PolicyArn or PermissionsBoundary, or a user of
// another tenant named by a group operation. A tenant's principal creates
// entities only in its own name space (identity.CheckTenantName). A store
// failure fails closed.
func (s *Surface) target(action string, res resourceFunc) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return func(r *http.Request, c *authn.Principal) (*api.Target, error) {
		f, err := api.ParseForm(r)
		if err != nil {
			return nil, err
		}
		t := &api.Target{Resource: authz.Resource{ARN: res(f, c)}, Context: requestKeys(f)}
		switch {
		case strings.HasPrefix(action, "Create") && action != "CreateAccessKey" && action != "CreatePolicyVersion":
			if err := s.checkCreate(action, f, c); err != nil {
				return nil, err
			}
		case c.TenantID != "" && strings.Contains(action, "Group"):
			// Groups are the platform's: to a tenant's principal none
			// exists, whatever the policies allow.
			name := f.Get("GroupName")
			t.NotFound = identity.ErrNoSuchEntity("group", name)
			t.Hide = t.NotFound
		default:
			if err := s.resolve(r.Context(), t, c); err != nil {
				return nil, err
			}
		}
		if t.Hide != nil {
			return t, nil // answered as missing whatever else it names
		}
		if err := s.related(r.Context(), action, f, c, t); err != nil {
			return nil, err
		}
		return t, nil
	}
}

// checkCreate applies the tenant rules to entities a tenant's principal
// creates, before authorization and whatever its policies allow: a name
// outside the tenant's name space is refused whatever exists, so that a
// name taken in another tenant reveals nothing; the entity must carry the
// caller's own tenant as its TenantID tag, so that a tenant's principal
// never creates a platform entity (and then, say, its access key) or
// another tenant's; groups and OpenID Connect providers are platform
// entities (an issuer URL is unique in the account: letting tenants
// register them would tell one tenant's issuers to another).
func (s *Surface) checkCreate(action string, f url.Values, c *authn.Principal) error {
	if c.TenantID == "" {
		return nil
	}
	switch action {
	case "CreateGroup", "CreateOpenIDConnectProvider":
		return identity.Errorf(identity.InvalidInput, "%s: groups and OpenID Connect providers are platform entities; principals of tenant %s cannot create them", action, c.TenantID)
	}
	param := map[string]string{"CreateUser": "UserName", "CreateRole": "RoleName", "CreatePolicy": "PolicyName"}[action]
	if param == "" {
		return nil
	}
	if err := identity.CheckTenantName(c.TenantID, f.Get(param)); err != nil {
		return err
	}
	return identity.CheckTenantTag(c.TenantID, api.FormTags(f))
}

// resolve fills t from the user, role or policy its ARN names: the stored
// ARN, tenant and tags, and the error a missing one answers with. Unknown
// entities and ARNs of other kinds are left as they are. For a principal
// of a tenant, an entity it does not own keeps the ARN the request named
// (the stored one, with its path, would tell it apart from a missing
// one), and a platform entity (not a built-in policy) is hidden as a
// missing one: a tenant's principal never reads, changes or mints
// credentials for the platform's users, roles, policies or providers.
func (s *Surface) resolve(ctx context.Context, t *api.Target, c *authn.Principal) error {
	named := t.ARN
	parts := strings.SplitN(t.ARN, ":", 6)
	if len(parts) != 6 {
		return nil
	}
	kind, rest, _ := strings.Cut(parts[5], "/")
	name := rest[strings.LastIndex(rest, "/")+1:]
	if name == "" {
		return nil
	}
	var (
		err     error
		builtin bool
	)
	switch kind {
	case "user":
		t.NotFound = identity.ErrNoSuchEntity("user", name)
		var u *identity.User
		if u, err = s.Service.GetUser(ctx, s.account(c), name); err == nil {
			t.Resource = authz.Resource{ARN: u.ARN, Tenant: u.TenantID, Tags: u.Tags}
		}
	case "role":
		t.NotFound = identity.ErrNoSuchEntity("role", name)
		var r *identity.Role
		if r, err = s.Service.GetRole(ctx, s.account(c), name); err == nil {
			t.Resource = authz.Resource{ARN: r.ARN, Tenant: r.TenantID, Tags: r.Tags}
		}
	case "policy":
		t.NotFound = identity.ErrNoSuchPolicy(t.ARN)
		var p *identity.Policy
		if p, err = s.Service.GetPolicy(ctx, s.account(c), t.ARN); err == nil {
			t.Resource = authz.Resource{ARN: p.ARN, Tenant: p.TenantID, Tags: p.Tags}
			builtin = p.AccountID == identity.BuiltinAccount
		}
	case "oidc-provider":
		t.NotFound = identity.Errorf(identity.NoSuchEntity, "OpenIDConnect provider %s not found", t.ARN)
		var p *identity.OIDCProvider
		if p, err = s.Service.GetOpenIDConnectProvider(ctx, s.account(c), t.ARN); err == nil {
			t.Resource = authz.Resource{ARN: p.ARN, Tenant: p.TenantID}
		}
	default:
		return nil
	}
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND || code == tenantml.EINVALID {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up %s: %w", kind, err)
	}
	if c.TenantID != "" && t.Tenant != c.TenantID && !builtin {
		t.ARN = named
		if t.Tenant == "" {
			t.Resource = authz.Resource{ARN: named}
			t.Hide = t.NotFound
		}
	}
	return nil
}

// related checks the entities a request names besides its target:
// the policy it attaches or sets as a boundary, the user a group operation
// names. One of another tenant than the caller's (or, for a policy, a
// customer-managed policy of the platform) hides the request as if it did
// not exist; a policy a principal of a tenant may never hold is refused
// (identity.CheckAttachable).
func (s *Surface) related(ctx context.Context, action string, f url.Values, c *authn.Principal, t *api.Target) error {
	switch action {
	case "AttachUserPolicy", "AttachRolePolicy", "PutUserPermissionsBoundary", "PutRolePermissionsBoundary", "CreateUser", "CreateRole":
		arn := f.Get("PolicyArn")
		if strings.HasPrefix(action, "Put") || strings.HasPrefix(action, "Create") {
			arn = f.Get("PermissionsBoundary")
		}
		if arn == "" {
			return nil
		}
		p, err := s.policy(ctx, c, arn)
		if err != nil || p == nil {
			return err
		}
		if c.TenantID != "" && p.TenantID != c.TenantID && p.AccountID != identity.BuiltinAccount {
			t.Hide = identity.ErrNoSuchPolicy(arn) // another tenant's, or the platform's
			return nil
		}
		holder := t.Tenant
		if c.TenantID != "" && holder != "" && holder != c.TenantID {
			return nil // another tenant's principal: the pipeline answers as for a missing one
		}
		if strings.HasPrefix(action, "Create") {
			holder = identity.TenantOf(api.FormTags(f))
		}
		return identity.CheckAttachable(holder, c.TenantID, p)
	case "AddUserToGroup", "RemoveUserFromGroup":
		name := f.Get("UserName")
		if name == "" {
			return nil
		}
		u, err := s.Service.GetUser(ctx, s.account(c), name)
		if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND || code == tenantml.EINVALID {
			return nil
		}
		if err != nil {
			return fmt.Errorf("look up user: %w", err)
		}
		if c.TenantID != "" && u.TenantID != "" && u.TenantID != c.TenantID {
			t.Hide = identity.ErrNoSuchEntity("user", name)
			return nil
		}
		if action == "AddUserToGroup" && u.TenantID != "" {
			return identity.Errorf(identity.InvalidInput, "groups are platform entities: a user of tenant %s cannot join one; attach the tenant's policies to the user instead", u.TenantID)
		}
	}
	return nil
}

// policy returns the managed policy arn names, nil when it does not exist
// (the handler then answers NoSuchEntity).
func (s *Surface) policy(ctx context.Context, c *authn.Principal, arn string) (*identity.Policy, error) {
	p, err := s.Service.GetPolicy(ctx, s.account(c), arn)
	if code := tenantml.ErrorCode(err); code == tenantml.ENOTFOUND || code == tenantml.EINVALID {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up policy: %w", err)
	}
	return p, nil
}

// requestKeys are the request-derived IAM condition keys.
func requestKeys(f url.Values) iam.Context {
	var out iam.Context
	tags := api.FormTags(f)
	keys := api.FormList(f, "TagKeys")
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
