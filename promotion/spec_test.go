package promotion

import (
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
)

const goodSpec = `
name: acme--churn
tenant: acme
modelPackageGroup: acme--churn
staging:
  accountId: "222222222222"
  deploymentRoleArn: arn:aws:iam::222222222222:role/deploy
  endpointName: acme--churn-staging
  instanceType: ml.m5.large
  instanceCount: 1
  executionRoleArn: arn:aws:iam::222222222222:role/exec
production:
  accountId: "333333333333"
  deploymentRoleArn: arn:aws:iam::333333333333:role/deploy
  endpointName: acme--churn
  instanceType: ml.m5.large
  instanceCount: 1
  executionRoleArn: arn:aws:iam::333333333333:role/exec
  deploymentConfig:
    BlueGreenUpdatePolicy:
      TrafficRoutingConfiguration:
        Type: ALL_AT_ONCE
smokeTest:
  contentType: text/csv
  payload: "1,2"
  expected: "0.5"
  tolerance: 0.01
webhook: http://127.0.0.1:9/hook
`

func TestParseSpec(t *testing.T) {
	s, err := ParseSpec([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	if s.Production.DeploymentConfig == nil || s.Staging.AccountID != "222222222222" || s.SmokeTest.Tolerance != 0.01 {
		t.Fatalf("parsed %+v", s)
	}
	tests := []struct{ name, from, to, want string }{
		{"UnknownField", "tenant: acme", "tenant: acme\ncolour: blue", "field colour not found"},
		{"NameOutsideTenant", "name: acme--churn", "name: globex--churn", "must be named"},
		{"BadTenant", "tenant: acme", "tenant: A_B", "tenant"},
		{"RoleOfOtherAccount", "deploymentRoleArn: arn:aws:iam::222222222222:role/deploy", "deploymentRoleArn: arn:aws:iam::333333333333:role/deploy", "must be a role of the target's account"},
		{"NotARole", "executionRoleArn: arn:aws:iam::222222222222:role/exec", "executionRoleArn: arn:aws:iam::222222222222:user/exec", "is not an IAM role ARN"},
		{"EndpointOutsideTenant", "endpointName: acme--churn-staging", "endpointName: globex--x", "must be \"acme\" or begin"},
		{"ZeroInstances", "instanceCount: 1\n  executionRoleArn: arn:aws:iam::222222222222", "instanceCount: 0\n  executionRoleArn: arn:aws:iam::222222222222", "instanceCount"},
		{"NoExpectation", "  expected: \"0.5\"\n", "", "give expected"},
		{"BadWebhook", "webhook: http://127.0.0.1:9/hook", "webhook: ftp://x", "webhook"},
		{"WebhookCredentials", "webhook: http://127.0.0.1:9/hook", "webhook: http://u:p@x/", "webhook"},
		{"NotYAML", "name: acme--churn", "name: [", "parse pipeline spec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(goodSpec, tt.from, tt.to, 1)
			if doc == goodSpec {
				t.Fatalf("replacement %q not applied", tt.from)
			}
			_, err := ParseSpec([]byte(doc))
			if tenantml.ErrorCode(err) != tenantml.EINVALID || !strings.Contains(tenantml.ErrorMessage(err), tt.want) {
				t.Fatalf("error %v, want invalid containing %q", err, tt.want)
			}
		})
	}
}

func TestSmokeTest_Check(t *testing.T) {
	th := 0.8
	tests := []struct {
		name   string
		st     SmokeTest
		answer string
		ok     bool
	}{
		{"Exact", SmokeTest{Expected: "yes"}, "yes\n", true},
		{"ExactMismatch", SmokeTest{Expected: "yes"}, "no", false},
		{"WithinTolerance", SmokeTest{Expected: "0.5", Tolerance: 0.01}, "0.505", true},
		{"OutsideTolerance", SmokeTest{Expected: "0.5", Tolerance: 0.01}, "0.52", false},
		{"JSONArrays", SmokeTest{Expected: "[0.1, 0.9]", Tolerance: 0.05}, "[0.12,0.88]", true},
		{"CSVRows", SmokeTest{Expected: "0.1\n0.9", Tolerance: 0.05}, "0.1\n0.5", false},
		{"LengthMismatch", SmokeTest{Expected: "[0.1, 0.9]", Tolerance: 1}, "[0.1]", false},
		{"AboveThreshold", SmokeTest{Threshold: &th}, "0.85", true},
		{"BelowThreshold", SmokeTest{Threshold: &th}, "[0.7]", false},
		{"ThresholdNotANumber", SmokeTest{Threshold: &th}, "high", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.st.Check([]byte(tt.answer)); (err == nil) != tt.ok {
				t.Fatalf("Check(%q) = %v, want ok=%v", tt.answer, err, tt.ok)
			}
		})
	}
}
