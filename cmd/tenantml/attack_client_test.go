package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// principal is one set of credentials the attack suite acts with.
type principal struct {
	// kind names the principal in test names: "admin", "scientist",
	// "viewer", "broker-session", ...
	kind string
	// arn is the principal's ARN (the assumed-role ARN for a session).
	arn string
	// tenant is the principal's tenant ("" for platform principals).
	tenant               string
	keyID, secret, token string
	expires              time.Time
	userName, roleName   string
}

// awsCreds returns p's credentials for a signer.
func (p *principal) awsCreds() aws.Credentials {
	return aws.Credentials{AccessKeyID: p.keyID, SecretAccessKey: p.secret, SessionToken: p.token}
}

// reply is one raw HTTP answer.
type reply struct {
	status    int
	header    http.Header
	body      []byte
	requestID string
}

// signedRequest is one request to send signed (or unsigned, when by is nil).
type signedRequest struct {
	method, path string
	header       http.Header
	body         []byte
	service      string
	region       string
	// signTime, when not zero, is the signing time (for expired
	// signatures).
	signTime time.Time
}

// send signs req with by's credentials for its service and region (when
// by is not nil) and sends it to ts.
func send(t *testing.T, ts *testServer, by *principal, req signedRequest) reply {
	t.Helper()
	return do(t, signedHTTP(t, ts, by, req))
}

// signedHTTP builds req for ts, signed as by (unsigned when by is nil).
func signedHTTP(t *testing.T, ts *testServer, by *principal, req signedRequest) *http.Request {
	t.Helper()
	hr, err := http.NewRequestWithContext(context.Background(), req.method, ts.URL+req.path, bytes.NewReader(req.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	if by == nil {
		return hr
	}
	region := req.region
	if region == "" {
		region = ts.cfg.Region
	}
	when := req.signTime
	if when.IsZero() {
		when = time.Now()
	}
	sum := sha256.Sum256(req.body)
	if req.service == "s3" && hr.Header.Get("X-Amz-Content-Sha256") == "" {
		// S3 signers send (and sign) the payload hash, as S3 requires.
		hr.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), by.awsCreds(), hr, hex.EncodeToString(sum[:]), req.service, region, when); err != nil {
		t.Fatalf("sign: %v", err)
	}
	return hr
}

// do sends hr and reads the whole answer.
func do(t *testing.T, hr *http.Request) reply {
	t.Helper()
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", hr.Method, hr.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", hr.Method, hr.URL.Path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body, requestID: resp.Header.Get("X-Request-Id")}
}

// queryRequest is a query-protocol (IAM, STS) request for action with
// params, signed for service.
func queryRequest(service, action string, params url.Values) signedRequest {
	form := url.Values{"Action": {action}, "Version": {map[string]string{"iam": "2010-05-08", "sts": "2011-06-15", "monitoring": "2010-08-01"}[service]}}
	for k, v := range params {
		form[k] = v
	}
	return signedRequest{method: http.MethodPost, path: "/", service: service, region: "us-east-1", body: []byte(form.Encode()),
		header: http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}}
}

// kmsRequest is a KMS JSON 1.1 request for operation op with body in.
func kmsRequest(op string, in any) signedRequest {
	b, err := json.Marshal(in)
	if err != nil {
		panic(err) // test inputs are plain maps
	}
	return signedRequest{method: http.MethodPost, path: "/", service: "kms", body: b,
		header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"TrentService." + op}}}
}

// manageRequest is a management API request (service tenantml).
func manageRequest(method, path string, body []byte) signedRequest {
	h := http.Header{}
	if body != nil {
		h.Set("Content-Type", "application/json")
	}
	return signedRequest{method: method, path: path, service: "tenantml", body: body, header: h}
}

// errorCode extracts the error code of an AWS or management API answer:
// <Code> of query XML, __type of JSON 1.1, error.code of the management
// API.
func errorCode(body []byte) string {
	s := string(body)
	if i := strings.Index(s, "<Code>"); i >= 0 {
		rest := s[i+len("<Code>"):]
		if j := strings.Index(rest, "</Code>"); j >= 0 {
			return rest[:j]
		}
	}
	var j struct {
		Type  string `json:"__type"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil {
		if j.Type != "" {
			return j.Type
		}
		return j.Error.Code
	}
	return ""
}
