package main

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
)

// The scenario's serving resources, created by the operator with the
// SageMaker API as the seed scenario does by hand (attack_fixture_test.go
// builds the rest):
//
//   - globex's model, endpoint config and endpoint (InService: one worker
//     process of tenantml's own, serving examples/models/model.tar.gz,
//     uploaded as globex's artifact and read by globex's execution role);
//   - acme's model, endpoint config and endpoint over an object that does
//     not exist (Failed: no worker), so that requests naming acme's own
//     endpoint get as far as the resources they name besides it;
//   - the platform's pool: a MultiModel endpoint over the artifact bucket,
//     whose objects are "<tenant>/<model>/<version>/<file>" (one worker,
//     loading nothing unless invoked), read by a platform execution role;
//   - a platform model, config and endpoint (Failed) that no tenant may see.

// artifactBucket is the bucket behind the artifact API.
const artifactBucket = "tenantml-artifacts"

// servingFixture names the scenario's serving resources.
type servingFixture struct {
	// model, config and endpoint are globex's, the endpoint InService;
	// execRole is globex's execution role (ARN).
	model, config, endpoint, execRole string
	// ownModel, ownConfig and ownEndpoint are acme's (the endpoint
	// Failed); ownRole is acme's execution role (ARN).
	ownModel, ownConfig, ownEndpoint, ownRole string
	// pool is the platform's MultiModel endpoint over the artifact bucket;
	// globexModel is the TargetModel of globex's artifact under it.
	pool, globexModel string
	// platModel, platConfig and platEndpoint are the platform's (the
	// endpoint Failed); platRole is the platform's execution role (ARN).
	platModel, platConfig, platEndpoint, platRole string
	// alarm is globex's alarm on its endpoint, ownAlarm acme's on its own
	// (attack_bluegreen_test.go).
	alarm, ownAlarm string
}

// sagemakerRequest is a SageMaker control-plane request (JSON 1.1).
func sagemakerRequest(op string, in any) signedRequest {
	b, err := json.Marshal(in)
	if err != nil {
		panic(err) // test inputs are plain maps
	}
	return signedRequest{method: http.MethodPost, path: "/", service: "sagemaker", body: b,
		header: http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {"SageMaker." + op}}}
}

// invokeRequest is an InvokeEndpoint request with rows as text/csv and,
// when targetModel is set, X-Amzn-SageMaker-Target-Model.
func invokeRequest(endpoint, targetModel string, rows []byte) signedRequest {
	h := http.Header{"Content-Type": {"text/csv"}}
	if targetModel != "" {
		h.Set("X-Amzn-SageMaker-Target-Model", targetModel)
	}
	return signedRequest{method: http.MethodPost, path: "/endpoints/" + endpoint + "/invocations", service: "sagemaker", body: rows, header: h}
}

// exampleModel reads examples/models/model.tar.gz and rows.csv.
func exampleModel(t testing.TB) (model, rows []byte) {
	t.Helper()
	dir := filepath.Join("..", "..", "examples", "models")
	model, err := os.ReadFile(filepath.Join(dir, "model.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if rows, err = os.ReadFile(filepath.Join(dir, "rows.csv")); err != nil {
		t.Fatal(err)
	}
	return model, rows
}

// sageMakerTrust lets the serving platform act as a role.
const sageMakerTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// execRole has the operator create an execution role at path, tagged
// with tenant (none for ""), that may read the artifact bucket's objects
// under prefix and decrypt with key, and returns its ARN.
func (e *attackEnv) execRole(t *testing.T, name, path, tenant, prefix, key string) string {
	t.Helper()
	params := []string{"RoleName", name, "Path", path, "AssumeRolePolicyDocument", sageMakerTrust}
	if tenant != "" {
		params = append(params, "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", tenant)
	}
	e.mustIAM(t, e.root, "CreateRole", params...)
	doc := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + artifactBucket + `/` + prefix + `*"},` +
		`{"Effect":"Allow","Action":"kms:Decrypt","Resource":"` + key + `"}]}`
	e.mustIAM(t, e.root, "PutRolePolicy", "RoleName", name, "PolicyName", "read-models", "PolicyDocument", doc)
	return "arn:aws:iam::" + e.acct + ":role" + path + name
}

// sm sends a SageMaker operation as by and fails unless it succeeds.
func (e *attackEnv) sm(t *testing.T, by *principal, op string, in map[string]any) {
	t.Helper()
	e.mustOK(t, by, sagemakerRequest(op, in))
}

// deployAs has by create a model, a config and an endpoint with the
// native image over url, tagged with tenant (none for "").
func (e *attackEnv) deployAs(t *testing.T, by *principal, model, config, endpoint, role, mode, url, tenant string) {
	t.Helper()
	var tagged []map[string]string
	if tenant != "" {
		tagged = []map[string]string{{"Key": "TenantID", "Value": tenant}}
	}
	e.sm(t, by, "CreateModel", map[string]any{"ModelName": model, "ExecutionRoleArn": role, "Tags": tagged,
		"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "Mode": mode, "ModelDataUrl": url}})
	e.sm(t, by, "CreateEndpointConfig", map[string]any{"EndpointConfigName": config, "Tags": tagged, "ProductionVariants": variants(model)})
	e.sm(t, by, "CreateEndpoint", map[string]any{"EndpointName": endpoint, "EndpointConfigName": config, "Tags": tagged})
}

// serving builds the scenario's serving resources and waits until every
// endpoint's deployment has ended.
func (e *attackEnv) serving(t *testing.T) {
	t.Helper()
	model, _ := exampleModel(t)
	g, a := e.tenants["globex"], e.tenants["acme"]
	e.mustOK(t, e.root, manageRequest(http.MethodPut, "/api/v1/tenants/globex/artifacts/serving/v1/model.tar.gz", model))
	s := &e.sv
	s.model, s.config, s.endpoint = "globex--churn", "globex--churn-config", "globex--churn-endpoint"
	s.execRole = e.execRole(t, "globex.exec", g.path, "globex", "globex/", g.onboardingKeyARN)
	e.deployAs(t, e.root, s.model, s.config, s.endpoint, s.execRole, "SingleModel", "s3://"+artifactBucket+"/globex/serving/v1/model.tar.gz", "globex")

	s.ownModel, s.ownConfig, s.ownEndpoint = "acme--broken", "acme--broken-config", "acme--broken-endpoint"
	s.ownRole = e.execRole(t, "acme.exec", a.path, "acme", "acme/", a.onboardingKeyARN)
	e.deployAs(t, e.root, s.ownModel, s.ownConfig, s.ownEndpoint, s.ownRole, "SingleModel", "s3://"+artifactBucket+"/acme/missing/v1/model.tar.gz", "acme")

	s.platRole = e.execRole(t, "models", "/platform/", "", "", "*")
	s.pool, s.globexModel = "pool-artifacts", "globex/serving/v1/model.tar.gz"
	e.deployAs(t, e.root, s.pool, s.pool, s.pool, s.platRole, "MultiModel", "s3://"+artifactBucket+"/", "")
	s.platModel, s.platConfig, s.platEndpoint = "platform-shared", "platform-shared-config", "platform-shared-endpoint"
	e.deployAs(t, e.root, s.platModel, s.platConfig, s.platEndpoint, s.platRole, "SingleModel", "s3://"+artifactBucket+"/platform/missing.tar.gz", "")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctl := e.ts.sp.controller
	for name, want := range map[string]serving.EndpointStatus{s.endpoint: serving.StatusInService, s.pool: serving.StatusInService,
		s.ownEndpoint: serving.StatusFailed, s.platEndpoint: serving.StatusFailed} {
		ep, err := ctl.WaitEndpoint(ctx, name)
		if ep == nil || ep.Status != want {
			t.Fatalf("endpoint %s: %+v, %v; want %s", name, ep, err, want)
		}
	}
}
