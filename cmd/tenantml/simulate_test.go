package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestSimulateCustomPolicy_AWSCLI runs the real AWS CLI's
// simulate-custom-policy with the pooled-endpoint policy and tenant
// context entries, and reads its JSON output.
func TestSimulateCustomPolicy_AWSCLI(t *testing.T) {
	ts := startServer(t, rootEnv)
	endpoint := "arn:aws:sagemaker:us-east-1:" + ts.cfg.AccountID + ":endpoint/pool-endpoint"
	policyFile := filepath.Join(t.TempDir(), "pool.json")
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"PoolInvoke","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"` + endpoint + `","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`
	// A list-of-strings parameter read from a file is a JSON array; a bare
	// JSON object would be split at its commas by the CLI's shorthand parser.
	list, err := json.Marshal([]string{doc})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policyFile, list, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tenant, model, decision string
		matched                       int
	}{
		{"OwnTenantModel", "acme", "acme.tar.gz", "allowed", 1},
		{"OtherTenantsModel", "globex", "acme.tar.gz", "implicitDeny", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries := `[{"ContextKeyName":"aws:PrincipalTag/TenantID","ContextKeyValues":["` + tt.tenant + `"],"ContextKeyType":"string"},` +
				`{"ContextKeyName":"sagemaker:TargetModel","ContextKeyValues":["` + tt.model + `"],"ContextKeyType":"string"}]`
			out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "iam", "simulate-custom-policy",
				"--policy-input-list", "file://"+policyFile, "--action-names", "sagemaker:InvokeEndpoint",
				"--resource-arns", endpoint, "--context-entries", entries)
			if err != nil {
				t.Fatalf("aws iam simulate-custom-policy: %v\n%s", err, out)
			}
			var got struct {
				EvaluationResults []struct {
					EvalActionName, EvalResourceName, EvalDecision string
					MatchedStatements                              []struct{ SourcePolicyId, SourcePolicyType string }
					MissingContextValues                           []string
				}
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v in %s", err, out)
			}
			if len(got.EvaluationResults) != 1 {
				t.Fatalf("results %s", out)
			}
			r := got.EvaluationResults[0]
			if r.EvalActionName != "sagemaker:InvokeEndpoint" || r.EvalResourceName != endpoint || r.EvalDecision != tt.decision ||
				len(r.MatchedStatements) != tt.matched || len(r.MissingContextValues) != 0 {
				t.Fatalf("result %+v, want %s with %d matched statements\n%s", r, tt.decision, tt.matched, out)
			}
			if tt.matched > 0 && (r.MatchedStatements[0].SourcePolicyId != "PolicyInputList.1" || r.MatchedStatements[0].SourcePolicyType != "IAM Policy") {
				t.Errorf("matched statement %+v", r.MatchedStatements[0])
			}
		})
	}
}
