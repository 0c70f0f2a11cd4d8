package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/fleet"
)

// The accounts of docs/identity.md ("Accounts and listeners"), driven with
// the tenantml CLI, the AWS CLI and boto3 against a real server over
// loopback: dev, staging and prod accounts with roles in each, a named
// listener standing for a VPC endpoint, and the policies the document
// quotes (accountPolicies keeps them in one place).

const (
	testVPCE = "vpce-0abc1234def567890"
	testVPC  = "vpc-0123456789abcdef0"
)

// accountsEnv is rootEnv with a named listener.
var accountsEnv = map[string]string{
	"TENANTML_ROOT_ACCESS_KEY_ID":     rootKeyID,
	"TENANTML_ROOT_SECRET_ACCESS_KEY": rootSecret,
	"TENANTML_LISTENER":               "name=vpce-a,addr=127.0.0.1:0,vpce=" + testVPCE + ",vpc=" + testVPC,
}

// cliKey is an access key as the AWS CLI prints it.
type cliKey struct{ id, secret, token string }

// awsAs runs the AWS CLI as k against url and fails the test on error.
func awsAs(t *testing.T, url string, k cliKey, args ...string) map[string]any {
	t.Helper()
	out, err := awsCLIAt(t, url, k.id, k.secret, k.token, args...)
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	var v map[string]any
	if strings.TrimSpace(out) != "" {
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("aws %s: %v in %s", strings.Join(args, " "), err, out)
		}
	}
	return v
}

// awsRefused runs the AWS CLI as k against url and fails unless it is
// refused with code.
func awsRefused(t *testing.T, url string, k cliKey, code string, args ...string) {
	t.Helper()
	out, err := awsCLIAt(t, url, k.id, k.secret, k.token, args...)
	if err == nil || !strings.Contains(out, "("+code+")") {
		t.Fatalf("aws %s: err %v, out %s; want %s", strings.Join(args, " "), err, out, code)
	}
}

// createAccessKey has by create an access key of user.
func createAccessKey(t *testing.T, url string, by cliKey, user string) cliKey {
	t.Helper()
	out := awsAs(t, url, by, "iam", "create-access-key", "--user-name", user)
	k, _ := out["AccessKey"].(map[string]any)
	id, _ := k["AccessKeyId"].(string)
	secret, _ := k["SecretAccessKey"].(string)
	return cliKey{id: id, secret: secret}
}

// assumeCLI assumes roleARN as by with the AWS CLI.
func assumeCLI(t *testing.T, url string, by cliKey, roleARN, session string) cliKey {
	t.Helper()
	out := awsAs(t, url, by, "sts", "assume-role", "--role-arn", roleARN, "--role-session-name", session)
	c, _ := out["Credentials"].(map[string]any)
	id, _ := c["AccessKeyId"].(string)
	secret, _ := c["SecretAccessKey"].(string)
	token, _ := c["SessionToken"].(string)
	return cliKey{id, secret, token}
}

// accountPolicies are the policies of the three-account setup, as
// docs/identity.md quotes them; DEV, STAGING and PROD stand for the
// accounts' IDs.
var accountPolicies = map[string]string{
	// dev's CI user may assume roles of other accounts.
	"dev-ci-identity": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::*:role/*"}]}`,
	// staging's deploy role trusts two users of dev.
	"staging-deploy-trust": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::DEV:user/ci","arn:aws:iam::DEV:user/nobody"]},"Action":"sts:AssumeRole"}]}`,
	// staging's deploy role may assume prod's release role.
	"staging-deploy-identity": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::PROD:role/release"}]}`,
	// staging's restricted role trusts prod only.
	"staging-restricted-trust": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::PROD:root"},"Action":"sts:AssumeRole"}]}`,
	// prod's release role trusts staging's deploy role.
	"prod-release-trust": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::STAGING:role/deploy"},"Action":"sts:AssumeRole"}]}`,
	// acme's users in dev and staging may use KMS keys and read models.
	"acme-ml-identity": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["kms:*","s3:GetObject"],"Resource":"*"}]}`,
	// dev's model key: dev administers it; staging's model execution role
	// may decrypt; outside the VPC endpoint nobody encrypts or decrypts.
	"dev-key-policy": `{"Version":"2012-10-17","Statement":[
{"Sid":"EnableDevAccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::DEV:root"},"Action":"kms:*","Resource":"*"},
{"Sid":"AllowStagingModelRole","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::STAGING:role/acme.model-exec","arn:aws:iam::STAGING:user/acme.ml"]},"Action":["kms:Decrypt","kms:DescribeKey"],"Resource":"*"},
{"Sid":"DenyOutsideVpce","Effect":"Deny","Principal":"*","Action":["kms:Encrypt","kms:Decrypt","kms:GenerateDataKey*"],"Resource":"*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-0abc1234def567890"}}}]}`,
	// dev's model bucket: staging's model execution role may read;
	// outside the VPC endpoint nobody reads.
	"dev-bucket-policy": `{"Version":"2012-10-17","Statement":[
{"Sid":"AllowStagingModelRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::STAGING:role/acme.model-exec"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-dev-models/*"},
{"Sid":"DenyOutsideVpce","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::acme-dev-models/*","Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-0abc1234def567890"}}}]}`,
	// staging's model execution role (of tenant acme) may read dev's
	// models and use dev's key.
	"staging-model-exec-identity": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","kms:Decrypt"],"Resource":"*"}]}`,
	"sagemaker-trust":             `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`,
}

// policy returns accountPolicies[name] with the account IDs filled in.
func policy(name string, ids map[string]string) string {
	return strings.NewReplacer("DEV", ids["dev"], "STAGING", ids["staging"], "PROD", ids["prod"]).Replace(accountPolicies[name])
}

func TestAccounts_DevStagingProd(t *testing.T) {
	env := map[string]string{"TENANTML_WORKER_EXECUTABLE": buildBinary(t)}
	for k, v := range accountsEnv {
		env[k] = v
	}
	ts := startServer(t, env)
	if len(ts.named) != 1 {
		t.Fatalf("named listeners = %d, want 1", len(ts.named))
	}
	url, vpceURL := ts.URL, "http://"+ts.named[0].Addr().String()
	root := cliKey{id: rootKeyID, secret: rootSecret}
	ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", "acme")

	// tenantml account create / list.
	ids, roots := map[string]string{}, map[string]cliKey{}
	for _, name := range []string{"dev", "staging", "prod"} {
		var out manage.CreateAccountOutput
		if err := json.Unmarshal([]byte(ts.mustCLI(t, rootKeyID, rootSecret, "account", "create", name, "-o", "json")), &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Account.ID) != 12 || out.Account.ID == ts.cfg.AccountID || out.Root.AccessKeyID == "" || out.Root.SecretAccessKey == "" {
			t.Fatalf("account create %s = %+v", name, out.Account)
		}
		ids[name], roots[name] = out.Account.ID, cliKey{id: out.Root.AccessKeyID, secret: out.Root.SecretAccessKey}
	}
	t.Run("List", func(t *testing.T) {
		var list manage.ListAccountsOutput
		if err := json.Unmarshal([]byte(ts.mustCLI(t, rootKeyID, rootSecret, "account", "list", "-o", "json")), &list); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range list.Accounts {
			got = append(got, a.Name+"="+a.ID)
		}
		want := []string{"primary=" + ts.cfg.AccountID, "dev=" + ids["dev"], "prod=" + ids["prod"], "staging=" + ids["staging"]}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("account list = %v, want %v", got, want)
		}
		table := ts.mustCLI(t, rootKeyID, rootSecret, "account", "list")
		if !strings.Contains(table, ids["staging"]+"  staging") {
			t.Errorf("account list table:\n%s", table)
		}
	})
	t.Run("ErrBadName", func(t *testing.T) {
		for name, want := range map[string]string{"Dev": "lower-case", "dev": "already exists", "a": "3 to 63", "primary": "already exists"} {
			out, err := ts.cli(t, rootKeyID, rootSecret, "account", "create", name)
			if err == nil || !strings.Contains(out+err.Error(), want) {
				t.Errorf("account create %s: %v %s; want %q", name, err, out, want)
			}
		}
	})
	t.Run("GetCallerIdentity", func(t *testing.T) {
		for name, k := range roots {
			id := awsAs(t, url, k, "sts", "get-caller-identity")
			if id["Account"] != ids[name] || id["Arn"] != "arn:aws:iam::"+ids[name]+":root" {
				t.Errorf("%s root: caller identity %v", name, id)
			}
		}
		raw := runBoto3(t, boto3Script, url, roots["dev"].id, roots["dev"].secret)
		var got struct{ Arn, Account string }
		if err := json.Unmarshal(raw, &got); err != nil || got.Account != ids["dev"] {
			t.Errorf("boto3 as dev's root: %s", raw)
		}
		// boto3 created its user in dev: not in staging, not in the
		// primary account.
		awsAs(t, url, roots["dev"], "iam", "get-user", "--user-name", "boto-user")
		awsRefused(t, url, roots["staging"], "NoSuchEntity", "iam", "get-user", "--user-name", "boto-user")
		awsRefused(t, url, root, "NoSuchEntity", "iam", "get-user", "--user-name", "boto-user")
	})

	// Roles in each account and cross-account AssumeRole.
	awsAs(t, url, roots["dev"], "iam", "create-user", "--user-name", "ci")
	awsAs(t, url, roots["dev"], "iam", "put-user-policy", "--user-name", "ci", "--policy-name", "assume", "--policy-document", policy("dev-ci-identity", ids))
	awsAs(t, url, roots["dev"], "iam", "create-user", "--user-name", "nobody")
	ci, nobody := createAccessKey(t, url, roots["dev"], "ci"), createAccessKey(t, url, roots["dev"], "nobody")
	awsAs(t, url, roots["staging"], "iam", "create-role", "--role-name", "deploy", "--assume-role-policy-document", policy("staging-deploy-trust", ids))
	awsAs(t, url, roots["staging"], "iam", "put-role-policy", "--role-name", "deploy", "--policy-name", "promote", "--policy-document", policy("staging-deploy-identity", ids))
	awsAs(t, url, roots["staging"], "iam", "create-role", "--role-name", "restricted", "--assume-role-policy-document", policy("staging-restricted-trust", ids))
	awsAs(t, url, roots["prod"], "iam", "create-role", "--role-name", "release", "--assume-role-policy-document", policy("prod-release-trust", ids))
	roleARN := func(acct, name string) string { return "arn:aws:iam::" + ids[acct] + ":role/" + name }

	t.Run("CrossAccountAssumeRole", func(t *testing.T) {
		// Trust and identity policies allow: dev's ci → staging's deploy →
		// prod's release.
		deploy := assumeCLI(t, url, ci, roleARN("staging", "deploy"), "ci-run")
		id := awsAs(t, url, deploy, "sts", "get-caller-identity")
		if id["Account"] != ids["staging"] || id["Arn"] != "arn:aws:sts::"+ids["staging"]+":assumed-role/deploy/ci-run" {
			t.Errorf("staging session: %v", id)
		}
		release := assumeCLI(t, url, deploy, roleARN("prod", "release"), "promote")
		if id := awsAs(t, url, release, "sts", "get-caller-identity"); id["Account"] != ids["prod"] {
			t.Errorf("prod session: %v", id)
		}
		// The staging session acts in staging: it lists staging's roles,
		// not dev's users.
		awsRefused(t, url, deploy, "AccessDenied", "iam", "list-users")
		// The trust policy names nobody, but no identity policy of nobody
		// allows sts:AssumeRole.
		awsRefused(t, url, nobody, "AccessDenied", "sts", "assume-role", "--role-arn", roleARN("staging", "deploy"), "--role-session-name", "try")
		// ci's policy allows, but restricted's trust names prod only.
		awsRefused(t, url, ci, "AccessDenied", "sts", "assume-role", "--role-arn", roleARN("staging", "restricted"), "--role-session-name", "try")
		// dev's ci is not trusted by prod's release.
		awsRefused(t, url, ci, "AccessDenied", "sts", "assume-role", "--role-arn", roleARN("prod", "release"), "--role-session-name", "try")
		// Roots never assume roles.
		awsRefused(t, url, roots["dev"], "AccessDenied", "sts", "assume-role", "--role-arn", roleARN("staging", "deploy"), "--role-session-name", "try")
	})

	// acme's ML users in dev and staging, and dev's model key.
	for _, acct := range []string{"dev", "staging"} {
		awsAs(t, url, roots[acct], "iam", "create-user", "--user-name", "acme.ml", "--tags", "Key=TenantID,Value=acme")
		awsAs(t, url, roots[acct], "iam", "put-user-policy", "--user-name", "acme.ml", "--policy-name", "ml", "--policy-document", policy("acme-ml-identity", ids))
	}
	devML, stagingML := createAccessKey(t, url, roots["dev"], "acme.ml"), createAccessKey(t, url, roots["staging"], "acme.ml")
	key := awsAs(t, url, devML, "kms", "create-key", "--description", "acme dev models")["KeyMetadata"].(map[string]any)
	keyID, keyARN := key["KeyId"].(string), key["Arn"].(string)
	if !strings.HasPrefix(keyARN, "arn:aws:kms:us-east-1:"+ids["dev"]+":key/") {
		t.Fatalf("dev key ARN %s", keyARN)
	}
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, []byte("model weights"), 0o600); err != nil {
		t.Fatal(err)
	}
	ct := awsAs(t, url, devML, "kms", "encrypt", "--key-id", keyID, "--plaintext", "fileb://"+plain)["CiphertextBlob"].(string)
	blob := filepath.Join(t.TempDir(), "blob")
	raw, _ := base64.StdEncoding.DecodeString(ct)
	if err := os.WriteFile(blob, raw, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("KeyPolicyAcrossAccounts", func(t *testing.T) {
		// The default key policy grants dev's account only.
		awsRefused(t, url, stagingML, "AccessDeniedException", "kms", "decrypt", "--ciphertext-blob", "fileb://"+blob)
		awsRefused(t, url, stagingML, "NotFoundException", "kms", "describe-key", "--key-id", keyID)
		awsRefused(t, url, stagingML, "AccessDeniedException", "kms", "describe-key", "--key-id", keyARN)
		// Dev grants staging's acme user (and model role) decryption, and
		// keeps key use inside the VPC endpoint.
		awsAs(t, vpceURL, devML, "kms", "put-key-policy", "--key-id", keyID, "--policy-name", "default", "--policy", policy("dev-key-policy", ids))
		// On the default listener the seed's deny applies, to dev too.
		awsRefused(t, url, stagingML, "AccessDeniedException", "kms", "decrypt", "--ciphertext-blob", "fileb://"+blob)
		awsRefused(t, url, devML, "AccessDeniedException", "kms", "encrypt", "--key-id", keyID, "--plaintext", "fileb://"+plain)
		// On the VPC endpoint's listener staging decrypts.
		out := awsAs(t, vpceURL, stagingML, "kms", "decrypt", "--ciphertext-blob", "fileb://"+blob)
		if got, _ := base64.StdEncoding.DecodeString(out["Plaintext"].(string)); string(got) != "model weights" {
			t.Errorf("decrypted %q", got)
		}
		awsAs(t, vpceURL, devML, "kms", "encrypt", "--key-id", keyID, "--plaintext", "fileb://"+plain)
		// The grant is decryption only: staging may not encrypt or
		// change the policy, on any listener.
		awsRefused(t, vpceURL, stagingML, "AccessDeniedException", "kms", "encrypt", "--key-id", keyARN, "--plaintext", "fileb://"+plain)
		awsRefused(t, vpceURL, stagingML, "AccessDeniedException", "kms", "put-key-policy", "--key-id", keyARN, "--policy-name", "default", "--policy", allowEverything)
		// prod has no grant at all.
		awsAs(t, url, roots["prod"], "iam", "create-user", "--user-name", "acme.ml", "--tags", "Key=TenantID,Value=acme")
		awsAs(t, url, roots["prod"], "iam", "put-user-policy", "--user-name", "acme.ml", "--policy-name", "ml", "--policy-document", policy("acme-ml-identity", ids))
		prodML := createAccessKey(t, url, roots["prod"], "acme.ml")
		awsRefused(t, vpceURL, prodML, "AccessDeniedException", "kms", "decrypt", "--ciphertext-blob", "fileb://"+blob)
	})

	t.Run("ModelReadAcrossAccounts", func(t *testing.T) {
		ctx := context.Background()
		// dev's bucket of acme's models, encrypted under dev's key (the
		// object store's in-process API: the S3 surface is separate work).
		if _, err := ts.kp.artifacts.CreateBucket(ctx, artifact.CreateBucketInput{Name: "acme-dev-models", Account: ids["dev"], Tenant: "acme"}); err != nil {
			t.Fatal(err)
		}
		model := []byte("xgboost model bytes of acme v1")
		if _, err := ts.kp.artifacts.PutObject(ctx, artifact.PutObjectInput{Bucket: "acme-dev-models", Key: "churn/model.tar.gz",
			Encryption: artifact.KeyRef{Tenant: "acme", KeyID: keyARN}, Checks: artifact.Checks{ContentLength: int64(len(model))}}, bytes.NewReader(model)); err != nil {
			t.Fatalf("put model: %v", err)
		}
		// staging's model execution role of acme, and one of the
		// platform without a grant.
		for _, name := range []string{"acme.model-exec", "acme.other-exec"} {
			awsAs(t, url, roots["staging"], "iam", "create-role", "--role-name", name, "--assume-role-policy-document", policy("sagemaker-trust", ids),
				"--tags", "Key=TenantID,Value=acme")
			awsAs(t, url, roots["staging"], "iam", "put-role-policy", "--role-name", name, "--policy-name", "models", "--policy-document", policy("staging-model-exec-identity", ids))
		}
		src := &fleet.ObjectSource{AccountID: ts.cfg.AccountID, Objects: ts.kp.artifacts, Keys: ts.kp.keys, Identity: ts.store.Identity(), Authz: ts.engine, Policies: ts.engine}
		u := serving.S3URL{Bucket: "acme-dev-models", Key: "churn/model.tar.gz"}
		vpce := authz.WithNetwork(ctx, authz.Network{VPCEndpoint: testVPCE, VPC: testVPC})
		read := func(ctx context.Context, role string) (string, error) {
			m, err := src.Object(ctx, roleARN("staging", role), u)
			if err != nil {
				return "", err
			}
			rc, err := m.Opener.Open(ctx)
			if err != nil {
				return "", err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			return string(b), err
		}
		// No bucket policy yet: the bucket's account grants staging
		// nothing.
		if _, err := read(vpce, "acme.model-exec"); err == nil || !strings.Contains(err.Error(), "s3:GetObject") {
			t.Fatalf("without a bucket policy: %v, want s3:GetObject refused", err)
		}
		if err := ts.kp.artifacts.PutBucketPolicy(ctx, "acme-dev-models", policy("dev-bucket-policy", ids)); err != nil {
			t.Fatal(err)
		}
		got, err := read(vpce, "acme.model-exec")
		if err != nil || got != string(model) {
			t.Fatalf("staging's model role through the VPC endpoint: %q, %v", got, err)
		}
		// Outside the VPC endpoint the bucket policy's deny applies.
		if _, err := read(ctx, "acme.model-exec"); err == nil || !strings.Contains(err.Error(), "s3:GetObject") {
			t.Errorf("outside the VPC endpoint: %v, want s3:GetObject refused", err)
		}
		// A staging role the bucket and key policies do not name reads
		// nothing, whatever its own policy allows.
		if _, err := read(vpce, "acme.other-exec"); err == nil || !strings.Contains(err.Error(), "s3:GetObject") {
			t.Errorf("ungranted role: %v, want s3:GetObject refused", err)
		}
		// With the bucket granting it but the key policy not: the role
		// cannot decrypt the dev model.
		if err := ts.kp.artifacts.PutBucketPolicy(ctx, "acme-dev-models", strings.ReplaceAll(policy("dev-bucket-policy", ids), "acme.model-exec", "acme.other-exec")); err != nil {
			t.Fatal(err)
		}
		if _, err := read(vpce, "acme.other-exec"); err == nil || !strings.Contains(err.Error(), "kms:Decrypt") {
			t.Errorf("role without the key-policy grant: %v, want kms:Decrypt refused", err)
		}
	})

	t.Run("EndpointAcrossAccountsOverVPCE", func(t *testing.T) {
		// staging deploys dev's model with its execution role: the
		// endpoint created through the VPC endpoint's listener reads it,
		// the one created on the default listener fails on the bucket
		// policy's aws:SourceVpce deny.
		ctx := context.Background()
		model, rows := exampleModel(t)
		if _, err := ts.kp.artifacts.PutObject(ctx, artifact.PutObjectInput{Bucket: "acme-dev-models", Key: "churn/v1/model.tar.gz",
			Encryption: artifact.KeyRef{Tenant: "acme", KeyID: keyARN}, Checks: artifact.Checks{ContentLength: int64(len(model))}}, bytes.NewReader(model)); err != nil {
			t.Fatalf("put model: %v", err)
		}
		if err := ts.kp.artifacts.PutBucketPolicy(ctx, "acme-dev-models", policy("dev-bucket-policy", ids)); err != nil {
			t.Fatal(err)
		}
		st := roots["staging"]
		awsAs(t, url, st, "sagemaker", "create-model", "--model-name", "acme--churn", "--execution-role-arn", roleARN("staging", "acme.model-exec"),
			"--primary-container", "Image=tenantml/xgboost,ModelDataUrl=s3://acme-dev-models/churn/v1/model.tar.gz", "--tags", "Key=TenantID,Value=acme")
		awsAs(t, url, st, "sagemaker", "create-endpoint-config", "--endpoint-config-name", "acme--churn", "--tags", "Key=TenantID,Value=acme",
			"--production-variants", "VariantName=AllTraffic,ModelName=acme--churn,InitialInstanceCount=1,InstanceType=ml.m5.large")
		wait := func(name string) *serving.Endpoint {
			t.Helper()
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			defer cancel()
			e, _ := ts.sp.controller.In(ids["staging"]).WaitEndpoint(wctx, name)
			if e == nil {
				t.Fatalf("endpoint %s of staging: no outcome", name)
			}
			return e
		}
		for _, c := range []struct{ name, url string }{{"acme--outside", url}, {"acme--inside", vpceURL}} {
			awsAs(t, c.url, st, "sagemaker", "create-endpoint", "--endpoint-name", c.name, "--endpoint-config-name", "acme--churn", "--tags", "Key=TenantID,Value=acme")
		}
		if e := wait("acme--outside"); e.Status != serving.StatusFailed || !strings.Contains(e.FailureReason, "s3:GetObject") {
			t.Errorf("endpoint created on the default listener: %s %q, want Failed on s3:GetObject", e.Status, e.FailureReason)
		}
		if e := wait("acme--inside"); e.Status != serving.StatusInService {
			t.Fatalf("endpoint created through the VPC endpoint: %s %q, want InService", e.Status, e.FailureReason)
		}
		// The model answers in staging; the endpoint is staging's only.
		body := filepath.Join(t.TempDir(), "rows.csv")
		outFile := filepath.Join(t.TempDir(), "out")
		if err := os.WriteFile(body, rows, 0o600); err != nil {
			t.Fatal(err)
		}
		awsAs(t, url, st, "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "acme--inside", "--content-type", "text/csv", "--body", "fileb://"+body, outFile)
		if got, err := os.ReadFile(outFile); err != nil || len(strings.Fields(strings.ReplaceAll(string(got), ",", " "))) != len(expected(t)) {
			t.Errorf("invoke staging's endpoint: %q, %v", got, err)
		}
		awsRefused(t, url, roots["dev"], "ValidationError", "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "acme--inside", "--content-type", "text/csv", "--body", "fileb://"+body, outFile)
		awsRefused(t, url, roots["dev"], "ValidationException", "sagemaker", "describe-endpoint", "--endpoint-name", "acme--inside")

		// After a restart the endpoint resumes in staging and reads its
		// model from the VPC endpoint it was created through again.
		ts.stop()
		again := startServerAt(t, ts.cfg.DataDir, env, time.Now)
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if e, err := again.sp.controller.In(ids["staging"]).WaitEndpoint(wctx, "acme--inside"); err != nil || e.Status != serving.StatusInService || e.SourceVPCE != testVPCE {
			t.Fatalf("staging's endpoint after a restart: %+v, %v", e, err)
		}
		awsAs(t, again.URL, st, "sagemaker-runtime", "invoke-endpoint", "--endpoint-name", "acme--inside", "--content-type", "text/csv", "--body", "fileb://"+body, outFile)
	})

}

// TestServe_NamedListenerInUse: a named listener that cannot bind stops
// serve with a message naming it, and releases what it bound.
func TestServe_NamedListenerInUse(t *testing.T) {
	taken := startServer(t, rootEnv)
	addr := taken.ln.Addr().String()
	env := map[string]string{"TENANTML_DATA_DIR": filepath.Join(t.TempDir(), "data"), "TENANTML_LISTEN": "127.0.0.1:0",
		"TENANTML_LISTENER": "name=vpce-a,addr=" + addr + ",vpce=" + testVPCE}
	cfg, err := loadConfig(newServeCmd().Flags(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	var stdout, logs bytes.Buffer
	s := &server{cfg: cfg, stdout: &stdout, stderr: &logs, rand: rand.Reader, now: time.Now}
	err = s.open(context.Background())
	if err == nil || !strings.Contains(err.Error(), "listen vpce-a") {
		t.Fatalf("open = %v, want a listen vpce-a error", err)
	}
	if err := s.close(context.Background()); err != nil {
		t.Errorf("close after the failed open: %v", err)
	}
	// The default listener it bound is free again.
	if ln, err := net.Listen("tcp", s.ln.Addr().String()); err != nil {
		t.Errorf("default listener still bound: %v", err)
	} else {
		ln.Close()
	}
}
