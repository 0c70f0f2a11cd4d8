// Command iambench decides the same pool-model request with three policy
// engines in one run and prints how they compare:
//
//   - tenantml's IAM engine (package iam), the engine under test;
//   - cedar-go, with equivalent Cedar policies, both as one policy set
//     holding every policy ("cedar-go", the library's usual use) and as one
//     policy set per role looked up by the caller's role ("cedar-role", the
//     way tenantml keeps IAM policies);
//   - OPA, with an equivalent Rego module prepared once and evaluated per
//     request.
//
// The request is the pool isolation model's invocation: a session of the shared
// PoolInvokeRole tagged TenantID=tenant-a calls sagemaker:InvokeEndpoint on
// arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint with
// sagemaker:TargetModel=tenant-a.tar.gz.
//
// Before timing anything the program checks that the three engines agree on a
// table of allowed and denied requests (own model, another tenant's model, a
// silo tenant's own and neighbouring endpoint); any disagreement exits 1.
// It then runs testing.Benchmark for each engine in the same process, first
// with only the pool tenants' policies loaded and then with the policies of
// N further (silo) tenants loaded as well, in interleaved rounds, and prints
// the median ns/op, the process CPU time per decision (cpu-ns/op), allocs/op
// and the ratios cedar/tenantml and opa/tenantml (above 1 means tenantml is
// faster).
// Ratios from one run are the figures to compare: absolute times move with
// the machine's load, ratios much less.
//
// Each engine holds the policies the way it is meant to be used: IAM policies
// are attached to roles, so tenantml looks the caller's role up in a map and
// evaluates that role's policy set ("tenantml"; "tenantml-1set" is the same
// engine given every tenant's policy in one set, scoped by aws:PrincipalArn
// conditions and indexed with iam.NewIdentityIndex, the layout cedar-go uses); cedar-go evaluates one policy set holding
// every policy; OPA evaluates one prepared query over a module holding every
// rule (its rule indexer picks candidates). Cedar has no string
// concatenation, so the pool rule `${aws:PrincipalTag/TenantID}.tar.gz` is
// expanded into one Cedar policy per pool tenant; Rego uses concat. The
// requests are converted to each engine's native form once, outside the timed
// loop (for OPA: a pre-parsed ast.Value input), so the loop times the decision
// alone.
package main
