package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/iam/simulate"
)

// newPolicyCmd is `tenantml policy`: offline tools over the IAM policy
// language (simulate a decision, validate documents). The logic lives in
// iam/simulate; these commands only read files and print.
func newPolicyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Simulate and validate IAM policies",
		Long:  "Offline tools for the IAM policy language: explain why a request is allowed or denied, and validate policy documents.",
		Example: "  tenantml policy simulate --input examples/simulate/case.json\n" +
			"  tenantml policy validate --kind identity examples/policies/*.json",
	}
	cmd.AddCommand(newPolicySimulateCmd(), newPolicyValidateCmd())
	return cmd
}

func newPolicySimulateCmd() *cobra.Command {
	var input, batch string
	cmd := &cobra.Command{
		Use:   "simulate (--input CASE.json | --batch CASES.json)",
		Short: "Decide a request against policies and explain the decision",
		Long: `Simulate decides a case — a request plus the identity, resource, boundary,
session and guardrail (SCP) policies involved — exactly as the server's IAM engine does, and
prints the decision, the deciding statements and the reason (-o table, json or
yaml).

A case is a JSON object (examples/simulate/case.json is one):

  {"name": "pool: acme invokes its own model",
   "request": {
     "principal": "arn:aws:sts::111122223333:assumed-role/pool-invoke/acme-session",
     "action": "sagemaker:InvokeEndpoint",
     "resource": {"resource": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint",
                  "accountId": "111122223333"},
     "context": {"aws:PrincipalTag/TenantID": "acme",
                 "sagemaker:TargetModel": "acme.tar.gz"}},
   "identityPolicies": [POLICY, ...],
   "resourcePolicy": POLICY,
   "permissionBoundaries": [POLICY, ...],
   "sessionPolicy": POLICY,
   "serviceControlPolicies": [{"orgIdentifier": "root", "policies": [POLICY, ...]}],
   "expected": {"response": "Allowed"}}

Only "request" (with an action) is required. A POLICY is a policy document as a
JSON object, or a JSON string holding one. A context value that is a JSON array
is a multi-valued key (an empty array is the empty set); strings, numbers and
booleans are single values. "expected.response" is Allowed, ExplicitlyDenied
or ImplicitlyDenied. Identity policies are held to the inline size limit
(10,240 characters), boundaries to the managed one (6,144), session policies to
2,048 and SCPs to 5,120, whitespace excluded.

The result names the decision (Allowed, ExplicitlyDenied, ImplicitlyDenied),
the deciding statements (their policy — "identity[0]", "resource",
"boundary[0]", "session[0]", "scp[root][0]" — index, Sid and effect) and the
reason; with -o json it is {"name", "decision", "statements", "reason",
"error", "expected", "match"}.

With --input the file holds one case; the exit code is 1 when the case is
malformed (the result then carries "error") or has an "expected" response that
the decision does not match. With --batch the file holds a JSON array of cases
and the results come in the same order; a malformed case yields a result with
"error" set and the others still run; the exit code is 1 when any case
mismatches its expected response or is malformed. Use "-" to read standard
input. A file that cannot be read is a usage error (exit code 2).`,
		Example: `  tenantml policy simulate --input examples/simulate/case.json
  tenantml policy simulate --batch examples/simulate/batch.json
  tenantml policy simulate --batch iam/testdata/corpus/evaluation-logic.json -o json
  cat examples/simulate/case.json | tenantml policy simulate --input -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (input == "") == (batch == "") {
				return &exitError{code: 2, err: fmt.Errorf("give exactly one of --input or --batch")}
			}
			if input != "" {
				data, err := readPolicyInput(cmd, input)
				if err != nil {
					return err
				}
				res := simulate.RunCase(data)
				if err := printSimulation(cmd, res, []simulate.Result{res}); err != nil {
					return err
				}
				if res.Error != "" {
					return &exitError{code: 1, err: fmt.Errorf("%s: %s", input, res.Error)}
				}
				if res.Mismatch() {
					return &exitError{code: 1, err: fmt.Errorf("decision %s does not match the expected %s", res.Decision, res.Expected)}
				}
				return nil
			}
			data, err := readPolicyInput(cmd, batch)
			if err != nil {
				return err
			}
			results, err := simulate.RunBatch(data)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("%s: %w", batch, err)}
			}
			if err := printSimulation(cmd, results, results); err != nil {
				return err
			}
			bad := 0
			for _, r := range results {
				if r.Mismatch() || r.Error != "" {
					bad++
				}
			}
			if bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d cases failed or did not match their expected response", bad, len(results))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&input, "input", "", "file with one case (JSON object), - for standard input")
	cmd.Flags().StringVar(&batch, "batch", "", "file with a JSON array of cases, - for standard input")
	addOutputFlag(cmd, "table")
	return cmd
}

// printSimulation prints v (one result or the batch) as -o asks; the
// table has one block per result.
func printSimulation(cmd *cobra.Command, v any, results []simulate.Result) error {
	return printOutput(cmd, v, func(w io.Writer) error {
		for i, r := range results {
			if i > 0 {
				fmt.Fprintln(w)
			}
			if r.Name != "" {
				fmt.Fprintf(w, "case\t%s\n", r.Name)
			}
			if r.Error != "" {
				fmt.Fprintf(w, "error\t%s\n", r.Error)
				continue
			}
			fmt.Fprintf(w, "decision\t%s\n", r.Decision)
			if r.Expected != "" {
				verdict := "matches"
				if r.Mismatch() {
					verdict = "DOES NOT MATCH"
				}
				fmt.Fprintf(w, "expected\t%s (%s)\n", r.Expected, verdict)
			}
			fmt.Fprintf(w, "reason\t%s\n", r.Reason)
			for _, st := range r.Statements {
				sid := ""
				if st.Sid != "" {
					sid = " Sid " + st.Sid
				}
				fmt.Fprintf(w, "statement\t%s, statement %d%s: %s\n", st.Policy, st.Index, sid, st.Effect)
			}
		}
		return nil
	})
}

// validation is the result of validating one policy file.
type validation struct {
	File     string   `json:"file"`
	Kind     string   `json:"kind"`
	Valid    bool     `json:"valid"`
	Problems []string `json:"problems"`
}

func newPolicyValidateCmd() *cobra.Command {
	var kind string
	var maxChars int
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate policy documents",
		Long: `Validate parses each policy document as the given kind of policy and prints every
problem found, naming the statement, Sid, element and bad value (-o table, json or
yaml). The exit code is 1 when any document is invalid, 2 when a file cannot be
read (nothing is validated then). Size limits (characters, whitespace excluded)
default to the kind's: identity 10,240 (inline; pass --max-chars 6144 for a managed
policy), boundary 6,144, session 2,048, scp 5,120, resource 20,480.

examples/policies holds the three isolation models' invoke policies (silo, pool,
bridge) exactly as README shows them.`,
		Example: `  tenantml policy validate --kind identity examples/policies/*.json
  tenantml policy validate --kind resource bucket-policy.json -o json
  tenantml policy validate --kind session --max-chars 2048 session.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			k, err := simulate.ParseKind(kind)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			docs := make([][]byte, len(files))
			for i, f := range files {
				if docs[i], err = readPolicyInput(cmd, f); err != nil {
					return err
				}
			}
			results := make([]validation, len(files))
			invalid := 0
			for i, f := range files {
				problems := simulate.Validate(docs[i], k, maxChars)
				results[i] = validation{File: f, Kind: k.String(), Valid: len(problems) == 0, Problems: append([]string{}, problems...)}
				if len(problems) > 0 {
					invalid++
				}
			}
			err = printOutput(cmd, results, func(w io.Writer) error {
				for _, r := range results {
					if r.Valid {
						fmt.Fprintf(w, "%s: valid %s policy\n", r.File, r.Kind)
					}
					for _, p := range r.Problems {
						fmt.Fprintf(w, "%s: %s\n", r.File, p)
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if invalid > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d policies invalid", invalid, len(files))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "identity", "policy kind: identity, resource, boundary, session or scp")
	cmd.Flags().IntVar(&maxChars, "max-chars", 0, "size limit in characters, whitespace excluded (0: the kind's default, -1: none)")
	addOutputFlag(cmd, "table")
	return cmd
}

// readPolicyInput reads a file, or standard input for "-". A file that
// cannot be read is a usage error (exit code 2) whose message names it.
func readPolicyInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("read stdin: %w", err)}
		}
		return data, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, &exitError{code: 2, err: err} // "open FILE: no such file or directory"
	}
	return data, nil
}
