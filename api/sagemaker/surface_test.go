package sagemaker_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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

const (
	acct   = "111122223333"
	region = "us-east-1"
	trust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
)

// deployer records deployments and fails those of endpoints named fail-*.
type deployer struct {
	mu       sync.Mutex
	deployed map[string]bool
}

func (d *deployer) Deploy(_ context.Context, dep *serving.Deployment) error {
	if strings.HasPrefix(dep.Endpoint.Name, "fail") {
		return errors.New("worker exited: model could not be read")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.deployed[dep.Endpoint.Name] = true
	return nil
}

func (d *deployer) Undeploy(_ context.Context, _, name string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.deployed, name)
	return nil
}

type checker struct{}

func (checker) CheckImage(image string) error {
	if image == "tenantml/xgboost" {
		return nil
	}
	return errors.New("not a registered image")
}

func (checker) CheckInstanceType(name string) error {
	if name == "ml.m5.large" {
		return nil
	}
	return errors.New("unknown instance type")
}

// roles resolves execution roles from the identity store.
type roles struct{ ids identity.Service }

func (r roles) RoleResource(_ *http.Request, roleARN string) (authz.Resource, bool, error) {
	name := roleARN[strings.LastIndex(roleARN, "/")+1:]
	role, err := r.ids.GetRole(context.Background(), acct, name)
	if err != nil {
		return authz.Resource{ARN: roleARN}, false, nil
	}
	return authz.Resource{ARN: role.ARN, Tenant: role.TenantID, Tags: role.Tags}, true, nil
}

type callers map[string]*authn.Principal

func (c callers) Authenticate(r *http.Request) (*authn.Principal, error) {
	if p, ok := c[r.Header.Get("X-Test-Caller")]; ok {
		return p, nil
	}
	return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "unknown caller")
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, *api.AuditRecord) error { return nil }

// fixture is the control plane over a fresh SQLite store behind the
// pipeline, with execution roles (name → tenant, "" for the platform's)
// and the callers the test adds to who.
type fixture struct {
	db  *sqlite.DB
	who callers
	ctl *serving.Controller
	dep *deployer
	srv *api.Server
}

func newFixture(t *testing.T, execRoles map[string]string) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ids := db.Identity()
	for name, tenant := range execRoles {
		role := &identity.Role{Name: name, AssumeRolePolicyDocument: trust}
		if tenant != "" {
			role.Tags = map[string]string{"TenantID": tenant}
		}
		if err := ids.CreateRole(ctx, acct, role); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{db: db, who: callers{"root": {Type: authn.Root, Account: acct, ARN: "arn:aws:iam::" + acct + ":root", UserID: acct}},
		dep: &deployer{deployed: map[string]bool{}}}
	f.ctl = &serving.Controller{Store: db.Serving(), Deployer: f.dep, Checker: checker{}, Region: region, AccountID: acct}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &api.Pipeline{Authn: f.who, Authz: &authz.Engine{AccountID: acct, Identity: ids}, Audit: nopAudit{}, Log: log, Now: time.Now}
	router := api.NewAWSRouter(p, &api.QueryProtocol{})
	(&sagemaker.Surface{Controller: f.ctl, Pipeline: p, Roles: roles{ids}}).Register(router)
	f.srv = api.NewServer(log, nil)
	f.srv.Handle("POST /{$}", router)
	return f
}

// user creates a user of tenant acme holding a built-in policy (bounded)
// or an inline one, and makes it the caller name.
func (f *fixture) user(t *testing.T, name, builtin, inline string) {
	t.Helper()
	ctx, ids := context.Background(), f.db.Identity()
	u := &identity.User{Name: name, Tags: map[string]string{"TenantID": "acme"}}
	if builtin != "" {
		u.PermissionsBoundary = identity.BuiltinARNPrefix + "TenantRoleBoundary"
	}
	if err := ids.CreateUser(ctx, acct, u); err != nil {
		t.Fatal(err)
	}
	ref := identity.Ref{Kind: identity.KindUser, Name: name}
	var err error
	if builtin != "" {
		err = ids.AttachPolicy(ctx, acct, ref, identity.BuiltinARNPrefix+builtin)
	} else {
		err = ids.PutInlinePolicy(ctx, acct, ref, "inline", inline)
	}
	if err != nil {
		t.Fatal(err)
	}
	f.who[name] = &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: u.ARN, UserName: u.Name, UserID: u.ID, TenantID: "acme",
		Tags: u.Tags, PermissionsBoundaryARN: u.PermissionsBoundary}
}

// call sends a SageMaker operation as caller.
func (f *fixture) call(caller, op string, in any) (int, map[string]any) {
	b, _ := json.Marshal(in)
	r := httptest.NewRequest("POST", "/", strings.NewReader(string(b)))
	r.Header.Set("X-Amz-Target", "SageMaker."+op)
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Test-Caller", caller)
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	var out map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &out)
	return w.Code, out
}

// TestSurface covers the control plane through the pipeline: the
// operator deploys a tenant's model; a tenant administrator (built-in
// TenantAdmin, bounded) manages its own tenant's resources, in its name
// space, passing only its own roles; another tenant's resources answer as
// missing ones.
func TestSurface(t *testing.T) {
	f := newFixture(t, map[string]string{"acme-exec": "acme", "globex-exec": "globex"})
	f.user(t, "acme.admin", "TenantAdmin", "")
	f.who["admin"] = f.who["acme.admin"]
	ctl, dep, call := f.ctl, f.dep, f.call
	model := func(name, role, tenant string) map[string]any {
		m := map[string]any{"ModelName": name, "ExecutionRoleArn": "arn:aws:iam::" + acct + ":role/" + role,
			"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://models/" + name + "/model.tar.gz"}}
		if tenant != "" {
			m["Tags"] = []map[string]string{{"Key": "TenantID", "Value": tenant}}
		}
		return m
	}
	config := func(name, modelName, tenant string) map[string]any {
		c := map[string]any{"EndpointConfigName": name, "ProductionVariants": []map[string]any{{"VariantName": "AllTraffic", "ModelName": modelName, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}}
		if tenant != "" {
			c["Tags"] = []map[string]string{{"Key": "TenantID", "Value": tenant}}
		}
		return c
	}
	steps := []struct {
		name, caller, op string
		in               any
		status           int
		code             string
	}{
		{"OperatorCreatesGlobexModel", "root", "CreateModel", model("globex", "globex-exec", "globex"), 200, ""},
		{"OperatorCreatesGlobexConfig", "root", "CreateEndpointConfig", config("globex", "globex", "globex"), 200, ""},
		{"OperatorCreatesGlobexEndpoint", "root", "CreateEndpoint", map[string]any{"EndpointName": "globex", "EndpointConfigName": "globex"}, 200, ""},
		{"AdminCreatesOwnModel", "admin", "CreateModel", model("acme--churn", "acme-exec", "acme"), 200, ""},
		{"ErrAdminPassesOtherTenantRole", "admin", "CreateModel", model("acme--x", "globex-exec", "acme"), 400, "AccessDeniedException"},
		{"ErrAdminOutsideNameSpace", "admin", "CreateModel", model("churn", "acme-exec", "acme"), 400, "ValidationException"},
		{"ErrAdminTagsOtherTenant", "admin", "CreateModel", model("acme--y", "acme-exec", "globex"), 400, "AccessDeniedException"},
		{"ErrAdminUsesOtherTenantModel", "admin", "CreateEndpointConfig", config("acme--cfg", "globex", "acme"), 400, "ValidationException"},
		{"AdminCreatesOwnConfig", "admin", "CreateEndpointConfig", config("acme--cfg", "acme--churn", "acme"), 200, ""},
		{"AdminCreatesOwnEndpoint", "admin", "CreateEndpoint", map[string]any{"EndpointName": "acme--ep", "EndpointConfigName": "acme--cfg", "Tags": []map[string]string{{"Key": "TenantID", "Value": "acme"}}}, 200, ""},
		{"ErrImageNotRegistered", "root", "CreateModel", map[string]any{"ModelName": "evil", "ExecutionRoleArn": "arn:aws:iam::" + acct + ":role/acme-exec",
			"PrimaryContainer": map[string]any{"Image": "docker.io/evil:latest", "ModelDataUrl": "s3://models/x.tar.gz"}}, 400, "ValidationException"},
		{"ErrBadModelDataUrl", "root", "CreateModel", map[string]any{"ModelName": "bad", "ExecutionRoleArn": "arn:aws:iam::" + acct + ":role/acme-exec",
			"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "ModelDataUrl": "file:///etc/passwd"}}, 400, "ValidationException"},
		{"ErrDuplicate", "root", "CreateModel", model("globex", "globex-exec", "globex"), 400, "ValidationException"},
		{"ErrUnknownInstanceType", "root", "CreateEndpointConfig", map[string]any{"EndpointConfigName": "big", "ProductionVariants": []map[string]any{{"VariantName": "v", "ModelName": "globex", "InitialInstanceCount": 1, "InstanceType": "ml.p4d.24xlarge"}}}, 400, "ValidationException"},
		{"ErrMalformedBody", "root", "CreateModel", "not an object", 400, "SerializationException"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			status, out := call(st.caller, st.op, st.in)
			if status != st.status || (st.code != "" && out["__type"] != st.code) {
				t.Fatalf("= %d %v, want %d %s", status, out, st.status, st.code)
			}
		})
	}
	ctl.Wait()
	t.Run("EndpointsInService", func(t *testing.T) {
		for _, c := range []struct{ caller, name string }{{"root", "globex"}, {"admin", "acme--ep"}} {
			status, out := call(c.caller, "DescribeEndpoint", map[string]any{"EndpointName": c.name})
			if status != 200 || out["EndpointStatus"] != "InService" {
				t.Fatalf("%s: %d %v", c.name, status, out)
			}
		}
	})
	t.Run("FailedDeploymentHasReason", func(t *testing.T) {
		if status, out := call("root", "CreateEndpoint", map[string]any{"EndpointName": "fail-globex", "EndpointConfigName": "globex"}); status != 200 {
			t.Fatalf("%d %v", status, out)
		}
		ctl.Wait()
		_, out := call("root", "DescribeEndpoint", map[string]any{"EndpointName": "fail-globex"})
		if out["EndpointStatus"] != "Failed" || !strings.Contains(out["FailureReason"].(string), "model could not be read") {
			t.Fatalf("%v", out)
		}
	})
	idRE := regexp.MustCompile(`globex|nothing`)
	for _, op := range []struct{ op, field string }{{"DescribeModel", "ModelName"}, {"DescribeEndpointConfig", "EndpointConfigName"}, {"DescribeEndpoint", "EndpointName"}, {"DeleteEndpoint", "EndpointName"}} {
		t.Run("OtherTenant"+op.op+"AnswersAsMissing", func(t *testing.T) {
			s1, o1 := call("admin", op.op, map[string]any{op.field: "globex"})
			s2, o2 := call("admin", op.op, map[string]any{op.field: "nothing"})
			m1, _ := o1["message"].(string)
			m2, _ := o2["message"].(string)
			if s1 != s2 || o1["__type"] != o2["__type"] || idRE.ReplaceAllString(m1, "X") != idRE.ReplaceAllString(m2, "X") {
				t.Fatalf("%d %v / %d %v", s1, o1, s2, o2)
			}
		})
	}
	t.Run("AdminListsOwnOnly", func(t *testing.T) {
		status, out := call("admin", "ListEndpoints", map[string]any{})
		eps, _ := out["Endpoints"].([]any)
		if status != 200 || len(eps) != 1 || eps[0].(map[string]any)["EndpointName"] != "acme--ep" {
			t.Fatalf("%d %v", status, out)
		}
	})
	t.Run("DeleteUndeploys", func(t *testing.T) {
		if status, out := call("admin", "DeleteEndpoint", map[string]any{"EndpointName": "acme--ep"}); status != 200 {
			t.Fatalf("%d %v", status, out)
		}
		dep.mu.Lock()
		defer dep.mu.Unlock()
		if dep.deployed["acme--ep"] || !dep.deployed["globex"] {
			t.Fatalf("deployed %v", dep.deployed)
		}
	})
}

// TestSurface_TenantBoundary: to a tenant's principal whose policies
// allow everything, the platform's model, endpoint config and endpoint
// and the platform's or another tenant's execution role answer exactly as
// names that do not exist (the operator still sees and uses them); a data
// scientist passes its own tenant's role to SageMaker (iam:PassedToService)
// and no other.
func TestSurface_TenantBoundary(t *testing.T) {
	f := newFixture(t, map[string]string{"acme-exec": "acme", "globex-exec": "globex", "pool-exec": ""})
	f.user(t, "acme.ops", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	// A principal whose policy probes a resource's tags: the platform's
	// resources must be decided without theirs.
	f.user(t, "acme.probe", "", `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},`+
		`{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/team":"ml"}}}]}`)
	f.user(t, "acme.ds", "DataScientist", "")
	ctl, dep := f.ctl, f.dep
	call := func(caller, op string, in any) (int, string, string) {
		status, out := f.call(caller, op, in)
		code, _ := out["__type"].(string)
		msg, _ := out["message"].(string)
		return status, code, msg
	}
	roleARN := func(name string) string { return "arn:aws:iam::" + acct + ":role/" + name }
	model := func(name, role string) map[string]any {
		return map[string]any{"ModelName": name, "ExecutionRoleArn": roleARN(role), "Tags": []map[string]string{{"Key": "TenantID", "Value": "acme"}},
			"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://models/acme/model.tar.gz"}}
	}
	config := func(name, model string) map[string]any {
		return map[string]any{"EndpointConfigName": name, "Tags": []map[string]string{{"Key": "TenantID", "Value": "acme"}},
			"ProductionVariants": []map[string]any{{"VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}}
	}
	for _, s := range []struct {
		op string
		in map[string]any
	}{
		{"CreateModel", map[string]any{"ModelName": "pool-model", "ExecutionRoleArn": roleARN("pool-exec"), "Tags": []map[string]string{{"Key": "team", "Value": "ml"}},
			"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "Mode": "MultiModel", "ModelDataUrl": "s3://models/pool/"}}},
		{"CreateEndpointConfig", map[string]any{"EndpointConfigName": "pool-config", "ProductionVariants": []map[string]any{
			{"VariantName": "AllTraffic", "ModelName": "pool-model", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}}},
		{"CreateEndpoint", map[string]any{"EndpointName": "pool-ep", "EndpointConfigName": "pool-config"}},
	} {
		if status, code, msg := call("root", s.op, s.in); status != 200 {
			t.Fatalf("operator %s: %d %s %s", s.op, status, code, msg)
		}
	}
	ctl.Wait()

	arn := func(kind serving.ResourceKind, name string) string { return serving.ARN(region, acct, kind, name) }
	pairs := []struct {
		name, op       string
		other, missing map[string]any
		names          [2]string
	}{
		{"ProbePlatformModelTags", "DescribeModel", map[string]any{"ModelName": "pool-model"}, map[string]any{"ModelName": "nope-model"}, [2]string{"pool-model", "nope-model"}},
		{"DescribePlatformModel", "DescribeModel", map[string]any{"ModelName": "pool-model"}, map[string]any{"ModelName": "nope-model"}, [2]string{"pool-model", "nope-model"}},
		{"DeletePlatformModel", "DeleteModel", map[string]any{"ModelName": "pool-model"}, map[string]any{"ModelName": "nope-model"}, [2]string{"pool-model", "nope-model"}},
		{"DescribePlatformConfig", "DescribeEndpointConfig", map[string]any{"EndpointConfigName": "pool-config"}, map[string]any{"EndpointConfigName": "nope-config"}, [2]string{"pool-config", "nope-config"}},
		{"DeletePlatformEndpoint", "DeleteEndpoint", map[string]any{"EndpointName": "pool-ep"}, map[string]any{"EndpointName": "nope-ep"}, [2]string{"pool-ep", "nope-ep"}},
		{"UpdatePlatformEndpoint", "UpdateEndpoint", map[string]any{"EndpointName": "pool-ep", "EndpointConfigName": "pool-config"},
			map[string]any{"EndpointName": "nope-ep", "EndpointConfigName": "pool-config"}, [2]string{"pool-ep", "nope-ep"}},
		{"TagPlatformModel", "AddTags", map[string]any{"ResourceArn": arn(serving.KindModel, "pool-model"), "Tags": []map[string]string{{"Key": "team", "Value": "x"}}},
			map[string]any{"ResourceArn": arn(serving.KindModel, "nope-model"), "Tags": []map[string]string{{"Key": "team", "Value": "x"}}}, [2]string{"pool-model", "nope-model"}},
		{"ConfigOverPlatformModel", "CreateEndpointConfig", config("acme--c", "pool-model"), config("acme--c", "nope-model"), [2]string{"pool-model", "nope-model"}},
		{"EndpointOverPlatformConfig", "CreateEndpoint", map[string]any{"EndpointName": "acme--e", "EndpointConfigName": "pool-config"},
			map[string]any{"EndpointName": "acme--e", "EndpointConfigName": "nope-config"}, [2]string{"pool-config", "nope-config"}},
		{"PassPlatformRole", "CreateModel", model("acme--m", "pool-exec"), model("acme--m", "nope-exec"), [2]string{"pool-exec", "nope-exec"}},
		{"PassOtherTenantRole", "CreateModel", model("acme--m", "globex-exec"), model("acme--m", "nope-exec"), [2]string{"globex-exec", "nope-exec"}},
	}
	for _, c := range pairs {
		t.Run(c.name, func(t *testing.T) {
			caller := "acme.ops"
			if strings.HasPrefix(c.name, "Probe") {
				caller = "acme.probe"
			}
			s1, c1, m1 := call(caller, c.op, c.other)
			s2, c2, m2 := call(caller, c.op, c.missing)
			m1 = strings.ReplaceAll(m1, c.names[0], "<name>")
			m2 = strings.ReplaceAll(m2, c.names[1], "<name>")
			if s1 != 400 || s1 != s2 || c1 != c2 || m1 != m2 {
				t.Errorf("the platform's or another tenant's and a missing one answer differently:\n %d %s %s\n %d %s %s", s1, c1, m1, s2, c2, m2)
			}
		})
	}
	t.Run("MissingRoleCouldNotBeAssumed", func(t *testing.T) {
		if s, c, msg := call("acme.ops", "CreateModel", model("acme--m", "nope-exec")); s != 400 || c != "ValidationException" || !strings.Contains(msg, "Could not assume role") {
			t.Errorf("= %d %s %s", s, c, msg)
		}
	})
	t.Run("DataScientistPassesOwnRoleOnly", func(t *testing.T) {
		if s, c, msg := call("acme.ds", "CreateModel", model("acme--ds", "acme-exec")); s != 200 {
			t.Errorf("own role: %d %s %s", s, c, msg)
		}
		if s, c, _ := call("acme.ds", "CreateModel", model("acme--ds2", "globex-exec")); s != 400 || c != "AccessDeniedException" {
			t.Errorf("another tenant's role: %d %s", s, c)
		}
	})
	t.Run("OperatorStillSeesPlatform", func(t *testing.T) {
		if s, c, msg := call("root", "DescribeEndpoint", map[string]any{"EndpointName": "pool-ep"}); s != 200 {
			t.Errorf("%d %s %s", s, c, msg)
		}
		dep.mu.Lock()
		defer dep.mu.Unlock()
		if !dep.deployed["pool-ep"] {
			t.Error("the platform endpoint was undeployed")
		}
	})
}
