// Package sigv4test provides what tests of SigV4 authentication share: a
// loopback server that authenticates every request with a sigv4.Verifier
// and answers STS GetCallerIdentity (query protocol, XML) and SageMaker
// Runtime InvokeEndpoint (REST-JSON) from the verified principal, a static
// CredentialSource, and runners for the real AWS CLI v2 and boto3 that
// isolate them from the machine's configuration.
//
// The server is a test double of the real surfaces: it reproduces their wire
// shapes closely enough for the AWS clients to parse, nothing more.
package sigv4test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
)

// StaticCredentials is a CredentialSource over a fixed map of access key ID
// to credential, for tests.
type StaticCredentials map[string]*authn.Credential

// Credential implements authn.CredentialSource.
func (s StaticCredentials) Credential(_ context.Context, id, token string) (*authn.Credential, error) {
	c, ok := s[id]
	if !ok || token != "" {
		return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}
	return c, nil
}

// Server is a loopback server that authenticates requests with Verifier.
type Server struct {
	*httptest.Server
	Verifier *sigv4.Verifier
}

// NewServer starts a Server over v, closed when tb ends.
func NewServer(tb testing.TB, v *sigv4.Verifier) *Server {
	tb.Helper()
	s := &Server{Verifier: v}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /endpoints/{name}/invocations", s.invoke)
	mux.HandleFunc("/", s.sts)
	s.Server = httptest.NewServer(mux)
	tb.Cleanup(s.Close)
	return s
}

type callerIdentity struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Arn     string   `xml:"GetCallerIdentityResult>Arn"`
	UserID  string   `xml:"GetCallerIdentityResult>UserId"`
	Account string   `xml:"GetCallerIdentityResult>Account"`
	Request string   `xml:"ResponseMetadata>RequestId"`
}

type errorResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ ErrorResponse"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	Request string   `xml:"RequestId"`
}

const requestID = "00000000-0000-0000-0000-000000000000"

func (s *Server) sts(w http.ResponseWriter, r *http.Request) {
	res, err := s.Verifier.Verify(r)
	if err != nil {
		ae := asAuthn(err)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(ae.HTTPStatus())
		xml.NewEncoder(w).Encode(errorResponse{Type: "Sender", Code: ae.Code, Message: ae.Message, Request: requestID})
		return
	}
	if err := r.ParseForm(); err != nil || r.Form.Get("Action") != "GetCallerIdentity" {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		xml.NewEncoder(w).Encode(errorResponse{Type: "Sender", Code: "InvalidAction", Message: "Could not find operation", Request: requestID})
		return
	}
	p := res.Principal
	w.Header().Set("Content-Type", "text/xml")
	xml.NewEncoder(w).Encode(callerIdentity{Arn: p.ARN, UserID: p.UserID, Account: p.Account, Request: requestID})
}

// invoke answers InvokeEndpoint with "<principal ARN>|<endpoint>|<body>".
func (s *Server) invoke(w http.ResponseWriter, r *http.Request) {
	res, err := s.Verifier.Verify(r)
	if err != nil {
		ae := asAuthn(err)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", ae.Code)
		w.WriteHeader(ae.HTTPStatus())
		fmt.Fprintf(w, `{"__type":%q,"message":%q}`, ae.Code, ae.Message)
		return
	}
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s|%s|%s", res.Principal.ARN, r.PathValue("name"), body)
}

// authError is an authentication failure as AWS answers it.
type authError struct {
	Code, Message string
	status        int
}

func (e authError) HTTPStatus() int { return e.status }

func asAuthn(err error) authError {
	e := tenantml.AsError(err)
	out := authError{Code: authn.ErrorCode(err), Message: tenantml.ErrorMessage(err), status: e.Status}
	if out.status == 0 {
		switch e.Code {
		case tenantml.EUNAUTHORIZED, tenantml.EFORBIDDEN:
			out.status = http.StatusForbidden
		default:
			out.status = tenantml.StatusOf(e.Code)
		}
	}
	return out
}

// Keys are the credentials a client runner signs with.
type Keys struct {
	AccessKeyID, Secret, SessionToken string
}

// CLIPath and PythonPath are the Debian-packaged clients (awscli,
// python3-boto3 in scripts/test-deps.sh).
const (
	CLIPath    = "/usr/bin/aws"
	PythonPath = "/usr/bin/python3"
)

// Env returns an environment that makes the AWS CLI and boto3 use k and
// nothing from the machine: no config or credential files, no instance
// metadata, no retries, no pager.
func Env(tb testing.TB, k Keys) []string {
	tb.Helper()
	dir := tb.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	env := []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + dir,
		"AWS_ACCESS_KEY_ID=" + k.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + k.Secret,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_MAX_ATTEMPTS=1",
		"AWS_RETRY_MODE=standard",
		"AWS_PAGER=",
	}
	if k.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+k.SessionToken)
	}
	return env
}

// Require fails tb clearly when a Debian-packaged client is missing.
func Require(tb testing.TB, path, pkg string) {
	tb.Helper()
	if _, err := os.Stat(path); err != nil {
		tb.Fatalf("%s not found: install Debian package %s (listed in scripts/test-deps.sh; run `make deps`)", path, pkg)
	}
}

// RunCLI runs the AWS CLI with args and k against endpoint and returns its
// stdout, stderr and error.
func RunCLI(tb testing.TB, k Keys, endpoint string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	Require(tb, CLIPath, "awscli")
	args = append(args, "--endpoint-url", endpoint, "--output", "json")
	cmd := exec.Command(CLIPath, args...)
	cmd.Env = Env(tb, k)
	cmd.Dir = tb.TempDir()
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// RunPython runs a Python script with boto3 available, k in its environment
// and extra arguments, and returns its stdout, stderr and error.
func RunPython(tb testing.TB, k Keys, script string, args ...string) (stdout, stderr string, err error) {
	tb.Helper()
	Require(tb, PythonPath, "python3-boto3")
	cmd := exec.Command(PythonPath, append([]string{"-c", script}, args...)...)
	cmd.Env = Env(tb, k)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}
