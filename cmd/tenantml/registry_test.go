package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/audit"
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

	// A multipart object records no SHA-256: registration hashes it, and
	// the deployment hashes it again before handing it over.
	multi := m.model(t, 3)
	putMultipart(t, ts, "tenantml-models", "acme/registry/multipart.tar.gz", "acme", multi)
	var v2 struct{ ModelPackageArn string }
	smRoot(t, ts, "CreateModelPackage", map[string]any{"ModelPackageGroupName": "acme--churn", "ModelApprovalStatus": "Approved",
		"InferenceSpecification": map[string]any{"Containers": []map[string]any{{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://tenantml-models/acme/registry/multipart.tar.gz"}}}}, &v2)
	smRoot(t, ts, "DescribeModelPackage", map[string]any{"ModelPackageName": "acme--churn/2"}, &desc)
	if c := desc.InferenceSpecification.Containers; len(c) != 1 || c[0].ModelDataSha256 != sha256Hex(multi) || c[0].ModelDataSize != int64(len(multi)) {
		t.Fatalf("multipart object pinned %+v, want SHA-256 %s", c, sha256Hex(multi))
	}
	smRoot(t, ts, "CreateModel", map[string]any{"ModelName": "acme--multi", "ExecutionRoleArn": "arn:aws:iam::" + ts.cfg.AccountID + ":role/acme-exec",
		"PrimaryContainer": map[string]any{"ModelPackageName": "acme--churn/2"}, "Tags": tagged}, nil)
	smRoot(t, ts, "CreateEndpointConfig", map[string]any{"EndpointConfigName": "acme--multi", "Tags": tagged,
		"ProductionVariants": []map[string]any{{"VariantName": "AllTraffic", "ModelName": "acme--multi", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}}, nil)
	smRoot(t, ts, "CreateEndpoint", map[string]any{"EndpointName": "acme--multi", "EndpointConfigName": "acme--multi", "Tags": tagged}, nil)
	waitEndpoint(t, ts, "acme--multi")
	if r := mustSend(t, ts, rootPrincipal(), invokeRequest("acme--multi", "", m.rows)); m.which(r.body) != 3 {
		t.Fatalf("the multipart package's endpoint answers %s", r.body)
	}

	// Every change is audited under its operation's name; CreateModel
	// records the package and its approval status.
	seen := map[string]audit.Event{}
	for _, ev := range allEvents(t, ts) {
		if ev.EventSource == "sagemaker.amazonaws.com" && ev.ErrorCode == "" {
			seen[ev.EventName] = ev
		}
	}
	// (An operator's request that creates a resource is in the
	// platform's trail, as CreateModel's always was: its target has no
	// tenant yet; requests on acme's group and packages are in acme's.)
	for _, want := range []struct {
		name, tenant string
		readOnly     bool
	}{{"CreateModelPackageGroup", "", false}, {"CreateModelPackage", "acme", false}, {"UpdateModelPackage", "acme", false},
		{"DescribeModelPackage", "acme", true}, {"CreateModel", "", false}} {
		ev, ok := seen[want.name]
		if !ok || ev.ReadOnly != want.readOnly || ev.TenantID != want.tenant || ev.UserIdentity.ARN != "arn:aws:iam::"+ts.cfg.AccountID+":root" {
			t.Errorf("audit event %s: %+v (found %v), want readOnly %v in trail %q", want.name, ev, ok, want.readOnly, want.tenant)
		}
	}
	if p := seen["CreateModel"].RequestParameters; p["modelPackageName"] != "acme--churn/2" || p["modelPackageApprovalStatus"] != "Approved" {
		t.Errorf("CreateModel's audit parameters %v, want the package and its approval status", p)
	}
}

// putMultipart stores body as s3://bucket/key under tenant's key with a
// one-part multipart upload (the object then records no SHA-256).
func putMultipart(t *testing.T, ts *testServer, bucket, key, tenant string, body []byte) {
	t.Helper()
	ctx := context.Background()
	_, err := ts.kp.artifacts.CreateBucket(ctx, artifact.CreateBucketInput{Name: bucket, Account: ts.cfg.AccountID})
	if err != nil && tenantml.AWSCodeOf(err) != "BucketAlreadyOwnedByYou" {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	u, err := ts.kp.artifacts.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: key,
		Encryption: artifact.KeyRef{Tenant: tenant, KeyID: artifact.DefaultKeyAlias}})
	if err != nil {
		t.Fatal(err)
	}
	part, err := ts.kp.artifacts.UploadPart(ctx, artifact.UploadPartInput{Bucket: bucket, Key: key, UploadID: u.UploadID, PartNumber: 1,
		Checks: artifact.Checks{ContentLength: int64(len(body))}}, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := ts.kp.artifacts.CompleteMultipartUpload(ctx, bucket, key, u.UploadID, []artifact.CompletedPart{{Number: 1, ETag: part.ETag}})
	if err != nil || obj.SHA256 != "" || obj.Parts != 1 {
		t.Fatalf("complete multipart upload: %+v, %v", obj, err)
	}
}
