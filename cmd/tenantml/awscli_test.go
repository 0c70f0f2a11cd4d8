package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// awsCLI runs the real AWS CLI v2 (Debian's awscli) against ts with the
// given credentials and no configuration files, returning stdout. The
// region is us-east-1 unless args name one.
func awsCLI(t *testing.T, ts *testServer, keyID, secret, token string, args ...string) (string, error) {
	t.Helper()
	return awsCLIAt(t, ts.URL, keyID, secret, token, args...)
}

// awsCLIAt is awsCLI against the server at url (a named listener's).
func awsCLIAt(t *testing.T, url, keyID, secret, token string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, "--endpoint-url", url, "--output", "json")
	if !slices.Contains(args, "--region") {
		args = append(args, "--region", "us-east-1")
	}
	cmd := exec.Command("/usr/bin/aws", args...)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_ACCESS_KEY_ID=" + keyID,
		"AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_PAGER=",
		"AWS_MAX_ATTEMPTS=1",
	}
	if token != "" {
		cmd.Env = append(cmd.Env, "AWS_SESSION_TOKEN="+token)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func TestAWSCLI_GetCallerIdentity(t *testing.T) {
	ts := startServer(t, rootEnv)
	out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "sts", "get-caller-identity")
	if err != nil {
		t.Fatalf("aws sts get-caller-identity: %v\n%s", err, out)
	}
	var got struct{ UserId, Account, Arn string }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	acct := ts.cfg.AccountID
	if got.Account != acct || got.Arn != "arn:aws:iam::"+acct+":root" || got.UserId != acct {
		t.Fatalf("caller identity = %+v", got)
	}

	t.Run("ErrWrongSecret", func(t *testing.T) {
		out, err := awsCLI(t, ts, rootKeyID, rootSecret+"x", "", "sts", "get-caller-identity")
		if err == nil || !strings.Contains(out, "SignatureDoesNotMatch") {
			t.Fatalf("err = %v, out %s", err, out)
		}
	})
	t.Run("ErrUnknownKey", func(t *testing.T) {
		out, err := awsCLI(t, ts, "AKIAUNKNOWNKEY000001", rootSecret, "", "sts", "get-caller-identity")
		if err == nil || !strings.Contains(out, "InvalidClientTokenId") {
			t.Fatalf("err = %v, out %s", err, out)
		}
	})
	t.Run("ErrForgedSessionToken", func(t *testing.T) {
		out, err := awsCLI(t, ts, "ASIAFORGEDKEY0000001", rootSecret, "forged-token", "sts", "get-caller-identity")
		if err == nil || !strings.Contains(out, "InvalidClientTokenId") {
			t.Fatalf("err = %v, out %s", err, out)
		}
	})
	if logs := ts.logs.String(); strings.Contains(logs, rootSecret) {
		t.Fatal("the root secret appears in the logs")
	}
}
