package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/api/manage"
)

// Accounts in the attack suite: a deployment's further accounts (dev,
// staging, ...) are IAM namespaces of their own. An account's principals,
// its root included, never list, read or change another account's IAM
// entities, KMS keys or SageMaker endpoints; reach across accounts only as
// AWS allows (a trust policy or key policy granting them, with their own
// identity policies); and a tenant's principal stays in its tenant in any
// account, across accounts too. No tenant principal creates or lists
// accounts.

// newAccount has the operator create account name and returns its root.
func (e *attackEnv) newAccount(t *testing.T, name string) (id string, root *principal) {
	t.Helper()
	body, _ := json.Marshal(manage.CreateAccountInput{Name: name})
	r := e.mustOK(t, e.root, manageRequest(http.MethodPost, "/api/v1/accounts", body))
	var out manage.CreateAccountOutput
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("create account %s: %v in %s", name, err, r.body)
	}
	e.remember("root secret of account "+name, out.Root.SecretAccessKey)
	return out.Account.ID, &principal{kind: name + "-root", arn: "arn:aws:iam::" + out.Account.ID + ":root",
		keyID: out.Root.AccessKeyID, secret: out.Root.SecretAccessKey}
}

func testRefusedCrossAccount(t *testing.T, e *attackEnv) {
	acme := e.tenants["acme"]
	tenantPrincipals := []*principal{acme.users["admin"], acme.users["scientist"], acme.users["viewer"], acme.session}

	t.Run("TenantPrincipalsCannotManageAccounts", func(t *testing.T) {
		for _, p := range tenantPrincipals {
			r := send(t, e.ts, p, manageRequest(http.MethodPost, "/api/v1/accounts", []byte(`{"name":"acme-own"}`)))
			if r.status != http.StatusForbidden {
				t.Errorf("%s: create account = %d %s, want 403", p.kind, r.status, r.body)
			}
			r = send(t, e.ts, p, manageRequest(http.MethodGet, "/api/v1/accounts", nil))
			if r.status != http.StatusForbidden {
				t.Errorf("%s: list accounts = %d %s, want 403", p.kind, r.status, r.body)
			}
		}
	})

	devID, dev := e.newAccount(t, "atk-dev")
	stagingID, staging := e.newAccount(t, "atk-staging")

	// In dev: acme's deployer (tagged acme by dev's root), allowed to
	// assume roles and to use KMS; a platform user of dev.
	e.mustIAM(t, dev, "CreateUser", "UserName", "acme.deployer", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme")
	e.mustIAM(t, dev, "PutUserPolicy", "UserName", "acme.deployer", "PolicyName", "deploy", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession","kms:*","iam:*","sagemaker:*"],"Resource":"*"}]}`)
	deployer := e.accessKey(t, dev, "dev-acme-deployer", "acme.deployer")
	deployer.tenant, deployer.arn = "acme", "arn:aws:iam::"+devID+":user/acme.deployer"

	// In staging: acme's and globex's deploy roles and a platform role,
	// each trusting the dev account (delegating to dev's identity
	// policies), and a staging platform user.
	trustDev := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + devID + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	for _, r := range []struct{ name, tenant string }{{"acme.deploy", "acme"}, {"globex.deploy", "globex"}, {"deploy", ""}} {
		params := []string{"RoleName", r.name, "AssumeRolePolicyDocument", trustDev}
		if r.tenant != "" {
			params = append(params, "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", r.tenant)
		}
		e.mustIAM(t, staging, "CreateRole", params...)
		e.mustIAM(t, staging, "PutRolePolicy", "RoleName", r.name, "PolicyName", "all", "PolicyDocument", allowEverything)
	}
	roleARN := func(acct, name string) string { return "arn:aws:iam::" + acct + ":role/" + name }

	t.Run("IAMEntitiesOfAnotherAccount", func(t *testing.T) {
		// Another account's user and role answer as missing ones, to its
		// root and to the primary account's root; lists name none.
		for _, by := range []*principal{staging, e.root} {
			for _, c := range []struct{ action, param, name string }{
				{"GetUser", "UserName", "acme.deployer"},
				{"DeleteUser", "UserName", "acme.deployer"},
				{"ListAccessKeys", "UserName", "acme.deployer"},
				{"PutUserPolicy", "UserName", "acme.deployer"},
			} {
				params := []string{c.param, c.name}
				if c.action == "PutUserPolicy" {
					params = append(params, "PolicyName", "x", "PolicyDocument", allowEverything)
				}
				r := e.iam(t, by, c.action, params...)
				if r.status != http.StatusNotFound || errorCode(r.body) != "NoSuchEntity" {
					t.Errorf("%s: %s %s = %d %s, want NoSuchEntity", by.kind, c.action, c.name, r.status, r.body)
				}
			}
			r := e.mustIAM(t, by, "ListUsers")
			if strings.Contains(string(r.body), "acme.deployer") {
				t.Errorf("%s: ListUsers names dev's user: %s", by.kind, r.body)
			}
		}
		r := e.iam(t, dev, "GetRole", "RoleName", "acme.deploy")
		if r.status != http.StatusNotFound {
			t.Errorf("dev root: GetRole of staging's role = %d, want 404", r.status)
		}
		r = e.mustIAM(t, dev, "ListRoles")
		if strings.Contains(string(r.body), "acme.deploy</") || strings.Contains(string(r.body), "globex.deploy") {
			t.Errorf("dev root: ListRoles names staging's roles: %s", r.body)
		}
		// dev's user is intact.
		e.mustIAM(t, dev, "GetUser", "UserName", "acme.deployer")
	})

	t.Run("AssumeRoleAcrossAccountsKeepsTheTenant", func(t *testing.T) {
		sess, res := e.assume(t, deployer, roleARN(stagingID, "acme.deploy"), "promote", nil)
		if sess == nil {
			t.Fatalf("dev acme deployer: assume staging's acme.deploy: %s %s", res.Code, res.Message)
		}
		id := e.mustPy(t, sess, "sts", "get_caller_identity", nil)
		if id["Account"] != stagingID || id["Arn"] != "arn:aws:sts::"+stagingID+":assumed-role/acme.deploy/promote" {
			t.Errorf("caller identity of the staging session = %v", id)
		}
		// Another tenant's role answers as a missing role does, although
		// the trust policy names dev and the deployer's policy allows
		// sts:AssumeRole on everything.
		_, missing := e.assume(t, deployer, roleARN(stagingID, "globex.missing"), "probe", nil)
		wantRefused(t, "assume a missing staging role", missing, "AccessDenied")
		_, got := e.assume(t, deployer, roleARN(stagingID, "globex.deploy"), "probe", nil)
		sameRefusal(t, "assume staging's globex.deploy", got, missing, []string{"globex.deploy"}, []string{"globex.missing"})
		// A platform role of staging that trusts dev gives the deployer a
		// session pinned to acme, as in one account: its allow-everything
		// policy reaches no globex resource.
		plat, res := e.assume(t, deployer, roleARN(stagingID, "deploy"), "probe", nil)
		if plat == nil {
			t.Fatalf("assume staging's platform role: %s %s", res.Code, res.Message)
		}
		wantRefused(t, "acme's session of staging's platform role reads globex's key",
			e.py(t, plat, "kms", "describe_key", map[string]any{"KeyId": e.tenants["globex"].keyARN}), "NotFoundException")
		wantRefused(t, "acme's session of staging's platform role assumes staging's globex role",
			e.py(t, plat, "sts", "assume_role", map[string]any{"RoleArn": roleARN(stagingID, "globex.deploy"), "RoleSessionName": "hop"}), "AccessDenied")
		// A session tag cannot take the staging session to globex.
		_, got = e.assume(t, deployer, roleARN(stagingID, "acme.deploy"), "retag",
			map[string]any{"Tags": tags("TenantID", "globex")})
		if got.OK {
			if s := credsOf("retagged", "acme", got.Result); s != nil {
				r := e.py(t, s, "kms", "describe_key", map[string]any{"KeyId": e.tenants["globex"].keyARN})
				wantRefused(t, "retagged staging session reads globex's key", r, "NotFoundException", "AccessDeniedException")
			}
		}
		// The staging session of acme reaches no globex resource of
		// staging either: a globex role there is a missing one.
		_, viaSession := e.assume(t, sess, roleARN(stagingID, "globex.deploy"), "probe", nil)
		wantRefused(t, "staging acme session assumes staging's globex role", viaSession, "AccessDenied")
	})

	t.Run("KMSKeysOfAnotherAccount", func(t *testing.T) {
		var key struct{ KeyMetadata struct{ KeyID, Arn string } }
		e.mustKMS(t, deployer, "CreateKey", map[string]any{"Description": "dev model key"}, &key)
		if !strings.Contains(key.KeyMetadata.Arn, ":"+devID+":key/") {
			t.Fatalf("dev key ARN %s does not name dev", key.KeyMetadata.Arn)
		}
		sess, res := e.assume(t, deployer, roleARN(stagingID, "acme.deploy"), "kms", nil)
		if sess == nil {
			t.Fatalf("assume: %s %s", res.Code, res.Message)
		}
		// By ID: a key of another account is a missing key.
		r := e.kms(t, sess, "DescribeKey", map[string]any{"KeyId": key.KeyMetadata.KeyID})
		if errorCode(r.body) != "NotFoundException" {
			t.Errorf("staging: DescribeKey(dev key ID) = %d %s, want NotFoundException", r.status, r.body)
		}
		// By ARN: its key policy (dev's root only) grants staging nothing.
		for _, op := range []struct {
			name string
			in   map[string]any
		}{
			{"DescribeKey", map[string]any{"KeyId": key.KeyMetadata.Arn}},
			{"Encrypt", map[string]any{"KeyId": key.KeyMetadata.Arn, "Plaintext": []byte("x")}},
			{"ScheduleKeyDeletion", map[string]any{"KeyId": key.KeyMetadata.Arn, "PendingWindowInDays": 7}},
			{"PutKeyPolicy", map[string]any{"KeyId": key.KeyMetadata.Arn, "PolicyName": "default", "Policy": allowEverything}},
		} {
			r := e.kms(t, sess, op.name, op.in)
			if r.status == http.StatusOK || r.status >= 500 {
				t.Errorf("staging: %s(dev key ARN) = %d %s, want a refusal", op.name, r.status, r.body)
			}
		}
		var list struct{ Keys []struct{ KeyID string } }
		e.mustKMS(t, sess, "ListKeys", map[string]any{}, &list)
		for _, k := range list.Keys {
			if k.KeyID == key.KeyMetadata.KeyID {
				t.Errorf("staging ListKeys names dev's key")
			}
		}
		// The key still works in dev.
		e.mustKMS(t, deployer, "Encrypt", map[string]any{"KeyId": key.KeyMetadata.KeyID, "Plaintext": []byte("x")}, nil)
		// A key policy granting staging does not take staging's acme
		// session to globex's key: another tenant's key is missing.
		r = e.kms(t, sess, "DescribeKey", map[string]any{"KeyId": e.tenants["globex"].keyARN})
		if errorCode(r.body) != "NotFoundException" {
			t.Errorf("staging acme session: globex's key = %d %s, want NotFoundException", r.status, r.body)
		}
	})

	t.Run("EndpointsOfAnotherAccount", func(t *testing.T) {
		// globex's endpoint and the platform's live in the primary
		// account: to dev's root they are missing endpoints.
		for _, ep := range []string{e.sv.endpoint, e.sv.platEndpoint} {
			r := send(t, e.ts, dev, sagemakerRequest("DescribeEndpoint", map[string]any{"EndpointName": ep}))
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Could not find endpoint") {
				t.Errorf("dev root: DescribeEndpoint(%s) = %d %s", ep, r.status, r.body)
			}
			r = send(t, e.ts, dev, sagemakerRequest("DeleteEndpoint", map[string]any{"EndpointName": ep}))
			if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Could not find endpoint") {
				t.Errorf("dev root: DeleteEndpoint(%s) = %d %s", ep, r.status, r.body)
			}
			arn := "arn:aws:sagemaker:" + e.ts.cfg.Region + ":" + e.acct + ":endpoint/" + ep
			r = send(t, e.ts, dev, sagemakerRequest("AddTags", map[string]any{"ResourceArn": arn, "Tags": []map[string]string{{"Key": "k", "Value": "v"}}}))
			if r.status == http.StatusOK || r.status >= 500 {
				t.Errorf("dev root: AddTags(%s) = %d %s, want a refusal", arn, r.status, r.body)
			}
		}
		r := send(t, e.ts, dev, invokeRequest(e.sv.endpoint, "", []byte("1,2,3\n")))
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "of account "+devID+" not found") {
			t.Errorf("dev root: InvokeEndpoint(%s) = %d %s, want a missing endpoint of dev", e.sv.endpoint, r.status, r.body)
		}
		r = send(t, e.ts, dev, sagemakerRequest("ListEndpoints", map[string]any{}))
		if strings.Contains(string(r.body), e.sv.endpoint) {
			t.Errorf("dev root: ListEndpoints names the primary account's: %s", r.body)
		}
		// globex's endpoint still serves in the primary account.
		var ep struct{ EndpointStatus string }
		r = e.mustOK(t, e.root, sagemakerRequest("DescribeEndpoint", map[string]any{"EndpointName": e.sv.endpoint}))
		if err := json.Unmarshal(r.body, &ep); err != nil || ep.EndpointStatus != "InService" {
			t.Errorf("globex's endpoint after dev's attempts: %s", r.body)
		}
	})

	t.Run("AlarmsOfAnotherAccount", func(t *testing.T) {
		// Alarms are their account's, as CloudWatch's are: the primary
		// account's (globex's and acme's) are missing alarms to dev's
		// root; dev's alarm is missing to the primary's root; and in
		// staging the tenant rule holds as in the primary: globex's
		// alarm is a missing one to acme's session.
		put := func(by *principal, name, endpoint, tenant string) {
			p := alarmParams(name, endpoint)
			p.Set("Tags.member.1.Key", "TenantID")
			p.Set("Tags.member.1.Value", tenant)
			e.mustOK(t, by, queryRequest("monitoring", "PutMetricAlarm", p))
		}
		named := func(body []byte, name string) bool {
			return strings.Contains(string(body), "<AlarmName>"+name+"</AlarmName>")
		}
		put(dev, "globex--dev-errors", "globex--dev", "globex")
		put(staging, "globex--staging-errors", "globex--staging", "globex")
		sess, res := e.assume(t, deployer, roleARN(stagingID, "acme.deploy"), "alarms", nil)
		if sess == nil {
			t.Fatalf("assume: %s %s", res.Code, res.Message)
		}
		for _, c := range []struct {
			by           *principal
			theirs, mine string
		}{{dev, e.sv.alarm, "globex--dev-errors"}, {dev, e.sv.ownAlarm, "globex--dev-errors"}, {e.root, "globex--dev-errors", e.sv.alarm}, {sess, "globex--staging-errors", ""}} {
			list := e.mustOK(t, c.by, queryRequest("monitoring", "DescribeAlarms", url.Values{}))
			if named(list.body, c.theirs) || (c.mine != "" && !named(list.body, c.mine)) {
				t.Errorf("%s: DescribeAlarms names %s or misses %s: %s", c.by.kind, c.theirs, c.mine, list.body)
			}
			byName := e.mustOK(t, c.by, queryRequest("monitoring", "DescribeAlarms", url.Values{"AlarmNames.member.1": {c.theirs}}))
			if named(byName.body, c.theirs) {
				t.Errorf("%s: DescribeAlarms(%s) names it: %s", c.by.kind, c.theirs, byName.body)
			}
			theirs := send(t, e.ts, c.by, queryRequest("monitoring", "DeleteAlarms", url.Values{"AlarmNames.member.1": {c.theirs}}))
			none := send(t, e.ts, c.by, queryRequest("monitoring", "DeleteAlarms", url.Values{"AlarmNames.member.1": {"globex--no-such"}}))
			if theirs.status != http.StatusNotFound || errorCode(theirs.body) != "ResourceNotFound" || none.status != theirs.status || errorCode(none.body) != errorCode(theirs.body) {
				t.Errorf("%s: DeleteAlarms(%s) = %d %s; of a missing one = %d %s", c.by.kind, c.theirs, theirs.status, theirs.body, none.status, none.body)
			}
		}
		// Every alarm is intact, in its account, with its account's ARN.
		for _, c := range []struct {
			by         *principal
			name, acct string
		}{{e.root, e.sv.alarm, e.acct}, {e.root, e.sv.ownAlarm, e.acct}, {dev, "globex--dev-errors", devID}, {staging, "globex--staging-errors", stagingID}} {
			r := e.mustOK(t, c.by, queryRequest("monitoring", "DescribeAlarms", url.Values{"AlarmNames.member.1": {c.name}}))
			if !strings.Contains(string(r.body), "<AlarmArn>"+alarm.ARN(e.ts.cfg.Region, c.acct, c.name)+"</AlarmArn>") {
				t.Errorf("%s: alarm %s after the attempts: %s", c.by.kind, c.name, r.body)
			}
		}
	})

	t.Run("ModelPackagesOfAnotherAccount", func(t *testing.T) {
		// CreateModel from a package of another account is decided across
		// accounts: globex's package of the primary account answers as a
		// missing one, to staging's acme session (allowed everything by
		// its own policy) and to dev's root.
		sess, res := e.assume(t, deployer, roleARN(stagingID, "acme.deploy"), "pkg", nil)
		if sess == nil {
			t.Fatalf("assume: %s %s", res.Code, res.Message)
		}
		e.mustIAM(t, dev, "CreateRole", "RoleName", "model-exec", "AssumeRolePolicyDocument", accountPolicies["sagemaker-trust"])
		missing := strings.Replace(e.rg.pkg, "/1", "/7", 1)
		for _, c := range []struct {
			by   *principal
			role string
		}{{sess, roleARN(stagingID, "acme.deploy")}, {dev, roleARN(devID, "model-exec")}} {
			create := func(pkg string) reply {
				return send(t, e.ts, c.by, sagemakerRequest("CreateModel", map[string]any{"ModelName": "acme--from-globex", "ExecutionRoleArn": c.role,
					"PrimaryContainer": map[string]any{"ModelPackageName": pkg}}))
			}
			theirs, none := create(e.rg.pkg), create(missing)
			if theirs.status != none.status || errorCode(theirs.body) != "AccessDeniedException" || !strings.Contains(string(theirs.body), "sagemaker:DescribeModelPackage") ||
				strings.Replace(string(theirs.body), e.rg.pkg, missing, 1) != string(none.body) {
				t.Errorf("%s: CreateModel from globex's package = %d %s; from a missing one = %d %s", c.by.kind, theirs.status, theirs.body, none.status, none.body)
			}
		}
	})

	t.Run("FurtherAccountsDoNotRunThePlatform", func(t *testing.T) {
		// Deployment-wide decisions (tenants, accounts) are the primary
		// account's: another account's root is refused them.
		for _, req := range []signedRequest{
			manageRequest(http.MethodPost, "/api/v1/accounts", []byte(`{"name":"from-staging"}`)),
			manageRequest(http.MethodGet, "/api/v1/accounts", nil),
			manageRequest(http.MethodPost, "/api/v1/tenants", []byte(`{"id":"staging-tenant"}`)),
			manageRequest(http.MethodPatch, "/api/v1/tenants/globex", []byte(`{"tier":"premium"}`)),
		} {
			if r := send(t, e.ts, staging, req); r.status != http.StatusForbidden {
				t.Errorf("staging root: %s %s = %d %s, want 403", req.method, req.path, r.status, r.body)
			}
		}
	})
}
