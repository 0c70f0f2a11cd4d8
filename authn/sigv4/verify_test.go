package sigv4_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authn/sigv4/sigv4test"
)

const (
	testKeyID  = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	otherKeyID = "AKIAI44QH8DHBEXAMPLE"
)

var testNow = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func testPrincipal() *authn.Principal {
	return &authn.Principal{
		Type:     authn.IAMUser,
		Account:  "111122223333",
		ARN:      "arn:aws:iam::111122223333:user/alice",
		UserID:   "AIDAEXAMPLEALICE0001",
		UserName: "alice",
		Tags:     map[string]string{"TenantID": "acme"},
	}
}

func testCreds() sigv4test.StaticCredentials {
	return sigv4test.StaticCredentials{
		testKeyID: {AccessKeyID: testKeyID, Secret: testSecret, Principal: testPrincipal()},
	}
}

func newVerifier(src authn.CredentialSource) *sigv4.Verifier {
	v := sigv4.NewVerifier(src)
	v.Now = func() time.Time { return testNow }
	return v
}

func sha(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// signed builds a request signed by the SDK signer as a client would send it
// and as the server receives it.
func signed(t testing.TB, method, target, body string, hdr map[string]string, keyID, secret string, at time.Time) *http.Request {
	t.Helper()
	req := httptest.NewRequest(method, "http://127.0.0.1:8080"+target, strings.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, sha(body), "sagemaker", "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	req.Body = io.NopCloser(strings.NewReader(body))
	return req
}

func presigned(t *testing.T, target string, expires time.Duration, keyID, secret string, at time.Time) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+target, nil)
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.Itoa(int(expires/time.Second)))
	req.URL.RawQuery = q.Encode()
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	uri, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, req, sigv4.UnsignedPayload, "sts", "eu-west-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return httptest.NewRequest(http.MethodGet, uri, nil)
}

func TestVerifier_Verify(t *testing.T) {
	const invoke = "/endpoints/acme-ep/invocations"
	jsonCT := map[string]string{"Content-Type": "application/json"}
	tests := []struct {
		name string
		req  func(t *testing.T) *http.Request
		opts func(v *sigv4.Verifier)
		want string // error code, "" for success
	}{
		{"OK", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, `{"x":1}`, jsonCT, testKeyID, testSecret, testNow)
		}, nil, ""},
		{"OKEmptyBody", func(t *testing.T) *http.Request {
			return signed(t, "GET", "/?Action=GetCallerIdentity&Version=2011-06-15", "", nil, testKeyID, testSecret, testNow)
		}, nil, ""},
		{"OKContentSha256", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, "abc", map[string]string{"X-Amz-Content-Sha256": sha("abc")}, testKeyID, testSecret, testNow)
		}, nil, ""},
		{"OKSkewWithinWindow", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, "a", nil, testKeyID, testSecret, testNow.Add(-14*time.Minute))
		}, nil, ""},
		{"OKEscapedPath", func(t *testing.T) *http.Request {
			return signed(t, "POST", "/endpoints/a%20b/invocations", "a", nil, testKeyID, testSecret, testNow)
		}, nil, ""},
		{"OKPresigned", func(t *testing.T) *http.Request {
			return presigned(t, "/?Action=GetCallerIdentity&Version=2011-06-15", time.Hour, testKeyID, testSecret, testNow.Add(-30*time.Minute))
		}, nil, ""},
		{"ErrWrongSecret", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, "a", nil, testKeyID, testSecret+"x", testNow)
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrUnknownKey", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, "a", nil, otherKeyID, testSecret, testNow)
		}, nil, authn.CodeInvalidClientTokenID},
		{"ErrTamperedHeader", func(t *testing.T) *http.Request {
			r := signed(t, "POST", invoke, "a", jsonCT, testKeyID, testSecret, testNow)
			r.Header.Set("Content-Type", "text/csv")
			return r
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrTamperedBody", func(t *testing.T) *http.Request {
			r := signed(t, "POST", invoke, `{"x":1}`, nil, testKeyID, testSecret, testNow)
			r.Body = io.NopCloser(strings.NewReader(`{"x":2}`))
			return r
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrTamperedBodyDeclaredHash", func(t *testing.T) *http.Request {
			r := signed(t, "POST", invoke, "abc", map[string]string{"X-Amz-Content-Sha256": sha("abc")}, testKeyID, testSecret, testNow)
			r.Body = io.NopCloser(strings.NewReader("abd"))
			return r
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrTamperedPath", func(t *testing.T) *http.Request {
			r := signed(t, "POST", invoke, "a", nil, testKeyID, testSecret, testNow)
			r.URL.Path = "/endpoints/other-ep/invocations"
			return r
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrTamperedQuery", func(t *testing.T) *http.Request {
			r := signed(t, "GET", "/?Action=GetCallerIdentity", "", nil, testKeyID, testSecret, testNow)
			r.URL.RawQuery = "Action=AssumeRole"
			return r
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrTamperedMethod", func(t *testing.T) *http.Request {
			r := signed(t, "POST", invoke, "a", nil, testKeyID, testSecret, testNow)
			r.Method = "PUT"
			return r
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrSkewedPast", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, "a", nil, testKeyID, testSecret, testNow.Add(-16*time.Minute))
		}, nil, authn.CodeRequestExpired},
		{"ErrSkewedFuture", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, "a", nil, testKeyID, testSecret, testNow.Add(16*time.Minute))
		}, nil, authn.CodeRequestExpired},
		{"ErrPresignExpired", func(t *testing.T) *http.Request {
			return presigned(t, "/?Action=GetCallerIdentity", 15*time.Minute, testKeyID, testSecret, testNow.Add(-16*time.Minute))
		}, nil, authn.CodeRequestExpired},
		{"ErrPresignTooLong", func(t *testing.T) *http.Request {
			return presigned(t, "/?Action=GetCallerIdentity", 8*24*time.Hour, testKeyID, testSecret, testNow)
		}, nil, authn.CodeIncompleteSignature},
		{"ErrPresignTampered", func(t *testing.T) *http.Request {
			r := presigned(t, "/?Action=GetCallerIdentity", time.Hour, testKeyID, testSecret, testNow)
			q := r.URL.Query()
			q.Set("Action", "AssumeRole")
			r.URL.RawQuery = q.Encode()
			return r
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrPresignWrongSecret", func(t *testing.T) *http.Request {
			return presigned(t, "/?Action=GetCallerIdentity", time.Hour, testKeyID, "nope", testNow)
		}, nil, authn.CodeSignatureDoesNotMatch},
		{"ErrMissingAuth", func(t *testing.T) *http.Request {
			return httptest.NewRequest("GET", "/?Action=GetCallerIdentity", nil)
		}, nil, authn.CodeMissingAuthenticationToken},
		{"ErrBodyTooLarge", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, strings.Repeat("x", 101), nil, testKeyID, testSecret, testNow)
		}, func(v *sigv4.Verifier) { v.MaxBodyBytes = 100 }, authn.CodeRequestEntityTooLarge},
		{"ErrUnsignedPayloadHeader", func(t *testing.T) *http.Request {
			return signedPayload(t, "a", sigv4.UnsignedPayload)
		}, nil, authn.CodeIncompleteSignature},
		{"OKUnsignedPayloadAllowed", func(t *testing.T) *http.Request {
			return signedPayload(t, "a", sigv4.UnsignedPayload)
		}, func(v *sigv4.Verifier) { v.AllowUnsignedPayload = true }, ""},
		{"ErrStreaming", func(t *testing.T) *http.Request {
			return signedPayload(t, "a", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
		}, nil, authn.CodeIncompleteSignature},
		{"ErrTokenWithLongTermKey", func(t *testing.T) *http.Request {
			return signed(t, "POST", invoke, "a", map[string]string{"X-Amz-Security-Token": "tok"}, testKeyID, testSecret, testNow)
		}, nil, authn.CodeInvalidClientTokenID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(testCreds())
			if tt.opts != nil {
				tt.opts(v)
			}
			r := tt.req(t)
			res, err := v.Verify(r)
			if got := authn.ErrorCode(err); got != tt.want {
				t.Fatalf("Verify() error = %v, want code %q", err, tt.want)
			}
			if err != nil {
				if e := tenantml.AsError(err); e.AWSCode == "" || e.Code == tenantml.EINTERNAL {
					t.Fatalf("error %v is not an authentication error", err)
				}
				if strings.Contains(err.Error(), testSecret) {
					t.Fatalf("error leaks the secret: %v", err)
				}
				return
			}
			if got, want := res.Principal.ARN, testPrincipal().ARN; got != want {
				t.Fatalf("Principal.ARN = %q, want %q", got, want)
			}
			if got := res.Principal.AccessKeyID; got != testKeyID {
				t.Fatalf("Principal.AccessKeyID = %q, want %q", got, testKeyID)
			}
		})
	}
}

func signedPayload(t *testing.T, body, payloadHash string) *http.Request {
	t.Helper()
	req := httptest.NewRequest("POST", "http://127.0.0.1:8080/endpoints/e/invocations", strings.NewReader(body))
	req.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, "sagemaker", "us-east-1", testNow); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestVerifier_Verify_result(t *testing.T) {
	t.Run("HeaderSigned", func(t *testing.T) {
		v := newVerifier(testCreds())
		r := signed(t, "POST", "/endpoints/e/invocations", "payload", nil, testKeyID, testSecret, testNow.Add(-time.Minute))
		res, err := v.Verify(r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Service != "sagemaker" || res.Region != "us-east-1" || res.Presigned || !res.SignedAt.Equal(testNow.Add(-time.Minute)) {
			t.Fatalf("result = %+v", res)
		}
		body, _ := io.ReadAll(r.Body)
		if got, want := string(body), "payload"; got != want {
			t.Fatalf("body after Verify = %q, want %q", got, want)
		}
	})
	t.Run("Presigned", func(t *testing.T) {
		v := newVerifier(testCreds())
		r := presigned(t, "/?Action=GetCallerIdentity", time.Hour, testKeyID, testSecret, testNow)
		res, err := v.Verify(r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Service != "sts" || res.Region != "eu-west-1" || !res.Presigned || !res.Expires.Equal(testNow.Add(time.Hour)) {
			t.Fatalf("result = %+v", res)
		}
	})
	t.Run("PrincipalCopied", func(t *testing.T) {
		creds := testCreds()
		v := newVerifier(creds)
		res, err := v.Verify(signed(t, "POST", "/x", "", nil, testKeyID, testSecret, testNow))
		if err != nil {
			t.Fatal(err)
		}
		res.Principal.ARN = "changed"
		res.Principal.Tags["TenantID"] = "globex"
		if creds[testKeyID].Principal.ARN == "changed" || creds[testKeyID].Principal.Tags["TenantID"] != "acme" {
			t.Fatal("Verify returned the source's principal instead of a copy")
		}
	})
}

func TestVerifier_Verify_malformed(t *testing.T) {
	good := signed(t, "POST", "/x", "", nil, testKeyID, testSecret, testNow).Header.Get("Authorization")
	date := testNow.Format("20060102T150405Z")
	tests := []struct {
		name, auth, date, query string
		want                    string
	}{
		{"BadAlgorithm", strings.Replace(good, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1), date, "", authn.CodeIncompleteSignature},
		{"NoSignature", good[:strings.Index(good, ", Signature=")], date, "", authn.CodeIncompleteSignature},
		{"NoCredential", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", date, "", authn.CodeIncompleteSignature},
		{"Garbage", "AWS4-HMAC-SHA256 \x00\xff", date, "", authn.CodeIncompleteSignature},
		{"ShortScope", "AWS4-HMAC-SHA256 Credential=" + testKeyID + "/20261123/us-east-1, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("a", 64), date, "", authn.CodeIncompleteSignature},
		{"BadTerminator", strings.Replace(good, "aws4_request", "aws5_request", 1), date, "", authn.CodeSignatureDoesNotMatch},
		{"ScopeDateMismatch", strings.Replace(good, "/20261123/", "/20261122/", 1), date, "", authn.CodeSignatureDoesNotMatch},
		{"NoDate", good, "", "", authn.CodeIncompleteSignature},
		{"BadDate", good, "2026-11-23T10:00:00Z", "", authn.CodeIncompleteSignature},
		{"HostNotSigned", strings.Replace(good, "SignedHeaders=host;", "SignedHeaders=", 1), date, "", authn.CodeIncompleteSignature},
		{"DateNotSigned", strings.Replace(good, ";x-amz-date", "", 1), date, "", authn.CodeIncompleteSignature},
		{"UpperSignedHeader", strings.Replace(good, "SignedHeaders=host", "SignedHeaders=Host", 1), date, "", authn.CodeIncompleteSignature},
		{"ShortSignature", good[:len(good)-2], date, "", authn.CodeIncompleteSignature},
		{"BadKeyID", strings.Replace(good, testKeyID, "AKIA/../../etc", 1), date, "", authn.CodeIncompleteSignature},
		{"OddKeyID", strings.Replace(good, testKeyID, "AKIA<script>12345678", 1), date, "", authn.CodeInvalidClientTokenID},
		{"BothMechanisms", good, date, "X-Amz-Algorithm=AWS4-HMAC-SHA256", authn.CodeIncompleteSignature},
		{"QueryMissingParams", "", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=" + date, authn.CodeIncompleteSignature},
		{"QueryBadExpires", "", "", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" + url.QueryEscape(testKeyID+"/20261123/us-east-1/sts/aws4_request") +
			"&X-Amz-Date=" + date + "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + strings.Repeat("a", 64) + "&X-Amz-Expires=-5", authn.CodeIncompleteSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://127.0.0.1:8080/x?"+tt.query, nil)
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			if tt.date != "" {
				r.Header.Set("X-Amz-Date", tt.date)
			}
			_, err := newVerifier(testCreds()).Verify(r)
			if got := authn.ErrorCode(err); got != tt.want {
				t.Fatalf("Verify() error = %v, want code %q", err, tt.want)
			}
		})
	}
}

type failingSource struct{}

func (failingSource) Credential(context.Context, string, string) (*authn.Credential, error) {
	return nil, errors.New("store unavailable")
}

func TestVerifier_Verify_sourceFailure(t *testing.T) {
	t.Run("ErrInternal", func(t *testing.T) {
		r := signed(t, "POST", "/x", "", nil, testKeyID, testSecret, testNow)
		_, err := newVerifier(failingSource{}).Verify(r)
		if got, want := authn.ErrorCode(err), authn.CodeInternalFailure; got != want {
			t.Fatalf("code = %q, want %q (a store failure must fail closed, not look like a bad key)", got, want)
		}
	})
}
