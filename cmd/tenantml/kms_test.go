package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// kmsUser creates an IAM user tagged TenantID=tenant (when tenant is not
// empty) with policy as its inline policy, and returns its access key.
func kmsUser(t *testing.T, ts *testServer, name, tenant, policy string) (string, string) {
	t.Helper()
	ctx := context.Background()
	root := iamClient(ts, rootKeyID, rootSecret)
	in := &iam.CreateUserInput{UserName: aws.String(name)}
	if tenant != "" {
		in.Tags = []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(tenant)}}
	}
	if _, err := root.CreateUser(ctx, in); err != nil {
		t.Fatalf("CreateUser %s: %v", name, err)
	}
	if policy != "" {
		if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("kms"), PolicyDocument: aws.String(policy)}); err != nil {
			t.Fatalf("PutUserPolicy %s: %v", name, err)
		}
	}
	k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateAccessKey %s: %v", name, err)
	}
	return *k.AccessKey.AccessKeyId, *k.AccessKey.SecretAccessKey
}

// kmsCall runs `aws kms <args>` and decodes its JSON output into out.
func kmsCall(t *testing.T, ts *testServer, keyID, secret string, out any, args ...string) {
	t.Helper()
	got, err := awsCLI(t, ts, keyID, secret, "", append([]string{"kms"}, args...)...)
	if err != nil {
		t.Fatalf("aws kms %s: %v\n%s", strings.Join(args, " "), err, got)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(got), out); err != nil {
			t.Fatalf("aws kms %s: %v in %s", args[0], err, got)
		}
	}
}

const kmsAllow = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`

// TestKMS_AWSCLI drives the KMS JSON 1.1 API with the real AWS CLI as two
// tenants' users (principal tag TenantID), the root and a user without KMS
// permissions.
func TestKMS_AWSCLI(t *testing.T) {
	ts := startServer(t, rootEnv)
	acmeKey, acmeSecret := kmsUser(t, ts, "acme-ops", "acme", kmsAllow)
	globexKey, globexSecret := kmsUser(t, ts, "globex-ops", "globex", kmsAllow)
	idleKey, idleSecret := kmsUser(t, ts, "acme-idle", "acme", "")

	var created struct {
		KeyMetadata struct{ KeyId, Arn, KeyState, Description string }
	}
	kmsCall(t, ts, acmeKey, acmeSecret, &created, "create-key", "--description", "acme models")
	meta := created.KeyMetadata
	if meta.KeyId == "" || !strings.HasSuffix(meta.Arn, ":key/"+meta.KeyId) || meta.KeyState != "Enabled" || meta.Description != "acme models" {
		t.Fatalf("create-key = %+v", meta)
	}

	dir := t.TempDir()
	plain := []byte("acme model weights \x00\xff secret")
	ptFile := filepath.Join(dir, "pt")
	if err := os.WriteFile(ptFile, plain, 0o600); err != nil {
		t.Fatal(err)
	}
	var enc struct{ CiphertextBlob, KeyId string }
	kmsCall(t, ts, acmeKey, acmeSecret, &enc, "encrypt", "--key-id", meta.KeyId, "--plaintext", "fileb://"+ptFile, "--encryption-context", "model=fraud,version=3")
	if enc.KeyId != meta.Arn || enc.CiphertextBlob == "" {
		t.Fatalf("encrypt = %+v", enc)
	}
	blob, err := base64.StdEncoding.DecodeString(enc.CiphertextBlob)
	if err != nil {
		t.Fatal(err)
	}
	ctFile := filepath.Join(dir, "ct")
	if err := os.WriteFile(ctFile, blob, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("DecryptRoundTrip", func(t *testing.T) {
		var dec struct{ Plaintext, KeyId string }
		kmsCall(t, ts, acmeKey, acmeSecret, &dec, "decrypt", "--ciphertext-blob", "fileb://"+ctFile, "--encryption-context", "model=fraud,version=3")
		got, err := base64.StdEncoding.DecodeString(dec.Plaintext)
		if err != nil || !bytes.Equal(got, plain) || dec.KeyId != meta.Arn {
			t.Fatalf("decrypt = %+v (%v), want %q", dec, err, plain)
		}
	})

	t.Run("AliasDataKeyRotation", func(t *testing.T) {
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "create-alias", "--alias-name", "alias/acme-data", "--target-key-id", meta.KeyId)
		var aliases struct {
			Aliases []struct{ AliasName, TargetKeyId string }
		}
		kmsCall(t, ts, acmeKey, acmeSecret, &aliases, "list-aliases", "--key-id", meta.KeyId)
		if len(aliases.Aliases) != 1 || aliases.Aliases[0].AliasName != "alias/acme-data" || aliases.Aliases[0].TargetKeyId != meta.KeyId {
			t.Fatalf("list-aliases = %+v", aliases)
		}
		var dk struct{ CiphertextBlob, Plaintext, KeyId string }
		kmsCall(t, ts, acmeKey, acmeSecret, &dk, "generate-data-key", "--key-id", "alias/acme-data", "--key-spec", "AES_256")
		if pt, _ := base64.StdEncoding.DecodeString(dk.Plaintext); len(pt) != 32 || dk.KeyId != meta.Arn {
			t.Fatalf("generate-data-key = %+v", dk)
		}
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "enable-key-rotation", "--key-id", meta.KeyId)
		// Debian's AWS CLI predates RotateKeyOnDemand: send it signed by hand.
		status, body := signedKMSPost(t, ts, acmeKey, acmeSecret, "TrentService.RotateKeyOnDemand", `{"KeyId":"`+meta.KeyId+`"}`)
		var rot struct{ KeyId string }
		if err := json.Unmarshal(body, &rot); err != nil || status != http.StatusOK || rot.KeyId != meta.Arn {
			t.Fatalf("RotateKeyOnDemand: status %d, body %s (%v)", status, body, err)
		}
		var st struct{ KeyRotationEnabled bool }
		kmsCall(t, ts, acmeKey, acmeSecret, &st, "get-key-rotation-status", "--key-id", meta.KeyId)
		if !st.KeyRotationEnabled {
			t.Fatalf("get-key-rotation-status = %+v", st)
		}
		// The ciphertext from before the rotation still decrypts.
		var dec struct{ Plaintext string }
		kmsCall(t, ts, acmeKey, acmeSecret, &dec, "decrypt", "--ciphertext-blob", "fileb://"+ctFile, "--encryption-context", "model=fraud,version=3")
		if got, _ := base64.StdEncoding.DecodeString(dec.Plaintext); !bytes.Equal(got, plain) {
			t.Fatalf("decrypt after rotation = %q", got)
		}
		var list struct{ Keys []struct{ KeyId string } }
		kmsCall(t, ts, globexKey, globexSecret, &list, "list-keys")
		for _, k := range list.Keys {
			if k.KeyId == meta.KeyId {
				t.Fatalf("globex lists acme's key: %+v", list)
			}
		}
	})

	t.Run("ReEncryptAndDataKeyWithoutPlaintext", func(t *testing.T) {
		var re struct{ CiphertextBlob, SourceKeyId, KeyId string }
		kmsCall(t, ts, acmeKey, acmeSecret, &re, "re-encrypt", "--ciphertext-blob", "fileb://"+ctFile, "--source-encryption-context", "model=fraud,version=3",
			"--destination-key-id", meta.KeyId, "--destination-encryption-context", "model=fraud,version=4")
		if re.SourceKeyId != meta.Arn || re.KeyId != meta.Arn || re.CiphertextBlob == "" {
			t.Fatalf("re-encrypt = %+v", re)
		}
		reBlob, err := base64.StdEncoding.DecodeString(re.CiphertextBlob)
		if err != nil {
			t.Fatal(err)
		}
		reFile := filepath.Join(t.TempDir(), "re")
		if err := os.WriteFile(reFile, reBlob, 0o600); err != nil {
			t.Fatal(err)
		}
		var dec struct{ Plaintext string }
		kmsCall(t, ts, acmeKey, acmeSecret, &dec, "decrypt", "--ciphertext-blob", "fileb://"+reFile, "--encryption-context", "model=fraud,version=4")
		if got, _ := base64.StdEncoding.DecodeString(dec.Plaintext); !bytes.Equal(got, plain) {
			t.Fatalf("decrypt of the re-encrypted blob = %q", got)
		}
		var dk map[string]any
		kmsCall(t, ts, acmeKey, acmeSecret, &dk, "generate-data-key-without-plaintext", "--key-id", meta.KeyId, "--number-of-bytes", "64")
		if _, ok := dk["Plaintext"]; ok || dk["CiphertextBlob"] == "" || dk["KeyId"] != meta.Arn {
			t.Fatalf("generate-data-key-without-plaintext = %v", dk)
		}
	})

	t.Run("DisableAndDeletion", func(t *testing.T) {
		var second struct{ KeyMetadata struct{ KeyId string } }
		kmsCall(t, ts, acmeKey, acmeSecret, &second, "create-key")
		id := second.KeyMetadata.KeyId
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "disable-key", "--key-id", id)
		out, err := awsCLI(t, ts, acmeKey, acmeSecret, "", "kms", "encrypt", "--key-id", id, "--plaintext", "fileb://"+ptFile)
		if err == nil || !strings.Contains(out, "DisabledException") {
			t.Fatalf("encrypt under a disabled key: %v\n%s", err, out)
		}
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "enable-key", "--key-id", id)
		var sched struct {
			KeyState            string
			PendingWindowInDays int
			DeletionDate        time.Time
		}
		kmsCall(t, ts, acmeKey, acmeSecret, &sched, "schedule-key-deletion", "--key-id", id, "--pending-window-in-days", "7")
		if sched.KeyState != "PendingDeletion" || sched.PendingWindowInDays != 7 || !sched.DeletionDate.After(time.Now().Add(6*24*time.Hour)) {
			t.Fatalf("schedule-key-deletion = %+v", sched)
		}
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "cancel-key-deletion", "--key-id", id)
		var desc struct{ KeyMetadata struct{ KeyState string } }
		kmsCall(t, ts, acmeKey, acmeSecret, &desc, "describe-key", "--key-id", id)
		if desc.KeyMetadata.KeyState != "Disabled" {
			t.Fatalf("state after cancel-key-deletion = %q, want Disabled (as AWS)", desc.KeyMetadata.KeyState)
		}
	})

	t.Run("PolicyAndTags", func(t *testing.T) {
		policy := `{"Version":"2012-10-17","Statement":[{"Sid":"Enable IAM policies","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ts.cfg.AccountID + `:root"},"Action":"kms:*","Resource":"*"}]}`
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "put-key-policy", "--key-id", meta.KeyId, "--policy-name", "default", "--policy", policy)
		var got struct{ Policy string }
		kmsCall(t, ts, acmeKey, acmeSecret, &got, "get-key-policy", "--key-id", meta.KeyId, "--policy-name", "default")
		if !strings.Contains(got.Policy, "Enable IAM policies") {
			t.Fatalf("get-key-policy = %s", got.Policy)
		}
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "tag-resource", "--key-id", meta.KeyId, "--tags", "TagKey=team,TagValue=risk")
	})

	t.Run("RoleSessionTenant", func(t *testing.T) {
		// The tenant of a role session is its TenantID session tag.
		ctx := context.Background()
		brokerKey, brokerSecret := kmsUser(t, ts, "broker", "", "")
		broker := "arn:aws:iam::" + ts.cfg.AccountID + ":user/broker"
		trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + broker + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
		root := iamClient(ts, rootKeyID, rootSecret)
		if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("tenant-kms"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatalf("CreateRole: %v", err)
		}
		if _, err := root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("tenant-kms"), PolicyName: aws.String("kms"), PolicyDocument: aws.String(kmsAllow)}); err != nil {
			t.Fatalf("PutRolePolicy: %v", err)
		}
		for _, tc := range []struct {
			tenant string
			want   string // "" for success
		}{{"acme", ""}, {"globex", "NotFoundException"}} {
			t.Run(tc.tenant, func(t *testing.T) {
				out, err := awsCLI(t, ts, brokerKey, brokerSecret, "", "sts", "assume-role", "--role-arn", "arn:aws:iam::"+ts.cfg.AccountID+":role/tenant-kms",
					"--role-session-name", tc.tenant, "--tags", "Key=TenantID,Value="+tc.tenant)
				if err != nil {
					t.Fatalf("aws sts assume-role: %v\n%s", err, out)
				}
				var assumed struct {
					Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
				}
				if err := json.Unmarshal([]byte(out), &assumed); err != nil {
					t.Fatalf("%v in %s", err, out)
				}
				c := assumed.Credentials
				out, err = awsCLI(t, ts, c.AccessKeyId, c.SecretAccessKey, c.SessionToken, "kms", "decrypt", "--ciphertext-blob", "fileb://"+ctFile, "--encryption-context", "model=fraud,version=3")
				switch {
				case tc.want == "" && err != nil:
					t.Fatalf("decrypt as the %s session: %v\n%s", tc.tenant, err, out)
				case tc.want == "" && !strings.Contains(out, base64.StdEncoding.EncodeToString(plain)):
					t.Fatalf("decrypt as the %s session = %s", tc.tenant, out)
				case tc.want != "" && (err == nil || !strings.Contains(out, tc.want)):
					t.Fatalf("decrypt as the %s session: %v\n%s; want %s", tc.tenant, err, out, tc.want)
				}
			})
		}
	})

	t.Run("ErrKeyPolicyExcludesCaller", func(t *testing.T) {
		// A key policy naming only another principal overrides acme-ops'
		// kms:* identity policy: the key policy must allow too.
		var k struct{ KeyMetadata struct{ KeyId string } }
		kmsCall(t, ts, acmeKey, acmeSecret, &k, "create-key")
		only := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ts.cfg.AccountID + `:user/acme-admin"},"Action":"kms:*","Resource":"*"}]}`
		kmsCall(t, ts, acmeKey, acmeSecret, nil, "put-key-policy", "--key-id", k.KeyMetadata.KeyId, "--policy-name", "default", "--policy", only)
		out, err := awsCLI(t, ts, acmeKey, acmeSecret, "", "kms", "describe-key", "--key-id", k.KeyMetadata.KeyId)
		if err == nil || !strings.Contains(out, "AccessDeniedException") {
			t.Fatalf("describe-key under a key policy excluding the caller: %v\n%s", err, out)
		}
	})

	for _, tc := range []struct {
		name, keyID, secret string
		args                []string
		want                []string
	}{
		{"ErrWrongContext", acmeKey, acmeSecret, []string{"decrypt", "--ciphertext-blob", "fileb://" + ctFile, "--encryption-context", "model=fraud,version=4"}, []string{"InvalidCiphertextException"}},
		{"ErrCrossTenantDecrypt", globexKey, globexSecret, []string{"decrypt", "--ciphertext-blob", "fileb://" + ctFile, "--encryption-context", "model=fraud,version=3"}, []string{"NotFoundException"}},
		{"ErrCrossTenantDescribe", globexKey, globexSecret, []string{"describe-key", "--key-id", meta.KeyId}, []string{"NotFoundException"}},
		{"ErrCrossTenantDescribeARN", globexKey, globexSecret, []string{"describe-key", "--key-id", meta.Arn}, []string{"NotFoundException"}},
		{"ErrCrossTenantEncrypt", globexKey, globexSecret, []string{"encrypt", "--key-id", meta.KeyId, "--plaintext", "fileb://" + ptFile}, []string{"NotFoundException"}},
		{"ErrRootRefused", rootKeyID, rootSecret, []string{"create-key"}, []string{"AccessDeniedException", "KMS keys belong to tenants"}},
		{"ErrNoPermission", idleKey, idleSecret, []string{"describe-key", "--key-id", meta.KeyId}, []string{"AccessDeniedException", "kms:DescribeKey"}},
		{"ErrBadPendingWindow", acmeKey, acmeSecret, []string{"schedule-key-deletion", "--key-id", meta.KeyId, "--pending-window-in-days", "3"}, []string{"ValidationException"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := awsCLI(t, ts, tc.keyID, tc.secret, "", append([]string{"kms"}, tc.args...)...)
			if err == nil {
				t.Fatalf("aws kms %s succeeded: %s", tc.args[0], out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("aws kms %s: output %q lacks %q", tc.args[0], out, w)
				}
			}
		})
	}

	t.Run("ErrMalformedBody", func(t *testing.T) {
		for _, tc := range []struct{ name, target, body, code string }{
			{"BadJSON", "TrentService.Encrypt", `{"KeyId":`, "SerializationException"},
			{"WrongType", "TrentService.Encrypt", `{"KeyId":42}`, "SerializationException"},
			{"BadBase64", "TrentService.Decrypt", `{"CiphertextBlob":"!!"}`, "SerializationException"},
			{"UnknownOperation", "TrentService.Nope", `{}`, "UnknownOperationException"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				status, body := signedKMSPost(t, ts, acmeKey, acmeSecret, tc.target, tc.body)
				var e struct {
					Type    string `json:"__type"`
					Message string `json:"message"`
				}
				if err := json.Unmarshal(body, &e); err != nil {
					t.Fatalf("%v in %s", err, body)
				}
				if status != http.StatusBadRequest || e.Type != tc.code || e.Message == "" {
					t.Fatalf("status %d, body %s; want 400 %s", status, body, tc.code)
				}
			})
		}
	})
}

// signedKMSPost sends a SigV4-signed KMS request with a raw body.
func signedKMSPost(t *testing.T, ts *testServer, keyID, secret, target, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte(body))
	return doSigned(t, req, aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}, hex.EncodeToString(sum[:]), "kms", time.Now())
}
