package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// TestRegistry_AWSCLI drives the registry with the AWS CLI as acme's
// administrator: a group, a package over acme's artifact, approval, the
// listings with their filters, the group's policy, deletion.
func TestRegistry_AWSCLI(t *testing.T) {
	t.Parallel()
	ts, creds, acmeURL, _ := registryScenario(t)
	adm := creds["admin"]
	run := func(args ...string) string {
		t.Helper()
		out, err := awsCLI(t, ts, adm[0], adm[1], "", append([]string{"sagemaker"}, args...)...)
		if err != nil {
			t.Fatalf("aws sagemaker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	decode := func(out string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
	}
	var group struct{ ModelPackageGroupArn string }
	decode(run("create-model-package-group", "--model-package-group-name", "acme--cli", "--model-package-group-description", "from the CLI",
		"--tags", "Key=TenantID,Value=acme"), &group)
	spec := `{"Containers":[{"Image":"tenantml/xgboost","ModelDataUrl":"` + acmeURL + `"}],"SupportedContentTypes":["text/csv"],"SupportedResponseMIMETypes":["text/csv"]}`
	var arns []string
	for range 2 {
		var p struct{ ModelPackageArn string }
		decode(run("create-model-package", "--model-package-group-name", "acme--cli", "--inference-specification", spec,
			"--customer-metadata-properties", "auc=0.91"), &p)
		arns = append(arns, p.ModelPackageArn)
	}
	run("update-model-package", "--model-package-arn", arns[1], "--model-approval-status", "Approved", "--approval-description", "ship it")
	var d struct {
		ModelPackageGroupName, ModelApprovalStatus, ApprovalDescription string
		ModelPackageVersion                                             int
		CustomerMetadataProperties                                      map[string]string
	}
	decode(run("describe-model-package", "--model-package-name", arns[1]), &d)
	if d.ModelPackageGroupName != "acme--cli" || d.ModelPackageVersion != 2 || d.ModelApprovalStatus != "Approved" || d.ApprovalDescription != "ship it" ||
		d.CustomerMetadataProperties["auc"] != "0.91" {
		t.Fatalf("describe-model-package = %+v", d)
	}
	var list struct {
		ModelPackageSummaryList []struct {
			ModelPackageArn, ModelApprovalStatus string
		}
	}
	decode(run("list-model-packages", "--model-package-group-name", "acme--cli", "--model-approval-status", "Approved"), &list)
	if len(list.ModelPackageSummaryList) != 1 || list.ModelPackageSummaryList[0].ModelPackageArn != arns[1] {
		t.Fatalf("approved packages: %+v", list)
	}
	// The CLI pages through every package itself (--page-size 1).
	decode(run("list-model-packages", "--model-package-group-name", "acme--cli", "--page-size", "1"), &list)
	if len(list.ModelPackageSummaryList) != 2 {
		t.Fatalf("all packages, one per page: %+v", list)
	}
	var groups struct {
		ModelPackageGroupSummaryList []struct{ ModelPackageGroupName string }
	}
	decode(run("list-model-package-groups", "--sort-by", "CreationTime", "--sort-order", "Descending"), &groups)
	if len(groups.ModelPackageGroupSummaryList) != 1 || groups.ModelPackageGroupSummaryList[0].ModelPackageGroupName != "acme--cli" {
		t.Fatalf("groups: %+v", groups)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ts.cfg.AccountID + `:root"},"Action":"sagemaker:DescribeModelPackage","Resource":"*"}]}`
	run("put-model-package-group-policy", "--model-package-group-name", "acme--cli", "--resource-policy", policy)
	var got struct{ ResourcePolicy string }
	decode(run("get-model-package-group-policy", "--model-package-group-name", "acme--cli"), &got)
	if got.ResourcePolicy != policy {
		t.Fatalf("policy %q", got.ResourcePolicy)
	}
	run("delete-model-package-group-policy", "--model-package-group-name", "acme--cli")
	out, err := awsCLI(t, ts, adm[0], adm[1], "", "sagemaker", "delete-model-package-group", "--model-package-group-name", "acme--cli")
	if err == nil || !strings.Contains(out, "ConflictException") {
		t.Fatalf("deleting a group with packages: %v\n%s", err, out)
	}
	for _, a := range arns {
		run("delete-model-package", "--model-package-name", a)
	}
	run("delete-model-package-group", "--model-package-group-name", "acme--cli")
	// A missing group has no TenantID tag for the administrator's
	// policy: the operator asks.
	out, err = awsCLI(t, ts, rootKeyID, rootSecret, "", "sagemaker", "describe-model-package-group", "--model-package-group-name", "acme--cli")
	if err == nil || !strings.Contains(out, "ValidationException") || !strings.Contains(out, "Could not find model package group") {
		t.Fatalf("describing a deleted group: %v\n%s", err, out)
	}
}

// TestRegistry_BadInput sends malformed and invalid registry requests:
// every one is a 400 with the expected code, never a 5xx, and nothing is
// registered.
func TestRegistry_BadInput(t *testing.T) {
	t.Parallel()
	ts, _, acmeURL, _ := registryScenario(t)
	root := rootPrincipal()
	tagged := []map[string]string{{"Key": "TenantID", "Value": "acme"}}
	mustSend(t, ts, root, sagemakerRequest("CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "acme--bad", "Tags": tagged}))
	container := func(more map[string]any) map[string]any {
		c := map[string]any{"Image": "tenantml/xgboost", "ModelDataUrl": acmeURL}
		for k, v := range more {
			c[k] = v
		}
		return c
	}
	pkg := func(spec map[string]any, more map[string]any) map[string]any {
		in := map[string]any{"ModelPackageGroupName": "acme--bad", "InferenceSpecification": spec}
		for k, v := range more {
			in[k] = v
		}
		return in
	}
	one := map[string]any{"Containers": []any{container(nil)}}
	many := make([]any, 16)
	for i := range many {
		many[i] = container(nil)
	}
	metadata := map[string]string{}
	for i := range 51 {
		metadata[fmt.Sprintf("k%d", i)] = "v"
	}
	var created struct{ ModelPackageArn string }
	r := mustSend(t, ts, root, sagemakerRequest("CreateModelPackage", pkg(one, nil)))
	if err := json.Unmarshal(r.body, &created); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, op string
		in       any
		raw      string // sent instead of in when set
		code     string
	}{
		{"NotJSON", "CreateModelPackage", nil, "{", "SerializationException"},
		{"WrongType", "CreateModelPackage", nil, `{"ModelPackageGroupName":"acme--bad","InferenceSpecification":"x"}`, "SerializationException"},
		{"NoSpec", "CreateModelPackage", map[string]any{"ModelPackageGroupName": "acme--bad"}, "", "ValidationException"},
		{"NoGroup", "CreateModelPackage", map[string]any{"InferenceSpecification": one}, "", "ValidationException"},
		{"NoContainers", "CreateModelPackage", pkg(map[string]any{"Containers": []any{}}, nil), "", "ValidationException"},
		{"TooManyContainers", "CreateModelPackage", pkg(map[string]any{"Containers": many}, nil), "", "ValidationException"},
		{"NoImage", "CreateModelPackage", pkg(map[string]any{"Containers": []any{container(map[string]any{"Image": ""})}}, nil), "", "ValidationException"},
		{"NotS3", "CreateModelPackage", pkg(map[string]any{"Containers": []any{container(map[string]any{"ModelDataUrl": "https://x/y"})}}, nil), "", "ValidationException"},
		{"Prefix", "CreateModelPackage", pkg(map[string]any{"Containers": []any{container(map[string]any{"ModelDataUrl": "s3://tenantml-artifacts/acme/"})}}, nil), "", "ValidationException"},
		{"MissingBucket", "CreateModelPackage", pkg(map[string]any{"Containers": []any{container(map[string]any{"ModelDataUrl": "s3://no-such-bucket-x/k"})}}, nil), "", "ValidationException"},
		{"ETagMismatch", "CreateModelPackage", pkg(map[string]any{"Containers": []any{container(map[string]any{"ModelDataETag": "0123"})}}, nil), "", "ValidationException"},
		{"Status", "CreateModelPackage", pkg(one, map[string]any{"ModelApprovalStatus": "Approve"}), "", "ValidationException"},
		{"TooMuchMetadata", "CreateModelPackage", pkg(one, map[string]any{"CustomerMetadataProperties": metadata}), "", "ValidationException"},
		{"AWSMetadataKey", "CreateModelPackage", pkg(one, map[string]any{"CustomerMetadataProperties": map[string]string{"aws:x": "y"}}), "", "ValidationException"},
		{"UnknownMetrics", "CreateModelPackage", pkg(one, map[string]any{"ModelMetrics": map[string]any{"Vibes": map[string]any{"Report": map[string]any{"ContentType": "a", "S3Uri": "s3://b/k"}}}}), "", "ValidationException"},
		{"OtherTenantTag", "CreateModelPackage", pkg(one, map[string]any{"Tags": []map[string]string{{"Key": "TenantID", "Value": "globex"}}}), "", "ValidationException"},
		{"LongDescription", "CreateModelPackage", pkg(one, map[string]any{"ModelPackageDescription": strings.Repeat("x", 1025)}), "", "ValidationException"},
		{"GroupNameChars", "CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "a/b"}, "", "ValidationException"},
		{"GroupNameLong", "CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": strings.Repeat("a", 64)}, "", "ValidationException"},
		{"GroupTaken", "CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "ACME--bad", "Tags": tagged}, "", "ValidationException"},
		{"GroupAWSTag", "CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "acme--t", "Tags": []map[string]string{{"Key": "aws:x", "Value": "y"}}}, "", "ValidationException"},
		{"DescribeNoName", "DescribeModelPackage", map[string]any{}, "", "ValidationException"},
		{"DescribeBadName", "DescribeModelPackage", map[string]any{"ModelPackageName": "acme--bad"}, "", "ValidationException"},
		{"DescribeBadVersion", "DescribeModelPackage", map[string]any{"ModelPackageName": "acme--bad/01"}, "", "ValidationException"},
		{"DescribeNotPackageARN", "DescribeModelPackage", map[string]any{"ModelPackageName": "arn:aws:sagemaker:us-east-1:000000000000:model/x"}, "", "ValidationException"},
		{"UpdateNoARN", "UpdateModelPackage", map[string]any{"ModelPackageName": "acme--bad/1", "ModelApprovalStatus": "Approved"}, "", "ValidationException"},
		{"UpdateStatus", "UpdateModelPackage", map[string]any{"ModelPackageArn": "acme--bad/1", "ModelApprovalStatus": "approved"}, "", "ValidationException"},
		{"UpdateSpec", "UpdateModelPackage", map[string]any{"ModelPackageArn": "acme--bad/1", "InferenceSpecification": one}, "", "ValidationException"},
		{"UpdateMetadata", "UpdateModelPackage", map[string]any{"ModelPackageArn": "acme--bad/1", "CustomerMetadataProperties": metadata}, "", "ValidationException"},
		{"ListMaxResults", "ListModelPackages", map[string]any{"MaxResults": 1000}, "", "ValidationException"},
		{"ListNameContains", "ListModelPackages", map[string]any{"NameContains": "a%"}, "", "ValidationException"},
		{"ListSortOrder", "ListModelPackages", map[string]any{"SortOrder": "Up"}, "", "ValidationException"},
		{"ListStatus", "ListModelPackages", map[string]any{"ModelApprovalStatus": "Maybe"}, "", "ValidationException"},
		{"ListType", "ListModelPackages", map[string]any{"ModelPackageType": "Loose"}, "", "ValidationException"},
		{"ListTime", "ListModelPackages", nil, `{"CreationTimeAfter":"yesterday"}`, "SerializationException"},
		{"ListToken", "ListModelPackageGroups", map[string]any{"NextToken": strings.Repeat("A", 2000)}, "", "ValidationException"},
		{"ListGroupARN", "ListModelPackages", map[string]any{"ModelPackageGroupName": "arn:aws:sagemaker:us-east-1:000000000000:model/x"}, "", "ValidationException"},
		{"PolicyNotJSON", "PutModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": "acme--bad", "ResourcePolicy": "{"}, "", "ValidationException"},
		{"PolicyNoPrincipal", "PutModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": "acme--bad",
			"ResourcePolicy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:*","Resource":"*"}]}`}, "", "ValidationException"},
		{"PolicyEmpty", "PutModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": "acme--bad"}, "", "ValidationException"},
		{"GetMissingPolicy", "GetModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": "acme--bad"}, "", "ValidationException"},
		{"DeleteMissingPolicy", "DeleteModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": "acme--bad"}, "", "ValidationException"},
		{"TagBadARN", "AddTags", map[string]any{"ResourceArn": "arn:aws:sagemaker:us-east-1:000000000000:model-package/acme--bad/x", "Tags": tagged}, "", "ValidationException"},
		// Another account's group: decided across accounts (no resource
		// policy grants the caller), as another account's endpoint is.
		{"TagForeignAccount", "ListTags", map[string]any{"ResourceArn": "arn:aws:sagemaker:us-east-1:999999999999:model-package-group/acme--bad"}, "", "AccessDeniedException"},
		{"ModelFromPackageWithImage", "CreateModel", map[string]any{"ModelName": "acme--m", "ExecutionRoleArn": "arn:aws:iam::000000000000:role/x",
			"PrimaryContainer": map[string]any{"ModelPackageName": "acme--bad/1", "Image": "tenantml/xgboost"}, "Tags": tagged}, "", "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := sagemakerRequest(tt.op, tt.in)
			if tt.raw != "" {
				req.body = []byte(tt.raw)
			}
			r := send(t, ts, root, req)
			if r.status != http.StatusBadRequest || errorCode(r.body) != tt.code {
				t.Fatalf("%d %s, want 400 %s", r.status, r.body, tt.code)
			}
		})
	}
	var list struct{ ModelPackageSummaryList []any }
	smRoot(t, ts, "ListModelPackages", map[string]any{}, &list)
	if len(list.ModelPackageSummaryList) != 1 {
		t.Fatalf("after the bad requests, %d packages (want the one valid)", len(list.ModelPackageSummaryList))
	}
	if created.ModelPackageArn == "" {
		t.Fatal("the valid package has no ARN")
	}
}

// TestRegistry_GroupPolicy: a group's resource policy is evaluated by the
// IAM engine for the group and its packages — it grants a principal of
// the tenant that no identity policy allows, its explicit deny beats the
// administrator's allow — and grants nothing across tenants.
func TestRegistry_GroupPolicy(t *testing.T) {
	t.Parallel()
	ts, creds, acmeURL, _ := registryScenario(t)
	adm := &principal{keyID: creds["admin"][0], secret: creds["admin"][1]}
	globex := &principal{keyID: creds["globex"][0], secret: creds["globex"][1]}
	// A user of acme without any policy.
	ctx := context.Background()
	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("acme-bare"),
		Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}}}); err != nil {
		t.Fatal(err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("acme-bare")})
	if err != nil {
		t.Fatal(err)
	}
	bare := &principal{keyID: aws.ToString(key.AccessKey.AccessKeyId), secret: aws.ToString(key.AccessKey.SecretAccessKey)}
	acct := ts.cfg.AccountID
	tagged := []map[string]string{{"Key": "TenantID", "Value": "acme"}}
	mustSend(t, ts, adm, sagemakerRequest("CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "acme--shared", "Tags": tagged}))
	mustSend(t, ts, adm, sagemakerRequest("CreateModelPackage", map[string]any{"ModelPackageGroupName": "acme--shared", "Tags": tagged,
		"InferenceSpecification": map[string]any{"Containers": []map[string]any{{"Image": "tenantml/xgboost", "ModelDataUrl": acmeURL}}}}))
	describe := func(by *principal, name string) reply {
		return send(t, ts, by, sagemakerRequest("DescribeModelPackage", map[string]any{"ModelPackageName": name}))
	}
	if r := describe(bare, "acme--shared/1"); r.status != http.StatusBadRequest || errorCode(r.body) != "AccessDeniedException" {
		t.Fatalf("a user without policies: %d %s", r.status, r.body)
	}
	policy := func(stmts ...string) map[string]any {
		return map[string]any{"ModelPackageGroupName": "acme--shared", "ResourcePolicy": `{"Version":"2012-10-17","Statement":[` + strings.Join(stmts, ",") + `]}`}
	}
	grant := func(who string) string {
		return `{"Effect":"Allow","Principal":{"AWS":"` + who + `"},"Action":["sagemaker:DescribeModelPackage","sagemaker:DescribeModelPackageGroup"],` +
			`"Resource":["arn:aws:sagemaker:us-east-1:` + acct + `:model-package-group/acme--shared","arn:aws:sagemaker:us-east-1:` + acct + `:model-package/acme--shared/*"]}`
	}
	mustSend(t, ts, adm, sagemakerRequest("PutModelPackageGroupPolicy", policy(grant("arn:aws:iam::"+acct+":user/acme-bare"), grant("arn:aws:iam::"+acct+":user/globex-admin"))))
	if r := describe(bare, "acme--shared/1"); r.status != http.StatusOK {
		t.Fatalf("a user the group's policy names: %d %s", r.status, r.body)
	}
	// A version that does not exist has no resource policy to grant it.
	if r := describe(bare, "acme--shared/2"); errorCode(r.body) != "AccessDeniedException" {
		t.Fatalf("a missing version: %d %s", r.status, r.body)
	}
	other, missing := describe(globex, "acme--shared/1"), describe(globex, "acme--nothing/1")
	norm := strings.NewReplacer("acme--shared", "<g>", "acme--nothing", "<g>")
	if other.status != http.StatusBadRequest || norm.Replace(string(other.body)) != norm.Replace(string(missing.body)) {
		t.Fatalf("globex named in acme's policy: %d %s; a missing package: %s", other.status, other.body, missing.body)
	}
	// sagemaker:ModelApprovalStatus: the bare user may update packages,
	// but not approve them.
	iamRoot(t, ts, "PutUserPolicy", "UserName", "acme-bare", "PolicyName", "no-approvals", "PolicyDocument",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:UpdateModelPackage","Resource":"*",`+
			`"Condition":{"StringNotEquals":{"sagemaker:ModelApprovalStatus":"Approved"}}}]}`)
	update := func(in map[string]any) reply {
		in["ModelPackageArn"] = "acme--shared/1"
		return send(t, ts, bare, sagemakerRequest("UpdateModelPackage", in))
	}
	if r := update(map[string]any{"ModelApprovalStatus": "Rejected"}); r.status != http.StatusOK {
		t.Fatalf("rejecting under StringNotEquals Approved: %d %s", r.status, r.body)
	}
	if r := update(map[string]any{"CustomerMetadataProperties": map[string]string{"k": "v"}}); r.status != http.StatusOK {
		t.Fatalf("a metadata update: %d %s", r.status, r.body)
	}
	if r := update(map[string]any{"ModelApprovalStatus": "Approved"}); errorCode(r.body) != "AccessDeniedException" {
		t.Fatalf("approving under StringNotEquals Approved: %d %s", r.status, r.body)
	}
	deny := `{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/acme-admin"},"Action":"sagemaker:UpdateModelPackage","Resource":"*"}`
	mustSend(t, ts, adm, sagemakerRequest("PutModelPackageGroupPolicy", policy(grant("arn:aws:iam::"+acct+":user/acme-bare"), deny)))
	r := send(t, ts, adm, sagemakerRequest("UpdateModelPackage", map[string]any{"ModelPackageArn": "acme--shared/1", "ModelApprovalStatus": "Approved"}))
	if errorCode(r.body) != "AccessDeniedException" || !strings.Contains(string(r.body), "explicit deny") {
		t.Fatalf("the administrator under the group's explicit deny: %d %s", r.status, r.body)
	}
}

// TestRegistryDoc_Example runs the commands of docs/registry.md's
// "Example", exactly as shown, with the real AWS CLI and the tenantml
// binary against a real server: a command annotated "# fails: CODE" must
// fail with that error code, every other must succeed; then the approved
// version is the one the administrator approved.
func TestRegistryDoc_Example(t *testing.T) {
	repo := repoRoot(t)
	ts := startServer(t, rootEnv)
	cmds := shellCommands(t, filepath.Join(repo, "docs", "registry.md"), "## Example")
	run := make([]string, len(cmds))
	for i, c := range cmds {
		run[i] = strings.ReplaceAll(c, "http://127.0.0.1:8080", ts.URL)
	}
	env := shellEnv(t, "TENANTML_ENDPOINT="+ts.URL, "TENANTML_ACCESS_KEY_ID="+rootKeyID, "TENANTML_SECRET_ACCESS_KEY="+rootSecret)
	results := runShell(t, repo, env, run)
	fails := regexp.MustCompile(`# fails: (\w+)`)
	failing := 0
	for i, c := range cmds {
		r := results[i]
		if m := fails.FindStringSubmatch(c); m != nil {
			failing++
			if r.code == 0 || !strings.Contains(r.out, "("+m[1]+")") {
				t.Errorf("%s\nexit %d, want a failure with %s:\n%s", c, r.code, m[1], r.out)
			}
			continue
		}
		if r.code != 0 {
			t.Errorf("%s\nexit %d:\n%s", c, r.code, r.out)
		}
	}
	if len(cmds) < 15 || failing != 1 {
		t.Fatalf("the section has %d commands, %d expected to fail: the walkthrough is missing", len(cmds), failing)
	}
	last := results[len(results)-1].out
	var list struct {
		ModelPackageSummaryList []struct {
			ModelPackageVersion int
			ModelApprovalStatus string
		}
	}
	if err := json.Unmarshal([]byte(last), &list); err != nil {
		t.Fatalf("%v in %s", err, last)
	}
	if l := list.ModelPackageSummaryList; len(l) != 1 || l[0].ModelPackageVersion != 2 || l[0].ModelApprovalStatus != "Approved" {
		t.Fatalf("approved packages after the walkthrough: %+v", l)
	}
}

// TestRegistry_TenantmlCLI: `tenantml registry groups/packages/approve/
// reject` as acme's administrator and data scientist; globex's
// administrator cannot approve acme's version (answered as a missing one).
func TestRegistry_TenantmlCLI(t *testing.T) {
	ts, creds, acmeURL, _ := registryScenario(t)
	adm, ds, gx := creds["admin"], creds["ds"], creds["globex"]
	tagged := []map[string]string{{"Key": "TenantID", "Value": "acme"}}
	admin := &principal{keyID: adm[0], secret: adm[1]}
	mustSend(t, ts, admin, sagemakerRequest("CreateModelPackageGroup", map[string]any{"ModelPackageGroupName": "acme--churn", "Tags": tagged,
		"ModelPackageGroupDescription": "churn"}))
	for range 2 {
		mustSend(t, ts, admin, sagemakerRequest("CreateModelPackage", map[string]any{"ModelPackageGroupName": "acme--churn", "Tags": tagged,
			"InferenceSpecification": map[string]any{"Containers": []map[string]any{{"Image": "tenantml/xgboost", "ModelDataUrl": acmeURL}}}}))
	}
	if out := ts.mustCLI(t, ds[0], ds[1], "registry", "groups"); !strings.Contains(out, "acme--churn") || !strings.Contains(out, "churn") {
		t.Fatalf("registry groups:\n%s", out)
	}
	out := ts.mustCLI(t, ds[0], ds[1], "registry", "packages", "acme--churn")
	if strings.Count(out, "PendingManualApproval") != 2 {
		t.Fatalf("registry packages:\n%s", out)
	}
	if out, err := ts.cli(t, ds[0], ds[1], "registry", "approve", "acme--churn/2"); err == nil || !strings.Contains(err.Error()+out, "AccessDeniedException") {
		t.Fatalf("the data scientist approves: %v\n%s", err, out)
	}
	missing, errMissing := ts.cli(t, gx[0], gx[1], "registry", "approve", "acme--churn/9")
	other, errOther := ts.cli(t, gx[0], gx[1], "registry", "approve", "acme--churn/2")
	strip := func(err error, out string) string {
		s := strings.NewReplacer("acme--churn/9", "acme--churn/N", "acme--churn/2", "acme--churn/N").Replace(err.Error() + out)
		if i := strings.Index(s, "request "); i >= 0 {
			s = s[:i]
		}
		return s
	}
	if errOther == nil || errMissing == nil || strip(errOther, other) != strip(errMissing, missing) {
		t.Fatalf("globex approves acme's version: %v %s; a missing one: %v %s", errOther, other, errMissing, missing)
	}
	ts.mustCLI(t, adm[0], adm[1], "registry", "approve", "acme--churn/2", "--description", "offline AUC 0.93")
	ts.mustCLI(t, adm[0], adm[1], "registry", "reject", "acme--churn/1")
	var got struct {
		Packages []struct {
			Version        int
			ApprovalStatus string
		}
	}
	out = ts.mustCLI(t, ds[0], ds[1], "registry", "packages", "acme--churn", "--status", "Approved", "-o", "json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	if len(got.Packages) != 1 || got.Packages[0].Version != 2 || got.Packages[0].ApprovalStatus != "Approved" {
		t.Fatalf("approved versions: %+v", got)
	}
	var d struct{ ApprovalDescription string }
	smRoot(t, ts, "DescribeModelPackage", map[string]any{"ModelPackageName": "acme--churn/2"}, &d)
	if d.ApprovalDescription != "offline AUC 0.93" {
		t.Fatalf("approval description %q", d.ApprovalDescription)
	}
}
