package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/promotion/deploy"
)

// The promotion pipeline of docs/promotion.md end to end, against a real
// server with real workers: dev is the primary account (the registry, the
// models' bucket and key, and acme's CI user that applies the pipeline);
// staging and prod are accounts made with `tenantml account create`, each
// with acme's deployment role and model execution role. The policies are
// the ones docs/promotion.md quotes (pipelinePolicies keeps them in one
// place; DEV, STAGING, PROD and TARGET stand for account IDs).

var pipelinePolicies = map[string]string{
	// dev's acme.ci: applies, reads and approves pipelines, may assume
	// the targets' deployment roles, and administers its KMS key.
	"ci-identity": `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["tenantml:ApplyPipeline","tenantml:GetPipelineStatus","tenantml:ApprovePipeline"],"Resource":"*"},
{"Effect":"Allow","Action":"sts:AssumeRole","Resource":["arn:aws:iam::STAGING:role/acme.deploy","arn:aws:iam::PROD:role/acme.deploy"]},
{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`,
	// The deployment role of each target trusts dev's acme.ci (the
	// applier must be able to assume it).
	"deploy-trust": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::DEV:user/acme.ci"},"Action":"sts:AssumeRole"}]}`,
	// What the deployment role does in its account.
	"deploy-identity": `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["sagemaker:CreateModel","sagemaker:CreateEndpointConfig","sagemaker:CreateEndpoint",
  "sagemaker:UpdateEndpoint","sagemaker:DescribeEndpoint","sagemaker:InvokeEndpoint","sagemaker:AddTags"],"Resource":"*"},
{"Effect":"Allow","Action":"sagemaker:DescribeModelPackage","Resource":"arn:aws:sagemaker:us-east-1:DEV:model-package/acme--churn/*"},
{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::TARGET:role/acme.model-exec"}]}`,
	// The model execution role of each target.
	"exec-trust":    `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
	"exec-identity": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","kms:Decrypt"],"Resource":"*"}]}`,
	// dev's group: the deployment roles may read its packages.
	"group-policy": `{"Version":"2012-10-17","Statement":[{"Sid":"DeployRoles","Effect":"Allow",
"Principal":{"AWS":["arn:aws:iam::STAGING:role/acme.deploy","arn:aws:iam::PROD:role/acme.deploy"]},
"Action":"sagemaker:DescribeModelPackage","Resource":"arn:aws:sagemaker:us-east-1:DEV:model-package/acme--churn/*"}]}`,
	// dev's model bucket: the execution roles may read.
	"bucket-policy": `{"Version":"2012-10-17","Statement":[{"Sid":"ModelRoles","Effect":"Allow",
"Principal":{"AWS":["arn:aws:iam::STAGING:role/acme.model-exec","arn:aws:iam::PROD:role/acme.model-exec"]},
"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-models/*"}]}`,
	// dev's model key: dev administers it, the execution roles decrypt.
	"key-policy": `{"Version":"2012-10-17","Statement":[
{"Sid":"EnableDevAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::DEV:root"},"Action":"kms:*","Resource":"*"},
{"Sid":"ModelRoles","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::STAGING:role/acme.model-exec","arn:aws:iam::PROD:role/acme.model-exec"]},
 "Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"}]}`,
}

// pipelinePolicy returns pipelinePolicies[name] with the accounts filled
// in; target is the account of TARGET.
func pipelinePolicy(name string, ids map[string]string, target string) string {
	return strings.NewReplacer("DEV", ids["dev"], "STAGING", ids["staging"], "PROD", ids["prod"], "TARGET", target).Replace(pipelinePolicies[name])
}

// hookSink is a webhook receiver on loopback.
type hookSink struct {
	mu     sync.Mutex
	events []promotion.EventBridgeEvent
}

func (h *hookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev promotion.EventBridgeEvent
	b, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || json.Unmarshal(b, &ev) != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	h.events = append(h.events, ev)
	h.mu.Unlock()
}

// wait returns the first event that matches, failing after a minute.
func (h *hookSink) wait(t *testing.T, what string, match func(promotion.EventBridgeEvent) bool) promotion.EventBridgeEvent {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		h.mu.Lock()
		for _, ev := range h.events {
			if match(ev) {
				h.mu.Unlock()
				return ev
			}
		}
		n := len(h.events)
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no webhook event %s within a minute (%d received)", what, n)
		}
		<-tick.C
	}
}

func TestPipeline_PromoteAcrossAccounts(t *testing.T) {
	m := models(t)
	// The smoke test: the first row, and model 1's score for it.
	row := strings.SplitN(strings.TrimSpace(string(m.rows)), "\n", 2)[0]
	want := m.scores[1][0]
	wantText := strconv.FormatFloat(want, 'g', -1, 64)
	// v3's image: serving/testdata/misbehave answering the smoke payload
	// with model 1's score and every other request 500, a model that
	// passes staging and fails on production traffic.
	dataDir := filepath.Join(t.TempDir(), "data")
	misbehaveEnvImages(t, dataDir, map[string]map[string]string{"smoke-only": {
		"MISBEHAVE_INVOCATIONS_STATUS": "500", "MISBEHAVE_PASS_BODY": row, "MISBEHAVE_PASS_ANSWER": wantText}})
	ts := startServerAt(t, dataDir, servingEnv(t), time.Now)
	createTenant(t, ts, "acme", "silo")
	// Above the basic tier's rate: production takes a steady load during
	// v3's canary.
	mustSend(t, ts, rootPrincipal(), manageRequest(http.MethodPut, "/api/v1/tenants/acme/quotas", []byte(`{"invocationsPerSecond":100000,"invocationBurst":100000}`)))
	ids := map[string]string{"dev": ts.cfg.AccountID}
	roots := map[string]*principal{}
	for _, name := range []string{"staging", "prod"} {
		var out manage.CreateAccountOutput
		if err := json.Unmarshal([]byte(ts.mustCLI(t, rootKeyID, rootSecret, "account", "create", name, "-o", "json")), &out); err != nil {
			t.Fatal(err)
		}
		ids[name] = out.Account.ID
		roots[name] = &principal{kind: "root", keyID: out.Root.AccessKeyID, secret: out.Root.SecretAccessKey}
	}

	// Each target: acme's deployment role and model execution role.
	for _, acct := range []string{"staging", "prod"} {
		for _, r := range []struct{ name, trust, identity string }{{"acme.deploy", "deploy-trust", "deploy-identity"}, {"acme.model-exec", "exec-trust", "exec-identity"}} {
			mustSend(t, ts, roots[acct], queryRequest("iam", "CreateRole", pairs("RoleName", r.name,
				"AssumeRolePolicyDocument", pipelinePolicy(r.trust, ids, ids[acct]), "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme")))
			mustSend(t, ts, roots[acct], queryRequest("iam", "PutRolePolicy", pairs("RoleName", r.name, "PolicyName", "pipeline",
				"PolicyDocument", pipelinePolicy(r.identity, ids, ids[acct]))))
		}
	}
	// dev: acme's CI user, its model key, bucket and group.
	iamRoot(t, ts, "CreateUser", "UserName", "acme.ci", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "acme")
	iamRoot(t, ts, "PutUserPolicy", "UserName", "acme.ci", "PolicyName", "ci", "PolicyDocument", pipelinePolicy("ci-identity", ids, ""))
	ci := createAccessKey(t, ts.URL, cliKey{id: rootKeyID, secret: rootSecret}, "acme.ci")
	keyARN := awsAs(t, ts.URL, ci, "kms", "create-key", "--description", "acme models")["KeyMetadata"].(map[string]any)["Arn"].(string)
	awsAs(t, ts.URL, ci, "kms", "put-key-policy", "--key-id", keyARN, "--policy-name", "default", "--policy", pipelinePolicy("key-policy", ids, ""))

	ctx := context.Background()
	if _, err := ts.kp.artifacts.CreateBucket(ctx, artifact.CreateBucketInput{Name: "acme-models", Account: ids["dev"], Tenant: "acme"}); err != nil {
		t.Fatal(err)
	}
	if err := ts.kp.artifacts.PutBucketPolicy(ctx, "acme-models", pipelinePolicy("bucket-policy", ids, "")); err != nil {
		t.Fatal(err)
	}
	tagged := []map[string]string{{"Key": "TenantID", "Value": "acme"}}
	smRoot(t, ts, "CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "acme--churn", "Tags": tagged}, nil)
	smRoot(t, ts, "PutModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": "acme--churn", "ResourcePolicy": pipelinePolicy("group-policy", ids, "")}, nil)
	// v1 is model 1; v2 is model 2, whose answer is not the smoke test's;
	// v3 is model 1's data served by the smoke-only image.
	var pkgs []string
	for v, c := range []struct {
		model int
		image string
	}{{1, "tenantml/xgboost"}, {2, "tenantml/xgboost"}, {1, "smoke-only"}} {
		body, key := m.model(t, c.model), fmt.Sprintf("churn/v%d/model.tar.gz", v+1)
		if _, err := ts.kp.artifacts.PutObject(ctx, artifact.PutObjectInput{Bucket: "acme-models", Key: key, ContentType: "application/x-gzip",
			Encryption: artifact.KeyRef{Tenant: "acme", KeyID: keyARN}, Checks: artifact.Checks{ContentLength: int64(len(body))}}, bytes.NewReader(body)); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
		var created struct{ ModelPackageArn string }
		smRoot(t, ts, "CreateModelPackage", map[string]any{"ModelPackageGroupName": "acme--churn",
			"InferenceSpecification": map[string]any{"Containers": []map[string]any{{"Image": c.image, "ModelDataUrl": "s3://acme-models/" + key}},
				"SupportedContentTypes": []string{"text/csv"}, "SupportedResponseMIMETypes": []string{"text/csv"}}}, &created)
		pkgs = append(pkgs, created.ModelPackageArn)
	}

	const tolerance = 1e-4
	if math.Abs(m.scores[2][0]-want) <= 10*tolerance {
		t.Fatalf("fixture: models 1 and 2 score the first row alike (%g, %g)", want, m.scores[2][0])
	}
	tick := time.NewTicker(100 * time.Millisecond) // status polls, each with a deadline
	defer tick.Stop()
	hooks := &hookSink{}
	hookSrv := httptest.NewServer(hooks)
	t.Cleanup(hookSrv.Close)
	spec := fmt.Sprintf(`name: acme--churn
tenant: acme
modelPackageGroup: acme--churn
staging:
  accountId: "%[1]s"
  deploymentRoleArn: arn:aws:iam::%[1]s:role/acme.deploy
  endpointName: acme--churn-staging
  instanceType: ml.m5.large
  instanceCount: 1
  executionRoleArn: arn:aws:iam::%[1]s:role/acme.model-exec
production:
  accountId: "%[2]s"
  deploymentRoleArn: arn:aws:iam::%[2]s:role/acme.deploy
  endpointName: acme--churn
  instanceType: ml.m5.large
  instanceCount: 1
  executionRoleArn: arn:aws:iam::%[2]s:role/acme.model-exec
  deploymentConfig:
    BlueGreenUpdatePolicy:
      TrafficRoutingConfiguration: {Type: CANARY, CanarySize: {Type: CAPACITY_PERCENT, Value: 25}, WaitIntervalInSeconds: 60}
      TerminationWaitInSeconds: 0
      MaximumExecutionTimeoutInSeconds: 600
    AutoRollbackConfiguration:
      Alarms: [{AlarmName: acme--churn-errors}]
smokeTest:
  contentType: text/csv
  payload: %[3]q
  expected: "%[4]s"
  tolerance: %[5]g
webhook: %[6]s
`, ids["staging"], ids["prod"], row, wantText, tolerance, hookSrv.URL)
	specFile := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := ts.mustCLI(t, ci.id, ci.secret, "pipeline", "apply", "-f", specFile); !strings.Contains(out, "Applied pipeline acme--churn") {
		t.Fatalf("pipeline apply: %s", out)
	}

	status := func() manage.PipelineStatus {
		t.Helper()
		var st manage.PipelineStatus
		if err := json.Unmarshal([]byte(ts.mustCLI(t, ci.id, ci.secret, "pipeline", "status", "acme--churn", "-o", "json")), &st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	// waitRun polls the pipeline's status for the run of version until
	// it is in state (or a later, final one: failing fast).
	waitRun := func(version int, state promotion.State) manage.RunStatus {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			for _, r := range status().Runs {
				if r.Version != version {
					continue
				}
				if r.State == state {
					return r
				}
				if r.State == promotion.Failed || r.State == promotion.Succeeded {
					t.Fatalf("run of v%d ended %s (%s), want %s", version, r.State, r.Reason, state)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("run of v%d not %s within 3 minutes: %+v", version, state, status().Runs)
			}
			<-tick.C
		}
	}
	invoke := func(acct, endpoint string) int {
		t.Helper()
		r := mustSend(t, ts, roots[acct], invokeRequest(endpoint, "", m.rows))
		return m.which(r.body)
	}

	// v1 approved: staging deployed and smoke-tested, then production
	// on approval.
	smRoot(t, ts, "UpdateModelPackage", map[string]any{"ModelPackageArn": pkgs[0], "ModelApprovalStatus": "Approved"}, nil)
	run1 := waitRun(1, promotion.AwaitingApproval)
	if run1.PackageARN != pkgs[0] {
		t.Errorf("run 1's package %s, want %s", run1.PackageARN, pkgs[0])
	}
	if got := invoke("staging", "acme--churn-staging"); got != 1 {
		t.Fatalf("staging serves model %d, want 1", got)
	}
	if out := ts.mustCLI(t, ci.id, ci.secret, "pipeline", "approve", "acme--churn", "--run", run1.ID); !strings.Contains(out, "Approved run "+run1.ID) {
		t.Fatalf("pipeline approve: %s", out)
	}
	run1 = waitRun(1, promotion.Succeeded)
	if want := "arn:aws:iam::" + ids["dev"] + ":user/acme.ci"; run1.ApprovedBy != want {
		t.Errorf("approved by %q, want %q", run1.ApprovedBy, want)
	}
	if got := invoke("prod", "acme--churn"); got != 1 {
		t.Fatalf("production serves model %d, want 1", got)
	}

	// v2 approved: its model fails the smoke test; production keeps v1.
	smRoot(t, ts, "UpdateModelPackage", map[string]any{"ModelPackageArn": pkgs[1], "ModelApprovalStatus": "Approved"}, nil)
	deadline := time.Now().Add(3 * time.Minute)
	var run2 manage.RunStatus
	for run2.State != promotion.Failed {
		for _, r := range status().Runs {
			if r.Version == 2 {
				run2 = r
			}
		}
		if run2.State == promotion.Succeeded || run2.State == promotion.AwaitingApproval || time.Now().After(deadline) {
			t.Fatalf("run of v2: %+v, want Failed", run2)
		}
		<-tick.C
	}
	if !strings.HasPrefix(run2.Reason, "SmokeTesting: ") || !strings.Contains(run2.Reason, "differs from the expected") {
		t.Errorf("run 2's reason %q, want the smoke test's mismatch", run2.Reason)
	}
	table := ts.mustCLI(t, ci.id, ci.secret, "pipeline", "status", "acme--churn")
	found := false
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[0] == run2.ID {
			found = f[1] == "2" && f[2] == "Failed" && strings.Join(f[3:], " ") == strings.Join(strings.Fields(run2.Reason), " ")
		}
	}
	if !found {
		t.Errorf("pipeline status table has no Failed run %s with its reason:\n%s", run2.ID, table)
	}
	if got := invoke("staging", "acme--churn-staging"); got != 2 {
		t.Errorf("staging serves model %d, want 2 (the failed candidate)", got)
	}
	if got := invoke("prod", "acme--churn"); got != 1 {
		t.Fatalf("production serves model %d after the failed run, want 1", got)
	}

	// v3 approved: its model passes the smoke test in staging, but fails
	// every other request. Production's deploymentConfig is a canary
	// with the error-rate alarm acme--churn-errors (Invocation5XXErrors
	// Average > 0.1 over 10 s, put by prod's root in prod: alarms are
	// their account's): it breaches during the canary, and every request
	// goes back to v1, while four clients invoke production throughout.
	alarmArgs := map[string]any{"AlarmName": "acme--churn-errors", "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors", "Statistic": "Average",
		"Period": 10, "EvaluationPeriods": 1, "Threshold": 0.1, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
		"Dimensions": []map[string]any{{"Name": "EndpointName", "Value": "acme--churn"}}, "Tags": []map[string]any{{"Key": "TenantID", "Value": "acme"}}}
	prodSteps := func(steps ...bgStep) []bgResult {
		t.Helper()
		in, _ := json.Marshal(steps)
		raw := runBoto3(t, blueGreenScript, ts.URL, roots["prod"].keyID, roots["prod"].secret, string(in))
		var out []bgResult
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%v in %s", err, raw)
		}
		return out
	}
	if put := prodSteps(bgStep{"cloudwatch.put_metric_alarm", alarmArgs}); put[0].Code != "" {
		t.Fatalf("put_metric_alarm in prod: %+v", put[0])
	}
	var (
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		rolled    atomic.Bool // set once the run failed: every request is v1's
		counts    [4]atomic.Int64
		lateWrong atomic.Int64
		mu        sync.Mutex
		drops     []string
		answered  = newLoadCounter()
	)
	for range 4 {
		repeat(&wg, stop, 2*time.Millisecond, func() {
			after := rolled.Load()
			r, err := trySend(t, ts, roots["prod"], invokeRequest("acme--churn", "", m.rows))
			o := dropped
			switch {
			case err != nil:
			case r.status == http.StatusOK && m.which(r.body) == 1:
				o = byOld
			case r.status == 424 && strings.Contains(string(r.body), "canary failure") && strings.Contains(string(r.body), "500"):
				o = canaryError
			}
			counts[o].Add(1)
			if o == dropped {
				mu.Lock()
				drops = append(drops, fmt.Sprintf("%d %s %s", r.status, r.body, errString(err)))
				mu.Unlock()
			}
			if after && o != byOld {
				lateWrong.Add(1)
			}
			answered.add()
		})
	}
	var once sync.Once
	stopLoad := func() {
		once.Do(func() {
			close(stop)
			answered.cond.Broadcast()
			wg.Wait()
		})
	}
	defer stopLoad()
	if !answered.waitFor(40, stop) {
		t.Fatal("no load on production")
	}
	smRoot(t, ts, "UpdateModelPackage", map[string]any{"ModelPackageArn": pkgs[2], "ModelApprovalStatus": "Approved"}, nil)
	run3 := waitRun(3, promotion.AwaitingApproval)
	if r := mustSend(t, ts, roots["staging"], invokeRequest("acme--churn-staging", "text/csv", []byte(row))); strings.TrimSpace(string(r.body)) != wantText {
		t.Errorf("staging answers the smoke payload %q, want %q", r.body, wantText)
	}
	if out := ts.mustCLI(t, ci.id, ci.secret, "pipeline", "approve", "acme--churn", "--run", run3.ID); !strings.Contains(out, "Approved run "+run3.ID) {
		t.Fatalf("pipeline approve: %s", out)
	}
	deadline = time.Now().Add(3 * time.Minute)
	for run3.State != promotion.Failed {
		for _, r := range status().Runs {
			if r.ID == run3.ID {
				run3 = r
			}
		}
		if run3.State == promotion.Succeeded || time.Now().After(deadline) {
			t.Fatalf("run of v3: %+v, want Failed (rolled back)", run3)
		}
		<-tick.C
	}
	rolled.Store(true)
	if !strings.HasPrefix(run3.Reason, "DeployingProduction: ") || !strings.Contains(run3.Reason, "rolled back") ||
		!strings.Contains(run3.Reason, "Alarm acme--churn-errors went into ALARM") {
		t.Errorf("run 3's reason %q, want production's rollback by acme--churn-errors", run3.Reason)
	}
	canaryErrors := counts[canaryError].Load()
	if at := answered.count(); !answered.waitFor(at+40, stop) {
		t.Fatal("the load on production stopped")
	}
	stopLoad()
	mu.Lock()
	for i, dr := range drops {
		if i < 5 {
			t.Errorf("dropped request: %s", dr)
		}
	}
	mu.Unlock()
	if n := counts[dropped].Load(); n > 0 {
		t.Errorf("%d production requests failed for another reason than v3's own errors", n)
	}
	if canaryErrors == 0 {
		t.Error("v3's canary answered no request: the alarm had nothing to breach on")
	}
	if n := lateWrong.Load(); n > 0 {
		t.Errorf("%d production requests sent after the rollback were not answered by v1", n)
	}
	t.Logf("production answers during v3's canary: v1 %d, v3's model errors %d, dropped %d", counts[byOld].Load(), counts[canaryError].Load(), counts[dropped].Load())
	table = ts.mustCLI(t, ci.id, ci.secret, "pipeline", "status", "acme--churn")
	found = false
	for _, line := range strings.Split(table, "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[0] == run3.ID {
			found = f[1] == "3" && f[2] == "Failed" && strings.Join(f[3:], " ") == strings.Join(strings.Fields(run3.Reason), " ")
		}
	}
	if !found {
		t.Errorf("pipeline status table has no Failed run %s with its reason:\n%s", run3.ID, table)
	}
	if got := invoke("prod", "acme--churn"); got != 1 {
		t.Fatalf("production serves model %d after the rollback, want 1", got)
	}
	after := prodSteps(bgStep{"sagemaker.describe_endpoint", map[string]any{"EndpointName": "acme--churn"}},
		bgStep{"cloudwatch.describe_alarms", map[string]any{"AlarmNames": []string{"acme--churn-errors"}}})
	if ep := after[0].OK; ep["EndpointStatus"] != "InService" || ep["EndpointConfigName"] != deploy.ResourceName("acme--churn", &promotion.Run{ID: run1.ID, Version: 1}) || !strings.Contains(fmt.Sprint(ep["FailureReason"]), "rolled back") {
		t.Errorf("production endpoint after the rollback: %v", ep)
	}
	if a, _ := after[1].OK["MetricAlarms"].([]any); len(a) != 1 || a[0].(map[string]any)["StateValue"] != "ALARM" ||
		a[0].(map[string]any)["AlarmArn"] != "arn:aws:cloudwatch:us-east-1:"+ids["prod"]+":alarm:acme--churn-errors" {
		t.Errorf("prod's alarm after the rollback: %v", after[1])
	}

	// The audit log: the runner's calls are made as the deployment
	// roles' sessions in their accounts, and every step is a service
	// event of acme.
	calls, steps := map[string]bool{}, map[string]bool{}
	for _, ev := range allEvents(t, ts) {
		if ev.EventSource == "sagemaker.amazonaws.com" && ev.ErrorCode == "" {
			calls[ev.EventName+" "+ev.UserIdentity.ARN] = true
		}
		if ev.EventType == audit.TypeServiceEvent && ev.EventSource == "tenantml.amazonaws.com" && ev.TenantID == "acme" {
			d := ev.AdditionalEventData
			steps[ev.EventName+" "+d["run"]+" "+d["state"]+" "+d["approvedBy"]+" "+d["reason"]] = true
		}
	}
	for _, c := range []struct{ acct, run string }{{"staging", run1.ID}, {"prod", run1.ID}, {"staging", run2.ID}} {
		session := "arn:aws:sts::" + ids[c.acct] + ":assumed-role/acme.deploy/tenantml-pipeline-" + c.run
		for _, op := range []string{"CreateModel", "CreateEndpointConfig"} {
			if !calls[op+" "+session] {
				t.Errorf("no audited %s as %s", op, session)
			}
		}
	}
	for _, want := range []string{
		"PipelineRunStarted " + run1.ID + " DeployingStaging  ",
		"PipelineStagingDeployed " + run1.ID + " SmokeTesting  ",
		"PipelineSmokeTestPassed " + run1.ID + " AwaitingApproval  ",
		"PipelineApproved " + run1.ID + " DeployingProduction arn:aws:iam::" + ids["dev"] + ":user/acme.ci ",
		"PipelineProductionDeployed " + run1.ID + " Succeeded  ",
		"PipelineStagingDeployed " + run2.ID + " SmokeTesting  ",
		"PipelineRunFailed " + run2.ID + " Failed  " + run2.Reason,
		"PipelineApproved " + run3.ID + " DeployingProduction arn:aws:iam::" + ids["dev"] + ":user/acme.ci ",
		"PipelineProductionRolledBack " + run3.ID + " Failed  " + run3.Reason,
	} {
		if !steps[want] {
			t.Errorf("no audit event %q", want)
		}
	}

	// Another account's package is decided across accounts and behind
	// the tenant boundary: a principal of globex in staging, even named
	// by the group's resource policy, is answered for acme's package
	// exactly as for a missing one.
	createTenant(t, ts, "globex", "silo")
	mustSend(t, ts, roots["staging"], queryRequest("iam", "CreateUser", pairs("UserName", "globex.ml", "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "globex")))
	mustSend(t, ts, roots["staging"], queryRequest("iam", "PutUserPolicy", pairs("UserName", "globex.ml", "PolicyName", "all",
		"PolicyDocument", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:*","iam:PassRole"],"Resource":"*"}]}`)))
	mustSend(t, ts, roots["staging"], queryRequest("iam", "CreateRole", pairs("RoleName", "globex.model-exec",
		"AssumeRolePolicyDocument", pipelinePolicy("exec-trust", ids, ""), "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "globex")))
	sk := createAccessKey(t, ts.URL, cliKey{id: roots["staging"].keyID, secret: roots["staging"].secret}, "globex.ml")
	globex := &principal{kind: "globex-staging", tenant: "globex", keyID: sk.id, secret: sk.secret}
	smRoot(t, ts, "PutModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": "acme--churn",
		"ResourcePolicy": strings.Replace(pipelinePolicy("group-policy", ids, ""), `"arn:aws:iam::`+ids["staging"]+`:role/acme.deploy",`,
			`"arn:aws:iam::`+ids["staging"]+`:role/acme.deploy","arn:aws:iam::`+ids["staging"]+`:user/globex.ml",`, 1)}, nil)
	createFrom := func(pkg string) reply {
		return send(t, ts, globex, sagemakerRequest("CreateModel", map[string]any{"ModelName": "globex--stolen",
			"ExecutionRoleArn": "arn:aws:iam::" + ids["staging"] + ":role/globex.model-exec", "PrimaryContainer": map[string]any{"ModelPackageName": pkg}}))
	}
	theirs, missing := createFrom(pkgs[0]), createFrom(strings.TrimSuffix(pkgs[0], "/1")+"/99")
	if theirs.status != missing.status || errorCode(theirs.body) != errorCode(missing.body) || errorCode(theirs.body) != "AccessDeniedException" || !strings.Contains(string(theirs.body), "sagemaker:DescribeModelPackage") ||
		strings.Replace(string(theirs.body), "acme--churn/1", "acme--churn/99", 1) != string(missing.body) {
		t.Errorf("CreateModel from acme's package as globex: %d %s; from a missing one: %d %s", theirs.status, theirs.body, missing.status, missing.body)
	}

	// The webhook received EventBridge events.
	endpointARN := func(acct, name string) string {
		return "arn:aws:sagemaker:us-east-1:" + ids[acct] + ":endpoint/" + name
	}
	for _, c := range []struct {
		what, run, detailType, account, resource string
		detail                                   map[string]any
	}{
		{"v1 approved", run1.ID, promotion.DetailPackageStateChange, ids["dev"], pkgs[0], map[string]any{"ModelApprovalStatus": "Approved", "ModelPackageVersion": 1.0}},
		{"v1 in staging", run1.ID, promotion.DetailEndpointDeployChange, ids["staging"], endpointARN("staging", "acme--churn-staging"),
			map[string]any{"State": "DEPLOYMENT_COMPLETED", "Stage": "staging", "EndpointName": "acme--churn-staging"}},
		{"v1 production approval", run1.ID, promotion.DetailPackageStateChange, ids["dev"], pkgs[0],
			map[string]any{"PipelineApproval": "Production", "ApprovedBy": "arn:aws:iam::" + ids["dev"] + ":user/acme.ci"}},
		{"v1 in production", run1.ID, promotion.DetailEndpointDeployChange, ids["prod"], endpointARN("prod", "acme--churn"),
			map[string]any{"State": "DEPLOYMENT_COMPLETED", "Stage": "production", "PipelineState": "Succeeded", "ModelPackageArn": pkgs[0]}},
		{"v2 failed", run2.ID, promotion.DetailEndpointDeployChange, ids["staging"], endpointARN("staging", "acme--churn-staging"),
			map[string]any{"State": "DEPLOYMENT_FAILED", "Stage": "staging", "PipelineState": "Failed", "Reason": run2.Reason, "ModelPackageVersion": 2.0}},
		{"v3 rolled back", run3.ID, promotion.DetailEndpointDeployChange, ids["prod"], endpointARN("prod", "acme--churn"),
			map[string]any{"State": "ROLLBACK_COMPLETED", "Stage": "production", "PipelineState": "Failed", "Reason": run3.Reason, "ModelPackageVersion": 3.0}},
	} {
		ev := hooks.wait(t, c.what, func(ev promotion.EventBridgeEvent) bool {
			if ev.Detail["PipelineRunId"] != c.run || ev.DetailType != c.detailType {
				return false
			}
			for k, v := range c.detail {
				if ev.Detail[k] != v {
					return false
				}
			}
			return true
		})
		if ev.Source != "aws.sagemaker" || ev.Version != "0" || ev.ID == "" || ev.Account != c.account || ev.Region != "us-east-1" ||
			len(ev.Resources) != 1 || ev.Resources[0] != c.resource || ev.Detail["PipelineName"] != "acme--churn" || ev.Detail["ModelPackageGroupName"] != "acme--churn" {
			t.Errorf("webhook event %s: %+v", c.what, ev)
		}
		if _, err := time.Parse(time.RFC3339, ev.Time); err != nil {
			t.Errorf("webhook event %s: time %q", c.what, ev.Time)
		}
	}
}

// TestPromotionDoc_Policies checks that docs/promotion.md quotes every
// policy the end-to-end test uses, verbatim (as compact JSON).
func TestPromotionDoc_Policies(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "promotion.md"))
	if err != nil {
		t.Fatal(err)
	}
	quoted := map[string]bool{}
	for _, b := range regexp.MustCompile("(?s)```json\n(.*?)```").FindAllSubmatch(doc, -1) {
		var buf bytes.Buffer
		if json.Compact(&buf, b[1]) == nil {
			quoted[buf.String()] = true
		}
	}
	for name, p := range pipelinePolicies {
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(p)); err != nil {
			t.Fatalf("policy %s: %v", name, err)
		}
		if !quoted[buf.String()] {
			t.Errorf("docs/promotion.md does not quote the policy %s:\n%s", name, p)
		}
	}
}
