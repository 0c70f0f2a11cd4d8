package sagemaker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/sagemaker"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqlite"
)

// limits caps acme at 2 models and 1 endpoint; globex is unlimited.
type limits struct{}

func (limits) ResourceLimit(_ context.Context, tenant string, kind serving.ResourceKind) (int64, bool, error) {
	if tenant != "acme" {
		return 0, false, nil
	}
	if kind == serving.KindModel {
		return 2, true, nil
	}
	return 1, kind == serving.KindEndpoint, nil
}

// TestSurface_ResourceQuota: a tenant's model and endpoint counts are
// capped at creation with SageMaker's ResourceLimitExceeded (400); other
// tenants and platform resources are not, and a deletion frees room.
func TestSurface_ResourceQuota(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The execution role every model names (CreateModel checks it exists).
	if err := db.Identity().CreateRole(ctx, acct, &identity.Role{Name: "exec", AssumeRolePolicyDocument: trust}); err != nil {
		t.Fatal(err)
	}
	who := callers{"root": {Type: authn.Root, Account: acct, ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}}
	ctl := &serving.Controller{Store: db.Serving(), Deployer: &deployer{deployed: map[string]bool{}}, Checker: checker{}, Region: region, AccountID: acct, Quota: limits{}}
	t.Cleanup(ctl.Wait)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &api.Pipeline{Authn: who, Authz: &authz.Engine{AccountID: acct, Identity: db.Identity()}, Audit: nopAudit{}, Log: log, Now: time.Now}
	router := api.NewAWSRouter(p, &api.QueryProtocol{})
	(&sagemaker.Surface{Controller: ctl, Pipeline: p, Roles: roles{db.Identity()}}).Register(router)
	call := func(op string, in any) (int, map[string]any) {
		b, _ := json.Marshal(in)
		r := httptest.NewRequest("POST", "/", strings.NewReader(string(b)))
		r.Header.Set("X-Amz-Target", "SageMaker."+op)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		r.Header.Set("X-Test-Caller", "root")
		w := httptest.NewRecorder()
		router.ServeHTTP(w, r)
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	tags := func(tenant string) []map[string]string {
		if tenant == "" {
			return nil
		}
		return []map[string]string{{"Key": "TenantID", "Value": tenant}}
	}
	model := func(name, tenant string) map[string]any {
		return map[string]any{"ModelName": name, "ExecutionRoleArn": "arn:aws:iam::" + acct + ":role/exec", "Tags": tags(tenant),
			"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://models/" + name + "/model.tar.gz"}}
	}
	want := func(step string, status int, out map[string]any, wantStatus int, code string) {
		t.Helper()
		if status != wantStatus || (code != "" && out["__type"] != code) {
			t.Fatalf("%s: %d %v, want %d %s", step, status, out, wantStatus, code)
		}
	}
	for _, n := range []string{"a1", "a2"} {
		st, out := call("CreateModel", model(n, "acme"))
		want("acme model "+n, st, out, 200, "")
	}
	st, out := call("CreateModel", model("a3", "acme"))
	want("acme's third model", st, out, 400, "ResourceLimitExceeded")
	if msg, _ := out["message"].(string); !strings.Contains(msg, "is 2, with current utilization of 2") {
		t.Fatalf("message = %q", msg)
	}
	st, out = call("CreateModel", model("g1", "globex"))
	want("globex's model", st, out, 200, "")
	st, out = call("CreateModel", model("p1", ""))
	want("a platform model", st, out, 200, "")
	st, out = call("DeleteModel", map[string]any{"ModelName": "a2"})
	want("delete a2", st, out, 200, "")
	st, out = call("CreateModel", model("a3", "acme"))
	want("acme's model after a deletion", st, out, 200, "")

	st, out = call("CreateEndpointConfig", map[string]any{"EndpointConfigName": "acfg", "Tags": tags("acme"),
		"ProductionVariants": []map[string]any{{"VariantName": "v", "ModelName": "a1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}})
	want("acme config", st, out, 200, "")
	st, out = call("CreateEndpoint", map[string]any{"EndpointName": "ae1", "EndpointConfigName": "acfg"})
	want("acme endpoint", st, out, 200, "")
	st, out = call("CreateEndpoint", map[string]any{"EndpointName": "ae2", "EndpointConfigName": "acfg"})
	want("acme's second endpoint", st, out, 400, "ResourceLimitExceeded")
}
