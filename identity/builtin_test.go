package identity_test

import (
	"strings"
	"testing"

	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
)

func builtin(t *testing.T, name string, kind iam.Kind) *iam.Policy {
	t.Helper()
	doc, ok := identity.BuiltinDocument(identity.BuiltinARNPrefix + name)
	if !ok {
		t.Fatalf("no built-in %s", name)
	}
	p, err := iam.Parse([]byte(doc), iam.ParseOptions{Kind: kind, MaxChars: iam.LimitManaged})
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return p
}

func TestBuiltinPolicies(t *testing.T) {
	ps := identity.BuiltinPolicies()
	if len(ps) != 5 {
		t.Fatalf("%d built-in policies, want 5", len(ps))
	}
	ids := map[string]bool{}
	for _, p := range ps {
		t.Run(p.Name, func(t *testing.T) {
			kind := iam.KindIdentity
			if p.Name == identity.TenantRoleBoundary {
				kind = iam.KindBoundary
			}
			builtin(t, p.Name, kind)
			if !p.Builtin || p.ARN != identity.BuiltinARNPrefix+p.Name || !strings.HasPrefix(p.ID, "ANPA") || len(p.ID) != 20 || ids[p.ID] {
				t.Fatalf("policy = %+v", p)
			}
			ids[p.ID] = true
			acct, path, name, err := identity.ParsePolicyARN(p.ARN)
			if err != nil || acct != "aws" || path != "/tenantml/" || name != p.Name {
				t.Fatalf("ParsePolicyARN(%s) = %s %s %s %v", p.ARN, acct, path, name, err)
			}
		})
	}
	if _, ok := identity.BuiltinDocument(identity.BuiltinARNPrefix + "../builtin/Viewer"); ok {
		t.Fatal("a path outside the built-in set resolved")
	}
}

const (
	acct       = "111122223333"
	boundary   = identity.BuiltinARNPrefix + identity.TenantRoleBoundary
	roleA      = "arn:aws:iam::111122223333:role/tenants/acme-etl"
	roleB      = "arn:aws:iam::111122223333:role/tenants/globex-etl"
	endpointA  = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme"
	endpointB  = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/globex"
	adminA     = "arn:aws:sts::111122223333:assumed-role/TenantAdmin/alice"
	scientistA = "arn:aws:sts::111122223333:assumed-role/DataScientist/dan"
	artifactA  = "arn:aws:tenantml:us-east-1:111122223333:artifact/acme/churn/v1/model.tar.gz"
	artifactB  = "arn:aws:tenantml:us-east-1:111122223333:artifact/globex/churn/v1/model.tar.gz"
	artifactsA = "arn:aws:tenantml:us-east-1:111122223333:artifact/acme/*"
	artifactsB = "arn:aws:tenantml:us-east-1:111122223333:artifact/globex/*"
)

// TestBuiltin_Authorize checks the tenant policies with the IAM engine: the
// TenantAdmin role of tenant acme, bounded by TenantRoleBoundary as the
// platform sets it, and the DataScientist role.
func TestBuiltin_Authorize(t *testing.T) {
	admin := &iam.PolicySet{
		Identity:   []*iam.Policy{builtin(t, identity.TenantAdmin, iam.KindIdentity)},
		Boundaries: []*iam.Policy{builtin(t, identity.TenantRoleBoundary, iam.KindBoundary)},
	}
	scientist := &iam.PolicySet{
		Identity:   []*iam.Policy{builtin(t, identity.DataScientist, iam.KindIdentity)},
		Boundaries: []*iam.Policy{builtin(t, identity.TenantRoleBoundary, iam.KindBoundary)},
	}
	viewer := &iam.PolicySet{Identity: []*iam.Policy{builtin(t, identity.Viewer, iam.KindIdentity)}}
	platform := &iam.PolicySet{Identity: []*iam.Policy{builtin(t, identity.PlatformAdministrator, iam.KindIdentity)}}
	tenantA := iam.Single("aws:PrincipalTag/TenantID", "acme")
	for _, c := range []struct {
		name      string
		set       *iam.PolicySet
		principal string
		action    string
		resource  string
		ctx       []iam.KeyValue
		want      iam.Decision
	}{
		{"AdminCreatesOwnTenantRoleWithBoundary", admin, adminA, "iam:CreateRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:RequestTag/TenantID", "acme"), iam.Multi("aws:TagKeys", "TenantID"), iam.Single("iam:PermissionsBoundary", boundary)}, iam.Allowed},
		{"AdminCreatesRoleWithoutBoundary", admin, adminA, "iam:CreateRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:RequestTag/TenantID", "acme"), iam.Multi("aws:TagKeys", "TenantID")}, iam.ExplicitlyDenied},
		{"AdminCreatesRoleWithOtherBoundary", admin, adminA, "iam:CreateRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:RequestTag/TenantID", "acme"), iam.Single("iam:PermissionsBoundary", identity.BuiltinARNPrefix+identity.PlatformAdministrator)}, iam.ExplicitlyDenied},
		{"AdminCreatesOtherTenantRole", admin, adminA, "iam:CreateRole", roleB,
			[]iam.KeyValue{tenantA, iam.Single("aws:RequestTag/TenantID", "globex"), iam.Multi("aws:TagKeys", "TenantID"), iam.Single("iam:PermissionsBoundary", boundary)}, iam.ImplicitlyDenied},
		{"AdminCreatesUntaggedRole", admin, adminA, "iam:CreateRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("iam:PermissionsBoundary", boundary)}, iam.ImplicitlyDenied},
		{"AdminPutsPolicyOnOwnRole", admin, adminA, "iam:PutRolePolicy", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.Allowed},
		{"AdminTouchesOtherTenantRole", admin, adminA, "iam:PutRolePolicy", roleB,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "globex")}, iam.ExplicitlyDenied},
		{"AdminDeletesOtherTenantRole", admin, adminA, "iam:DeleteRole", roleB,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "globex")}, iam.ExplicitlyDenied},
		{"AdminTouchesUntaggedRole", admin, adminA, "iam:AttachRolePolicy", "arn:aws:iam::111122223333:role/PlatformOps",
			[]iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"AdminPassesOwnRole", admin, adminA, "iam:PassRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.Allowed},
		{"AdminPassesUntaggedRole", admin, adminA, "iam:PassRole", "arn:aws:iam::111122223333:role/PlatformOps",
			[]iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"AdminRemovesBoundary", admin, adminA, "iam:DeleteRolePermissionsBoundary", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.ExplicitlyDenied},
		{"AdminSwapsBoundary", admin, adminA, "iam:PutRolePermissionsBoundary", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme"), iam.Single("iam:PermissionsBoundary", identity.BuiltinARNPrefix+identity.PlatformAdministrator)}, iam.ExplicitlyDenied},
		{"AdminRetagsTenant", admin, adminA, "iam:TagRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme"), iam.Multi("aws:TagKeys", "TenantID"), iam.Single("aws:RequestTag/TenantID", "globex")}, iam.ExplicitlyDenied},
		{"AdminTagsOtherKey", admin, adminA, "iam:TagRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme"), iam.Multi("aws:TagKeys", "team")}, iam.Allowed},
		{"AdminInvokesOwnEndpoint", admin, adminA, "sagemaker:InvokeEndpoint", endpointA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.Allowed},
		{"AdminUsesOtherTenantKey", admin, adminA, "kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k-globex",
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "globex")}, iam.ExplicitlyDenied},
		{"AdminReadsAudit", admin, adminA, "cloudtrail:LookupEvents", "*", []iam.KeyValue{tenantA}, iam.Allowed},
		{"AdminWithoutTenantTag", admin, adminA, "sagemaker:InvokeEndpoint", endpointA,
			[]iam.KeyValue{iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.ExplicitlyDenied},
		{"ScientistInvokesOwnEndpoint", scientist, scientistA, "sagemaker:InvokeEndpoint", endpointA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.Allowed},
		{"ScientistInvokesOtherEndpoint", scientist, scientistA, "sagemaker:InvokeEndpoint", endpointB,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "globex")}, iam.ExplicitlyDenied},
		{"ScientistInvokesUntaggedEndpoint", scientist, scientistA, "sagemaker:InvokeEndpoint", endpointB,
			[]iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ScientistCreatesOwnModel", scientist, scientistA, "sagemaker:CreateModel", "arn:aws:sagemaker:us-east-1:111122223333:model/acme-m",
			[]iam.KeyValue{tenantA, iam.Single("aws:RequestTag/TenantID", "acme")}, iam.Allowed},
		{"ScientistCreatesRole", scientist, scientistA, "iam:CreateRole", roleA,
			[]iam.KeyValue{tenantA, iam.Single("aws:RequestTag/TenantID", "acme"), iam.Single("iam:PermissionsBoundary", boundary)}, iam.ImplicitlyDenied},
		{"ViewerDescribesOwnEndpoint", viewer, scientistA, "sagemaker:DescribeEndpoint", endpointA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.Allowed},
		{"ViewerDescribesOtherEndpoint", viewer, scientistA, "sagemaker:DescribeEndpoint", endpointB,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "globex")}, iam.ImplicitlyDenied},
		{"ViewerInvokes", viewer, scientistA, "sagemaker:InvokeEndpoint", endpointA,
			[]iam.KeyValue{tenantA, iam.Single("aws:ResourceTag/TenantID", "acme")}, iam.ImplicitlyDenied},
		{"PlatformAdministratorAnything", platform, "arn:aws:iam::111122223333:user/ops", "iam:DeleteRole", roleB, nil, iam.Allowed},
		{"AdminPutArtifactOwn", admin, adminA, "tenantml:PutArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"AdminPutArtifactOther", admin, adminA, "tenantml:PutArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"AdminGetArtifactOwn", admin, adminA, "tenantml:GetArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"AdminGetArtifactOther", admin, adminA, "tenantml:GetArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"AdminDeleteArtifactOwn", admin, adminA, "tenantml:DeleteArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"AdminDeleteArtifactOther", admin, adminA, "tenantml:DeleteArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"AdminPresignArtifactOwn", admin, adminA, "tenantml:PresignArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"AdminPresignArtifactOther", admin, adminA, "tenantml:PresignArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"AdminListArtifactsOwn", admin, adminA, "tenantml:ListArtifacts", artifactsA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"AdminListArtifactsOther", admin, adminA, "tenantml:ListArtifacts", artifactsB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"AdminArtifactWithoutTenantTag", admin, adminA, "tenantml:GetArtifact", artifactA, nil, iam.ExplicitlyDenied},
		{"AdminArtifactTenantPrefix", admin, adminA, "tenantml:GetArtifact", "arn:aws:tenantml:us-east-1:111122223333:artifact/acme-2/m/v1/f", []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ScientistPutArtifactOwn", scientist, scientistA, "tenantml:PutArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"ScientistPutArtifactOther", scientist, scientistA, "tenantml:PutArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ScientistGetArtifactOwn", scientist, scientistA, "tenantml:GetArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"ScientistGetArtifactOther", scientist, scientistA, "tenantml:GetArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ScientistDeleteArtifactOwn", scientist, scientistA, "tenantml:DeleteArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"ScientistDeleteArtifactOther", scientist, scientistA, "tenantml:DeleteArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ScientistPresignArtifactOwn", scientist, scientistA, "tenantml:PresignArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"ScientistPresignArtifactOther", scientist, scientistA, "tenantml:PresignArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ScientistListArtifactsOwn", scientist, scientistA, "tenantml:ListArtifacts", artifactsA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"ScientistListArtifactsOther", scientist, scientistA, "tenantml:ListArtifacts", artifactsB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ScientistArtifactWithoutTenantTag", scientist, scientistA, "tenantml:GetArtifact", artifactA, nil, iam.ExplicitlyDenied},
		{"ScientistArtifactTenantPrefix", scientist, scientistA, "tenantml:GetArtifact", "arn:aws:tenantml:us-east-1:111122223333:artifact/acme-2/m/v1/f", []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ViewerGetsOwnArtifact", viewer, scientistA, "tenantml:GetArtifact", artifactA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"ViewerListsOwnArtifacts", viewer, scientistA, "tenantml:ListArtifacts", artifactsA, []iam.KeyValue{tenantA}, iam.Allowed},
		{"ViewerGetsOtherArtifact", viewer, scientistA, "tenantml:GetArtifact", artifactB, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ViewerPutsArtifact", viewer, scientistA, "tenantml:PutArtifact", artifactA, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ViewerDeletesArtifact", viewer, scientistA, "tenantml:DeleteArtifact", artifactA, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"ViewerPresignsArtifact", viewer, scientistA, "tenantml:PresignArtifact", artifactA, []iam.KeyValue{tenantA}, iam.ImplicitlyDenied},
		{"PlatformAdministratorArtifacts", platform, "arn:aws:iam::111122223333:user/ops", "tenantml:PutArtifact", artifactB, nil, iam.Allowed},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := &iam.Request{Principal: c.principal, Action: c.action, Resource: c.resource, Context: c.ctx}
			got, diag := iam.Authorize(c.set, req)
			if got != c.want {
				t.Fatalf("%s on %s = %s, want %s: %s", c.action, c.resource, got, c.want, diag.Reason())
			}
		})
	}
}
