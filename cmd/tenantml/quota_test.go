package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/tenantml/tenantml/quota"
)

// frozenClock stands still until the test moves it (the server reads it
// concurrently). It starts at the real time so that SigV4 signatures,
// made on the real clock, stay within the allowed skew.
type frozenClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *frozenClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *frozenClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// tenantKey creates an IAM user of tenant with an inline policy and
// returns its access key.
func tenantKey(t *testing.T, ts *testServer, name, tenantID, policy string) [2]string {
	t.Helper()
	ctx := context.Background()
	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name),
		Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(tenantID)}}}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("p"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	return [2]string{aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)}
}

// TestServe_Quotas drives tiers and quotas through the CLI and the
// management API, then the admission stage on three surfaces with exact
// counts over the server's injected clock: SageMaker Runtime answers
// ThrottlingException (400) with Retry-After, IAM Throttling, the
// management API 429; each refusal is audited with the code sent; another
// tenant's quotas answer as a missing tenant's; a tenant never changes
// its own quotas, whatever its policy says.
func TestServe_Quotas(t *testing.T) {
	clk := &frozenClock{t: time.Now()}
	ts := startServerClock(t, rootEnv, clk.now)
	run := func(args ...string) string {
		t.Helper()
		return ts.mustCLI(t, rootKeyID, rootSecret, args...)
	}
	run("tenant", "create", "acme")
	run("tenant", "create", "globex")

	t.Run("TiersAndOverrides", func(t *testing.T) {
		run("tier", "create", "tiny", "--invocations-per-second", "1", "--invocation-burst", "3", "--concurrent-invocations", "8",
			"--management-per-second", "1", "--management-burst", "5", "--endpoints", "2")
		if out := run("tier", "list"); !strings.Contains(out, "tiny") || !strings.Contains(out, "basic (built in)") || !strings.Contains(out, "premium (built in)") {
			t.Fatalf("tier list:\n%s", out)
		}
		run("tier", "update", "tiny", "--models", "7")
		run("tenant", "update", "acme", "--tier", "tiny")
		var e quota.Effective
		if err := json.Unmarshal([]byte(run("tenant", "quotas", "set", "acme", "--invocation-burst", "4", "-o", "json")), &e); err != nil {
			t.Fatal(err)
		}
		if e.Tier != "tiny" || !e.TierDefined || *e.Limits.InvocationBurst != 4 || *e.Limits.Models != 7 || *e.Limits.Endpoints != 2 ||
			*e.Overrides.InvocationBurst != 4 || e.Overrides.Models != nil || e.Limits.StoredBytes != nil {
			t.Fatalf("effective = %+v", e)
		}
		out := run("tenant", "quotas", "get", "acme")
		for _, want := range []string{"invocation-burst\t4\t4", "models\t7\t-", "stored-bytes\tunlimited\t-"} {
			if !strings.Contains(strings.Join(strings.Fields(out), "\t"), strings.Join(strings.Fields(want), "\t")) {
				t.Errorf("quotas get lacks %q:\n%s", want, out)
			}
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "tier", "create", "basic"); err == nil || !strings.Contains(err.Error(), "409") {
			t.Fatalf("creating the built-in basic: %v, want 409", err)
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "tier", "update", "tiny", "--weight", "0"); err == nil || !strings.Contains(err.Error(), "400") {
			t.Fatalf("weight 0: %v, want 400", err)
		}
	})

	// acme's application: invocations anywhere, its own tenant and quotas,
	// and (to prove the handler refuses it) putting its own quotas.
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"},` +
		`{"Effect":"Allow","Action":["tenantml:GetTenant","tenantml:GetTenantQuotas","tenantml:SetTenantQuotas","iam:GetUser"],` +
		`"Resource":["arn:aws:tenantml:us-east-1:` + ts.cfg.AccountID + `:tenant/${aws:PrincipalTag/TenantID}","*"]}]}`
	app := tenantKey(t, ts, "acme-app", "acme", policy)
	rt := sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(app[0], app[1], "")})
	invoke := func() (code string, status int, retryAfter string) {
		_, err := rt.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("acme"),
			ContentType: aws.String("text/csv"), Body: []byte("1,2\n")})
		var re *awshttp.ResponseError
		if !errors.As(err, &re) {
			t.Fatalf("invoke: %v", err)
		}
		return apiErrorCode(err), re.HTTPStatusCode(), re.Response.Header.Get("Retry-After")
	}

	t.Run("InvocationRate", func(t *testing.T) {
		// Admitted requests reach the handler, which answers that the
		// endpoint does not exist; the fifth is throttled first.
		for i := range 4 {
			if code, _, _ := invoke(); code != "ValidationError" {
				t.Fatalf("invocation %d: %s, want admitted (ValidationError: no such endpoint)", i+1, code)
			}
		}
		code, status, retry := invoke()
		if code != "ThrottlingException" || status != http.StatusBadRequest || retry != "1" {
			t.Fatalf("fifth invocation: %s %d Retry-After %q, want ThrottlingException 400, Retry-After 1", code, status, retry)
		}
		clk.advance(999 * time.Millisecond)
		if code, _, _ := invoke(); code != "ThrottlingException" {
			t.Fatalf("after 999 ms: %s, want still throttled", code)
		}
		clk.advance(time.Millisecond)
		if code, _, _ := invoke(); code != "ValidationError" {
			t.Fatalf("after 1 s: %s, want admitted", code)
		}
	})

	t.Run("ManagementRate", func(t *testing.T) {
		clk.advance(time.Minute) // a full management burst (5)
		c := iamClient(ts, app[0], app[1])
		for i := range 4 {
			if _, err := ts.cli(t, app[0], app[1], "tenant", "get", "acme"); err != nil {
				t.Fatalf("management call %d: %v", i+1, err)
			}
		}
		if _, err := c.GetUser(context.Background(), &iam.GetUserInput{}); err != nil {
			t.Fatalf("fifth call (IAM): %v", err)
		}
		if _, err := c.GetUser(context.Background(), &iam.GetUserInput{}); apiErrorCode(err) != "Throttling" {
			t.Fatalf("sixth call (IAM): %v, want Throttling", err)
		}
		_, err := ts.cli(t, app[0], app[1], "tenant", "get", "acme")
		if err == nil || !strings.Contains(err.Error(), "429") || !strings.Contains(err.Error(), "too_many_requests") {
			t.Fatalf("management API over the rate: %v, want 429 too_many_requests", err)
		}
		// Invocations have their own rate; root is never limited.
		clk.advance(time.Second)
		if code, _, _ := invoke(); code != "ValidationError" {
			t.Fatalf("invocation while management is throttled: %s", code)
		}
		run("tenant", "get", "acme")
	})

	t.Run("Audited", func(t *testing.T) {
		throttled := map[string]int{}
		for _, ev := range ts.eventsByRequest(t) {
			if ev.TenantID == "acme" && (strings.Contains(ev.ErrorCode, "hrottl") || ev.ErrorCode == "too_many_requests") {
				throttled[ev.EventName+" "+ev.ErrorCode]++
			}
		}
		want := map[string]int{"InvokeEndpoint ThrottlingException": 2, "GetUser Throttling": 1, "GetTenant too_many_requests": 1}
		for k, n := range want {
			if throttled[k] != n {
				t.Errorf("audit events %q = %d, want %d (all: %v)", k, throttled[k], n, throttled)
			}
		}
	})

	t.Run("CrossTenant", func(t *testing.T) {
		clk.advance(time.Minute)
		_, errOther := ts.cli(t, app[0], app[1], "tenant", "quotas", "get", "globex")
		_, errMissing := ts.cli(t, app[0], app[1], "tenant", "quotas", "get", "nobody")
		if errOther == nil || errMissing == nil {
			t.Fatalf("another tenant's quotas: %v / %v, want refusals", errOther, errMissing)
		}
		strip := func(err error, tenant string) string {
			msg := strings.ReplaceAll(err.Error(), tenant, "T")
			return msg[:strings.Index(msg, "request ")]
		}
		if a, b := strip(errOther, "globex"), strip(errMissing, "nobody"); a != b {
			t.Fatalf("another tenant's quotas and a missing tenant's answer differently:\n%s\n%s", a, b)
		}
		if out, err := ts.cli(t, app[0], app[1], "tenant", "quotas", "get", "acme"); err != nil || !strings.Contains(out, "tiny") {
			t.Fatalf("own quotas: %v\n%s", err, out)
		}
		_, err := ts.cli(t, app[0], app[1], "tenant", "quotas", "set", "acme", "--invocations-per-second", "1000000")
		if err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("acme raising its own quotas: %v, want 403 whatever its policy allows", err)
		}
		if e := ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "quotas", "get", "acme", "-o", "json"); !strings.Contains(e, `"invocationsPerSecond": 1,`) {
			t.Fatalf("acme's quotas changed:\n%s", e)
		}
	})
}
