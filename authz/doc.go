// Package authz decides requests: it gathers the caller's effective
// policies (identity policies, permissions boundary, session policies) from
// the identity store, adds the resource-based policy and the request's
// condition keys, and asks the IAM engine (package iam) for a Decision.
//
// Every surface builds one explicit Request — caller, action, resource
// (its ARN, owning tenant, tags and resource-based policy), request
// condition keys and where the request came from — and calls Authorize; no
// HTTP request travels through a context.
//
// The tenant boundary is checked here before any policy: a principal that
// belongs to a tenant is denied every action on a resource owned by another
// tenant, whatever its policies say. Callers that must answer such a request
// exactly as for a missing resource (the API pipeline) hide the resource
// before asking (Resource.Missing); the check here is the floor every other
// path stands on.
//
// Accounts: the caller's account is its principal's; the resource's is its
// ARN's, or Resource.Account for resources whose ARN names none (S3). An
// account's root is allowed everything in its own account; otherwise the
// IAM engine decides across accounts when the two differ (the resource's
// policy must grant the caller and the caller's own policies allow). The
// network path a request came by (a named listener's VPC endpoint) travels
// in Origin, and through a context only from the listener to the surface
// (WithNetwork, NetworkOf), for background work that a request started
// (an endpoint's model read).
//
// Errors (a store failure, a stored policy that no longer parses) fail the
// request closed: Authorize never returns an allow with an error.
package authz
