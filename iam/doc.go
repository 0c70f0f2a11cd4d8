// Package iam is tenantml's IAM policy language: it parses, validates,
// compiles and evaluates policies written for AWS IAM, verbatim, with AWS's
// documented semantics. It is hand-written because no maintained Go library
// implements IAM policy semantics (cedar-go and OPA implement other
// languages); it does no I/O and holds no package-level state.
//
// # Parsing
//
// Parse turns a JSON document into a compiled *Policy, validating it for the
// Kind of policy it is (identity, resource, boundary, session, guardrail):
// string-or-array forms; unknown elements; duplicate Sids; empty lists;
// Action with NotAction (and the other element pairs); Version 2012-10-17 or
// 2008-10-17 (missing means 2008-10-17, under which ${...} is literal text);
// malformed actions and ARNs; Principal outside resource-based policies (and
// missing from them); unknown condition operators and values the operator
// cannot read; size limits in characters with whitespace excluded (managed
// 6,144, inline 10,240, session 2,048). Errors name the statement, its Sid,
// the element and the bad value:
//
//	statement[1] (Sid "AllowInvoke"): Condition: unknown operator "StringEqual"
//
// Sids must be letters and digits outside resource-based policies, as IAM
// requires. A statement may use at most MaxVariables distinct policy
// variables.
//
// The JSON wire form is read into generic maps (so that element names stay
// case-sensitive and unknown elements are reported by name) and converted;
// the compiled Policy holds only matchers (package arn globs, an action
// index, parsed condition values), so the evaluator never touches JSON.
//
// # Matching
//
// Actions match case-insensitively with '*' and '?'. Resource/NotResource
// match ARNs case-sensitively, component by component (see package arn).
// Principal/NotPrincipal accept "*", {"AWS": account ID | ARN | "*"},
// Service, Federated and CanonicalUser; an account ID and its root ARN name
// the account.
//
// Conditions support every operator family (String*, Numeric*, Date* with
// ISO 8601 or epoch seconds, Bool, BinaryEquals, IpAddress/NotIpAddress with
// IPv4/IPv6 CIDRs, Arn*, Null), every ...IfExists variant and the
// ForAllValues:/ForAnyValue: qualifiers: AND across operators and keys, OR
// across the values of one key, NOR for negated operators. A missing key
// makes a positive operator false and a negated one true; IfExists makes it
// true; ForAllValues is true and ForAnyValue false on a missing key or empty
// set. Key names are case-insensitive.
//
// Policy variables (${aws:PrincipalTag/TenantID}, ${aws:username}, any
// request key, with defaults ${key, 'default'} and the escapes ${*} ${?}
// ${$}) are substituted in Resource/NotResource and in String* and Arn*
// condition values. A substituted value is literal text: a '*' inside it is
// not a wildcard. A variable that cannot be resolved (a missing key, or a
// multivalued key, which IAM never substitutes, without a default) makes its
// statement not apply.
//
// The engine derives aws:PrincipalArn (the role ARN for a role session),
// aws:PrincipalAccount, aws:PrincipalType, aws:ResourceAccount and
// aws:username from the request when the context does not carry them.
//
// # Evaluation
//
// Authorize(set, request) (Decision, Diagnostics) is pure (no ctx, no error,
// no I/O) and, for the policies tenantml generates, allocation-free. The
// evaluation order is documented on Authorize: explicit deny anywhere wins;
// every guardrail level must allow; within an account a resource-based
// policy granting to the caller's own ARN allows by itself while one
// granting to the caller's role is limited by boundaries and session
// policies; identity-based policies, permissions boundaries and session
// policies intersect; role trust policies and KMS key policies must allow
// even within one account; cross-account requests need the caller's identity
// allow and the resource owner's resource-policy allow. The Diagnostics name
// the deciding statements (policy label such as "identity[0]", statement
// index, Sid, effect) and, for an implicit deny, the policy type that lacked
// an allow, with a Reason sentence fit to show the denied user.
//
// # Building requests on the hot path
//
// A Request and its Context can live on the caller's stack: back Context
// with an array (ctx := [2]iam.KeyValue{iam.Single(k, v), ...};
// req.Context = ctx[:]) and pass &req; Authorize keeps no reference to
// either, and the benchmarks and TestAuthorize_ZeroAlloc pin zero
// allocations for the pool, bridge and silo policies.
//
// Compile once, decide many times: Parse builds an action index for policies
// with more than a few statements, and NewIdentityIndex indexes any number of
// identity policies by (action, resource), so deciding stays flat however
// many statements or tenants are loaded (callers normally keep one
// PolicySet per role; an IdentityIndex serves sets that hold many tenants'
// policies at once).
package iam
