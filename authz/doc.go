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
// Errors (a store failure, a stored policy that no longer parses) fail the
// request closed: Authorize never returns an allow with an error.
package authz
