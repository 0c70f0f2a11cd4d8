package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// TestServe_TenantAPICrossTenant: a tenant's own principal, allowed by an
// ABAC policy pinned to its TenantID tag, reads its tenant record through the
// CLI (SigV4) and is refused another tenant's — with the same answer as for a
// tenant that does not exist, so the refusal reveals nothing.
func TestServe_TenantAPICrossTenant(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	for _, id := range []string{"acme", "globex"} {
		if out, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "create", id); err != nil {
			t.Fatalf("create %s: %v\n%s", id, err, out)
		}
	}
	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("acme-admin"),
		Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}}}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"tenantml:GetTenant",` +
		`"Resource":"arn:aws:tenantml:us-east-1:` + ts.cfg.AccountID + `:tenant/${aws:PrincipalTag/TenantID}"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("acme-admin"), PolicyName: aws.String("own-tenant"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("acme-admin")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	id, secret := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)

	if out, err := ts.cli(t, id, secret, "tenant", "get", "acme", "-o", "json"); err != nil || !strings.Contains(out, `"id": "acme"`) {
		t.Fatalf("own tenant: %v\n%s", err, out)
	}
	_, errOther := ts.cli(t, id, secret, "tenant", "get", "globex")
	_, errMissing := ts.cli(t, id, secret, "tenant", "get", "nobody")
	if errOther == nil || !strings.Contains(errOther.Error(), "403") {
		t.Fatalf("other tenant: err = %v, want 403", errOther)
	}
	strip := func(err error, tenant string) string {
		msg := strings.ReplaceAll(err.Error(), tenant, "T")
		return msg[:strings.Index(msg, "request ")] // request IDs differ
	}
	if a, b := strip(errOther, "globex"), strip(errMissing, "nobody"); a != b {
		t.Fatalf("another tenant and a missing one answer differently:\n%s\n%s", a, b)
	}
	for _, bad := range []string{"list", "update acme --tier x", "suspend acme"} {
		if _, err := ts.cli(t, id, secret, append([]string{"tenant"}, strings.Fields(bad)...)...); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("tenant %s: err = %v, want 403 (the policy allows only GetTenant)", bad, err)
		}
	}
	if strings.Contains(ts.logs.String(), secret) {
		t.Fatal("the user's secret appears in the logs")
	}
}
