package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// boto3Script drives tenantml with Debian's boto3: it prints the caller
// identity, creates and lists an IAM user, and reports the error code a
// wrong secret gets.
const boto3Script = `
import json, sys, boto3, botocore
endpoint, key, secret = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = botocore.config.Config(retries={"max_attempts": 1})
def client(svc, s=secret):
    return boto3.client(svc, endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=s, config=cfg)
out = {}
ident = client("sts").get_caller_identity()
out["arn"], out["account"] = ident["Arn"], ident["Account"]
iam = client("iam")
iam.create_user(UserName="boto-user", Tags=[{"Key": "TenantID", "Value": "acme"}])
out["users"] = [u["UserName"] for u in iam.list_users()["Users"]]
try:
    client("sts", secret + "x").get_caller_identity()
    out["wrong_secret"] = "accepted"
except botocore.exceptions.ClientError as e:
    out["wrong_secret"] = e.response["Error"]["Code"]
print(json.dumps(out))
`

// runBoto3 runs a Python script with Debian's python3 and boto3, no AWS
// configuration files and args, and returns its stdout.
func runBoto3(t *testing.T, script string, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	path, empty := filepath.Join(dir, "drive.py"), filepath.Join(dir, "empty")
	for _, f := range [][2]string{{path, script}, {empty, ""}} {
		if err := os.WriteFile(f[0], []byte(f[1]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("/usr/bin/python3", append([]string{path}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty, "AWS_EC2_METADATA_DISABLED=true"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("boto3: %v\n%s", err, stderr.String())
	}
	return raw
}

func TestBoto3_STSAndIAM(t *testing.T) {
	ts := startServer(t, rootEnv)
	raw := runBoto3(t, boto3Script, ts.URL, rootKeyID, rootSecret)
	var got struct {
		Arn         string   `json:"arn"`
		Account     string   `json:"account"`
		Users       []string `json:"users"`
		WrongSecret string   `json:"wrong_secret"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	acct := ts.cfg.AccountID
	if got.Arn != "arn:aws:iam::"+acct+":root" || got.Account != acct {
		t.Fatalf("caller identity = %s", raw)
	}
	if len(got.Users) != 1 || got.Users[0] != "boto-user" {
		t.Fatalf("list_users = %v", got.Users)
	}
	if got.WrongSecret != "SignatureDoesNotMatch" {
		t.Fatalf("wrong secret answered %q, want SignatureDoesNotMatch", got.WrongSecret)
	}
	if strings.Contains(ts.logs.String(), rootSecret) {
		t.Fatal("the root secret appears in the logs")
	}
}
