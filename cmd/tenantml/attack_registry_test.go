package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/registry"
)

// The model registry in the attack suite: globex's model package group
// and its package (version 1, pinned to globex's artifact), the
// platform's group and package, and acme's own empty group, built by the
// operator; the cross-tenant templates of every registry operation; and
// the attack of acme approving globex's package.

// registryFixture names the scenario's registry resources.
type registryFixture struct {
	// group is globex's group; pkg its package's ARN (version 1).
	group, pkg string
	// platGroup is the platform's group, platPkg its package's ARN.
	platGroup, platPkg string
	// ownGroup is acme's own group (no package).
	ownGroup string
}

// Reasons why a registry attempt leaves no operator event.
const (
	opModelData = "the model data a package pins is decided inside CreateModelPackage (s3:GetObject and kms:Decrypt through Pipeline.Check), where another tenant's object answers as a missing one; nothing attributes the attempt"
	opPackage   = "the model package of CreateModel is decided inside it (sagemaker:DescribeModelPackage through Pipeline.Check), where another tenant's package answers as a missing one; nothing attributes the attempt"
)

// registry builds the scenario's registry resources as the operator.
func (e *attackEnv) registry(t *testing.T) {
	t.Helper()
	r := &e.rg
	r.group, r.platGroup, r.ownGroup = "globex--registry", "platform-registry", "acme--registry"
	spec := map[string]any{"Containers": []map[string]any{{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://" + artifactBucket + "/" + e.sv.globexModel}},
		"SupportedContentTypes": []string{"text/csv"}, "SupportedResponseMIMETypes": []string{"text/csv"}}
	for _, g := range []struct {
		name, tenant string
		pkg          *string
	}{{r.group, "globex", &r.pkg}, {r.platGroup, "", &r.platPkg}, {r.ownGroup, "acme", nil}} {
		in := map[string]any{"ModelPackageGroupName": g.name}
		if g.tenant != "" {
			in["Tags"] = []map[string]string{{"Key": "TenantID", "Value": g.tenant}}
		}
		e.sm(t, e.root, "CreateModelPackageGroup", in)
		if g.pkg == nil {
			continue
		}
		rep := e.mustOK(t, e.root, sagemakerRequest("CreateModelPackage", map[string]any{"ModelPackageGroupName": g.name, "InferenceSpecification": spec}))
		var out struct{ ModelPackageArn string }
		if err := json.Unmarshal(rep.body, &out); err != nil {
			t.Fatal(err)
		}
		*g.pkg = out.ModelPackageArn
	}
	e.sm(t, e.root, "PutModelPackageGroupPolicy", map[string]any{"ModelPackageGroupName": r.group, "ResourcePolicy": globexGroupPolicy(e.acct)})
}

// globexGroupPolicy is the resource policy of globex's group: it grants
// every principal of the account every registry action, so only the
// tenant invariant keeps acme out.
func globexGroupPolicy(acct string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:root"},"Action":"sagemaker:*","Resource":"*"}]}`
}

// registryCases are the registry operations' templates.
func registryCases() []crossCase {
	platform := func(c crossCase) crossCase { c.platform = true; return c }
	quiet := func(c crossCase, operator string) crossCase { c.operator = operator; return c }
	list := func(c crossCase) crossCase { c.kind = crossList; return c }
	group := func(op, variant string, get func(x *crossTarget) string, more map[string]any) crossCase {
		return smOp(op, variant, func(x *crossTarget) map[string]any {
			in := map[string]any{"ModelPackageGroupName": get(x)}
			for k, v := range more {
				in[k] = v
			}
			return in
		})
	}
	pkg := func(op, variant, field string, get func(x *crossTarget) string, more map[string]any) crossCase {
		return smOp(op, variant, func(x *crossTarget) map[string]any {
			in := map[string]any{field: get(x)}
			for k, v := range more {
				in[k] = v
			}
			return in
		})
	}
	regGroup := func(x *crossTarget) string { return x.regGroup }
	platGroup := func(x *crossTarget) string { return x.platRegGroup }
	regPkg := func(x *crossTarget) string { return x.regPkgARN }
	regPkgName := func(x *crossTarget) string { return x.regPkgName }
	platPkg := func(x *crossTarget) string { return x.platRegPkgARN }
	spec := func(object string) map[string]any {
		return map[string]any{"Containers": []map[string]any{{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://" + artifactBucket + "/" + object}},
			"SupportedContentTypes": []string{"text/csv"}, "SupportedResponseMIMETypes": []string{"text/csv"}}
	}
	createPkg := func(variant string, in func(x *crossTarget) (group, object string)) crossCase {
		return smOp("CreateModelPackage", variant, func(x *crossTarget) map[string]any {
			g, o := in(x)
			return map[string]any{"ModelPackageGroupName": g, "InferenceSpecification": spec(o), "Tags": acmeTags}
		})
	}
	approve := map[string]any{"ModelApprovalStatus": "Approved", "ApprovalDescription": "approved by acme"}
	policy := map[string]any{"ResourcePolicy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sagemaker:*","Resource":"*"}]}`}
	tags := func(op, variant string, arn func(x *crossTarget) string, more map[string]any) crossCase {
		return pkg(op, variant, "ResourceArn", arn, more)
	}
	team := map[string]any{"Tags": []map[string]string{{"Key": "team", "Value": "x"}}}
	teamKey := map[string]any{"TagKeys": []string{"team"}}
	return []crossCase{
		// Groups and their policies: globex's, the platform's, a name in
		// globex's name space.
		quiet(group("CreateModelPackageGroup", "", regGroup, map[string]any{"Tags": acmeTags}), opNamespace),
		group("DescribeModelPackageGroup", "", regGroup, nil),
		group("DeleteModelPackageGroup", "", regGroup, nil),
		platform(group("DescribeModelPackageGroup", "platform", platGroup, nil)),
		platform(group("DeleteModelPackageGroup", "platform", platGroup, nil)),
		group("PutModelPackageGroupPolicy", "", regGroup, policy),
		group("GetModelPackageGroupPolicy", "", regGroup, nil),
		group("DeleteModelPackageGroupPolicy", "", regGroup, nil),
		platform(group("PutModelPackageGroupPolicy", "platform", platGroup, policy)),
		platform(group("GetModelPackageGroupPolicy", "platform", platGroup, nil)),
		list(smOp("ListModelPackageGroups", "", func(*crossTarget) map[string]any { return map[string]any{} })),
		list(smOp("ListModelPackageGroups", "name-contains", func(*crossTarget) map[string]any { return map[string]any{"NameContains": "globex"} })),

		// Packages: registering into globex's (or the platform's) group,
		// into acme's own group over globex's object; reading, approving
		// and deleting globex's package by ARN and by group/version.
		createPkg("", func(x *crossTarget) (string, string) { return x.regGroup, x.ownObject }),
		platform(createPkg("platform", func(x *crossTarget) (string, string) { return x.platRegGroup, x.ownObject })),
		quiet(createPkg("object", func(x *crossTarget) (string, string) { return x.ownRegGroup, x.poolModel }), opModelData),
		pkg("DescribeModelPackage", "", "ModelPackageName", regPkg, nil),
		pkg("DescribeModelPackage", "group-version", "ModelPackageName", regPkgName, nil),
		platform(pkg("DescribeModelPackage", "platform", "ModelPackageName", platPkg, nil)),
		pkg("UpdateModelPackage", "", "ModelPackageArn", regPkg, approve),
		pkg("UpdateModelPackage", "metadata", "ModelPackageArn", regPkg, map[string]any{"CustomerMetadataProperties": map[string]string{"owner": "acme"}}),
		platform(pkg("UpdateModelPackage", "platform", "ModelPackageArn", platPkg, approve)),
		pkg("DeleteModelPackage", "", "ModelPackageName", regPkg, nil),
		platform(pkg("DeleteModelPackage", "platform", "ModelPackageName", platPkg, nil)),
		list(smOp("ListModelPackages", "", func(*crossTarget) map[string]any { return map[string]any{} })),
		list(smOp("ListModelPackages", "group", func(x *crossTarget) map[string]any { return map[string]any{"ModelPackageGroupName": x.regGroup} })),
		list(smOp("ListModelPackages", "approved", func(*crossTarget) map[string]any {
			return map[string]any{"ModelApprovalStatus": "PendingManualApproval", "NameContains": "globex"}
		})),

		// Tags of groups and packages, by ARN.
		tags("AddTags", "group", func(x *crossTarget) string { return x.regGroupARN }, team),
		tags("AddTags", "package", regPkg, team),
		tags("DeleteTags", "package", regPkg, teamKey),
		tags("ListTags", "group", func(x *crossTarget) string { return x.regGroupARN }, nil),
		tags("ListTags", "package", regPkg, nil),
		platform(tags("ListTags", "platform-package", platPkg, nil)),

		// A model from globex's package.
		quiet(smOp("CreateModel", "package", func(x *crossTarget) map[string]any {
			return map[string]any{"ModelName": "acme--from-package", "ExecutionRoleArn": x.ownExecRole, "Tags": acmeTags,
				"PrimaryContainer": map[string]any{"ModelPackageName": x.regPkgARN}}
		}), opPackage),
	}
}

// registryTargets fills the registry names of globex's side from e's
// scenario, and of the missing side from word.
func (e *attackEnv) registryTargets(other, missing *crossTarget, word func(n int) string) {
	r, region := e.rg, e.ts.cfg.Region
	for _, x := range []*crossTarget{other, missing} {
		x.ownRegGroup, x.ownObject = r.ownGroup, "acme/attack/v1/model.tar.gz"
	}
	other.regGroup, other.regPkgARN, other.platRegGroup, other.platRegPkgARN = r.group, r.pkg, r.platGroup, r.platPkg
	missing.regGroup, missing.platRegGroup = "globex--"+word(10), "platform-"+word(11)
	missing.regPkgARN = registry.PackageARN(region, e.acct, missing.regGroup, 1)
	missing.platRegPkgARN = registry.PackageARN(region, e.acct, missing.platRegGroup, 1)
	for _, x := range []*crossTarget{other, missing} {
		x.regGroupARN = registry.GroupARN(region, e.acct, x.regGroup)
		x.regPkgName = x.regGroup + "/1"
	}
}

// registryNames are x's registry names, in a fixed order.
func (x *crossTarget) registryNames() []string {
	return []string{x.regPkgARN, x.platRegPkgARN, x.regGroupARN, x.regPkgName, x.regGroup, x.platRegGroup}
}

// testRefusedRegistryApproval: acme's administrator, whose policies allow
// every SageMaker action on its tenant, and the broker's acme session,
// which allow everything, try to approve globex's package with the AWS
// CLI (the group's resource policy grants the whole account): refused
// exactly as a missing package, and the package stays pending.
func testRefusedRegistryApproval(t *testing.T, e *attackEnv) {
	missing := strings.Replace(e.rg.pkg, "/1", "/7", 1)
	for _, by := range []*principal{e.tenants["acme"].users["admin"], e.tenants["acme"].session} {
		var answers [2]string
		for i, arn := range []string{e.rg.pkg, missing} {
			out, err := awsCLI(t, e.ts, by.keyID, by.secret, by.token, "sagemaker", "update-model-package", "--model-package-arn", arn,
				"--model-approval-status", "Approved")
			if err == nil {
				t.Fatalf("%s approved %s:\n%s", by.kind, arn, out)
			}
			answers[i] = strings.ReplaceAll(out, arn, "<package>")
		}
		if answers[0] != answers[1] {
			t.Errorf("%s: globex's package and a missing one answer differently:\n%s\n%s", by.kind, answers[0], answers[1])
		}
	}
	var d struct{ ModelApprovalStatus string }
	rep := e.mustOK(t, e.root, sagemakerRequest("DescribeModelPackage", map[string]any{"ModelPackageName": e.rg.pkg}))
	if err := json.Unmarshal(rep.body, &d); err != nil || d.ModelApprovalStatus != "PendingManualApproval" {
		t.Fatalf("globex's package after acme's attempts: %s (%v)", rep.body, err)
	}
}
