package kms

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/keys"
)

// keyPolicyAuthorizer decides kms:* actions on a key with the IAM engine
// over the caller's policies and the key's policy (a resource-based policy
// that must allow, as on AWS; the default one delegates to IAM). For a key
// the caller's tenant does not have, the default key policy stands in, so
// that a permitted caller learns NotFoundException from the handler and an
// unpermitted one AccessDeniedException, whatever other tenants hold.
type keyPolicyAuthorizer struct{ s *Surface }

// Authorize implements api.Authorizer.
func (a keyPolicyAuthorizer) Authorize(ctx context.Context, c *authn.Principal, action, resource string) (api.Decision, error) {
	var pol *iam.Policy
	if tenant := tenantOf(c); tenant != "" && strings.Contains(resource, ":key/") {
		doc, err := a.s.Keys.GetKeyPolicy(ctx, tenant, resource, "default")
		switch {
		case err == nil:
		case keys.ExceptionOf(err) == keys.ExcNotFound:
			doc = keys.DefaultKeyPolicy(a.s.Keys.Account())
		default:
			return api.Decision{}, fmt.Errorf("load key policy: %w", err)
		}
		pol, err = iam.Parse([]byte(doc), iam.ParseOptions{Kind: iam.KindResource})
		if err != nil {
			return api.Decision{}, fmt.Errorf("parse key policy: %w", err)
		}
	}
	return a.s.Authorizer.Decide(ctx, c, action, resource, pol, nil)
}
