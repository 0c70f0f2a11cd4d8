package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// The scenario: an operator (root) onboards tenants acme, globex and
// initech as docs/identity.md documents it — each tenant's administrator
// user is created by the operator with the TenantID tag, the
// TenantRoleBoundary and the built-in TenantAdmin policy; the
// administrator then creates the tenant's other users and roles (tagged,
// bounded, in the tenant's name space "<tenant>.<name>"), a
// customer-managed policy, a KMS key with an alias, and an artifact.
// Besides the onboarding key (alias/tenantml/artifacts) every tenant has
// its own audit trail from these requests. A platform broker user, allowed
// only sts:AssumeRole and sts:TagSession with aws:RequestTag/TenantID
// naming acme or globex, issues tenant sessions of the platform role
// "pool", whose inline policy allows everything: what keeps such a session
// in its tenant is the platform's invariant, not a policy. The operator
// also deploys, with the SageMaker API, globex's model and endpoint (a
// real worker), acme's (failed), the platform's pool over the artifact
// bucket and a platform endpoint (attack_servingfixture_test.go).

// Built-in policy ARNs.
const (
	boundaryARN      = "arn:aws:iam::aws:policy/tenantml/TenantRoleBoundary"
	tenantAdminARN   = "arn:aws:iam::aws:policy/tenantml/TenantAdmin"
	dataScientistARN = "arn:aws:iam::aws:policy/tenantml/DataScientist"
	viewerARN        = "arn:aws:iam::aws:policy/tenantml/Viewer"
	platformAdminARN = "arn:aws:iam::aws:policy/tenantml/PlatformAdministrator"
)

// allowEverything is an identity policy that allows every action.
const allowEverything = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`

// tenantFixture is what one tenant owns in the scenario.
type tenantFixture struct {
	id string
	// path is the IAM path of the tenant's entities, "/tenants/<id>/".
	path string
	// users are the tenant's IAM users by kind: admin, scientist, viewer.
	users map[string]*principal
	// roles are the ARNs of the tenant's roles by kind: admin, scientist,
	// viewer (trusting the account root, the documented pattern).
	roles map[string]string
	// policyARN is the tenant's customer-managed policy.
	policyARN string
	// keyID, keyARN and alias name the tenant's own KMS key;
	// onboardingKeyARN the key created at onboarding.
	keyID, keyARN, alias, onboardingKeyARN string
	// ciphertext is a KMS ciphertext (base64) under the tenant's key.
	ciphertext string
	// artifact is the uploaded artifact's "<model>/<version>/<file>".
	artifact string
	// session is a session of the pool role issued by the broker for this
	// tenant (nil for initech, which the broker may not grant).
	session *principal
}

// attackEnv is one server on one store with the scenario in it.
type attackEnv struct {
	store string
	ts    *testServer
	// clock is the server's clock; only the last, sequential attacks
	// move it.
	clock *offsetClock
	acct  string
	root  *principal
	// broker is the platform user that issues tenant sessions.
	broker *principal
	// poolRole is the platform role the broker's sessions assume.
	poolRole string
	tenants  map[string]*tenantFixture
	// sv names the serving resources (attack_servingfixture_test.go).
	sv servingFixture
	// rg names the registry resources (attack_registry_test.go).
	rg registryFixture
	pl pipelineFixture
	// s3f names the S3 resources (attack_s3_test.go).
	s3f s3Fixture

	mu      sync.Mutex
	secrets map[string]string // description → secret or token the suite saw
	// events indexes the audit log by request ID (readEvents).
	events struct {
		mu        sync.Mutex
		next      int64
		byRequest map[string][]audit.Event
	}
	driver *boto3Driver
}

// roleKinds maps a principal kind to the built-in policy it holds.
var roleKinds = []struct{ kind, name, policy string }{
	{"admin", "TenantAdmin", tenantAdminARN},
	{"scientist", "DataScientist", dataScientistARN},
	{"viewer", "Viewer", viewerARN},
}

// newAttackEnv starts a server on st and builds the scenario in it.
func newAttackEnv(t *testing.T, st attackStore) *attackEnv {
	t.Helper()
	start := time.Now()
	clock := &offsetClock{}
	ts := startServerClock(t, attackServerEnv(t, st), clock.now)
	e := &attackEnv{store: st.name, ts: ts, clock: clock, acct: ts.cfg.AccountID, tenants: map[string]*tenantFixture{}, secrets: map[string]string{}}
	e.root = &principal{kind: "root", arn: "arn:aws:iam::" + e.acct + ":root", keyID: rootKeyID, secret: rootSecret}
	e.remember("root secret", rootSecret)
	for _, id := range []string{"acme", "globex", "initech"} {
		body, _ := json.Marshal(map[string]string{"id": id})
		e.mustOK(t, e.root, manageRequest(http.MethodPost, "/api/v1/tenants", body))
	}
	e.platform(t)
	for _, id := range []string{"acme", "globex", "initech"} {
		e.tenants[id] = e.onboard(t, id)
	}
	for _, id := range []string{"acme", "globex"} {
		e.tenants[id].session = e.brokerSession(t, id, id+"-app")
	}
	e.serving(t)
	e.autoscaleFixture(t)
	e.alarms(t)
	e.registry(t)
	e.pipelines(t)
	e.s3Setup(t)
	e.startBoto3(t)
	t.Logf("%s: scenario built in %v", e.store, time.Since(start).Round(time.Millisecond))
	return e
}

// remember records a secret or token the suite saw, so that the server's
// logs can be searched for it.
func (e *attackEnv) remember(what, secret string) {
	if secret == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets[what] = secret
}

// iam sends an IAM query action as by.
func (e *attackEnv) iam(t *testing.T, by *principal, action string, params ...string) reply {
	t.Helper()
	return send(t, e.ts, by, queryRequest("iam", action, pairs(params...)))
}

// sts sends an STS query action as by.
func (e *attackEnv) sts(t *testing.T, by *principal, action string, params ...string) reply {
	t.Helper()
	return send(t, e.ts, by, queryRequest("sts", action, pairs(params...)))
}

// kms sends a KMS operation as by.
func (e *attackEnv) kms(t *testing.T, by *principal, op string, in map[string]any) reply {
	t.Helper()
	return send(t, e.ts, by, kmsRequest(op, in))
}

// mustOK sends req as by and fails unless it succeeds.
func (e *attackEnv) mustOK(t *testing.T, by *principal, req signedRequest) reply {
	t.Helper()
	r := send(t, e.ts, by, req)
	if r.status >= 300 {
		t.Fatalf("%s: %s %s %s = %d %s", by.kind, req.method, req.path, req.header.Get("X-Amz-Target")+firstLine(string(req.body)), r.status, r.body)
	}
	return r
}

// mustIAM sends an IAM action as by and fails unless it succeeds.
func (e *attackEnv) mustIAM(t *testing.T, by *principal, action string, params ...string) reply {
	t.Helper()
	r := e.iam(t, by, action, params...)
	if r.status != http.StatusOK {
		t.Fatalf("%s: iam %s %v = %d %s", by.kind, action, params, r.status, r.body)
	}
	return r
}

// mustKMS sends a KMS operation as by and decodes its answer into out.
func (e *attackEnv) mustKMS(t *testing.T, by *principal, op string, in map[string]any, out any) {
	t.Helper()
	r := e.kms(t, by, op, in)
	if r.status != http.StatusOK {
		t.Fatalf("%s: kms %s = %d %s", by.kind, op, r.status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("kms %s: %v in %s", op, err, r.body)
		}
	}
}

// trustRoot is the documented trust policy of a tenant role: the account
// delegates to its principals' own policies.
func (e *attackEnv) trustRoot() string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + e.acct + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
}

// trustPrincipal is a trust policy naming one principal ARN.
func trustPrincipal(arn string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + arn + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
}

// platform creates the broker user and the pool role.
func (e *attackEnv) platform(t *testing.T) {
	t.Helper()
	e.mustIAM(t, e.root, "CreateUser", "UserName", "broker", "Path", "/platform/")
	brokerARN := "arn:aws:iam::" + e.acct + ":user/platform/broker"
	e.poolRole = "arn:aws:iam::" + e.acct + ":role/platform/pool"
	grant := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"` + e.poolRole + `",` +
		`"Condition":{"StringEquals":{"aws:RequestTag/TenantID":["acme","globex"]}}}]}`
	e.mustIAM(t, e.root, "PutUserPolicy", "UserName", "broker", "PolicyName", "issue-tenant-sessions", "PolicyDocument", grant)
	e.broker = e.accessKey(t, e.root, "broker", "broker")
	e.broker.arn = brokerARN
	// The trust policy names the broker, and so allows on its own (as in
	// AWS): it carries the same condition as the broker's policy.
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + brokerARN + `"},"Action":["sts:AssumeRole","sts:TagSession"],` +
		`"Condition":{"StringEquals":{"aws:RequestTag/TenantID":["acme","globex"]}}}]}`
	e.mustIAM(t, e.root, "CreateRole", "RoleName", "pool", "Path", "/platform/", "AssumeRolePolicyDocument", trust)
	e.mustIAM(t, e.root, "PutRolePolicy", "RoleName", "pool", "PolicyName", "everything", "PolicyDocument", allowEverything)
	// A platform group and a tenant's OpenID Connect provider, registered
	// by the operator.
	for _, g := range []string{platformGroup, platformGroup2} {
		e.mustIAM(t, e.root, "CreateGroup", "GroupName", g)
	}
	e.mustIAM(t, e.root, "CreateOpenIDConnectProvider", "Url", "https://idp.globex.example", "ClientIDList.member.1", "globex-app",
		"ThumbprintList.member.1", strings.Repeat("ab", 20), "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "globex")
}

// platformGroup and platformGroup2 are the operator's groups.
const (
	platformGroup  = "platform-ops"
	platformGroup2 = "platform-ml"
)

// accessKey creates an access key for user as by and returns the user as a
// principal.
func (e *attackEnv) accessKey(t *testing.T, by *principal, kind, user string) *principal {
	t.Helper()
	r := e.mustIAM(t, by, "CreateAccessKey", "UserName", user)
	p := &principal{kind: kind, userName: user, keyID: xmlField(r.body, "AccessKeyId"), secret: xmlField(r.body, "SecretAccessKey")}
	if p.keyID == "" || p.secret == "" {
		t.Fatalf("CreateAccessKey %s: %s", user, r.body)
	}
	e.remember("secret of "+user, p.secret)
	return p
}

// onboard creates tenant id's principals and resources.
func (e *attackEnv) onboard(t *testing.T, id string) *tenantFixture {
	t.Helper()
	f := &tenantFixture{id: id, path: "/tenants/" + id + "/", users: map[string]*principal{}, roles: map[string]string{}}
	userARN := func(name string) string { return "arn:aws:iam::" + e.acct + ":user" + f.path + name }
	// The operator creates the tenant's administrator.
	admin := id + ".admin"
	e.mustIAM(t, e.root, "CreateUser", "UserName", admin, "Path", f.path, "PermissionsBoundary", boundaryARN,
		"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", id)
	e.mustIAM(t, e.root, "AttachUserPolicy", "UserName", admin, "PolicyArn", tenantAdminARN)
	// The "acme principal allowed sts:AssumeRole": the operator
	// lets the administrator assume tenant roles (its tenant's, by intent;
	// any tenant's, by policy), so that only the invariant keeps it out of
	// another tenant's.
	e.mustIAM(t, e.root, "PutUserPolicy", "UserName", admin, "PolicyName", "assume-roles", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"arn:aws:iam::*:role/tenants/*"}]}`)
	f.users["admin"] = e.accessKey(t, e.root, "admin", admin)
	adm := f.users["admin"]
	// The administrator creates everything else of its tenant.
	for _, k := range roleKinds[1:] {
		name := id + "." + k.kind
		e.mustIAM(t, adm, "CreateUser", "UserName", name, "Path", f.path, "PermissionsBoundary", boundaryARN,
			"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", id)
		e.mustIAM(t, adm, "AttachUserPolicy", "UserName", name, "PolicyArn", k.policy)
		f.users[k.kind] = e.accessKey(t, adm, k.kind, name)
	}
	for kind, p := range f.users {
		p.tenant, p.arn = id, userARN(p.userName)
		p.kind = kind
	}
	for _, k := range roleKinds {
		name := id + "." + k.name
		e.mustIAM(t, adm, "CreateRole", "RoleName", name, "Path", f.path, "AssumeRolePolicyDocument", e.trustRoot(),
			"PermissionsBoundary", boundaryARN, "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", id)
		e.mustIAM(t, adm, "AttachRolePolicy", "RoleName", name, "PolicyArn", k.policy)
		f.roles[k.kind] = "arn:aws:iam::" + e.acct + ":role" + f.path + name
	}
	invoke := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:*:*:endpoint/` + id + `-*"}]}`
	e.mustIAM(t, adm, "CreatePolicy", "PolicyName", id+".invoke", "Path", f.path, "PolicyDocument", invoke,
		"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", id)
	f.policyARN = "arn:aws:iam::" + e.acct + ":policy" + f.path + id + ".invoke"

	var created struct{ KeyMetadata struct{ KeyId, Arn string } }
	e.mustKMS(t, adm, "CreateKey", map[string]any{"Description": id + " model key", "Tags": []map[string]string{{"TagKey": "TenantID", "TagValue": id}}}, &created)
	f.keyID, f.keyARN, f.alias = created.KeyMetadata.KeyId, created.KeyMetadata.Arn, "alias/"+id+"-key"
	e.mustKMS(t, adm, "CreateAlias", map[string]any{"AliasName": f.alias, "TargetKeyId": f.keyID}, nil)
	var onboarding struct{ KeyMetadata struct{ Arn string } }
	e.mustKMS(t, adm, "DescribeKey", map[string]any{"KeyId": "alias/tenantml/artifacts"}, &onboarding)
	f.onboardingKeyARN = onboarding.KeyMetadata.Arn
	var enc struct{ CiphertextBlob string }
	e.mustKMS(t, adm, "Encrypt", map[string]any{"KeyId": f.alias, "Plaintext": "c2VjcmV0"}, &enc)
	f.ciphertext = enc.CiphertextBlob

	f.artifact = "churn/v1/model.bin"
	e.mustOK(t, adm, manageRequest(http.MethodPut, "/api/v1/tenants/"+id+"/artifacts/"+f.artifact, []byte("model bytes of "+id)))
	return f
}

// brokerSession has the broker assume the pool role for tenant id.
func (e *attackEnv) brokerSession(t *testing.T, id, session string) *principal {
	t.Helper()
	r := e.sts(t, e.broker, "AssumeRole", "RoleArn", e.poolRole, "RoleSessionName", session,
		"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", id)
	if r.status != http.StatusOK {
		t.Fatalf("broker AssumeRole for %s = %d %s", id, r.status, r.body)
	}
	p := sessionOf(r.body)
	p.kind, p.tenant, p.roleName = "broker-session", id, "pool"
	e.remember("session secret "+session, p.secret)
	e.remember("session token "+session, p.token)
	return p
}

// sessionOf reads the credentials of an AssumeRole answer.
func sessionOf(body []byte) *principal {
	p := &principal{keyID: xmlField(body, "AccessKeyId"), secret: xmlField(body, "SecretAccessKey"), token: xmlField(body, "SessionToken"),
		arn: xmlField(body, "Arn")}
	p.expires, _ = time.Parse(time.RFC3339, xmlField(body, "Expiration"))
	return p
}

// pairs turns "k1", "v1", "k2", "v2" into url.Values.
func pairs(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// xmlField returns the text of the first <name> element in body.
func xmlField(body []byte, name string) string {
	s := string(body)
	i := strings.Index(s, "<"+name+">")
	if i < 0 {
		return ""
	}
	s = s[i+len(name)+2:]
	j := strings.Index(s, "</"+name+">")
	if j < 0 {
		return ""
	}
	return s[:j]
}

// firstLine is s up to its first newline, at most 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
