package identity_test

import (
	"fmt"

	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
)

// A DataScientist of tenant acme may invoke acme's endpoint; the same role
// definition denies globex's, because the policy is pinned to the caller's
// TenantID principal tag.
func ExampleBuiltinDocument() {
	doc, _ := identity.BuiltinDocument(identity.BuiltinARNPrefix + identity.DataScientist)
	policy, err := iam.Parse([]byte(doc), iam.ParseOptions{Kind: iam.KindIdentity, MaxChars: iam.LimitManaged})
	if err != nil {
		fmt.Println(err)
		return
	}
	set := &iam.PolicySet{Identity: []*iam.Policy{policy}}
	for _, owner := range []string{"acme", "globex"} {
		req := &iam.Request{
			Principal: "arn:aws:sts::111122223333:assumed-role/DataScientist/dan",
			Action:    "sagemaker:InvokeEndpoint",
			Resource:  "arn:aws:sagemaker:us-east-1:111122223333:endpoint/" + owner,
			Context: iam.Context{
				iam.Single("aws:PrincipalTag/TenantID", "acme"),
				iam.Single("aws:ResourceTag/TenantID", owner),
			},
		}
		dec, _ := iam.Authorize(set, req)
		fmt.Println(owner, dec)
	}
	// Output:
	// acme Allowed
	// globex ImplicitlyDenied
}
