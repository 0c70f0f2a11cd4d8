package simulate_test

import (
	"fmt"

	"github.com/tenantml/tenantml/iam/simulate"
)

func ExampleRunBatch() {
	results, err := simulate.RunBatch([]byte(`[
	 {"name": "bridge-own-endpoint",
	  "request": {"principal": "arn:aws:sts::111122223333:assumed-role/BridgeRole/acme",
	              "action": "sagemaker:InvokeEndpoint",
	              "resource": {"resource": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme", "accountId": "111122223333"},
	              "context": {"aws:PrincipalTag/TenantID": "acme"}},
	  "identityPolicies": [{"Version": "2012-10-17", "Statement": [{"Sid": "Bridge", "Effect": "Allow",
	      "Action": "sagemaker:InvokeEndpoint",
	      "Resource": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/${aws:PrincipalTag/TenantID}"}]}],
	  "expected": {"response": "Allowed"}},
	 {"name": "broken", "request": "not an object"}
	]`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r.Name, r.Decision, len(r.Statements), r.Error != "")
	}
	// Output:
	// bridge-own-endpoint Allowed 1 false
	// broken  0 true
}
