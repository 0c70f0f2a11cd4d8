package sigv4_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authn/sigv4/sigv4test"
)

// realServer runs the verifier on loopback with the real clock: the real
// clients sign with the machine's time.
func realServer(t *testing.T) *sigv4test.Server {
	t.Helper()
	return sigv4test.NewServer(t, sigv4.NewVerifier(testCreds()))
}

var goodKeys = sigv4test.Keys{AccessKeyID: testKeyID, Secret: testSecret}

func TestVerifier_Verify_awsCLI(t *testing.T) {
	srv := realServer(t)
	t.Run("GetCallerIdentity", func(t *testing.T) {
		out, stderr, err := sigv4test.RunCLI(t, goodKeys, srv.URL, "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws sts get-caller-identity: %v\n%s", err, stderr)
		}
		var got struct {
			UserID  string `json:"UserId"`
			Account string
			Arn     string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("parse CLI output %q: %v", out, err)
		}
		want := testPrincipal()
		if got.Arn != want.ARN || got.Account != want.Account || got.UserID != want.UserID {
			t.Fatalf("caller identity = %+v, want %s %s %s", got, want.ARN, want.Account, want.UserID)
		}
	})
	t.Run("InvokeEndpoint", func(t *testing.T) {
		dir := t.TempDir()
		in := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(in, []byte("1,2,3\n4,5,6\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		outFile := filepath.Join(dir, "out")
		_, stderr, err := sigv4test.RunCLI(t, goodKeys, srv.URL, "sagemaker-runtime", "invoke-endpoint",
			"--endpoint-name", "acme-ep", "--content-type", "text/csv", "--body", "fileb://"+in, outFile)
		if err != nil {
			t.Fatalf("aws sagemaker-runtime invoke-endpoint: %v\n%s", err, stderr)
		}
		got, err := os.ReadFile(outFile)
		if err != nil {
			t.Fatal(err)
		}
		if want := testPrincipal().ARN + "|acme-ep|1,2,3\n4,5,6\n"; string(got) != want {
			t.Fatalf("response = %q, want %q", got, want)
		}
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		bad := sigv4test.Keys{AccessKeyID: testKeyID, Secret: "not-the-secret-0123456789012345678901"}
		_, stderr, err := sigv4test.RunCLI(t, bad, srv.URL, "sts", "get-caller-identity")
		if err == nil || !strings.Contains(stderr, "SignatureDoesNotMatch") {
			t.Fatalf("err = %v, stderr = %q, want SignatureDoesNotMatch", err, stderr)
		}
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		bad := sigv4test.Keys{AccessKeyID: otherKeyID, Secret: testSecret}
		_, stderr, err := sigv4test.RunCLI(t, bad, srv.URL, "sts", "get-caller-identity")
		if err == nil || !strings.Contains(stderr, "InvalidClientTokenId") {
			t.Fatalf("err = %v, stderr = %q, want InvalidClientTokenId", err, stderr)
		}
	})
}

// boto3Script signs with boto3: a header-signed GetCallerIdentity, an
// InvokeEndpoint with a body, and a presigned GetCallerIdentity URL fetched
// with urllib. Its output is one JSON object.
const boto3Script = `
import json, sys, urllib.request, urllib.error, boto3
url = sys.argv[1]
out = {}
sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1")
out["arn"] = sts.get_caller_identity()["Arn"]
smr = boto3.client("sagemaker-runtime", endpoint_url=url, region_name="us-east-1")
r = smr.invoke_endpoint(EndpointName="acme-ep", Body=b'{"instances":[1]}', ContentType="application/json")
out["invoke"] = r["Body"].read().decode()
presigned = sts.generate_presigned_url("get_caller_identity", ExpiresIn=int(sys.argv[2]), HttpMethod="GET")
out["presigned_url"] = presigned
try:
    with urllib.request.urlopen(presigned) as resp:
        out["presigned_status"] = resp.status
        out["presigned_body"] = resp.read().decode()
except urllib.error.HTTPError as e:
    out["presigned_status"] = e.code
    out["presigned_body"] = e.read().decode()
print(json.dumps(out))
`

func TestVerifier_Verify_boto3(t *testing.T) {
	srv := realServer(t)
	out, stderr, err := sigv4test.RunPython(t, goodKeys, boto3Script, srv.URL, "300")
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr)
	}
	var got struct {
		ARN             string `json:"arn"`
		Invoke          string `json:"invoke"`
		PresignedURL    string `json:"presigned_url"`
		PresignedStatus int    `json:"presigned_status"`
		PresignedBody   string `json:"presigned_body"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("parse %q: %v", out, err)
	}
	t.Run("GetCallerIdentity", func(t *testing.T) {
		if got.ARN != testPrincipal().ARN {
			t.Fatalf("arn = %q, want %q", got.ARN, testPrincipal().ARN)
		}
	})
	t.Run("InvokeEndpoint", func(t *testing.T) {
		if want := testPrincipal().ARN + `|acme-ep|{"instances":[1]}`; got.Invoke != want {
			t.Fatalf("invoke = %q, want %q", got.Invoke, want)
		}
	})
	t.Run("Presigned", func(t *testing.T) {
		if got.PresignedStatus != http.StatusOK || !strings.Contains(got.PresignedBody, testPrincipal().ARN) {
			t.Fatalf("presigned GET = %d %q", got.PresignedStatus, got.PresignedBody)
		}
	})
	t.Run("ErrPresignedExpired", func(t *testing.T) {
		// The same URL verified an hour later has expired.
		v := sigv4.NewVerifier(testCreds())
		v.Now = func() time.Time { return time.Now().Add(time.Hour) }
		late := sigv4test.NewServer(t, v)
		u := strings.Replace(got.PresignedURL, srv.URL, late.URL, 1)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "RequestExpired") {
			t.Fatalf("expired presigned GET = %d %q", resp.StatusCode, body)
		}
	})
	t.Run("ErrPresignedTampered", func(t *testing.T) {
		u := strings.Replace(got.PresignedURL, "GetCallerIdentity", "GetSessionToken", 1)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "SignatureDoesNotMatch") {
			t.Fatalf("tampered presigned GET = %d %q", resp.StatusCode, body)
		}
	})
}

func TestVerifier_Verify_goSDK(t *testing.T) {
	srv := realServer(t)
	cfg := func(secret string) aws.Config {
		return aws.Config{
			Region:           "us-east-1",
			Credentials:      credentials.NewStaticCredentialsProvider(testKeyID, secret, ""),
			BaseEndpoint:     aws.String(srv.URL),
			RetryMaxAttempts: 1,
		}
	}
	ctx := context.Background()
	t.Run("GetCallerIdentity", func(t *testing.T) {
		out, err := sts.NewFromConfig(cfg(testSecret)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := aws.ToString(out.Arn), testPrincipal().ARN; got != want {
			t.Fatalf("Arn = %q, want %q", got, want)
		}
	})
	t.Run("InvokeEndpoint", func(t *testing.T) {
		out, err := sagemakerruntime.NewFromConfig(cfg(testSecret)).InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{
			EndpointName: aws.String("acme-ep"),
			ContentType:  aws.String("text/csv"),
			Body:         []byte("1,2"),
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := string(out.Body), testPrincipal().ARN+"|acme-ep|1,2"; got != want {
			t.Fatalf("body = %q, want %q", got, want)
		}
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		_, err := sts.NewFromConfig(cfg("wrong")).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err == nil || !strings.Contains(err.Error(), "SignatureDoesNotMatch") {
			t.Fatalf("err = %v, want SignatureDoesNotMatch", err)
		}
	})
}
