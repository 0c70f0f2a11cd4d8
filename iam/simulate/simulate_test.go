package simulate

import (
	"encoding/json"
	"strings"
	"testing"
)

const poolCase = `{
 "name": "pool-own-model",
 "doc": "IAM User Guide: IAM policy elements: Variables and tags",
 "request": {"principal": "arn:aws:sts::111122223333:assumed-role/PoolInvokeRole/acme",
   "action": "sagemaker:InvokeEndpoint",
   "resource": {"resource": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint", "accountId": "111122223333"},
   "context": {"aws:PrincipalTag/TenantID": "acme", "sagemaker:TargetModel": "acme.tar.gz", "aws:TagKeys": ["a", "b"], "n": 3, "b": true}},
 "identityPolicies": [
   {"Version":"2012-10-17","Statement":[{"Sid":"PoolInvoke","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]},
   "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}"
 ],
 "expected": {"response": "Allowed"}
}`

func TestParseCase(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // error substring; "" means OK
	}{
		{"OK", poolCase, ""},
		{"ErrJSON", `{"name":`, "decode case"},
		{"ErrUnknownField", `{"name":"x","request":{"principal":"p","action":"a:b","resource":{"resource":"*"}},"identityPolicy":{}}`, `unknown field "identityPolicy"`},
		{"ErrBadPolicy", strings.Replace(poolCase, `\"Action\":\"s3:GetObject\"`, `\"Action\":[]`, 1), "identity[1]: statement[0]: Action: empty list"},
		{"ErrPolicyNotObject", strings.Replace(poolCase, `"identityPolicies": [`, `"identityPolicies": [42,`, 1), "identity[0]: policy must be a JSON object or a JSON string"},
		{"ErrNoAction", `{"name":"x","request":{"principal":"p","resource":{"resource":"*"}}}`, "request: missing action"},
		{"ErrContextObject", `{"name":"x","request":{"principal":"p","action":"a:b","resource":{"resource":"*"},"context":{"k":{"a":1}}}}`, "request: context: k"},
		{"ErrContextDuplicateKey", `{"name":"x","request":{"principal":"p","action":"a:b","resource":{"resource":"*"},"context":{"k":"1","K":"2"}}}`, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCase([]byte(tt.in))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParseCase: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseCase error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	c, err := ParseCase([]byte(poolCase))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Allowed", func(t *testing.T) {
		got := Run(c)
		if got.Decision != "Allowed" || got.Error != "" {
			t.Fatalf("Run = %+v, want Allowed", got)
		}
		if got.Match == nil || !*got.Match || got.Mismatch() {
			t.Fatalf("match = %v, want true", got.Match)
		}
		want := []Statement{{Policy: "identity[0]", Index: 0, Sid: "PoolInvoke", Effect: "Allow"}}
		if len(got.Statements) != 1 || got.Statements[0] != want[0] {
			t.Fatalf("statements = %+v, want %+v", got.Statements, want)
		}
		if !strings.Contains(got.Reason, "PoolInvoke") {
			t.Fatalf("reason %q does not name the deciding statement", got.Reason)
		}
	})
	t.Run("Mismatch", func(t *testing.T) {
		other := c
		other.Request.Context = map[string]json.RawMessage{"aws:PrincipalTag/TenantID": json.RawMessage(`"globex"`), "sagemaker:TargetModel": json.RawMessage(`"acme.tar.gz"`)}
		got := Run(other)
		if got.Decision != "ImplicitlyDenied" {
			t.Fatalf("decision = %s, want ImplicitlyDenied", got.Decision)
		}
		if !got.Mismatch() || got.Expected != "Allowed" {
			t.Fatalf("Mismatch() = %v, expected %q; want a mismatch against Allowed", got.Mismatch(), got.Expected)
		}
	})
	t.Run("NoExpected", func(t *testing.T) {
		other := c
		other.Expected = nil
		got := Run(other)
		if got.Match != nil || got.Mismatch() {
			t.Fatalf("match = %v for a case without expected", got.Match)
		}
	})
	t.Run("InvalidCaseGivesError", func(t *testing.T) {
		other := c
		other.IdentityPolicies = []json.RawMessage{json.RawMessage(`{"Statement":[]}`)}
		got := Run(other)
		if got.Error == "" || got.Decision != "" {
			t.Fatalf("Run = %+v, want an error result", got)
		}
	})
}

func TestRunBatch(t *testing.T) {
	t.Run("OrderAndErrors", func(t *testing.T) {
		batch := `[` + poolCase + `, {"name": "broken", "request": 7, "expected": {"response": "Allowed"}}, {"oops": true}, ` +
			strings.Replace(poolCase, `"pool-own-model"`, `"second"`, 1) + `]`
		got, err := RunBatch([]byte(batch))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 4 {
			t.Fatalf("got %d results, want 4", len(got))
		}
		names := []string{"pool-own-model", "broken", "case[2]", "second"}
		for i, r := range got {
			if r.Name != names[i] {
				t.Fatalf("result %d name = %q, want %q", i, r.Name, names[i])
			}
		}
		if got[0].Decision != "Allowed" || got[3].Decision != "Allowed" {
			t.Fatalf("valid cases not decided: %+v", got)
		}
		if got[1].Error == "" || got[2].Error == "" {
			t.Fatalf("malformed cases have no error: %+v / %+v", got[1], got[2])
		}
		if !got[1].Mismatch() {
			t.Fatal("an error result with an expected response counts as a match")
		}
	})
	t.Run("ErrNotArray", func(t *testing.T) {
		if _, err := RunBatch([]byte(`{"name":"x"}`)); err == nil {
			t.Fatal("RunBatch accepted a non-array")
		}
	})
	t.Run("ResultJSON", func(t *testing.T) {
		got, err := RunBatch([]byte(`[` + poolCase + `]`))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(got[0])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"name", "decision", "statements", "reason", "expected", "match"} {
			if _, ok := m[k]; !ok {
				t.Errorf("result JSON lacks %q: %s", k, b)
			}
		}
		if _, ok := m["error"]; ok {
			t.Errorf("result JSON has an empty error: %s", b)
		}
	})
}

func TestParseKind(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  bool
	}{
		{"identity", "identity", false},
		{"Resource", "resource", false},
		{"boundary", "boundary", false},
		{"session", "session", false},
		{"scp", "scp", false},
		{"guardrail", "scp", false},
		{"group", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			k, err := ParseKind(tt.in)
			if tt.err {
				if err == nil {
					t.Fatalf("ParseKind(%q) succeeded", tt.in)
				}
				return
			}
			if err != nil || k.String() != tt.want {
				t.Fatalf("ParseKind(%q) = %v, %v; want %s", tt.in, k, err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	kind, _ := ParseKind("identity")
	t.Run("OK", func(t *testing.T) {
		if p := Validate([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`), kind, 0); p != nil {
			t.Fatalf("problems = %v, want none", p)
		}
	})
	t.Run("ErrEveryProblem", func(t *testing.T) {
		p := Validate([]byte(`{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":[],"Resource":"*"},{"Sid":"AllowInvoke","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"a":"b"}}}]}`), kind, 0)
		want := []string{`statement[0] (Sid "A"): Action: empty list`, `statement[1] (Sid "AllowInvoke"): Condition: unknown operator "StringEqual"`}
		if len(p) != len(want) {
			t.Fatalf("problems = %q, want %q", p, want)
		}
		for i := range want {
			if p[i] != want[i] {
				t.Fatalf("problem %d = %q, want %q", i, p[i], want[i])
			}
		}
	})
}

func TestRunCase(t *testing.T) {
	tests := []struct {
		name, in, decision string
		wantErr, mismatch  bool
	}{
		{"OK", poolCase, "Allowed", false, false},
		{"ErrMalformed", `{"name":"m","request":1,"expected":{"response":"Allowed"}}`, "", true, true},
		{"ErrNotJSON", `{`, "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RunCase([]byte(tt.in))
			if got.Decision != tt.decision || (got.Error != "") != tt.wantErr || got.Mismatch() != tt.mismatch {
				t.Fatalf("RunCase = %+v; want decision %q, error %v, mismatch %v", got, tt.decision, tt.wantErr, tt.mismatch)
			}
		})
	}
}
