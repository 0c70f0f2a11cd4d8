package sigv4_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml/authn"
)

// BenchmarkVerifier_Verify measures verifying a header-signed InvokeEndpoint
// request with a 1 KiB body. Compare with BenchmarkSigner_SignHTTP, the
// client's cost of signing the same request, run alongside:
//
//	go test -run '^$' -bench 'Verify$|SignHTTP' ./authn/sigv4
func BenchmarkVerifier_Verify(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	req := httptest.NewRequest("POST", "http://127.0.0.1:8080/endpoints/acme-ep/invocations", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha(string(body)), "sagemaker", "us-east-1", testNow); err != nil {
		b.Fatal(err)
	}
	v := newVerifier(testCreds())
	b.ReportAllocs()
	for b.Loop() {
		req.Body = io.NopCloser(bytes.NewReader(body))
		if _, err := v.Verify(req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSigner_SignHTTP is the peer of BenchmarkVerifier_Verify: hashing
// the body and signing the request once with the SDK signer.
func BenchmarkSigner_SignHTTP(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 1024)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	signer := v4.NewSigner()
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("POST", "http://127.0.0.1:8080/endpoints/acme-ep/invocations", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if err := signer.SignHTTP(context.Background(), creds, req, sha(string(body)), "sagemaker", "us-east-1", testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzVerifier_Verify feeds arbitrary Authorization headers, dates and
// queries: the verifier must answer with an *authn.Error, never panic and
// never accept.
func FuzzVerifier_Verify(f *testing.F) {
	good := signed(f, "POST", "/x", "", nil, testKeyID, testSecret, testNow)
	f.Add(good.Header.Get("Authorization"), good.Header.Get("X-Amz-Date"), "")
	f.Add("", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261123%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261123T100000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00")
	f.Add("AWS4-HMAC-SHA256 Credential=/, SignedHeaders=;;, Signature=", "x", "a=%zz")
	f.Fuzz(func(t *testing.T, auth, date, query string) {
		r := httptest.NewRequest("GET", "http://127.0.0.1:8080/x", nil)
		r.URL.RawQuery = query
		if auth != "" {
			r.Header["Authorization"] = []string{auth}
		}
		if date != "" {
			r.Header["X-Amz-Date"] = []string{date}
		}
		_, err := newVerifier(testCreds()).Verify(r)
		if err == nil {
			t.Fatalf("accepted auth=%q date=%q query=%q", auth, date, query)
		}
		if code := authn.ErrorCode(err); code == authn.CodeInternalFailure {
			t.Fatalf("internal failure for auth=%q: %v", auth, err)
		}
	})
}
