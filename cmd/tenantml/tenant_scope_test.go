package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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

// TestServe_SuspendedTenant: while an operator has a tenant suspended, its
// principals are refused on every surface (management API, STS), the
// refusal is audited as such, and resuming restores them; another tenant's
// principals are unaffected.
func TestServe_SuspendedTenant(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	root := iamClient(ts, rootKeyID, rootSecret)
	keys := map[string][2]string{}
	for _, id := range []string{"acme", "globex"} {
		if out, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "create", id); err != nil {
			t.Fatalf("create %s: %v\n%s", id, err, out)
		}
		user := id + "-admin"
		if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(user),
			Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(id)}}}); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"tenantml:GetTenant",` +
			`"Resource":"arn:aws:tenantml:us-east-1:` + ts.cfg.AccountID + `:tenant/${aws:PrincipalTag/TenantID}"}]}`
		if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(user), PolicyName: aws.String("own"), PolicyDocument: aws.String(policy)}); err != nil {
			t.Fatalf("PutUserPolicy: %v", err)
		}
		key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(user)})
		if err != nil {
			t.Fatalf("CreateAccessKey: %v", err)
		}
		keys[id] = [2]string{aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)}
	}
	works := func(id string) error {
		if _, err := ts.cli(t, keys[id][0], keys[id][1], "tenant", "get", id); err != nil {
			return err
		}
		_, err := stsAs(ts, keys[id]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	if err := works("acme"); err != nil {
		t.Fatalf("active tenant: %v", err)
	}
	if out, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "suspend", "acme"); err != nil {
		t.Fatalf("suspend: %v\n%s", err, out)
	}
	_, err := ts.cli(t, keys["acme"][0], keys["acme"][1], "tenant", "get", "acme")
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "not active") {
		t.Fatalf("suspended tenant's principal, management API: err = %v, want 403 not active", err)
	}
	if _, err := stsAs(ts, keys["acme"]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err == nil {
		t.Fatal("suspended tenant's principal, STS: GetCallerIdentity succeeded")
	}
	if err := works("globex"); err != nil {
		t.Fatalf("another tenant while acme is suspended: %v", err)
	}
	if _, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "get", "acme"); err != nil {
		t.Fatalf("the operator still reaches the suspended tenant: %v", err)
	}
	out, err := ts.cli(t, rootKeyID, rootSecret, "audit", "events", "--tenant", "acme", "--action", "GetTenant", "-o", "json")
	if err != nil || !strings.Contains(out, `"tenantSuspended": true`) {
		t.Fatalf("audit of the refusal: %v\n%s", err, out)
	}
	if out, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "resume", "acme"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if err := works("acme"); err != nil {
		t.Fatalf("resumed tenant: %v", err)
	}
}

// stsAs is aws-sdk-go-v2's STS client pointed at ts with the key pair key.
func stsAs(ts *testServer, key [2]string) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(key[0], key[1], "")})
}
