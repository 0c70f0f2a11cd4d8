package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/serving"
)

// failingImage writes the data directory's images.json registering
// "failing-500": serving/testdata/misbehave's server answering every
// invocation 500 "canary failure" (MISBEHAVE_INVOCATIONS_STATUS), a model
// that fails on all traffic.
func failingImage(t *testing.T, dataDir string) {
	t.Helper()
	misbehaveEnvImages(t, dataDir, map[string]map[string]string{"failing-500": {"MISBEHAVE_INVOCATIONS_STATUS": "500"}})
}

// misbehaveEnvImages writes the data directory's images.json registering
// serving/testdata/misbehave's server under each name, with that name's
// environment.
func misbehaveEnvImages(t *testing.T, dataDir string, envs map[string]map[string]string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "serving", "testdata", "misbehave", "server.py"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.MkdirTemp("", "tenantml-failing-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	script := filepath.Join(pub, "server.py")
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	registered := map[string]any{}
	for name, env := range envs {
		registered[name] = map[string]any{"Command": []string{"/usr/bin/python3", script}, "Env": env}
	}
	images, _ := json.Marshal(registered)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, imagesFile), images, 0o600); err != nil {
		t.Fatal(err)
	}
}

// blueGreenScript drives the alarm API and UpdateEndpoint with boto3:
// argv[4] is a JSON list of steps, each {"op": ..., "args": {...}}; it
// prints each step's result, or its error code and message.
const blueGreenScript = `
import json, sys, boto3, botocore
endpoint, key, secret, steps = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
cfg = botocore.config.Config(retries={"max_attempts": 1})
def client(svc):
    return boto3.client(svc, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)
clients = {"sagemaker": client("sagemaker"), "cloudwatch": client("cloudwatch")}
out = []
for s in steps:
    svc, op = s["op"].split(".")
    try:
        r = getattr(clients[svc], op)(**s["args"])
        r.pop("ResponseMetadata", None)
        out.append({"ok": json.loads(json.dumps(r, default=str))})
    except botocore.exceptions.ClientError as e:
        out.append({"code": e.response["Error"]["Code"], "message": e.response["Error"].get("Message", ""),
                    "status": e.response["ResponseMetadata"]["HTTPStatusCode"]})
print(json.dumps(out))
`

// bgStep is one call of blueGreenScript.
type bgStep struct {
	Op   string         `json:"op"`
	Args map[string]any `json:"args"`
}

// bgResult is one call's result.
type bgResult struct {
	OK      map[string]any `json:"ok"`
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Status  int            `json:"status"`
}

func runSteps(t *testing.T, ts *testServer, steps ...bgStep) []bgResult {
	t.Helper()
	in, _ := json.Marshal(steps)
	raw := runBoto3(t, blueGreenScript, ts.URL, rootKeyID, rootSecret, string(in))
	var out []bgResult
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return out
}

// canaryConfig is a DeploymentConfig: 25% of requests to the new fleet
// for wait seconds, then all of them for wait seconds, the old fleet kept
// termination seconds more; rolled back by alarm.
func canaryConfig(wait, termination int, alarm string) map[string]any {
	return map[string]any{
		"BlueGreenUpdatePolicy": map[string]any{
			"TrafficRoutingConfiguration": map[string]any{"Type": "CANARY", "WaitIntervalInSeconds": wait,
				"CanarySize": map[string]any{"Type": "CAPACITY_PERCENT", "Value": 25}},
			"TerminationWaitInSeconds": termination, "MaximumExecutionTimeoutInSeconds": 600},
		"AutoRollbackConfiguration": map[string]any{"Alarms": []map[string]any{{"AlarmName": alarm}}},
	}
}

// outcome classifies one answer of the load: the old model's, the new
// good model's, the failing canary's intended model error, or a dropped
// request (anything else).
type outcome int

const (
	byOld outcome = iota
	byNew
	canaryError
	dropped
)

// TestServe_BlueGreenCanary updates a silo endpoint with boto3's
// update_endpoint and a CANARY DeploymentConfig while clients invoke it
// without pause. First to a model whose worker answers every request 500:
// the error-rate alarm (Invocation5XXErrors Average > 0.1, put with
// boto3's put_metric_alarm) breaches during the canary, every request
// goes back to the old fleet, DescribeEndpoint shows the endpoint
// InService on the old config with the rollback as FailureReason, and the
// rollback is a service event of the audit log. Then to a good model: the
// canary passes, every request moves to the new fleet, and the old fleet
// stops only TerminationWaitInSeconds after that. Every request of the
// load is answered, by the old fleet or the new one: the only failures
// are the failing model's own 500s (ModelError), none is caused by
// shifting traffic.
func TestServe_BlueGreenCanary(t *testing.T) {
	t.Parallel()
	m := models(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	failingImage(t, dataDir)
	ts := startServerAt(t, dataDir, servingEnv(t), time.Now)
	createTenant(t, ts, "acme", "silo")
	// Above the basic tier's rate: this test is about shifting traffic,
	// not quotas.
	mustSend(t, ts, rootPrincipal(), manageRequest(http.MethodPut, "/api/v1/tenants/acme/quotas", []byte(`{"invocationsPerSecond":100000,"invocationBurst":100000}`)))
	res := deployModel(t, ts, "acme", m.model(t, 0))
	var first struct{ EndpointConfigName string }
	if err := json.Unmarshal(mustSend(t, ts, rootPrincipal(), sagemakerRequest("DescribeEndpoint", map[string]any{"EndpointName": "acme"})).body, &first); err != nil {
		t.Fatal(err)
	}
	session := sessionPrincipal("acme", brokerSession(t, ts, res.InvokeRole, "acme"))

	role := "arn:aws:iam::" + ts.cfg.AccountID + ":role/acme-exec"
	tagged := []map[string]string{{"Key": "TenantID", "Value": "acme"}}
	putObject(t, ts, "tenantml-models", "acme/model-v2.tar.gz", "acme", m.model(t, 1))
	for _, c := range []struct{ name, image, url, variant string }{
		{"acme--bad", "failing-500", "s3://tenantml-models/acme/model-v2.tar.gz", "Canary"},
		{"acme--v2", "tenantml/xgboost", "s3://tenantml-models/acme/model-v2.tar.gz", "Green"},
	} {
		smRoot(t, ts, "CreateModel", map[string]any{"ModelName": c.name, "ExecutionRoleArn": role, "Tags": tagged,
			"PrimaryContainer": map[string]any{"Image": c.image, "ModelDataUrl": c.url}}, nil)
		smRoot(t, ts, "CreateEndpointConfig", map[string]any{"EndpointConfigName": c.name, "Tags": tagged,
			"ProductionVariants": []map[string]any{{"VariantName": c.variant, "ModelName": c.name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}}, nil)
	}
	alarmArgs := map[string]any{"AlarmName": "acme--errors", "Namespace": "AWS/SageMaker", "MetricName": "Invocation5XXErrors", "Statistic": "Average",
		"Period": 10, "EvaluationPeriods": 1, "Threshold": 0.1, "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
		"Dimensions": []map[string]any{{"Name": "EndpointName", "Value": "acme"}}, "Tags": []map[string]any{{"Key": "TenantID", "Value": "acme"}}}
	badAlarm := map[string]any{}
	for k, v := range alarmArgs {
		badAlarm[k] = v
	}
	badAlarm["Namespace"] = "AWS/EC2"
	badCanary := canaryConfig(60, 0, "acme--errors")
	badCanary["BlueGreenUpdatePolicy"].(map[string]any)["TrafficRoutingConfiguration"].(map[string]any)["CanarySize"] = map[string]any{"Type": "CAPACITY_PERCENT", "Value": 75}
	setup := runSteps(t, ts,
		bgStep{"cloudwatch.put_metric_alarm", alarmArgs},
		bgStep{"cloudwatch.put_metric_alarm", badAlarm},
		bgStep{"sagemaker.update_endpoint", map[string]any{"EndpointName": "acme", "EndpointConfigName": "acme--bad", "DeploymentConfig": badCanary}},
		bgStep{"sagemaker.update_endpoint", map[string]any{"EndpointName": "acme", "EndpointConfigName": "acme--bad", "DeploymentConfig": canaryConfig(60, 0, "acme--nope")}},
		bgStep{"cloudwatch.describe_alarms", map[string]any{"AlarmNames": []string{"acme--errors"}}},
	)
	if setup[0].Code != "" {
		t.Fatalf("put_metric_alarm: %+v", setup[0])
	}
	for i, want := range map[int]string{1: "ValidationError", 2: "ValidationException", 3: "ValidationException"} {
		if setup[i].Code != want || setup[i].Status != http.StatusBadRequest {
			t.Errorf("bad input %d answered %+v, want %s (400)", i, setup[i], want)
		}
	}
	if a := setup[4].OK["MetricAlarms"]; a == nil || len(a.([]any)) != 1 || a.([]any)[0].(map[string]any)["StateValue"] != "INSUFFICIENT_DATA" {
		t.Errorf("describe_alarms = %+v", setup[4])
	}

	// The load: four clients without pause, every answer classified.
	var (
		stop      = make(chan struct{})
		wg        sync.WaitGroup
		phase     atomic.Int32 // 1 once the rollback is visible, 3 during the second update, 2 once it completed
		counts    [4]atomic.Int64
		lateWrong atomic.Int64
		mu        sync.Mutex
		drops     []string
		answered  = newLoadCounter()
	)
	for range 4 {
		repeat(&wg, stop, 2*time.Millisecond, func() {
			at := phase.Load()
			r, err := trySend(t, ts, session, invokeRequest("acme", "", m.rows))
			o := dropped
			switch {
			case err != nil:
			case r.status == http.StatusOK && m.which(r.body) == 0:
				o = byOld
			case r.status == http.StatusOK && m.which(r.body) == 1:
				o = byNew
			case r.status == 424 && strings.Contains(string(r.body), "canary failure") && strings.Contains(string(r.body), "500"):
				o = canaryError
			}
			counts[o].Add(1)
			if o == dropped {
				mu.Lock()
				drops = append(drops, r.header.Get("X-Request-Id")+": "+string(r.body)+" "+errString(err))
				mu.Unlock()
			}
			if (at == 1 && o != byOld) || (at == 2 && o != byNew) {
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
		t.Fatal("no load")
	}

	// 1. The failing canary rolls back.
	watch := watchAudit(ts)
	upd := runSteps(t, ts, bgStep{"sagemaker.update_endpoint", map[string]any{"EndpointName": "acme", "EndpointConfigName": "acme--bad", "DeploymentConfig": canaryConfig(60, 0, "acme--errors")}})
	if upd[0].Code != "" {
		t.Fatalf("update_endpoint: %+v", upd[0])
	}
	var d struct {
		EndpointStatus, EndpointConfigName, FailureReason string
		PendingDeploymentSummary                          *struct{ EndpointConfigName string }
	}
	r := mustSend(t, ts, rootPrincipal(), sagemakerRequest("DescribeEndpoint", map[string]any{"EndpointName": "acme"}))
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	if d.EndpointStatus != "Updating" || d.PendingDeploymentSummary == nil || d.PendingDeploymentSummary.EndpointConfigName != "acme--bad" {
		t.Errorf("after update_endpoint: %s", r.body)
	}
	watch.wait(t, "the rollback", func(ev audit.Event) bool { return service(ev, serving.EventUpdateRolledBack, "acme") })
	waitEndpoint(t, ts, "acme")
	phase.Store(1)
	after := runSteps(t, ts,
		bgStep{"sagemaker.describe_endpoint", map[string]any{"EndpointName": "acme"}},
		bgStep{"cloudwatch.describe_alarms", map[string]any{"AlarmNames": []string{"acme--errors"}}})
	ep := after[0].OK
	reason, _ := ep["FailureReason"].(string)
	if ep["EndpointStatus"] != "InService" || ep["EndpointConfigName"] != first.EndpointConfigName || !strings.Contains(reason, "rolled back") || !strings.Contains(reason, "acme--errors") {
		t.Errorf("describe_endpoint after the rollback: %v", ep)
	}
	if last, _ := ep["LastDeploymentConfig"].(map[string]any); last == nil || last["BlueGreenUpdatePolicy"] == nil {
		t.Errorf("LastDeploymentConfig = %v", ep["LastDeploymentConfig"])
	}
	if a := after[1].OK["MetricAlarms"].([]any); len(a) != 1 || a[0].(map[string]any)["StateValue"] != "ALARM" {
		t.Errorf("alarm after the rollback: %v", a)
	}
	canaryErrors := counts[canaryError].Load()
	at := answered.count()
	if !answered.waitFor(at+40, stop) {
		t.Fatal("the load stopped")
	}

	// 2. A good model's canary passes; the old fleet stops
	// TerminationWaitInSeconds after the new one took every request.
	phase.Store(3)
	upd = runSteps(t, ts, bgStep{"sagemaker.update_endpoint", map[string]any{"EndpointName": "acme", "EndpointConfigName": "acme--v2", "DeploymentConfig": canaryConfig(11, 3, "acme--errors")}})
	if upd[0].Code != "" {
		t.Fatalf("update_endpoint: %+v", upd[0])
	}
	watch.wait(t, "the completion", func(ev audit.Event) bool { return service(ev, serving.EventUpdateCompleted, "acme") })
	waitEndpoint(t, ts, "acme")
	phase.Store(2)
	at = answered.count()
	if !answered.waitFor(at+40, stop) {
		t.Fatal("the load stopped")
	}
	stopLoad()
	final := runSteps(t, ts, bgStep{"sagemaker.describe_endpoint", map[string]any{"EndpointName": "acme"}},
		bgStep{"cloudwatch.describe_alarms", map[string]any{"AlarmNames": []string{"acme--errors"}}})
	if ep := final[0].OK; ep["EndpointStatus"] != "InService" || ep["EndpointConfigName"] != "acme--v2" || ep["FailureReason"] != nil {
		t.Errorf("describe_endpoint after the second update: %v", ep)
	}
	if a := final[1].OK["MetricAlarms"].([]any); a[0].(map[string]any)["StateValue"] != "OK" {
		t.Errorf("alarm after the passing canary: %v", a[0])
	}

	// The audit log: the shifts, the old fleet's stop after the
	// termination wait.
	var full, oldStopped time.Time
	for _, ev := range allEvents(t, ts) {
		switch {
		case service(ev, serving.EventTrafficShifted, "acme") && strings.Contains(ev.AdditionalEventData["reason"], "100%"):
			full = ev.EventTime
		case service(ev, serving.EventWorkerStopped, "acme") && ev.AdditionalEventData["variant"] == "AllTraffic" && oldStopped.IsZero():
			oldStopped = ev.EventTime
		}
	}
	if full.IsZero() || oldStopped.IsZero() || oldStopped.Sub(full) < 3*time.Second {
		t.Errorf("all traffic on the new fleet at %v, old fleet stopped at %v: want TerminationWaitInSeconds (3 s) between", full, oldStopped)
	}

	mu.Lock()
	for i, dr := range drops {
		if i < 5 {
			t.Errorf("dropped request: %s", dr)
		}
	}
	mu.Unlock()
	if n := counts[dropped].Load(); n > 0 {
		t.Errorf("%d requests failed for another reason than the failing model's own errors", n)
	}
	if canaryErrors == 0 {
		t.Error("the failing canary answered no request: the alarm had nothing to breach on")
	}
	if n := lateWrong.Load(); n > 0 {
		t.Errorf("%d requests sent after an update ended went to the wrong fleet", n)
	}
	t.Logf("answers: old fleet %d, new fleet %d, failing canary's model errors %d, dropped %d",
		counts[byOld].Load(), counts[byNew].Load(), counts[canaryError].Load(), counts[dropped].Load())
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
