package iam_test

import (
	"fmt"

	"github.com/tenantml/tenantml/iam"
)

// The pool isolation model: one shared role whose sessions carry a TenantID
// tag; the policy pins the target model to the caller's tenant.
func ExampleAuthorize() {
	policy, err := iam.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"PoolInvoke","Effect":"Allow",
		"Action":"sagemaker:InvokeEndpoint",
		"Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint",
		"Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`),
		iam.ParseOptions{Kind: iam.KindIdentity})
	if err != nil {
		fmt.Println(err)
		return
	}
	set := &iam.PolicySet{Identity: []*iam.Policy{policy}}

	for _, model := range []string{"acme.tar.gz", "globex.tar.gz"} {
		ctx := [2]iam.KeyValue{
			iam.Single("aws:PrincipalTag/TenantID", "acme"),
			iam.Single("sagemaker:TargetModel", model),
		}
		req := iam.Request{
			Principal: "arn:aws:sts::111122223333:assumed-role/PoolInvokeRole/acme-session",
			Action:    "sagemaker:InvokeEndpoint",
			Resource:  "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint",
			Context:   ctx[:],
		}
		dec, diag := iam.Authorize(set, &req)
		fmt.Println(model, dec)
		if dec != iam.Allowed {
			fmt.Println(diag.Reason())
		}
	}
	// Output:
	// acme.tar.gz Allowed
	// globex.tar.gz ImplicitlyDenied
	// implicitly denied: no identity-based or resource-based policy allows "sagemaker:InvokeEndpoint" on "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint" by "arn:aws:sts::111122223333:assumed-role/PoolInvokeRole/acme-session"; closest: statement 0 (Sid "PoolInvoke") of identity[0] names this action but its condition StringEquals on "sagemaker:TargetModel" is not met
}

func ExampleParse_error() {
	_, err := iam.Parse([]byte(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Read","Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
		{"Sid":"AllowInvoke","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*",
		 "Condition":{"StringEqual":{"aws:PrincipalTag/TenantID":"acme"}}}]}`), iam.ParseOptions{})
	fmt.Println(err)
	// Output:
	// statement[1] (Sid "AllowInvoke"): Condition: unknown operator "StringEqual"
}
