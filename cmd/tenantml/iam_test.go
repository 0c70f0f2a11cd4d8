package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// iamClient is aws-sdk-go-v2's IAM client pointed at ts.
func iamClient(ts *testServer, keyID, secret string) *iam.Client {
	return iam.New(iam.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(ts.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	})
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestIAM_AWSCLI drives the IAM API and AssumeRole with aws-sdk-go-v2 (for
// setup) and the real AWS CLI: a user's long-term key, an assumed role with
// a session tag, and the AccessDenied cases.
func TestIAM_AWSCLI(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	acct := ts.cfg.AccountID
	root := iamClient(ts, rootKeyID, rootSecret)
	aliceARN := "arn:aws:iam::" + acct + ":user/alice"

	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("alice"), PolicyName: aws.String("list-roles"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListRoles","Resource":"*"}]}`)}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	trust := `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"sts:AssumeRole"},
		{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":"sts:TagSession","Condition":{"StringEquals":{"aws:RequestTag/TenantID":"tenant-a"}}}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pool-invoke"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	other := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + acct + `:user/bob"},"Action":"sts:AssumeRole"}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bobs-role"), AssumeRolePolicyDocument: aws.String(other)}); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}

	t.Run("SDKErrorCodes", func(t *testing.T) {
		_, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("ALICE")})
		if got := apiErrorCode(err); got != "EntityAlreadyExists" {
			t.Errorf("CreateUser twice: code %q (%v), want EntityAlreadyExists", got, err)
		}
		_, err = root.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")})
		if got := apiErrorCode(err); got != "NoSuchEntity" {
			t.Errorf("GetRole missing: code %q (%v), want NoSuchEntity", got, err)
		}
		_, err = root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("pool-invoke"), PolicyName: aws.String("bad"), PolicyDocument: aws.String(`{"Statement":[{"Effect":"Maybe"}]}`)})
		if got := apiErrorCode(err); got != "MalformedPolicyDocument" {
			t.Errorf("PutRolePolicy bad document: code %q (%v), want MalformedPolicyDocument", got, err)
		}
	})

	out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "iam", "create-access-key", "--user-name", "alice")
	if err != nil {
		t.Fatalf("aws iam create-access-key: %v\n%s", err, out)
	}
	var created struct {
		AccessKey struct{ AccessKeyId, SecretAccessKey, UserName, Status string }
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	key := created.AccessKey
	if !strings.HasPrefix(key.AccessKeyId, "AKIA") || len(key.AccessKeyId) != 20 || len(key.SecretAccessKey) != 40 || key.UserName != "alice" || key.Status != "Active" {
		t.Fatalf("access key = %+v", created.AccessKey)
	}
	secrets := []string{key.SecretAccessKey}

	t.Run("SDKDeleteConflict", func(t *testing.T) {
		_, err := root.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("alice")})
		if got := apiErrorCode(err); got != "DeleteConflict" {
			t.Errorf("DeleteUser with a key: code %q (%v), want DeleteConflict", got, err)
		}
	})

	t.Run("UserGetCallerIdentity", func(t *testing.T) {
		out, err := awsCLI(t, ts, key.AccessKeyId, key.SecretAccessKey, "", "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws sts get-caller-identity: %v\n%s", err, out)
		}
		var got struct{ UserId, Account, Arn string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if got.Arn != aliceARN || got.Account != acct || !strings.HasPrefix(got.UserId, "AIDA") {
			t.Fatalf("caller identity = %+v", got)
		}
	})

	t.Run("GetRoleDecodesTrustPolicy", func(t *testing.T) {
		out, err := awsCLI(t, ts, key.AccessKeyId, key.SecretAccessKey, "", "iam", "list-roles")
		if err != nil {
			t.Fatalf("aws iam list-roles as alice: %v\n%s", err, out)
		}
		var got struct {
			Roles []struct {
				RoleName                 string
				AssumeRolePolicyDocument struct{ Statement []struct{ Action string } }
			}
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if len(got.Roles) != 2 || got.Roles[0].RoleName != "bobs-role" || len(got.Roles[1].AssumeRolePolicyDocument.Statement) != 2 ||
			got.Roles[1].AssumeRolePolicyDocument.Statement[1].Action != "sts:TagSession" {
			t.Fatalf("list-roles = %s", out)
		}
	})

	t.Run("ErrUserCreateRoleDenied", func(t *testing.T) {
		out, err := awsCLI(t, ts, key.AccessKeyId, key.SecretAccessKey, "", "iam", "create-role", "--role-name", "escalate", "--assume-role-policy-document", trust)
		if err == nil || !strings.Contains(out, "AccessDenied") || !strings.Contains(out, "iam:CreateRole") {
			t.Fatalf("err = %v, out %s", err, out)
		}
	})

	roleARN := "arn:aws:iam::" + acct + ":role/pool-invoke"
	out, err = awsCLI(t, ts, key.AccessKeyId, key.SecretAccessKey, "", "sts", "assume-role", "--role-arn", roleARN,
		"--role-session-name", "s1", "--tags", "Key=TenantID,Value=tenant-a")
	if err != nil {
		t.Fatalf("aws sts assume-role: %v\n%s", err, out)
	}
	var assumed struct {
		Credentials      struct{ AccessKeyId, SecretAccessKey, SessionToken, Expiration string }
		AssumedRoleUser  struct{ AssumedRoleId, Arn string }
		PackedPolicySize int
	}
	if err := json.Unmarshal([]byte(out), &assumed); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	sessionARN := "arn:aws:sts::" + acct + ":assumed-role/pool-invoke/s1"
	if assumed.AssumedRoleUser.Arn != sessionARN || !strings.HasPrefix(assumed.Credentials.AccessKeyId, "ASIA") || assumed.PackedPolicySize < 1 {
		t.Fatalf("assume-role = %s", out)
	}
	secrets = append(secrets, assumed.Credentials.SecretAccessKey, assumed.Credentials.SessionToken)

	t.Run("SessionGetCallerIdentity", func(t *testing.T) {
		c := assumed.Credentials
		out, err := awsCLI(t, ts, c.AccessKeyId, c.SecretAccessKey, c.SessionToken, "sts", "get-caller-identity")
		if err != nil {
			t.Fatalf("aws sts get-caller-identity: %v\n%s", err, out)
		}
		var got struct{ UserId, Arn string }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if got.Arn != sessionARN || got.UserId != assumed.AssumedRoleUser.AssumedRoleId || !strings.HasSuffix(got.UserId, ":s1") {
			t.Fatalf("caller identity = %+v", got)
		}
	})
	t.Run("ErrTagNotAllowedByTrust", func(t *testing.T) {
		out, err := awsCLI(t, ts, key.AccessKeyId, key.SecretAccessKey, "", "sts", "assume-role", "--role-arn", roleARN,
			"--role-session-name", "s2", "--tags", "Key=TenantID,Value=tenant-b")
		if err == nil || !strings.Contains(out, "AccessDenied") {
			t.Fatalf("err = %v, out %s", err, out)
		}
	})
	t.Run("ErrTrustDoesNotNameCaller", func(t *testing.T) {
		out, err := awsCLI(t, ts, key.AccessKeyId, key.SecretAccessKey, "", "sts", "assume-role", "--role-arn", "arn:aws:iam::"+acct+":role/bobs-role",
			"--role-session-name", "s3")
		if err == nil || !strings.Contains(out, "AccessDenied") {
			t.Fatalf("err = %v, out %s", err, out)
		}
	})

	t.Run("ErrRevokedSession", func(t *testing.T) {
		c := assumed.Credentials
		client := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyId, c.SecretAccessKey, c.SessionToken)})
		if _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
		if err := ts.store.Identity().RevokeRoleSessions(ctx, acct, "pool-invoke", time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiErrorCode(err) != "AccessDenied" {
			t.Fatalf("after revocation: err = %v, want AccessDenied", err)
		}
	})

	logs := ts.logs.String()
	for _, s := range secrets {
		if s == "" || strings.Contains(logs, s) || strings.Contains(logs, url.QueryEscape(s)) {
			t.Fatalf("a secret (%d chars) appears in the server logs (or is empty)", len(s))
		}
	}
}

// TestCredentialSource_Credential checks IAM users' long-term keys through
// aws-sdk-go-v2's STS client: active keys authenticate, inactive, deleted
// and unknown keys are InvalidClientTokenId, a wrong secret does not sign.
func TestCredentialSource_Credential(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("carol"), Tags: []iamtypes.Tag{{Key: aws.String("Team"), Value: aws.String("ml")}}}); err != nil {
		t.Fatal(err)
	}
	out, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("carol")})
	if err != nil {
		t.Fatal(err)
	}
	keyID, secret := aws.ToString(out.AccessKey.AccessKeyId), aws.ToString(out.AccessKey.SecretAccessKey)
	whoami := func(keyID, secret string) (string, error) {
		c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(keyID, secret, "")})
		res, err := c.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return "", err
		}
		return aws.ToString(res.Arn), nil
	}
	setStatus := func(status iamtypes.StatusType) {
		t.Helper()
		if _, err := root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(keyID), Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("OK", func(t *testing.T) {
		arn, err := whoami(keyID, secret)
		if want := "arn:aws:iam::" + ts.cfg.AccountID + ":user/carol"; err != nil || arn != want {
			t.Fatalf("arn %q, err %v; want %q", arn, err, want)
		}
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		if _, err := whoami(keyID, flipMiddle(secret)); apiErrorCode(err) != "SignatureDoesNotMatch" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrInactive", func(t *testing.T) {
		setStatus(iamtypes.StatusTypeInactive)
		if _, err := whoami(keyID, secret); apiErrorCode(err) != "InvalidClientTokenId" {
			t.Fatalf("err = %v", err)
		}
		setStatus(iamtypes.StatusTypeActive)
		if _, err := whoami(keyID, secret); err != nil {
			t.Fatalf("reactivated key: %v", err)
		}
	})
	t.Run("ErrDeleted", func(t *testing.T) {
		if _, err := root.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(keyID)}); err != nil {
			t.Fatal(err)
		}
		if _, err := whoami(keyID, secret); apiErrorCode(err) != "InvalidClientTokenId" {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrUnknownWellFormedKey", func(t *testing.T) {
		if _, err := whoami("AKIAAAAAAAAAAAAAAAAA", secret); apiErrorCode(err) != "InvalidClientTokenId" {
			t.Fatalf("err = %v", err)
		}
	})
	if strings.Contains(ts.logs.String(), secret) {
		t.Fatal("the user's secret appears in the logs")
	}
}

// flipMiddle returns s with its middle character changed. Not the last:
// the last character of a base64 string may carry only padding bits that
// a decoder ignores, so changing it may leave the decoded value unchanged.
func flipMiddle(s string) string {
	i := len(s) / 2
	c := byte('x')
	if s[i] == c {
		c = 'y'
	}
	return s[:i] + string(c) + s[i+1:]
}
