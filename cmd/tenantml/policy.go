package main

import (
	"encoding/json"
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
		Example: "  tenantml policy simulate --input case.json\n" +
			"  tenantml policy validate --kind identity invoke-policy.json",
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
session and guardrail (SCP) policies involved — exactly as the gateway would, and
prints the decision, the deciding statements and the reason as JSON.

With --input the file holds one case and one result is printed; the exit code is 1
when the case is malformed (the result then carries "error") or has an "expected"
response that the decision does not match. With
--batch the file holds a JSON array of cases and a JSON array of results is printed
in the same order; a malformed case yields a result with "error" set and the others
still run; the exit code is 1 when any case mismatches its expected response or is
malformed. Use "-" to read standard input.`,
		Example: `  tenantml policy simulate --input case.json
  tenantml policy simulate --batch iam/testdata/corpus/evaluation-logic.json
  cat case.json | tenantml policy simulate --input -`,
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
				if err := printPolicyJSON(cmd.OutOrStdout(), res); err != nil {
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
			if err := printPolicyJSON(cmd.OutOrStdout(), results); err != nil {
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
	cmd.Flags().StringVar(&input, "input", "", "file with one case (JSON object)")
	cmd.Flags().StringVar(&batch, "batch", "", "file with a JSON array of cases")
	return cmd
}

func newPolicyValidateCmd() *cobra.Command {
	var kind string
	var maxChars int
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Validate policy documents",
		Long: `Validate parses each policy document as the given kind of policy and prints every
problem found, naming the statement, Sid, element and bad value. The exit code is 1
when any document is invalid. Size limits (characters, whitespace excluded) default to
the kind's: identity 10,240 (inline; pass --max-chars 6144 for a managed policy),
boundary 6,144, session 2,048, scp 5,120, resource 20,480.`,
		Example: `  tenantml policy validate invoke.json
  tenantml policy validate --kind resource bucket-policy.json
  tenantml policy validate --kind session --max-chars 2048 session.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			k, err := simulate.ParseKind(kind)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := cmd.OutOrStdout()
			invalid := 0
			for _, f := range files {
				data, err := readPolicyInput(cmd, f)
				if err != nil {
					invalid++
					fmt.Fprintf(out, "%s: %v\n", f, err)
					continue
				}
				problems := simulate.Validate(data, k, maxChars)
				if len(problems) == 0 {
					fmt.Fprintf(out, "%s: valid %s policy\n", f, k)
					continue
				}
				invalid++
				for _, p := range problems {
					fmt.Fprintf(out, "%s: %s\n", f, p)
				}
			}
			if invalid > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d of %d policies invalid", invalid, len(files))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "identity", "policy kind: identity, resource, boundary, session or scp")
	cmd.Flags().IntVar(&maxChars, "max-chars", 0, "size limit in characters, whitespace excluded (0: the kind's default, -1: none)")
	return cmd
}

// readPolicyInput reads a file, or standard input for "-".
func readPolicyInput(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		data, err := io.ReadAll(cmd.InOrStdin())
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return data, nil
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return data, nil
}

func printPolicyJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}
