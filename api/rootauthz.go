package api

import (
	"context"

	"github.com/tenantml/tenantml/authn"
)

// RootOnlyAuthorizer allows every action to the root user of the operator's
// account, as AWS does for an account's root user, and denies everyone
// else. It is the authorizer of the management API until IAM policies are
// attached to principals.
type RootOnlyAuthorizer struct {
	AccountID string
}

// Authorize implements Authorizer.
func (a *RootOnlyAuthorizer) Authorize(_ context.Context, c *authn.Principal, _, _ string) (Decision, error) {
	if c != nil && c.Type == authn.Root && c.Account == a.AccountID {
		return Decision{Effect: "Allowed", Reason: "the account root user may perform every action in its account"}, nil
	}
	return Decision{Effect: "ImplicitlyDenied", Reason: "no policy allows the action"}, nil
}
