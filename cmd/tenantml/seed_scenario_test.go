package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
)

// TestSeedScenario_AWSCLI runs the seed scenario exactly as an operator
// and its tenants would, with the real AWS CLI only, on both stores: the
// operator uploads each tenant's model with `aws s3 cp --sse aws:kms`
// under the tenant's key, creates one execution role, the models, endpoint
// configs and endpoints with `aws sagemaker`, waits with `aws sagemaker
// wait endpoint-in-service`, and creates the invoke roles with the seed's
// policies verbatim (Policy 1 silo, 2 pool, 3 bridge). Each tenant's
// session gets xgboost's predictions from its own model; every
// cross-tenant call is refused with AccessDeniedException and audited.
func TestSeedScenario_AWSCLI(t *testing.T) {
	for _, st := range attackStores {
		t.Run(st.name, func(t *testing.T) { seedScenario(t, st) })
	}
}

// seedTenant is one tenant of the scenario and how it invokes its model.
type seedTenant struct {
	id, isolation string
	object        string // key in the models bucket
	endpoint      string
	targetModel   string
	invokeRole    string
}

func seedScenario(t *testing.T, st attackStore) {
	ts := startServer(t, attackServerEnv(t, st))
	acct := ts.cfg.AccountID
	const region = "us-east-1"
	dir := t.TempDir()
	model := filepath.Join("..", "..", "examples", "models", "model.tar.gz")
	rows := filepath.Join("..", "..", "examples", "models", "rows.csv")
	want := expected(t)

	aws := func(keyID, secret, token string, args ...string) string {
		t.Helper()
		out, err := awsCLI(t, ts, keyID, secret, token, args...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	operator := func(args ...string) string {
		t.Helper()
		return aws(rootKeyID, rootSecret, "", args...)
	}
	doc := func(v string) string {
		return strings.ReplaceAll(strings.ReplaceAll(v, "ACCT", acct), "REGION", region)
	}

	tenants := []seedTenant{
		{id: "acme", isolation: "silo", object: "acme/model.tar.gz", endpoint: "acme", invokeRole: "acme"},
		{id: "globex", isolation: "pool", object: "pool/globex.tar.gz", endpoint: "pool", targetModel: "globex.tar.gz", invokeRole: "pool-invoke"},
		{id: "umbrella", isolation: "pool", object: "pool/umbrella.tar.gz", endpoint: "pool", targetModel: "umbrella.tar.gz", invokeRole: "pool-invoke"},
		{id: "initech", isolation: "bridge", object: "initech/model.tar.gz", endpoint: "initech", invokeRole: "bridge-invoke"},
	}

	// Tenants, and each tenant's model uploaded under its own key.
	operator("s3", "mb", "s3://models")
	for _, tn := range tenants {
		mustCLI(t, ts, "tenant", "create", tn.id, "--isolation", tn.isolation)
		var keys manage.ListTenantKeysOutput
		if err := json.Unmarshal([]byte(mustCLI(t, ts, "keys", "list", "--tenant", tn.id, "-o", "json")), &keys); err != nil || len(keys.Keys) == 0 {
			t.Fatalf("keys of %s: %v %+v", tn.id, err, keys)
		}
		keyARN := keys.Keys[0].Metadata.Arn
		operator("s3", "cp", model, "s3://models/"+tn.object, "--sse", "aws:kms", "--sse-kms-key-id", keyARN)
		var head struct {
			ServerSideEncryption string
			SSEKMSKeyId          string
		}
		if err := json.Unmarshal([]byte(operator("s3api", "head-object", "--bucket", "models", "--key", tn.object)), &head); err != nil {
			t.Fatal(err)
		}
		if head.ServerSideEncryption != "aws:kms" || head.SSEKMSKeyId != keyARN {
			t.Fatalf("%s's model: %+v, want aws:kms under %s", tn.id, head, keyARN)
		}
	}

	// One execution role the serving platform acts as to read the models.
	operator("iam", "create-role", "--role-name", "sagemaker-exec", "--assume-role-policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	operator("iam", "put-role-policy", "--role-name", "sagemaker-exec", "--policy-name", "read-models", "--policy-document", `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::models/*"},
{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::models"},
{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`)
	execRole := doc("arn:aws:iam::ACCT:role/sagemaker-exec")

	// Models, endpoint configs and endpoints: one per silo and bridge
	// tenant (named by its TenantID), one shared pool over the prefix.
	deploy := func(name, mode, url, tenantID string) {
		t.Helper()
		args := []string{"sagemaker", "create-model", "--model-name", name, "--execution-role-arn", execRole,
			"--primary-container", "Image=tenantml/xgboost,Mode=" + mode + ",ModelDataUrl=" + url}
		if tenantID != "" {
			args = append(args, "--tags", "Key=TenantID,Value="+tenantID)
		}
		operator(args...)
		args = []string{"sagemaker", "create-endpoint-config", "--endpoint-config-name", name,
			"--production-variants", "VariantName=AllTraffic,ModelName=" + name + ",InitialInstanceCount=1,InstanceType=ml.m5.large"}
		if tenantID != "" {
			args = append(args, "--tags", "Key=TenantID,Value="+tenantID)
		}
		operator(args...)
		args = []string{"sagemaker", "create-endpoint", "--endpoint-name", name, "--endpoint-config-name", name}
		if tenantID != "" {
			args = append(args, "--tags", "Key=TenantID,Value="+tenantID)
		}
		operator(args...)
	}
	deploy("acme", "SingleModel", "s3://models/acme/model.tar.gz", "acme")
	deploy("initech", "SingleModel", "s3://models/initech/model.tar.gz", "initech")
	deploy("pool", "MultiModel", "s3://models/pool/", "")
	for _, ep := range []string{"acme", "initech", "pool"} {
		// The waiter polls every 30 s: wait on the controller first so
		// that its first DescribeEndpoint already reads InService.
		waitEndpoint(t, ts, ep)
		operator("sagemaker", "wait", "endpoint-in-service", "--endpoint-name", ep)
	}

	// Invoke roles with the seed's policies verbatim, and a broker user
	// that may only assume them with session tags.
	trust := doc(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::ACCT:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`)
	invokeRoles := []struct{ name, tenantTag, policy string }{
		{"acme", "acme", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:REGION:ACCT:endpoint/acme"}]}`},
		{"pool-invoke", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`},
		{"bridge-invoke", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:REGION:ACCT:endpoint/${aws:PrincipalTag/TenantID}"}]}`},
	}
	for _, r := range invokeRoles {
		args := []string{"iam", "create-role", "--role-name", r.name, "--assume-role-policy-document", trust}
		if r.tenantTag != "" {
			args = append(args, "--tags", "Key=TenantID,Value="+r.tenantTag)
		}
		operator(args...)
		operator("iam", "put-role-policy", "--role-name", r.name, "--policy-name", "invoke", "--policy-document", doc(r.policy))
	}
	operator("iam", "create-user", "--user-name", "broker")
	operator("iam", "put-user-policy", "--user-name", "broker", "--policy-name", "assume-invoke-roles", "--policy-document",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`)
	var key struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey string }
	}
	if err := json.Unmarshal([]byte(operator("iam", "create-access-key", "--user-name", "broker")), &key); err != nil {
		t.Fatal(err)
	}

	type session struct{ keyID, secret, token string }
	assume := func(role, tenantID string) session {
		t.Helper()
		args := []string{"sts", "assume-role", "--role-arn", doc("arn:aws:iam::ACCT:role/" + role), "--role-session-name", "app"}
		if tenantID != "" {
			args = append(args, "--tags", "Key=TenantID,Value="+tenantID)
		}
		var out struct {
			Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
		}
		if err := json.Unmarshal([]byte(aws(key.AccessKey.AccessKeyId, key.AccessKey.SecretAccessKey, "", args...)), &out); err != nil {
			t.Fatal(err)
		}
		c := out.Credentials
		return session{c.AccessKeyId, c.SecretAccessKey, c.SessionToken}
	}
	invoke := func(s session, endpoint, target string) (string, error) {
		outFile := filepath.Join(dir, "out")
		_ = os.Remove(outFile)
		args := []string{"sagemaker-runtime", "invoke-endpoint", "--endpoint-name", endpoint, "--content-type", "text/csv", "--body", "fileb://" + rows}
		if target != "" {
			args = append(args, "--target-model", target)
		}
		out, err := awsCLI(t, ts, s.keyID, s.secret, s.token, append(args, outFile)...)
		if err != nil {
			return out, err
		}
		b, rerr := os.ReadFile(outFile)
		if rerr != nil {
			t.Fatalf("invoke %s: %v", endpoint, rerr)
		}
		return string(b), nil
	}

	sessions := map[string]session{}
	for _, tn := range tenants {
		sessions[tn.id] = assume(tn.invokeRole, tn.id)
		body, err := invoke(sessions[tn.id], tn.endpoint, tn.targetModel)
		if err != nil {
			t.Fatalf("%s invokes its own model: %v\n%s", tn.id, err, body)
		}
		sameScores(t, []byte(body), want)
	}

	// Every cross-tenant call is refused with AccessDeniedException.
	watch := watchAudit(ts)
	untagged := assume("pool-invoke", "")
	denied := []struct {
		who              string
		s                session
		endpoint, target string
	}{
		{"silo session on the bridge tenant's endpoint", sessions["acme"], "initech", ""},
		{"silo session on the pool", sessions["acme"], "pool", "acme.tar.gz"},
		{"pool session with another pool tenant's TargetModel", sessions["globex"], "pool", "umbrella.tar.gz"},
		{"pool session without a TargetModel", sessions["globex"], "pool", ""},
		{"pool session on the silo tenant's endpoint", sessions["globex"], "acme", ""},
		{"bridge session on the silo tenant's endpoint", sessions["initech"], "acme", ""},
		{"bridge session on the pool", sessions["initech"], "pool", "initech.tar.gz"},
		{"session without a TenantID tag", untagged, "pool", "globex.tar.gz"},
	}
	for _, d := range denied {
		out, err := invoke(d.s, d.endpoint, d.target)
		if err == nil || !strings.Contains(out, "AccessDeniedException") {
			t.Errorf("%s: err %v, output %q; want AccessDeniedException", d.who, err, out)
		}
	}
	for _, d := range denied {
		watch.wait(t, "denying "+d.who, func(ev audit.Event) bool {
			return ev.EventName == "InvokeEndpoint" && ev.Decision.Effect != audit.Allowed && strings.Contains(ev.ErrorCode, "AccessDenied")
		})
	}
}
