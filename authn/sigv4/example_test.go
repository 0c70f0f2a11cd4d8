package sigv4_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authn/sigv4/sigv4test"
)

func ExampleVerifier_Verify() {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	creds := sigv4test.StaticCredentials{
		"AKIAIOSFODNN7EXAMPLE": {AccessKeyID: "AKIAIOSFODNN7EXAMPLE", Secret: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
			Principal: &authn.Principal{Type: authn.IAMUser, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/alice"}},
	}
	v := sigv4.NewVerifier(authn.Sources{LongTerm: creds})
	v.Now = func() time.Time { return now }

	// A client signs an InvokeEndpoint request...
	body := "1,2,3"
	r := httptest.NewRequest("POST", "http://127.0.0.1:8080/endpoints/acme/invocations", strings.NewReader(body))
	r.Header.Set("Content-Type", "text/csv")
	key := aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	_ = v4.NewSigner().SignHTTP(context.Background(), key, r, sha(body), "sagemaker", "us-east-1", now)

	// ...and the server authenticates it.
	res, err := v.Verify(r)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Principal.ARN, res.Service, res.Region)

	r.Header.Set("Content-Type", "application/json")
	r.Body = httptest.NewRequest("POST", "/", strings.NewReader(body)).Body
	_, err = v.Verify(r)
	fmt.Println(authn.ErrorCode(err))
	// Output:
	// arn:aws:iam::111122223333:user/alice sagemaker us-east-1
	// SignatureDoesNotMatch
}
