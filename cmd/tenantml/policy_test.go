package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const poolCase = `{"name": "%s",
 "request": {"principal": "arn:aws:sts::111122223333:assumed-role/pool/s",
   "action": "sagemaker:InvokeEndpoint",
   "resource": {"resource": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint", "accountId": "111122223333"},
   "context": {"aws:PrincipalTag/TenantID": "tenant-a", "sagemaker:TargetModel": "%s.tar.gz"}},
 "identityPolicies": [{"Version": "2012-10-17", "Statement": [{"Sid": "Pool", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
   "Resource": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint",
   "Condition": {"StringEquals": {"sagemaker:TargetModel": "${aws:PrincipalTag/TenantID}.tar.gz"}}}]}],
 "expected": {"response": "%s"}}`

// runPolicyCLI runs tenantml with args and returns its output and exit code.
func runPolicyCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	var ee *exitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String() + ee.Error(), ee.code
	}
	return out.String() + err.Error(), 1
}

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPolicySimulate(t *testing.T) {
	tests := []struct {
		name     string
		model    string
		expected string
		wantCode int
		wantDec  string
	}{
		{"OwnModelAllowed", "tenant-a", "Allowed", 0, "Allowed"},
		{"CrossTenantDenied", "tenant-b", "ImplicitlyDenied", 0, "ImplicitlyDenied"},
		{"ErrExpectationMismatch", "tenant-b", "Allowed", 1, "ImplicitlyDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := writeFile(t, "case.json", fmt.Sprintf(poolCase, tt.name, tt.model, tt.expected))
			out, code := runPolicyCLI(t, "policy", "simulate", "--input", in, "-o", "json")
			if code != tt.wantCode || !strings.Contains(out, `"decision": "`+tt.wantDec+`"`) {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
			out, code = runPolicyCLI(t, "policy", "simulate", "--input", in)
			if code != tt.wantCode || !regexp.MustCompile(`(?m)^decision +`+tt.wantDec+`$`).MatchString(out) {
				t.Fatalf("table: exit %d, want %d; output:\n%s", code, tt.wantCode, out)
			}
		})
	}
	t.Run("BatchKeepsOrderAndSurvivesMalformedCase", func(t *testing.T) {
		batch := "[" + fmt.Sprintf(poolCase, "first", "tenant-a", "Allowed") + `, {"name": "broken", "request": 5}, ` +
			fmt.Sprintf(poolCase, "third", "tenant-b", "ImplicitlyDenied") + "]"
		out, code := runPolicyCLI(t, "policy", "simulate", "--batch", writeFile(t, "batch.json", batch), "-o", "json")
		var results []struct {
			Name     string `json:"name"`
			Decision string `json:"decision"`
			Error    string `json:"error"`
		}
		if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "]")+1]), &results); err != nil {
			t.Fatalf("exit %d, output not a JSON array: %v\n%s", code, err, out)
		}
		if len(results) != 3 || results[0].Name != "first" || results[0].Decision != "Allowed" ||
			results[1].Error == "" || results[2].Name != "third" || results[2].Decision != "ImplicitlyDenied" {
			t.Fatalf("results = %+v", results)
		}
	})
}

func TestPolicyCLI_UnreadableFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.json")
	good := writeFile(t, "good.json", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`)
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"Validate", []string{"policy", "validate", missing}},
		{"ValidateOneOfTwo", []string{"policy", "validate", good, missing}},
		{"SimulateInput", []string{"policy", "simulate", "--input", missing}},
		{"SimulateBatch", []string{"policy", "simulate", "--batch", missing}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, code := runPolicyCLI(t, tt.args...)
			if want := "open " + missing + ": no such file or directory"; code != 2 || out != want {
				t.Fatalf("exit %d, output %q; want exit 2 and %q", code, out, want)
			}
		})
	}
}

func TestPolicyValidate(t *testing.T) {
	good := writeFile(t, "good.json", `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}`)
	bad := writeFile(t, "bad.json", `{"Version": "2012-10-17", "Statement": [{"Sid": "AllowInvoke", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint", "Resource": "*", "Condition": {"StringEqual": {"a": "b"}}}]}`)
	if out, code := runPolicyCLI(t, "policy", "validate", good); code != 0 {
		t.Fatalf("valid policy: exit %d\n%s", code, out)
	}
	out, code := runPolicyCLI(t, "policy", "validate", good, bad)
	if code != 1 || !strings.Contains(out, `unknown operator "StringEqual"`) || !strings.Contains(out, `AllowInvoke`) {
		t.Fatalf("invalid policy: exit %d\n%s", code, out)
	}
	for _, format := range []string{"json", "yaml"} {
		t.Run(format, func(t *testing.T) {
			out, code := runPolicyCLI(t, "policy", "validate", good, bad, "-o", format)
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, out)
			}
			doc := out[:strings.LastIndex(out, "1 of 2 policies invalid")]
			var got []validation
			if err := decodeOutput(format, doc, &got); err != nil {
				t.Fatalf("%v in\n%s", err, doc)
			}
			if len(got) != 2 || got[0].File != good || got[0].Kind != "identity" || !got[0].Valid || len(got[0].Problems) != 0 ||
				got[1].File != bad || got[1].Valid || len(got[1].Problems) != 1 || !strings.Contains(got[1].Problems[0], `unknown operator "StringEqual"`) {
				t.Fatalf("results = %+v", got)
			}
		})
	}
}
