package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/serving"
)

// targetModelPool is a pool endpoint as issue 14 item 5 describes it: a
// MultiModel model over the prefix s3://tm-models/ that holds each
// tenant's model at "<tenant>/model.tar.gz" under the tenant's key, the
// shared invoke role tm-invoke whose policy allows a TargetModel only
// under "${aws:PrincipalTag/TenantID}/", and a too-open role tm-open that
// allows every TargetModel.
type targetModelPool struct {
	ts           *testServer
	m            trained
	acme, globex *principal // sessions of tm-invoke
	acmeOpen     *principal // acme's session of tm-open
}

const tmEndpoint = "tm-pool"

func newTargetModelPool(t *testing.T) *targetModelPool {
	t.Helper()
	m := models(t)
	ts := startServer(t, servingEnv(t))
	acct := ts.cfg.AccountID
	for i, id := range []string{"acme", "globex"} {
		createTenant(t, ts, id, "pool")
		putObject(t, ts, "tm-models", id+"/model.tar.gz", id, m.model(t, i))
	}
	iamRoot(t, ts, "CreateRole", "RoleName", "tm-pool-exec", "AssumeRolePolicyDocument", sageMakerTrust)
	iamRoot(t, ts, "PutRolePolicy", "RoleName", "tm-pool-exec", "PolicyName", "read", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::tm-models/*"},{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`)
	smRoot(t, ts, "CreateModel", map[string]any{"ModelName": tmEndpoint, "ExecutionRoleArn": "arn:aws:iam::" + acct + ":role/tm-pool-exec",
		"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "Mode": "MultiModel", "ModelDataUrl": "s3://tm-models/"}}, nil)
	smRoot(t, ts, "CreateEndpointConfig", map[string]any{"EndpointConfigName": tmEndpoint, "ProductionVariants": variants(tmEndpoint)}, nil)
	smRoot(t, ts, "CreateEndpoint", map[string]any{"EndpointName": tmEndpoint, "EndpointConfigName": tmEndpoint}, nil)
	waitEndpoint(t, ts, tmEndpoint)

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	for role, doc := range map[string]string{
		"tm-invoke": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*",` +
			`"Condition":{"StringLike":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}/*"}}}]}`,
		"tm-open": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`,
	} {
		iamRoot(t, ts, "CreateRole", "RoleName", role, "AssumeRolePolicyDocument", trust)
		iamRoot(t, ts, "PutRolePolicy", "RoleName", role, "PolicyName", "invoke", "PolicyDocument", doc)
	}
	roleARN := func(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }
	p := &targetModelPool{ts: ts, m: m}
	p.acme = sessionPrincipal("acme", brokerSession(t, ts, roleARN("tm-invoke"), "acme"))
	p.globex = sessionPrincipal("globex", brokerSession(t, ts, roleARN("tm-invoke"), "globex"))
	p.acmeOpen = sessionPrincipal("acme", brokerSession(t, ts, roleARN("tm-open"), "acme"))
	return p
}

// invoke sends rows to the pool with TargetModel tm as by.
func (p *targetModelPool) invoke(t *testing.T, by *principal, tm string) reply {
	t.Helper()
	return send(t, p.ts, by, invokeRequest(tmEndpoint, tm, p.m.rows))
}

// eventOfRequest returns the caller's audit event of a request.
func eventOfRequest(t *testing.T, ts *testServer, requestID string) audit.Event {
	t.Helper()
	var found []audit.Event
	for _, ev := range allEvents(t, ts) {
		if ev.RequestID == requestID && ev.EventName != "CrossTenantAccessAttempt" {
			found = append(found, ev)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d audit events for request %s, want 1", len(found), requestID)
	}
	return found[0]
}

// TestServe_TargetModelTricks attacks a pool endpoint's TargetModel, the
// one value a pool tenant chooses, with every trick that could make the
// policy see one key and the pool load another: each is refused before
// any policy or storage access (400 ValidationError, audited), none loads
// a model (the audit log's ModelLoaded events are the two tenants' own,
// each once), and a policy that allows every TargetModel still cannot
// reach another tenant's object: it answers exactly as a missing one.
func TestServe_TargetModelTricks(t *testing.T) {
	t.Parallel()
	p := newTargetModelPool(t)
	ts := p.ts

	// The tenants' own models: the key the policy saw is the key loaded.
	for i, c := range []struct {
		by *principal
		tm string
	}{{p.acme, "acme/model.tar.gz"}, {p.globex, "globex/model.tar.gz"}} {
		r := p.invoke(t, c.by, c.tm)
		if r.status != http.StatusOK || p.m.which(r.body) != i {
			t.Fatalf("%s's own model: %d %s, want model %d's scores", c.by.tenant, r.status, r.body, i)
		}
		if got := eventOfRequest(t, ts, r.requestID).RequestParameters["targetModel"]; got != c.tm {
			t.Errorf("%s: the policy saw TargetModel %v, want %s", c.by.tenant, got, c.tm)
		}
	}
	loads := func() []string {
		var out []string
		for _, ev := range allEvents(t, ts) {
			if service(ev, serving.EventModelLoaded, tmEndpoint) || service(ev, serving.EventModelLoadFailed, tmEndpoint) {
				out = append(out, ev.EventName+" "+ev.TenantID+" "+ev.AdditionalEventData["targetModel"])
			}
		}
		return out
	}
	want := []string{"ModelLoaded acme acme/model.tar.gz", "ModelLoaded globex globex/model.tar.gz"}
	if got := loads(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("model loads %v, want %v", got, want)
	}

	tricks := map[string][]string{
		"DotDot":         {"acme/../globex/model.tar.gz", "acme/../acme/model.tar.gz", "acme/model.tar.gz/..", "acme/.."},
		"Dot":            {"acme/./model.tar.gz", "./acme/model.tar.gz", "acme/model.tar.gz/."},
		"Absolute":       {"/globex/model.tar.gz", "/acme/model.tar.gz", "//globex/model.tar.gz"},
		"Backslash":      {`acme\..\globex\model.tar.gz`, `acme/..\globex/model.tar.gz`, `acme\model.tar.gz`},
		"PercentSlash":   {"acme/..%2Fglobex%2Fmodel.tar.gz", "acme%2F..%2Fglobex%2Fmodel.tar.gz", "acme/..%2fglobex/model.tar.gz"},
		"PercentDot":     {"acme/%2e%2e/globex/model.tar.gz", "acme/%2E%2E/globex/model.tar.gz", "acme/%252e%252e/globex/model.tar.gz", "acme/model%2etar.gz"},
		"DoubledSlash":   {"acme//../globex/model.tar.gz", "acme//model.tar.gz", "acme/model.tar.gz//"},
		"Control":        {"acme/\t../globex/model.tar.gz", "acme/model\t.tar.gz", "acme/\t/model.tar.gz"},
		"UnicodeDots":    {"acme/\u2024\u2024/globex/model.tar.gz", "acme/\u2025/globex/model.tar.gz", "acme/\uff0e\uff0e/globex/model.tar.gz", "acme/model\u2024tar.gz"},
		"UnicodeSlashes": {"acme/..\u2215globex\u2215model.tar.gz", "acme/..\uff0fglobex\uff0fmodel.tar.gz", "acme/..\u2044globex/model.tar.gz", "acme/..\u29f8globex/model.tar.gz"},
		"Empty":          {"acme/", "acme"},
	}
	t.Run("Tricks", func(t *testing.T) {
		for name, tms := range tricks {
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				for _, tm := range tms {
					// "acme" alone names no object: not a trick's
					// refusal, but still never a load.
					if tm == "acme" {
						r := p.invoke(t, p.acme, tm)
						if r.status == http.StatusOK {
							t.Errorf("TargetModel %q: %d %s", tm, r.status, r.body)
						}
						continue
					}
					r := p.invoke(t, p.acme, tm)
					if r.status != http.StatusBadRequest || errorCode(r.body) != "ValidationError" || !strings.Contains(string(r.body), "is not valid") {
						t.Errorf("TargetModel %q: %d %s, want 400 ValidationError (not valid)", tm, r.status, r.body)
						continue
					}
					if ev := eventOfRequest(t, ts, r.requestID); ev.ErrorCode != "ValidationError" || ev.Decision.Effect == "Allowed" {
						t.Errorf("TargetModel %q: audited as %s %s", tm, ev.Decision.Effect, ev.ErrorCode)
					}
					// The too-open policy changes nothing: the value is
					// refused before any policy.
					if r := p.invoke(t, p.acmeOpen, tm); r.status != http.StatusBadRequest {
						t.Errorf("TargetModel %q with the too-open role: %d %s", tm, r.status, r.body)
					}
				}
			})
		}
		t.Run("RawControl", func(t *testing.T) {
			t.Parallel()
			// No HTTP client sends a NUL or DEL in a header; an
			// attacker's raw request does. It is refused before it
			// reaches anything.
			for _, tm := range []string{"acme/model.tar.gz\x00/../../globex/model.tar.gz", "acme/\x7f/../globex/model.tar.gz", "acme/\x01model.tar.gz"} {
				if status := rawInvoke(t, ts, p.acme, tmEndpoint, tm, p.m.rows); status != http.StatusBadRequest {
					t.Errorf("TargetModel %q: %d, want 400", tm, status)
				}
			}
		})
	})

	t.Run("PolicyRefusesOtherTenant", func(t *testing.T) {
		r := p.invoke(t, p.acme, "globex/model.tar.gz")
		if r.status != http.StatusForbidden || errorCode(r.body) != "AccessDeniedException" {
			t.Errorf("acme naming globex's model under tm-invoke: %d %s, want 403 AccessDeniedException", r.status, r.body)
		}
	})
	t.Run("TooOpenPolicyStillCannotReachOtherTenant", func(t *testing.T) {
		other := p.invoke(t, p.acmeOpen, "globex/model.tar.gz")
		missing := p.invoke(t, p.acmeOpen, "nobody/model.tar.gz")
		norm := func(r reply, name string) string {
			return fmt.Sprint(r.status, " ", strings.ReplaceAll(string(r.body), name, "<model>"))
		}
		if o, m := norm(other, "globex/model.tar.gz"), norm(missing, "nobody/model.tar.gz"); o != m || other.status != http.StatusBadRequest {
			t.Errorf("another tenant's model and a missing one answer differently:\n other   %s\n missing %s", o, m)
		}
		// acme's own model through the open role still works.
		if r := p.invoke(t, p.acmeOpen, "acme/model.tar.gz"); r.status != http.StatusOK || p.m.which(r.body) != 0 {
			t.Errorf("acme's own model through the open role: %d %s", r.status, r.body)
		}
		ev := eventOfRequest(t, ts, other.requestID)
		if ev.TenantID != "acme" || ev.ErrorCode != "ValidationError" {
			t.Errorf("the attempt's audit event: tenant %q error %q", ev.TenantID, ev.ErrorCode)
		}
		attempts := 0
		for _, e := range allEvents(t, ts) {
			if e.RequestID == other.requestID && e.EventName == "CrossTenantAccessAttempt" {
				attempts++
			}
		}
		if attempts != 1 {
			t.Errorf("%d operator CrossTenantAccessAttempt events for the attempt, want 1", attempts)
		}
	})

	// Nothing of the above loaded anything.
	if got := loads(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("model loads after the attacks %v, want only the tenants' own %v", got, want)
	}
}

// rawInvoke sends an InvokeEndpoint request signed as by whose TargetModel
// header is tm byte for byte, over a raw connection (HTTP clients refuse
// control characters in headers), and returns the status.
func rawInvoke(t *testing.T, ts *testServer, by *principal, endpoint, tm string, rows []byte) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := signedHTTP(t, ts, by, invokeRequest(endpoint, "placeholder", rows))
	var b strings.Builder
	fmt.Fprintf(&b, "POST %s HTTP/1.1\r\nHost: %s\r\n", req.URL.Path, req.Host)
	for k, vs := range req.Header {
		for _, v := range vs {
			if k == http.CanonicalHeaderKey("X-Amzn-SageMaker-Target-Model") {
				v = tm
			}
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(rows), rows)
	if _, err := conn.Write([]byte(b.String())); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
