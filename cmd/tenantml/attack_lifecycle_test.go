package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// The lifecycle attacks run last and alone on their server: they suspend
// acme and move the server's clock.

// testChainSuspendedTenantSession: while acme is suspended every acme
// credential — its users' keys, a role session, the broker's session
// issued before, one the broker asks for during the suspension — is
// refused on every surface, and the refusals are audited as such; resuming
// restores them. Finding 1's session outlived a suspension.
func testChainSuspendedTenantSession(t *testing.T, e *attackEnv) {
	acme := e.tenants["acme"]
	adm := acme.users["admin"]
	roleSession, res := e.assume(t, adm, acme.roles["admin"], "before-suspension", nil)
	if roleSession == nil {
		t.Fatalf("assume acme.TenantAdmin: %s", res.Code)
	}
	roleSession.kind = "role session"
	e.mustOK(t, e.root, manageRequest(http.MethodPost, "/api/v1/tenants/acme/suspend", nil))
	during, _ := e.assume(t, e.broker, e.poolRole, "during", map[string]any{"Tags": tags("TenantID", "acme")})
	creds := []*principal{adm, acme.users["viewer"], roleSession, acme.session}
	if during != nil {
		during.kind = "session issued while suspended"
		creds = append(creds, during)
	}
	requests := map[string]signedRequest{
		"STS":        queryRequest("sts", "GetCallerIdentity", nil),
		"IAM":        queryRequest("iam", "ListUsers", nil),
		"KMS":        kmsRequest("DescribeKey", map[string]any{"KeyId": acme.alias}),
		"Artifact":   manageRequest(http.MethodGet, "/api/v1/tenants/acme/artifacts/"+acme.artifact, nil),
		"Audit":      manageRequest(http.MethodGet, "/api/v1/audit/events", nil),
		"AssumeRole": queryRequest("sts", "AssumeRole", pairs("RoleArn", acme.roles["viewer"], "RoleSessionName", "x")),
	}
	for _, by := range creds {
		for name, req := range requests {
			r := send(t, e.ts, by, req)
			if r.status != http.StatusForbidden && !(name == "KMS" && r.status == http.StatusBadRequest) {
				t.Errorf("%s as %s while suspended: %d %s", name, by.kind, r.status, firstLine(string(r.body)))
				continue
			}
			if !strings.Contains(string(r.body), "not active") {
				t.Errorf("%s as %s while suspended: %s", name, by.kind, firstLine(string(r.body)))
			}
			if ev := e.oneEvent(t, name, r.requestID); !ev.TenantSuspended || ev.Decision.Effect == audit.Allowed {
				t.Errorf("%s as %s: event tenantSuspended %v effect %s", name, by.kind, ev.TenantSuspended, ev.Decision.Effect)
			}
		}
	}
	e.mustOK(t, e.root, manageRequest(http.MethodPost, "/api/v1/tenants/acme/resume", nil))
	for _, by := range []*principal{adm, roleSession, acme.session} {
		if r := send(t, e.ts, by, requests["STS"]); r.status != http.StatusOK {
			t.Errorf("%s after resume: %d %s", by.kind, r.status, firstLine(string(r.body)))
		}
	}
}

// testChainExpiredCredentials moves the server's clock past the sessions'
// and presigned URLs' lifetimes: expired session credentials and an
// expired presigned URL are refused (signed at the server's time, so that
// only expiry can refuse them).
func testChainExpiredCredentials(t *testing.T, e *attackEnv) {
	acme := e.tenants["acme"]
	r := e.mustOK(t, acme.users["admin"], manageRequest(http.MethodPost, "/api/v1/tenants/acme/artifacts/"+acme.artifact+"/presign", []byte(`{"method":"GET","expiresIn":900}`)))
	presigned := jsonField(t, r.body, "url")
	e.clock.advance(2 * time.Hour)
	for _, s := range []*principal{acme.session, e.tenants["globex"].session} {
		req := queryRequest("sts", "GetCallerIdentity", nil)
		req.signTime = e.clock.now()
		r := send(t, e.ts, s, req)
		if r.status != http.StatusForbidden || errorCode(r.body) != "ExpiredToken" {
			t.Errorf("expired session: %d %s, want 403 ExpiredToken", r.status, firstLine(string(r.body)))
		}
	}
	resp, err := http.Get(presigned)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired presigned URL: %d, want 403", resp.StatusCode)
	}
}

// testNoSecretsInLogs greps the server's logs for every secret key,
// session token and web identity token the suite saw.
func testNoSecretsInLogs(t *testing.T, e *attackEnv) {
	logs := e.ts.logs.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.secrets) < 10 {
		t.Fatalf("only %d secrets remembered: the check would prove little", len(e.secrets))
	}
	for what, secret := range e.secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the server logs hold the %s", what)
		}
	}
}
