package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
)

// TestRegistry_DigestPinning registers a model package over an object,
// approves it, creates a model from it and deploys it (InService, the
// package's model answers); then the object is overwritten and the same
// model deployed again: the endpoint fails with a digest mismatch naming
// the package, and no worker serves the new bytes.
func TestRegistry_DigestPinning(t *testing.T) {
	t.Parallel()
	m := models(t)
	ts := startServer(t, servingEnv(t))
	createTenant(t, ts, "acme", "silo")
	deployModel(t, ts, "acme", m.model(t, 0)) // acme's execution role, acme-exec
	const key = "acme/registry/churn.tar.gz"
	approved := m.model(t, 1)
	putObject(t, ts, "tenantml-models", key, "acme", approved)

	tagged := []map[string]string{{"Key": "TenantID", "Value": "acme"}}
	smRoot(t, ts, "CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "acme--churn", "Tags": tagged}, nil)
	var created struct{ ModelPackageArn string }
	smRoot(t, ts, "CreateModelPackage", map[string]any{"ModelPackageGroupName": "acme--churn",
		"InferenceSpecification": map[string]any{"Containers": []map[string]any{{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://tenantml-models/" + key}},
			"SupportedContentTypes": []string{"text/csv"}, "SupportedResponseMIMETypes": []string{"text/csv"}}}, &created)
	if want := "arn:aws:sagemaker:us-east-1:" + ts.cfg.AccountID + ":model-package/acme--churn/1"; created.ModelPackageArn != want {
		t.Fatalf("ModelPackageArn = %q, want %q", created.ModelPackageArn, want)
	}
	var desc struct {
		ModelApprovalStatus    string
		InferenceSpecification struct {
			Containers []struct {
				ModelDataSha256 string
				ModelDataSize   int64
			}
		}
	}
	smRoot(t, ts, "DescribeModelPackage", map[string]any{"ModelPackageName": created.ModelPackageArn}, &desc)
	if c := desc.InferenceSpecification.Containers; len(c) != 1 || c[0].ModelDataSha256 != sha256Hex(approved) || c[0].ModelDataSize != int64(len(approved)) {
		t.Fatalf("pinned %+v, want SHA-256 %s and %d bytes", c, sha256Hex(approved), len(approved))
	}
	if desc.ModelApprovalStatus != "PendingManualApproval" {
		t.Fatalf("a new package is %s, want PendingManualApproval", desc.ModelApprovalStatus)
	}
	smRoot(t, ts, "UpdateModelPackage", map[string]any{"ModelPackageArn": created.ModelPackageArn, "ModelApprovalStatus": "Approved", "ApprovalDescription": "passed review"}, nil)

	smRoot(t, ts, "CreateModel", map[string]any{"ModelName": "acme--pinned", "ExecutionRoleArn": "arn:aws:iam::" + ts.cfg.AccountID + ":role/acme-exec",
		"PrimaryContainer": map[string]any{"ModelPackageName": created.ModelPackageArn}, "Tags": tagged}, nil)
	var model struct {
		PrimaryContainer struct{ Image, ModelDataUrl, ModelPackageName string }
	}
	smRoot(t, ts, "DescribeModel", map[string]any{"ModelName": "acme--pinned"}, &model)
	if pc := model.PrimaryContainer; pc.ModelPackageName != created.ModelPackageArn || pc.Image != "tenantml/xgboost" || pc.ModelDataUrl != "s3://tenantml-models/"+key {
		t.Fatalf("model from the package: %+v", pc)
	}
	smRoot(t, ts, "CreateEndpointConfig", map[string]any{"EndpointConfigName": "acme--pinned", "Tags": tagged,
		"ProductionVariants": []map[string]any{{"VariantName": "AllTraffic", "ModelName": "acme--pinned", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}}, nil)
	smRoot(t, ts, "CreateEndpoint", map[string]any{"EndpointName": "acme--pinned", "EndpointConfigName": "acme--pinned", "Tags": tagged}, nil)
	waitEndpoint(t, ts, "acme--pinned")
	r := mustSend(t, ts, rootPrincipal(), invokeRequest("acme--pinned", "", m.rows))
	if got := m.which(r.body); got != 1 {
		t.Fatalf("the pinned endpoint answers as model %d, want 1: %s", got, r.body)
	}

	// The object is overwritten: a deployment of the same model fails.
	putObject(t, ts, "tenantml-models", key, "acme", m.model(t, 2))
	smRoot(t, ts, "CreateEndpoint", map[string]any{"EndpointName": "acme--pinned-again", "EndpointConfigName": "acme--pinned", "Tags": tagged}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ep, _ := ts.sp.controller.WaitEndpoint(ctx, "acme--pinned-again")
	if ep == nil || ep.Status != serving.StatusFailed || !strings.Contains(ep.FailureReason, "digest mismatch") || !strings.Contains(ep.FailureReason, created.ModelPackageArn) {
		t.Fatalf("endpoint over the overwritten object: %+v, want Failed with a digest mismatch naming the package", ep)
	}
	var out struct{ EndpointStatus, FailureReason string }
	smRoot(t, ts, "DescribeEndpoint", map[string]any{"EndpointName": "acme--pinned-again"}, &out)
	if out.EndpointStatus != "Failed" || out.FailureReason != ep.FailureReason {
		t.Fatalf("DescribeEndpoint = %+v", out)
	}
	// The endpoint deployed before the overwrite keeps serving the
	// approved model.
	if r := mustSend(t, ts, rootPrincipal(), invokeRequest("acme--pinned", "", m.rows)); m.which(r.body) != 1 {
		t.Fatalf("the first endpoint now answers %s", r.body)
	}
}
