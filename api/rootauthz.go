package api

import "context"

// RootOnlyAuthorizer allows every action to the root user of the operator's
// account, as AWS does for an account's root user, and denies everyone
// else. It is the authorizer of the management API until IAM policies are
// attached to principals.
type RootOnlyAuthorizer struct {
	AccountID string
}

// Authorize implements Authorizer.
func (a *RootOnlyAuthorizer) Authorize(_ context.Context, c *Caller, _, _ string) (Decision, error) {
	if c != nil && c.Type == "Account" && c.AccountID == a.AccountID {
		return Decision{Effect: "Allowed", Reason: "the account root user may perform every action in its account"}, nil
	}
	return Decision{Effect: "ImplicitlyDenied", Reason: "no policy allows the action"}, nil
}
