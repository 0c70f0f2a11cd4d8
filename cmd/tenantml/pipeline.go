package main

import (
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/promotion"
)

// newPipelineCmd is `tenantml pipeline`: promotion pipelines.
func newPipelineCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pipeline",
		Short: "Manage promotion pipelines (approved model package -> staging -> smoke test -> approval -> production)",
		Long: `A pipeline promotes the approved versions of one model package group: the server
deploys each newly Approved version to the staging endpoint (acting as the staging
account's deployment role), invokes it with the smoke test, waits for a manual
approval and then updates the production endpoint (as the production deployment role,
blue/green when the spec gives a deploymentConfig). See docs/promotion.md.
Credentials come from TENANTML_ACCESS_KEY_ID/TENANTML_SECRET_ACCESS_KEY or
~/.tenantml/credentials.`,
	}
	addClientFlags(cmd)
	cmd.AddCommand(newPipelineApplyCmd(), newPipelineStatusCmd(), newPipelineApproveCmd())
	return cmd
}

func newPipelineApplyCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:     "apply -f FILE",
		Short:   "Create or replace a pipeline from its YAML spec (tenantml:ApplyPipeline)",
		Example: "  tenantml pipeline apply -f churn-pipeline.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return fmt.Errorf("apply: give the spec with -f FILE")
			}
			doc, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("read spec: %w", err)
			}
			spec, err := promotion.ParseSpec(doc)
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.PipelineStatus
			if err := c.do(cmd.Context(), "POST", "/api/v1/pipelines", spec, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				fmt.Fprintf(w, "Applied pipeline %s (model package group %s) in account %s.\n", out.Name, out.Spec.ModelPackageGroup, out.AccountID)
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "the pipeline spec (YAML)")
	return cmd
}

func newPipelineStatusCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "status NAME",
		Short:   "Show a pipeline and its runs, newest first (tenantml:GetPipelineStatus)",
		Example: "  tenantml pipeline status acme--churn\n  tenantml pipeline status acme--churn -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.PipelineStatus
			if err := c.do(cmd.Context(), "GET", "/api/v1/pipelines/"+url.PathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				fmt.Fprintf(w, "Pipeline %s: group %s, staging %s/%s, production %s/%s\n", out.Name, out.Spec.ModelPackageGroup,
					out.Spec.Staging.AccountID, out.Spec.Staging.EndpointName, out.Spec.Production.AccountID, out.Spec.Production.EndpointName)
				fmt.Fprintln(w, "RUN\tVERSION\tSTATE\tREASON")
				for _, r := range out.Runs {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", r.ID, r.Version, r.State, r.Reason)
				}
				return nil
			})
		},
	}
}

func newPipelineApproveCmd() *cobra.Command {
	var run string
	cmd := &cobra.Command{
		Use:     "approve NAME --run ID",
		Short:   "Approve a run that awaits approval: it deploys to production (tenantml:ApprovePipeline)",
		Example: "  tenantml pipeline approve acme--churn --run 3f2a9c0d1e2b4a5c",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if run == "" {
				return fmt.Errorf("approve: give the run with --run ID (see tenantml pipeline status %s)", args[0])
			}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.RunStatus
			if err := c.do(cmd.Context(), "POST", "/api/v1/pipelines/"+url.PathEscape(args[0])+"/runs/"+url.PathEscape(run)+"/approve", nil, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				fmt.Fprintf(w, "Approved run %s (version %d): %s\n", out.ID, out.Version, out.State)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "the run to approve")
	return cmd
}
