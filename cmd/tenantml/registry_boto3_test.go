package main

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tenantml/tenantml/identity"
)

// registryBoto3Script drives the model registry with boto3 as acme's data
// scientist (registers), acme's administrator (approves, manages the
// group's policy and tags) and globex's administrator (attacks), and
// prints what it saw as JSON. argv: endpoint, credentials by role (JSON),
// acme's model data URL, globex's model data URL, the account ID.
const registryBoto3Script = `
import json, sys, boto3, botocore
endpoint, creds, url, globex_url, acct = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
cfg = botocore.config.Config(retries={"max_attempts": 1})
def sm(who):
    return boto3.client("sagemaker", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=creds[who][0], aws_secret_access_key=creds[who][1], config=cfg)
def code(f):
    try:
        f()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return "%d %s: %s" % (e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"], e.response["Error"]["Message"])
ds, adm, gx = sm("ds"), sm("admin"), sm("globex")
tags = [{"Key": "TenantID", "Value": "acme"}]
out = {}
group_arn = ds.create_model_package_group(ModelPackageGroupName="acme--churn", ModelPackageGroupDescription="churn models", Tags=tags)["ModelPackageGroupArn"]
out["group_arn"] = group_arn
spec = {"Containers": [{"Image": "tenantml/xgboost", "ModelDataUrl": url, "Framework": "XGBOOST", "FrameworkVersion": "1.7"}],
        "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"], "SupportedRealtimeInferenceInstanceTypes": ["ml.m5.large"]}
def spec_of(containers):
    return {"Containers": containers, "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]}
arns = []
for i in range(3):
    arns.append(ds.create_model_package(ModelPackageGroupName="acme--churn", ModelPackageDescription="v%d" % (i + 1), InferenceSpecification=spec,
        ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://tenantml-artifacts/acme/churn/v1/stats.json"}}},
        CustomerMetadataProperties={"auc": "0.9%d" % i}, Tags=tags)["ModelPackageArn"])
out["arns"] = arns
# Debian's botocore predates UserContext.IamIdentity and
# ModelDataETag: read them from the raw answer.
raw = {}
def keep(http_response, **kw):
    raw["last"] = json.loads(http_response.text)
for c in (ds, adm):
    c.meta.events.register("after-call.sagemaker.DescribeModelPackage", keep)
d = ds.describe_model_package(ModelPackageName=arns[0])
out["describe"] = {"status": d["ModelApprovalStatus"], "version": d["ModelPackageVersion"], "group": d["ModelPackageGroupName"],
    "createdBy": raw["last"]["CreatedBy"]["IamIdentity"]["Arn"], "image": d["InferenceSpecification"]["Containers"][0]["Image"],
    "etag": raw["last"]["InferenceSpecification"]["Containers"][0].get("ModelDataETag", ""),
    "metrics": d["ModelMetrics"]["ModelQuality"]["Statistics"]["S3Uri"], "metadata": d["CustomerMetadataProperties"],
    "packageStatus": d["ModelPackageStatus"]}
out["ds_approve"] = code(lambda: ds.update_model_package(ModelPackageArn=arns[0], ModelApprovalStatus="Approved"))
adm.update_model_package(ModelPackageArn=arns[0], ModelApprovalStatus="Approved", ApprovalDescription="passed review")
adm.update_model_package(ModelPackageArn=arns[2], ModelApprovalStatus="Rejected", CustomerMetadataPropertiesToRemove=["auc"])
d = ds.describe_model_package(ModelPackageName="acme--churn/1")
out["approved"] = {"status": d["ModelApprovalStatus"], "description": d.get("ApprovalDescription", ""), "by": raw["last"]["LastModifiedBy"]["IamIdentity"]["Arn"],
    "approvalBy": raw["last"]["ApprovalModifiedBy"]["IamIdentity"]["Arn"], "lastModified": str(d["LastModifiedTime"])}
out["rejected_metadata"] = ds.describe_model_package(ModelPackageName=arns[2]).get("CustomerMetadataProperties", {})
def page_all(**kw):
    names, tok = [], None
    while True:
        args = dict(kw)
        if tok:
            args["NextToken"] = tok
        r = ds.list_model_packages(MaxResults=1, **args)
        names += ["%s/%d" % (p["ModelPackageGroupName"], p["ModelPackageVersion"]) for p in r["ModelPackageSummaryList"]]
        tok = r.get("NextToken")
        if not tok:
            return names
out["list_all"] = page_all(ModelPackageGroupName="acme--churn")
out["list_by_arn"] = page_all(ModelPackageGroupName=group_arn, SortBy="CreationTime", SortOrder="Descending")
out["list_approved"] = page_all(ModelApprovalStatus="Approved")
out["list_name"] = page_all(NameContains="churn", SortBy="Name", SortOrder="Descending")
out["groups"] = [g["ModelPackageGroupName"] for g in ds.list_model_package_groups(NameContains="churn")["ModelPackageGroupSummaryList"]]
out["paginated"] = sum(len(p["ModelPackageSummaryList"]) for p in ds.get_paginator("list_model_packages").paginate(
    ModelPackageGroupName="acme--churn", PaginationConfig={"PageSize": 2}))
pol = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "ReadPackages", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::%s:root" % acct}, "Action": ["sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup"],
    "Resource": [group_arn, group_arn.replace("model-package-group/", "model-package/") + "/*"]}]})
out["put_policy"] = adm.put_model_package_group_policy(ModelPackageGroupName="acme--churn", ResourcePolicy=pol)["ModelPackageGroupArn"]
out["policy_round_trip"] = adm.get_model_package_group_policy(ModelPackageGroupName="acme--churn")["ResourcePolicy"] == pol
adm.delete_model_package_group_policy(ModelPackageGroupName="acme--churn")
out["policy_after_delete"] = code(lambda: adm.get_model_package_group_policy(ModelPackageGroupName="acme--churn"))
adm.add_tags(ResourceArn=group_arn, Tags=[{"Key": "stage", "Value": "dev"}])
adm.add_tags(ResourceArn=arns[0], Tags=[{"Key": "release", "Value": "r1"}])
out["group_tags"] = sorted(t["Key"] + "=" + t["Value"] for t in adm.list_tags(ResourceArn=group_arn)["Tags"])
out["package_tags"] = sorted(t["Key"] + "=" + t["Value"] for t in adm.list_tags(ResourceArn=arns[0])["Tags"])
out["retag_tenant"] = code(lambda: adm.add_tags(ResourceArn=group_arn, Tags=[{"Key": "TenantID", "Value": "globex"}]))
out["bad"] = {
    "status": code(lambda: adm.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Maybe")),
    "missing_object": code(lambda: ds.create_model_package(ModelPackageGroupName="acme--churn", Tags=tags,
        InferenceSpecification=spec_of([{"Image": "tenantml/xgboost", "ModelDataUrl": url + ".missing"}]))),
    "prefix": code(lambda: ds.create_model_package(ModelPackageGroupName="acme--churn", Tags=tags,
        InferenceSpecification=spec_of([{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://tenantml-artifacts/acme/"}]))),
    "image": code(lambda: ds.create_model_package(ModelPackageGroupName="acme--churn", Tags=tags,
        InferenceSpecification=spec_of([{"Image": "evil/image", "ModelDataUrl": url}]))),
    "metrics": code(lambda: ds.create_model_package(ModelPackageGroupName="acme--churn", Tags=tags, InferenceSpecification=spec,
        ModelMetrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "http://x"}}})),
    "policy": code(lambda: adm.put_model_package_group_policy(ModelPackageGroupName="acme--churn", ResourcePolicy="{not json")),
    "nonempty_group": code(lambda: adm.delete_model_package_group(ModelPackageGroupName="acme--churn")),
    "token": code(lambda: ds.list_model_packages(NextToken="garbage")),
    "version0": code(lambda: ds.describe_model_package(ModelPackageName="acme--churn/0")),
    "unversioned": code(lambda: ds.create_model_package(ModelPackageName="loose", InferenceSpecification=spec)),
    "group_name": code(lambda: ds.create_model_package_group(ModelPackageGroupName="acme--bad_name", Tags=tags)),
    "other_namespace": code(lambda: ds.create_model_package_group(ModelPackageGroupName="globex--mine", Tags=tags)),
    "sort": code(lambda: ds.list_model_packages(SortBy="Size")),
}
missing = arns[1].replace("/2", "/99")
gx.create_model_package_group(ModelPackageGroupName="globex--own", Tags=[{"Key": "TenantID", "Value": "globex"}])
gx_spec = lambda u: spec_of([{"Image": "tenantml/xgboost", "ModelDataUrl": u}])
out["cross"] = {
    "describe": [code(lambda: gx.describe_model_package(ModelPackageName=arns[1])), code(lambda: gx.describe_model_package(ModelPackageName=missing))],
    "approve": [code(lambda: gx.update_model_package(ModelPackageArn=arns[1], ModelApprovalStatus="Approved")),
                code(lambda: gx.update_model_package(ModelPackageArn=missing, ModelApprovalStatus="Approved"))],
    "delete": [code(lambda: gx.delete_model_package(ModelPackageName=arns[1])), code(lambda: gx.delete_model_package(ModelPackageName=missing))],
    "group": [code(lambda: gx.describe_model_package_group(ModelPackageGroupName="acme--churn")),
              code(lambda: gx.describe_model_package_group(ModelPackageGroupName="acme--nothing"))],
    "register": [code(lambda: gx.create_model_package(ModelPackageGroupName="acme--churn", InferenceSpecification=gx_spec(globex_url))),
                 code(lambda: gx.create_model_package(ModelPackageGroupName="acme--nothing", InferenceSpecification=gx_spec(globex_url)))],
    "object": [code(lambda: gx.create_model_package(ModelPackageGroupName="globex--own", InferenceSpecification=gx_spec(url))),
               code(lambda: gx.create_model_package(ModelPackageGroupName="globex--own", InferenceSpecification=gx_spec(url + ".missing")))],
    "tags": [code(lambda: gx.list_tags(ResourceArn=arns[1])), code(lambda: gx.list_tags(ResourceArn=missing))],
    "list": gx.list_model_packages()["ModelPackageSummaryList"],
    "list_group": gx.list_model_packages(ModelPackageGroupName="acme--churn")["ModelPackageSummaryList"],
    "groups": [g["ModelPackageGroupName"] for g in gx.list_model_package_groups()["ModelPackageGroupSummaryList"]],
}
out["after_cross"] = ds.describe_model_package(ModelPackageName=arns[1])["ModelApprovalStatus"]
adm.delete_model_package(ModelPackageName=arns[2])
out["after_delete"] = page_all(ModelPackageGroupName="acme--churn")
out["next_version"] = ds.create_model_package(ModelPackageGroupName="acme--churn", InferenceSpecification=spec, Tags=tags)["ModelPackageArn"]
print(json.dumps(out, default=str))
`

// tenantUser has the operator create a user of tenant with a built-in
// policy and returns its access key.
func tenantUser(t *testing.T, ts *testServer, name, tenant, policy string) [2]string {
	t.Helper()
	ctx := context.Background()
	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name),
		Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(tenant)}}}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String(name), PolicyArn: aws.String(identity.BuiltinARNPrefix + policy)}); err != nil {
		t.Fatalf("AttachUserPolicy: %v", err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	return [2]string{aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)}
}

// registryScenario starts a server with tenants acme and globex, a model
// artifact of each, and users of each; it returns the server, the
// credentials by role and the two model data URLs.
func registryScenario(t *testing.T) (ts *testServer, creds map[string][2]string, acmeURL, globexURL string) {
	t.Helper()
	ts = startServer(t, rootEnv)
	model, _ := exampleModel(t)
	for _, id := range []string{"acme", "globex"} {
		createTenant(t, ts, id, "pool")
		mustSend(t, ts, rootPrincipal(), manageRequest(http.MethodPut, "/api/v1/tenants/"+id+"/artifacts/churn/v1/model.tar.gz", model))
	}
	creds = map[string][2]string{
		"ds":     tenantUser(t, ts, "acme-ds", "acme", identity.DataScientist),
		"admin":  tenantUser(t, ts, "acme-admin", "acme", identity.TenantAdmin),
		"globex": tenantUser(t, ts, "globex-admin", "globex", identity.TenantAdmin),
	}
	return ts, creds, "s3://" + artifactBucket + "/acme/churn/v1/model.tar.gz", "s3://" + artifactBucket + "/globex/churn/v1/model.tar.gz"
}

func TestRegistry_Boto3(t *testing.T) {
	t.Parallel()
	ts, creds, acmeURL, globexURL := registryScenario(t)
	credJSON, _ := json.Marshal(creds)
	raw := runBoto3(t, registryBoto3Script, ts.URL, string(credJSON), acmeURL, globexURL, ts.cfg.AccountID)
	var got struct {
		GroupARN string   `json:"group_arn"`
		ARNs     []string `json:"arns"`
		Describe struct {
			Status, Group, CreatedBy, Image, Metrics, ETag, PackageStatus string
			Version                                                       int
			Metadata                                                      map[string]string
		} `json:"describe"`
		DSApprove string `json:"ds_approve"`
		Approved  struct {
			Status, Description, By, ApprovalBy, LastModified string
		} `json:"approved"`
		RejectedMetadata map[string]string          `json:"rejected_metadata"`
		ListAll          []string                   `json:"list_all"`
		ListByARN        []string                   `json:"list_by_arn"`
		ListApproved     []string                   `json:"list_approved"`
		ListName         []string                   `json:"list_name"`
		Groups           []string                   `json:"groups"`
		Paginated        int                        `json:"paginated"`
		PutPolicy        string                     `json:"put_policy"`
		PolicyRoundTrip  bool                       `json:"policy_round_trip"`
		PolicyAfter      string                     `json:"policy_after_delete"`
		GroupTags        []string                   `json:"group_tags"`
		PackageTags      []string                   `json:"package_tags"`
		RetagTenant      string                     `json:"retag_tenant"`
		Bad              map[string]string          `json:"bad"`
		Cross            map[string]json.RawMessage `json:"cross"`
		AfterCross       string                     `json:"after_cross"`
		AfterDelete      []string                   `json:"after_delete"`
		NextVersion      string                     `json:"next_version"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	acct := ts.cfg.AccountID
	pkgARN := func(v string) string {
		return "arn:aws:sagemaker:us-east-1:" + acct + ":model-package/acme--churn/" + v
	}
	if got.GroupARN != "arn:aws:sagemaker:us-east-1:"+acct+":model-package-group/acme--churn" {
		t.Errorf("group ARN %s", got.GroupARN)
	}
	if want := []string{pkgARN("1"), pkgARN("2"), pkgARN("3")}; !reflect.DeepEqual(got.ARNs, want) {
		t.Errorf("package ARNs %v, want %v", got.ARNs, want)
	}
	d := got.Describe
	if d.Status != "PendingManualApproval" || d.Version != 1 || d.Group != "acme--churn" || d.CreatedBy != "arn:aws:iam::"+acct+":user/acme-ds" ||
		d.Image != "tenantml/xgboost" || d.Metrics != "s3://tenantml-artifacts/acme/churn/v1/stats.json" || d.Metadata["auc"] != "0.90" || d.ETag == "" || d.PackageStatus != "Completed" {
		t.Errorf("describe = %+v", d)
	}
	if !strings.HasPrefix(got.DSApprove, "400 AccessDeniedException") {
		t.Errorf("the data scientist approves: %s, want AccessDeniedException (DataScientist has no sagemaker:UpdateModelPackage)", got.DSApprove)
	}
	if a := got.Approved; a.Status != "Approved" || a.Description != "passed review" || a.By != "arn:aws:iam::"+acct+":user/acme-admin" ||
		a.ApprovalBy != a.By || a.LastModified == "" {
		t.Errorf("after approval: %+v", a)
	}
	if len(got.RejectedMetadata) != 0 {
		t.Errorf("metadata after removing auc: %v", got.RejectedMetadata)
	}
	lists := []struct {
		name      string
		got, want []string
	}{
		{"all", got.ListAll, []string{"acme--churn/1", "acme--churn/2", "acme--churn/3"}},
		{"byARN, time descending", got.ListByARN, []string{"acme--churn/3", "acme--churn/2", "acme--churn/1"}},
		{"approved", got.ListApproved, []string{"acme--churn/1"}},
		{"name descending", got.ListName, []string{"acme--churn/3", "acme--churn/2", "acme--churn/1"}},
		{"groups", got.Groups, []string{"acme--churn"}},
		{"after delete", got.AfterDelete, []string{"acme--churn/1", "acme--churn/2"}},
	}
	for _, l := range lists {
		if !reflect.DeepEqual(l.got, l.want) {
			t.Errorf("list %s = %v, want %v", l.name, l.got, l.want)
		}
	}
	if got.Paginated != 3 {
		t.Errorf("the paginator listed %d packages, want 3", got.Paginated)
	}
	if got.PutPolicy != got.GroupARN || !got.PolicyRoundTrip || !strings.HasPrefix(got.PolicyAfter, "400 ValidationException") {
		t.Errorf("policy: put %s, round trip %v, after delete %s", got.PutPolicy, got.PolicyRoundTrip, got.PolicyAfter)
	}
	if want := []string{"TenantID=acme", "stage=dev"}; !reflect.DeepEqual(got.GroupTags, want) {
		t.Errorf("group tags %v, want %v", got.GroupTags, want)
	}
	if want := []string{"TenantID=acme", "release=r1"}; !reflect.DeepEqual(got.PackageTags, want) {
		t.Errorf("package tags %v, want %v", got.PackageTags, want)
	}
	if !strings.HasPrefix(got.RetagTenant, "400 ") {
		t.Errorf("retagging the group's tenant: %s", got.RetagTenant)
	}
	for name, want := range map[string]string{
		"status": "400 ValidationException", "missing_object": "400 ValidationException: Could not find model data",
		"prefix": "400 ValidationException", "image": "400 ValidationException",
		"metrics": "400 ValidationException", "policy": "400 ValidationException", "nonempty_group": "400 ConflictException",
		"token": "400 ValidationException", "version0": "400 ValidationException", "unversioned": "400 ValidationException",
		"group_name": "400 ValidationException", "other_namespace": "400 ValidationException",
		"sort": "400 ValidationException",
	} {
		if !strings.HasPrefix(got.Bad[name], want) {
			t.Errorf("bad input %s: %s, want %s...", name, got.Bad[name], want)
		}
	}
	// Cross-tenant: globex's administrator (sagemaker:* on its own
	// tenant) gets for acme's package, group and object exactly what a
	// missing one gets, and lists nothing of acme.
	norm := strings.NewReplacer(pkgARN("2"), "<pkg>", pkgARN("99"), "<pkg>", "acme--churn", "<group>", "acme--nothing", "<group>",
		"acme/churn/v1/model.tar.gz.missing", "<obj>", "acme/churn/v1/model.tar.gz", "<obj>")
	for _, op := range []string{"describe", "approve", "delete", "group", "register", "object", "tags"} {
		var pair [2]string
		if err := json.Unmarshal(got.Cross[op], &pair); err != nil {
			t.Fatalf("cross %s: %v in %s", op, err, got.Cross[op])
		}
		if !strings.HasPrefix(pair[0], "400 ") || norm.Replace(pair[0]) != norm.Replace(pair[1]) {
			t.Errorf("cross-tenant %s: acme's answers\n  %s\nand a missing one\n  %s", op, pair[0], pair[1])
		}
	}
	for _, op := range []string{"list", "list_group"} {
		if s := string(got.Cross[op]); s != "[]" {
			t.Errorf("globex's %s shows %s", op, s)
		}
	}
	if s := string(got.Cross["groups"]); s != `["globex--own"]` {
		t.Errorf("globex's groups: %s", s)
	}
	if got.AfterCross != "PendingManualApproval" {
		t.Errorf("acme's package after globex's attempts is %s", got.AfterCross)
	}
	if got.NextVersion != pkgARN("4") {
		t.Errorf("the version after deleting v3 is %s, want 4 (versions are never reused)", got.NextVersion)
	}
}
