package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn/oidc/oidctest"
)

// Attacks on the credential paths: AssumeRole with session tags, role
// chaining with transitive tags, trust policies naming the account root or
// another tenant's principal, and web identity claims. The invariant under
// test (ARCHITECTURE, invariant 6): a principal of a tenant never obtains
// credentials that act outside its tenant.

// testF01SessionTagsCannotChangeTenant is issue 11 finding 1, as it was
// done: acme's administrator creates its own role (tagged, bounded,
// inline "*") trusting itself and assumes it with the AWS CLI and
// --tags Key=TenantID,Value=globex; then every step of the takeover the
// issue describes is tried with the session it may legitimately get.
func testF01SessionTagsCannotChangeTenant(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	adm := acme.users["admin"]
	roleARN := "arn:aws:iam::" + e.acct + ":role/tenants/acme/acme.x"
	// The role trusts acme's administrator and acme's TenantAdmin role
	// (its sessions).
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["` + adm.arn + `","` + acme.roles["admin"] + `"]},` +
		`"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	out, err := awsCLI(t, e.ts, adm.keyID, adm.secret, "", "iam", "create-role", "--role-name", "acme.x", "--path", "/tenants/acme/",
		"--assume-role-policy-document", trust, "--permissions-boundary", boundaryARN, "--tags", "Key=TenantID,Value=acme")
	if err != nil {
		t.Fatalf("aws iam create-role: %v\n%s", err, out)
	}
	e.mustPy(t, adm, "iam", "put_role_policy", map[string]any{"RoleName": "acme.x", "PolicyName": "everything", "PolicyDocument": allowEverything})

	out, err = awsCLI(t, e.ts, adm.keyID, adm.secret, "", "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", "takeover",
		"--tags", "Key=TenantID,Value=globex")
	if err == nil || !strings.Contains(out, "(AccessDenied)") {
		t.Fatalf("aws sts assume-role --tags TenantID=globex: err %v, output %s; want AccessDenied", err, out)
	}
	t.Run("FromTheTenantAdminSession", func(t *testing.T) {
		adminSession, res := e.assume(t, adm, acme.roles["admin"], "acme-admin", nil)
		if adminSession == nil {
			t.Fatalf("assume acme.TenantAdmin: %s %s", res.Code, res.Message)
		}
		adminSession.kind = "acme.TenantAdmin session"
		for _, tg := range [][]map[string]string{tags("TenantID", "globex"), tags("tenantid", "globex")} {
			_, res := e.assume(t, adminSession, roleARN, "takeover", map[string]any{"Tags": tg})
			wantRefused(t, fmt.Sprintf("the TenantAdmin session assumes acme.x with %v", tg), res, "AccessDenied")
		}
		s, res := e.assume(t, adminSession, roleARN, "chained", nil)
		if s == nil {
			t.Fatalf("the TenantAdmin session assumes acme.x: %s %s", res.Code, res.Message)
		}
		got := e.py(t, s, "sts", "get_caller_identity", map[string]any{})
		if ev := e.oneEvent(t, "GetCallerIdentity", got.RequestID); ev.TenantID != "acme" {
			t.Errorf("the chained session acts for %q, want acme", ev.TenantID)
		}
	})
	t.Run("TagKeyVariants", func(t *testing.T) {
		for _, tg := range [][]map[string]string{
			tags("tenantid", "globex"), tags("TENANTID", "globex"), tags("TenantId", "globex"),
			tags("TenantID", "acme", "tenantid", "globex"), tags("TenantID", "GLOBEX"), tags("TenantID", "globex "),
			tags("TenantID", "*"), tags("TenantID", "acme/../globex"),
		} {
			_, res := e.assume(t, adm, roleARN, "variant", map[string]any{"Tags": tg})
			wantRefused(t, fmt.Sprintf("AssumeRole with tags %v", tg), res, "AccessDenied", "InvalidParameterValue", "ValidationError")
		}
	})
	t.Run("AuditedWithTheTagsAskedFor", func(t *testing.T) {
		page, err := e.ts.audit.Lookup(context.Background(), audit.Filter{TenantID: "acme", EventName: "AssumeRole", Effect: audit.Denied, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			b, _ := json.Marshal(ev.RequestParameters)
			if strings.Contains(string(b), `"value":"globex"`) && strings.Contains(string(b), "acme.x") && ev.ErrorCode == "AccessDenied" && !ev.CrossTenant {
				return
			}
		}
		t.Errorf("no denied AssumeRole event in acme's trail recording the TenantID=globex tag asked for")
	})

	// The session acme may have: its own tenant (the tag may repeat it).
	s, res := e.assume(t, adm, roleARN, "own", map[string]any{"Tags": tags("TenantID", "acme")})
	if s == nil {
		t.Fatalf("AssumeRole with TenantID=acme: %s %s", res.Code, res.Message)
	}
	s.kind = "acme.x session"
	steps := []struct {
		name    string
		service string
		op      string
		params  map[string]any
		codes   []string
		binary  []string
	}{
		{"ReadGlobexRole", "iam", "get_role", map[string]any{"RoleName": "globex.TenantAdmin"}, []string{"AccessDenied", "NoSuchEntity"}, nil},
		{"ListGlobexAccessKeys", "iam", "list_access_keys", map[string]any{"UserName": "globex.admin"}, []string{"AccessDenied", "NoSuchEntity"}, nil},
		{"CreateGlobexAccessKey", "iam", "create_access_key", map[string]any{"UserName": "globex.admin"}, []string{"AccessDenied", "NoSuchEntity"}, nil},
		{"ListRoles", "iam", "list_roles", map[string]any{}, []string{"AccessDenied"}, nil},
		{"UseGlobexKey", "kms", "encrypt", map[string]any{"KeyId": globex.keyARN, "Plaintext": "aGk="}, []string{"NotFoundException"}, []string{"Plaintext"}},
		{"UseGlobexAlias", "kms", "encrypt", map[string]any{"KeyId": globex.alias, "Plaintext": "aGk="}, []string{"NotFoundException"}, []string{"Plaintext"}},
		{"AssumeGlobexRole", "sts", "assume_role", map[string]any{"RoleArn": globex.roles["admin"], "RoleSessionName": "takeover"}, []string{"AccessDenied"}, nil},
	}
	for _, st := range steps {
		res := e.py(t, s, st.service, st.op, st.params, st.binary...)
		wantRefused(t, st.name, res, st.codes...)
	}
	r := send(t, e.ts, s, manageRequest(http.MethodGet, "/api/v1/tenants/globex/artifacts/"+globex.artifact, nil))
	if okStatus(r.status) || strings.Contains(string(r.body), "model bytes of globex") {
		t.Errorf("globex's artifact as the session: %d %s", r.status, firstLine(string(r.body)))
	}
	r = send(t, e.ts, s, manageRequest(http.MethodGet, "/api/v1/audit/events?tenant=globex&limit=1000", nil))
	if strings.Contains(string(r.body), `"tenantId": "globex"`) {
		t.Errorf("globex's audit trail as the session: %s", firstLine(string(r.body)))
	}
}

// testF02AssumeRoleOfAnotherTenant is finding 2: globex's roles trust the
// account root (the documented pattern), so any acme principal allowed
// sts:AssumeRole passed the trust policy. Now every acme principal kind
// is refused exactly as for a missing role — by the AWS CLI and boto3 —
// even when globex's trust policy names acme's principal itself, and the
// attempt is in the operator's trail.
func testF02AssumeRoleOfAnotherTenant(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	adm := acme.users["admin"]
	out, err := awsCLI(t, e.ts, adm.keyID, adm.secret, "", "sts", "assume-role", "--role-arn", globex.roles["admin"], "--role-session-name", "takeover")
	if err == nil || !strings.Contains(out, "(AccessDenied)") {
		t.Fatalf("aws sts assume-role globex.TenantAdmin: err %v, output %s; want AccessDenied", err, out)
	}
	roleSession, res := e.assume(t, adm, acme.roles["admin"], "acme-admin-role", nil)
	if roleSession == nil {
		t.Fatalf("acme's admin assumes acme.TenantAdmin: %s %s", res.Code, res.Message)
	}
	roleSession.kind = "acme.TenantAdmin session"
	// globex's administrator writes a trust policy naming acme's
	// administrator: the invariant holds whatever the trust policy says.
	gadm := globex.users["admin"]
	e.mustPy(t, gadm, "iam", "create_role", map[string]any{"RoleName": "globex.trusts-acme", "AssumeRolePolicyDocument": trustPrincipal(adm.arn),
		"PermissionsBoundary": boundaryARN, "Tags": tags("TenantID", "globex")})
	trusting := "arn:aws:iam::" + e.acct + ":role/globex.trusts-acme"
	missing := "arn:aws:iam::" + e.acct + ":role/tenants/globex/globex.nobody"
	for _, by := range []*principal{adm, acme.users["scientist"], acme.users["viewer"], acme.session, roleSession} {
		for _, role := range []string{globex.roles["admin"], globex.roles["viewer"], trusting} {
			_, got := e.assume(t, by, role, "takeover", nil)
			wantRefused(t, by.kind+" assumes "+role, got, "AccessDenied")
			missingARN := missing
			if role == trusting {
				missingARN = "arn:aws:iam::" + e.acct + ":role/globex.nobody"
			}
			_, want := e.assume(t, by, missingARN, "takeover", nil)
			sameRefusal(t, by.kind+" assumes "+role, got, want, []string{role}, []string{missingARN})
			ev := e.oneEvent(t, "AssumeRole of "+role, got.RequestID)
			if ev.TenantID != "acme" || ev.CrossTenant || ev.Decision.Effect == audit.Allowed {
				t.Errorf("%s: caller event tenant %q crossTenant %v effect %s", role, ev.TenantID, ev.CrossTenant, ev.Decision.Effect)
			}
			if _, op := e.eventOf(t, got.RequestID); len(op) != 1 || op[0].AdditionalEventData["resourceTenantId"] != "globex" {
				t.Errorf("%s as %s: operator events %+v, want one CrossTenantAccessAttempt naming globex", role, by.kind, op)
			}
		}
	}
}

// testChainTransitiveTagsTwoHops chains sessions through two platform
// roles and an acme role: a transitive TenantID tag set by the broker
// stays acme's through every hop, and no hop can name another tenant.
func testChainTransitiveTagsTwoHops(t *testing.T, e *attackEnv) {
	acme := e.tenants["acme"]
	// The operator's second hop: a platform role that trusts the pool
	// role's sessions; acme's administrator adds a third, acme's own.
	hopARN := "arn:aws:iam::" + e.acct + ":role/platform/pool-hop"
	e.mustIAM(t, e.root, "CreateRole", "RoleName", "pool-hop", "Path", "/platform/", "AssumeRolePolicyDocument", trustPrincipal(e.poolRole))
	e.mustIAM(t, e.root, "PutRolePolicy", "RoleName", "pool-hop", "PolicyName", "everything", "PolicyDocument", allowEverything)
	adm := acme.users["admin"]
	e.mustPy(t, adm, "iam", "create_role", map[string]any{"RoleName": "acme.hop", "AssumeRolePolicyDocument": trustPrincipal(hopARN),
		"PermissionsBoundary": boundaryARN, "Tags": tags("TenantID", "acme")})
	e.mustPy(t, adm, "iam", "put_role_policy", map[string]any{"RoleName": "acme.hop", "PolicyName": "everything", "PolicyDocument": allowEverything})
	acmeHop := "arn:aws:iam::" + e.acct + ":role/acme.hop"

	hop1, res := e.assume(t, e.broker, e.poolRole, "hop1", map[string]any{"Tags": tags("TenantID", "acme"), "TransitiveTagKeys": []string{"TenantID"}})
	if hop1 == nil {
		t.Fatalf("broker: %s %s", res.Code, res.Message)
	}
	for _, tg := range [][]map[string]string{tags("TenantID", "globex"), tags("tenantid", "globex"), tags("TenantID", "initech")} {
		_, res := e.assume(t, hop1, hopARN, "hop2", map[string]any{"Tags": tg})
		wantRefused(t, fmt.Sprintf("hop 2 with tags %v", tg), res, "AccessDenied", "InvalidParameterValue")
	}
	hop2, res := e.assume(t, hop1, hopARN, "hop2", nil)
	if hop2 == nil {
		t.Fatalf("hop 2 without tags: %s %s", res.Code, res.Message)
	}
	for _, tg := range [][]map[string]string{tags("TenantID", "globex"), tags("TENANTID", "initech")} {
		_, res := e.assume(t, hop2, acmeHop, "hop3", map[string]any{"Tags": tg})
		wantRefused(t, fmt.Sprintf("hop 3 with tags %v", tg), res, "AccessDenied", "InvalidParameterValue")
	}
	hop3, res := e.assume(t, hop2, acmeHop, "hop3", nil)
	if hop3 == nil {
		t.Fatalf("hop 3 without tags: %s %s", res.Code, res.Message)
	}
	// Each session acts for acme: its events land in acme's trail, and
	// globex's role and key are out of reach.
	for i, s := range []*principal{hop1, hop2, hop3} {
		res := e.py(t, s, "sts", "get_caller_identity", map[string]any{})
		if !res.OK {
			t.Fatalf("hop %d: %s", i+1, res.Code)
		}
		if ev := e.oneEvent(t, "GetCallerIdentity", res.RequestID); ev.TenantID != "acme" {
			t.Errorf("hop %d acts for tenant %q, want acme", i+1, ev.TenantID)
		}
		s.kind = fmt.Sprintf("hop %d", i+1)
		_, res = e.assume(t, s, e.tenants["globex"].roles["admin"], "takeover", nil)
		wantRefused(t, s.kind+" assumes globex's role", res, "AccessDenied")
		wantRefused(t, s.kind+" encrypts with globex's key", e.py(t, s, "kms", "encrypt",
			map[string]any{"KeyId": e.tenants["globex"].keyARN, "Plaintext": "aGk="}, "Plaintext"), "NotFoundException")
	}
	// The broker itself may grant only the tenants its policy names.
	_, res = e.assume(t, e.broker, e.poolRole, "initech-app", map[string]any{"Tags": tags("TenantID", "initech")})
	wantRefused(t, "the broker issues an initech session its policy does not allow", res, "AccessDenied")
	_, res = e.assume(t, e.broker, e.poolRole, "platform-app", nil)
	wantRefused(t, "the broker issues a platform session (no TenantID) its policy does not allow", res, "AccessDenied")
}

// testChainWebIdentityClaim: a web identity token whose tenant claim
// names another tenant cannot obtain a session of an acme role, with the
// AWS CLI; a token naming acme or none gets acme's.
func testChainWebIdentityClaim(t *testing.T, e *attackEnv, is *oidctest.Issuer) {
	provider := strings.TrimPrefix(is.URL, "https://")
	providerARN := "arn:aws:iam::" + e.acct + ":oidc-provider/" + provider
	e.mustIAM(t, e.root, "CreateOpenIDConnectProvider", "Url", is.URL, "ClientIDList.member.1", "acme-app",
		"ThumbprintList.member.1", sha1Hex(is.Certificate().Raw), "Tags.member.1.Key", "tenantml:claim-tag:tenant_id", "Tags.member.1.Value", "TenantID")
	adm := e.tenants["acme"].users["admin"]
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + providerARN + `"},` +
		`"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],"Condition":{"StringEquals":{"` + provider + `:aud":"acme-app"}}}]}`
	e.mustPy(t, adm, "iam", "create_role", map[string]any{"RoleName": "acme.web", "AssumeRolePolicyDocument": trust,
		"PermissionsBoundary": boundaryARN, "Tags": tags("TenantID", "acme")})
	roleARN := "arn:aws:iam::" + e.acct + ":role/acme.web"
	token := func(claims map[string]any) string {
		c := map[string]any{"iss": is.URL, "sub": "user-7", "aud": "acme-app", "iat": time.Now().Add(-time.Minute).Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		for k, v := range claims {
			c[k] = v
		}
		tok := is.Sign(t, c)
		e.remember("web identity token", tok)
		return tok
	}
	cli := func(tok string) (string, error) {
		return awsCLI(t, e.ts, "", "", "", "sts", "assume-role-with-web-identity", "--role-arn", roleARN, "--role-session-name", "web", "--web-identity-token", tok)
	}
	py := func(tok string) boto3Result {
		return e.py(t, nil, "sts", "assume_role_with_web_identity", map[string]any{"RoleArn": roleARN, "RoleSessionName": "web", "WebIdentityToken": tok})
	}
	out, err := cli(token(map[string]any{"tenant_id": "globex"}))
	if err == nil || !strings.Contains(out, "(AccessDenied)") {
		t.Errorf("aws sts assume-role-with-web-identity, claim tenant_id=globex: err %v, output %s; want AccessDenied", err, firstLine(out))
	}
	for _, claim := range []string{"GLOBEX", "initech", "*", "acme/../globex"} {
		wantRefused(t, "claim tenant_id="+claim, py(token(map[string]any{"tenant_id": claim})), "AccessDenied", "InvalidParameterValue", "ValidationError")
	}
	sessions := map[string]*principal{}
	out, err = cli(token(map[string]any{"tenant_id": "acme"}))
	if err != nil {
		t.Fatalf("aws sts assume-role-with-web-identity, claim tenant_id=acme: %v\n%s", err, out)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	sessions["tenant_id=acme (AWS CLI)"] = credsOf("web session", "acme", res)
	got := py(token(nil))
	if !got.OK {
		t.Fatalf("a token without the claim: %s %s", got.Code, got.Message)
	}
	sessions["no tenant claim"] = credsOf("web session", "acme", got.Result)
	for what, s := range sessions {
		e.remember("web session secret "+what, s.secret)
		e.remember("web session token "+what, s.token)
		got := e.py(t, s, "sts", "get_caller_identity", map[string]any{})
		if !got.OK {
			t.Fatalf("web session (%s): %s", what, got.Code)
		}
		if ev := e.oneEvent(t, "GetCallerIdentity", got.RequestID); ev.TenantID != "acme" {
			t.Errorf("web session (%s) acts for %q, want acme", what, ev.TenantID)
		}
	}
}
