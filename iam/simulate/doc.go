// Package simulate runs policy simulation cases: a request, the policies of
// every type that take part, and optionally the expected decision. It is the
// logic behind `tenantml policy simulate` and the conformance corpus in
// iam/testdata/corpus.
//
// Case wire format (JSON):
//
//	{"name": "...", "doc": "IAM User Guide section (optional)",
//	 "request": {"principal": "ARN", "action": "svc:Action",
//	             "resource": {"resource": "ARN", "accountId": "123456789012"},
//	             "context": {"key": "value", "multi": ["v1", "v2"]}},
//	 "identityPolicies": [POLICY, ...], "resourcePolicy": POLICY,
//	 "permissionBoundaries": [POLICY, ...], "sessionPolicy": POLICY,
//	 "serviceControlPolicies": [{"orgIdentifier": "level", "policies": [POLICY, ...]}],
//	 "expected": {"response": "Allowed|ExplicitlyDenied|ImplicitlyDenied"}}
//
// A POLICY is a JSON object or a JSON string holding the policy document.
// A context value that is a JSON array is a multi-valued key (an empty array
// is the empty set); strings, numbers and booleans are single values.
//
// Result wire format:
//
//	{"name": "...", "decision": "Allowed", "statements": [{"policy":
//	 "identity[0]", "index": 0, "sid": "...", "effect": "Allow"}],
//	 "reason": "...", "error": "...", "expected": "...", "match": true}
//
// A statement's policy label is "identity[i]", "resource", "boundary[i]",
// "session[0]" or "scp[<orgIdentifier>][i]", naming the case field it came
// from. Identity policies are held to the inline limit (10,240 characters),
// boundaries to the managed limit (6,144), session policies to 2,048 and
// service control policies to 5,120, whitespace excluded.
//
// error is set (and decision empty) when the case cannot be run: malformed
// JSON or an invalid policy. expected and match are set when the case has an
// expected response. RunBatch never fails because one case is malformed: that
// case gets an error Result and the others run.
package simulate
