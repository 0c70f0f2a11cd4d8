package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/serving/onboard"
)

// oipCaller signs Open Inference Protocol requests (SigV4, service
// sagemaker) with one set of credentials.
type oipCaller struct {
	ts    *testServer
	creds aws.Credentials
}

func sessionCaller(ts *testServer, c *ststypes.Credentials) oipCaller {
	return oipCaller{ts: ts, creds: aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)}}
}

// oipReply is one answer.
type oipReply struct {
	status    int
	body      []byte
	requestID string
}

func (c oipCaller) do(t *testing.T, method, path string, body []byte) oipReply {
	t.Helper()
	req, err := http.NewRequest(method, c.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), c.creds, req, hex.EncodeToString(sum[:]), "sagemaker", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return oipReply{status: resp.StatusCode, body: b, requestID: resp.Header.Get("X-Request-Id")}
}

// rowsTensor is examples/models/rows.csv as an inference request: one FP32
// tensor [rows, features], an empty field a null (missing) value.
func rowsTensor(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "models", "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	var data [][]*float64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row []*float64
		for _, f := range strings.Split(line, ",") {
			if f == "" {
				row = append(row, nil)
				continue
			}
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, &v)
		}
		data = append(data, row)
	}
	req, err := json.Marshal(map[string]any{"id": "rows", "inputs": []map[string]any{{
		"name": "input-0", "datatype": "FP32", "shape": []int{len(data), len(data[0])}, "data": data}}})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// sameOutput checks an inference response against xgboost's predictions.
func sameOutput(t *testing.T, body []byte, model string, want []float64) {
	t.Helper()
	var resp struct {
		ModelName string `json:"model_name"`
		ID        string `json:"id"`
		Outputs   []struct {
			Name, Datatype string
			Shape          []int
			Data           []float64
		} `json:"outputs"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if resp.ModelName != model || resp.ID != "rows" || len(resp.Outputs) != 1 {
		t.Fatalf("response %s", body)
	}
	out := resp.Outputs[0]
	if out.Name != "output-0" || out.Datatype != "FP32" || len(out.Shape) != 2 || out.Shape[0] != len(want) || out.Shape[1] != 1 || len(out.Data) != len(want) {
		t.Fatalf("output %s", body)
	}
	for i := range want {
		if math.Abs(out.Data[i]-want[i]) > 1e-5*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("score %d = %v, want %v (xgboost)", i, out.Data[i], want[i])
		}
	}
}

// auditEvents reads the whole audit log as the operator, by request ID.
func auditEvents(t *testing.T, ts *testServer) map[string][]audit.Event {
	t.Helper()
	out := map[string][]audit.Event{}
	f := audit.Filter{AllTenants: true, OldestFirst: true, Limit: 1000}
	for {
		page, err := ts.audit.Lookup(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			out[ev.RequestID] = append(out[ev.RequestID], ev)
		}
		if page.Next == nil {
			return out
		}
		f.Cursor = page.Next
	}
}

// TestServe_OpenInferenceProtocol deploys the example XGBoost model for a
// silo, two pool and a bridge tenant, and drives the Open Inference
// Protocol through the real server and real workers with SigV4-signed
// requests of each tenant's session of its invoke role: predictions equal
// xgboost's, the invoke policies work verbatim, another tenant's model is
// refused (or, to a too-open policy, answered as a missing one) and every
// request is in the audit log; the operator loads and unloads a pool
// model through the repository extension; the invocation metrics appear
// without tenant labels.
func TestServe_OpenInferenceProtocol(t *testing.T) {
	ts := startServer(t, servingEnv(t))
	model := filepath.Join("..", "..", "examples", "models", "model.tar.gz")
	want := expected(t)
	results := map[string]onboard.Result{}
	for _, tn := range []struct{ id, iso string }{{"acme", "silo"}, {"globex", "pool"}, {"umbrella", "pool"}, {"initech", "bridge"}} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", tn.id, "--isolation", tn.iso)
		out := ts.mustCLI(t, rootKeyID, rootSecret, "model", "deploy", "--tenant", tn.id, model, "-o", "json")
		var res onboard.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v in %s", tn.id, err, out)
		}
		results[tn.id] = res
	}
	oipName := func(id string) string {
		if r := results[id]; r.TargetModel != "" {
			return r.Endpoint + "." + r.TargetModel
		}
		return results[id].Endpoint
	}
	callers := map[string]oipCaller{}
	for id, res := range results {
		callers[id] = sessionCaller(ts, brokerSession(t, ts, res.InvokeRole, id))
	}
	root := oipCaller{ts: ts, creds: aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}}
	rows := rowsTensor(t)

	for id := range results {
		t.Run("Infer/"+id, func(t *testing.T) {
			r := callers[id].do(t, "POST", "/v2/models/"+oipName(id)+"/infer", rows)
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			sameOutput(t, r.body, oipName(id), want)
		})
	}
	t.Run("DocumentedCurl", func(t *testing.T) {
		// docs/oip.md's signed curl command, as shown, with globex's
		// session in the environment.
		cmds := shellCommands(t, filepath.Join(repoRoot(t), "docs", "oip.md"), "## Signing requests")
		for i, c := range cmds {
			cmds[i] = strings.ReplaceAll(c, "http://127.0.0.1:8080", ts.URL)
		}
		creds := callers["globex"].creds
		out := runShell(t, t.TempDir(), shellEnv(t, "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
			"AWS_SESSION_TOKEN="+creds.SessionToken), cmds)
		if len(out) != 1 || out[0].code != 0 {
			t.Fatalf("%+v", out)
		}
		var resp struct {
			Outputs []struct{ Data []float64 } `json:"outputs"`
		}
		if err := json.Unmarshal([]byte(out[0].out), &resp); err != nil || len(resp.Outputs) != 1 || len(resp.Outputs[0].Data) != 1 ||
			math.Abs(resp.Outputs[0].Data[0]-want[0]) > 1e-5 {
			t.Fatalf("curl printed %q (%v)", out[0].out, err)
		}
	})
	t.Run("ModelError", func(t *testing.T) {
		// Three features for a model of four: the worker's 400, answered
		// as the model's error with its message.
		r := callers["globex"].do(t, "POST", "/v2/models/"+oipName("globex")+"/infer",
			[]byte(`{"inputs":[{"name":"input-0","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`))
		if r.status != http.StatusFailedDependency || !strings.Contains(string(r.body), "3 columns, want 4") {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("InferVersion", func(t *testing.T) {
		r := callers["acme"].do(t, "POST", "/v2/models/acme/versions/AllTraffic/infer", rows)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"model_version":"AllTraffic"`) {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	var denied []string
	for _, c := range []struct{ name, caller, model string }{
		{"SiloOtherEndpoint", "acme", "initech"},
		{"BridgeOtherEndpoint", "initech", "acme"},
		{"PoolOtherModel", "globex", "pool-endpoint.umbrella.tar.gz"},
		{"PoolNoTargetModel", "globex", "pool-endpoint"},
		{"SiloIntoPool", "acme", "pool-endpoint.globex.tar.gz"},
	} {
		t.Run("Denied/"+c.name, func(t *testing.T) {
			r := callers[c.caller].do(t, "POST", "/v2/models/"+c.model+"/infer", rows)
			if r.status != http.StatusForbidden || !strings.Contains(string(r.body), `"error"`) {
				t.Fatalf("%d %s", r.status, r.body)
			}
			denied = append(denied, r.requestID)
		})
	}
	t.Run("MetadataNeedsDescribeEndpoint", func(t *testing.T) {
		// Policy 2 grants inference only; the statement docs/oip.md
		// documents adds metadata and readiness of the tenant's own model.
		r := callers["globex"].do(t, "GET", "/v2/models/"+oipName("globex"), nil)
		if r.status != http.StatusForbidden {
			t.Fatalf("%d %s", r.status, r.body)
		}
		c := iamClient(ts, rootKeyID, rootSecret)
		doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:DescribeEndpoint","Resource":"*","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`
		if _, err := c.PutRolePolicy(context.Background(), &iam.PutRolePolicyInput{RoleName: aws.String("pool-invoke"), PolicyName: aws.String("oip-read"), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
		r = callers["globex"].do(t, "GET", "/v2/models/"+oipName("globex"), nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"versions":["AllTraffic"]`) {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := callers["globex"].do(t, "GET", "/v2/models/"+oipName("globex")+"/ready", nil); r.status != http.StatusOK {
			t.Fatalf("ready: %d %s", r.status, r.body)
		}
		if r := callers["globex"].do(t, "GET", "/v2/models/pool-endpoint.umbrella.tar.gz/ready", nil); r.status != http.StatusForbidden {
			t.Fatalf("another tenant's readiness: %d %s", r.status, r.body)
		}
	})
	var hidden, missing oipReply
	t.Run("TooOpenPolicyStillCannotReachAnotherTenant", func(t *testing.T) {
		// An operator's mistake: a pool role allowed everything. Umbrella's
		// model answers globex exactly as a model that does not exist.
		c := iamClient(ts, rootKeyID, rootSecret)
		ctx := context.Background()
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ts.cfg.AccountID + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
		out, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pool-open"), AssumeRolePolicyDocument: aws.String(trust)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pool-open"), PolicyName: aws.String("all"), PolicyDocument: aws.String(allowEverything)}); err != nil {
			t.Fatal(err)
		}
		open := sessionCaller(ts, brokerSession(t, ts, aws.ToString(out.Role.Arn), "globex"))
		for _, route := range []struct{ method, suffix string }{{"POST", "/infer"}, {"GET", ""}, {"GET", "/ready"}} {
			var body []byte
			if route.method == "POST" {
				body = rows
			}
			hidden = open.do(t, route.method, "/v2/models/pool-endpoint.umbrella.tar.gz"+route.suffix, body)
			missing = open.do(t, route.method, "/v2/models/pool-endpoint.nobody00.tar.gz"+route.suffix, body)
			if hidden.status != http.StatusNotFound || missing.status != hidden.status ||
				strings.ReplaceAll(string(hidden.body), "umbrella", "X") != strings.ReplaceAll(string(missing.body), "nobody00", "X") {
				t.Fatalf("%s%s: answers differ: %d %s / %d %s", route.method, route.suffix, hidden.status, hidden.body, missing.status, missing.body)
			}
		}
		if r := open.do(t, "POST", "/v2/models/"+oipName("globex")+"/infer", rows); r.status != http.StatusOK {
			t.Fatalf("own model: %d %s", r.status, r.body)
		}
		// The repository extension as the same session: umbrella's model
		// is missing, the index names only globex's.
		if r := open.do(t, "POST", "/v2/repository/models/pool-endpoint.umbrella.tar.gz/unload", nil); r.status != http.StatusNotFound {
			t.Fatalf("unload umbrella's: %d %s", r.status, r.body)
		}
		if r := open.do(t, "POST", "/v2/repository/index", []byte(`{}`)); r.status != http.StatusOK || strings.Contains(string(r.body), "umbrella") ||
			strings.Contains(string(r.body), "acme") || !strings.Contains(string(r.body), "globex") {
			t.Fatalf("globex's index: %d %s", r.status, r.body)
		}
	})
	t.Run("Repository", func(t *testing.T) {
		name := oipName("umbrella")
		if r := root.do(t, "POST", "/v2/repository/models/"+name+"/unload", nil); r.status != http.StatusOK {
			t.Fatalf("unload: %d %s", r.status, r.body)
		}
		if r := root.do(t, "GET", "/v2/models/"+name+"/ready", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), `"ready":false`) {
			t.Fatalf("ready after unload: %d %s", r.status, r.body)
		}
		if r := root.do(t, "POST", "/v2/repository/models/"+name+"/load", nil); r.status != http.StatusOK {
			t.Fatalf("load: %d %s", r.status, r.body)
		}
		if r := root.do(t, "GET", "/v2/models/"+name+"/ready", nil); r.status != http.StatusOK {
			t.Fatalf("ready after load: %d %s", r.status, r.body)
		}
		r := root.do(t, "POST", "/v2/repository/index", []byte(`{"ready": true}`))
		for _, n := range []string{`"acme"`, `"initech"`, `"` + name + `"`} {
			if r.status != http.StatusOK || !strings.Contains(string(r.body), n) {
				t.Fatalf("index lacks %s: %d %s", n, r.status, r.body)
			}
		}
		if r := root.do(t, "POST", "/v2/repository/models/acme/unload", nil); r.status != http.StatusBadRequest {
			t.Fatalf("unload of a single-model endpoint: %d %s", r.status, r.body)
		}
		if r := callers["globex"].do(t, "POST", "/v2/repository/models/"+oipName("globex")+"/load", nil); r.status != http.StatusForbidden {
			t.Fatalf("a tenant's invoke role loads: %d %s", r.status, r.body)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		events := auditEvents(t, ts)
		for _, id := range denied {
			caller, _ := splitEvents(events[id])
			if len(caller) != 1 || caller[0].EventName != "InvokeEndpoint" || caller[0].Decision.Effect == "Allowed" || caller[0].ErrorCode != "AccessDeniedException" {
				t.Errorf("denied request %s: events %+v", id, events[id])
			}
		}
		// The caller's trail reads as for a missing model; the operator's
		// event records the attempt.
		caller, operator := splitEvents(events[hidden.requestID])
		if len(caller) != 1 || caller[0].TenantID != "globex" || caller[0].CrossTenant || caller[0].ErrorCode != "ModelNotFound" ||
			len(operator) != 1 || operator[0].AdditionalEventData["callerTenantId"] != "globex" {
			t.Errorf("hidden request: caller %+v, operator %+v", caller, operator)
		}
		mc, mo := splitEvents(events[missing.requestID])
		if len(mc) != 1 || len(mo) != 0 {
			t.Errorf("missing request: caller %+v, operator %+v", mc, mo)
		}
	})
	t.Run("Metrics", func(t *testing.T) {
		resp, err := http.Get(ts.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := string(b)
		for _, want := range []string{`tenantml_invocations_total{mode="MultiModel"}`, `tenantml_invocations_total{mode="SingleModel"}`,
			`tenantml_model_latency_seconds_count{mode="MultiModel"}`, `tenantml_overhead_latency_seconds_count{mode="SingleModel"}`,
			`tenantml_invocation_errors_total{class="4xx",mode="MultiModel"}`} {
			if !strings.Contains(m, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
		for _, leak := range []string{"acme", "globex", "umbrella", "initech", "pool-endpoint"} {
			if strings.Contains(m, leak) {
				t.Errorf("metrics name %q", leak)
			}
		}
	})
	t.Run("Probes", func(t *testing.T) {
		for _, p := range []string{"/v2/health/live", "/v2/health/ready"} {
			resp, err := http.Get(ts.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", p, resp.StatusCode)
			}
		}
	})
}
