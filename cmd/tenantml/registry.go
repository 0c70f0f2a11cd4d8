package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/cobra"
)

// The `tenantml registry` commands: a short-hand over the SageMaker model
// registry API for the common reads and the approval decision. The AWS CLI
// (`aws sagemaker ...`) is the full interface (docs/registry.md).

func newRegistryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "List model package groups and versions, approve or reject a version",
		Long: "The model registry (SageMaker's model package groups and versioned packages) as the caller sees it. " +
			"Use `aws sagemaker ...` for everything else (registration, policies, tags).",
	}
	addClientFlags(cmd)
	cmd.AddCommand(newRegistryGroupsCmd(), newRegistryPackagesCmd(), newRegistryDecideCmd("approve", "Approved"), newRegistryDecideCmd("reject", "Rejected"))
	return cmd
}

// sagemaker sends a SageMaker JSON 1.1 operation, signed for the
// sagemaker service, and decodes its answer into out (if not nil). An
// error answer is an *apiError with SageMaker's code.
func (c *apiClient) sagemaker(ctx context.Context, op string, in, out any) error {
	payload, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(payload))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "SageMaker."+op)
	sum := sha256.Sum256(payload)
	creds := aws.Credentials{AccessKeyID: c.accessKeyID, SecretAccessKey: c.secret, SessionToken: c.sessionToken}
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "sagemaker", c.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("call %s: %w", c.endpoint, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) != nil || e.Type == "" {
			return fmt.Errorf("SageMaker.%s: HTTP %d", op, resp.StatusCode)
		}
		return &apiError{Code: e.Type, Message: e.Message, Status: resp.StatusCode, RequestID: resp.Header.Get("X-Amzn-Requestid")}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// epochTime is a JSON 1.1 timestamp (epoch seconds) as the CLI prints it.
type epochTime float64

func (e epochTime) String() string {
	return time.UnixMilli(int64(float64(e) * 1000)).UTC().Format(time.RFC3339)
}

// MarshalJSON prints the time as RFC 3339.
func (e epochTime) MarshalJSON() ([]byte, error) { return json.Marshal(e.String()) }

type registryGroup struct {
	ModelPackageGroupName        string    `json:"name"`
	ModelPackageGroupArn         string    `json:"arn"`
	ModelPackageGroupDescription string    `json:"description,omitempty"`
	CreationTime                 epochTime `json:"created"`
}

type registryPackage struct {
	ModelPackageGroupName   string    `json:"group"`
	ModelPackageVersion     int       `json:"version"`
	ModelPackageArn         string    `json:"arn"`
	ModelApprovalStatus     string    `json:"approvalStatus"`
	ModelPackageDescription string    `json:"description,omitempty"`
	CreationTime            epochTime `json:"created"`
}

// UnmarshalJSON reads SageMaker's field names.
func (g *registryGroup) UnmarshalJSON(b []byte) error {
	var v struct {
		ModelPackageGroupName, ModelPackageGroupArn, ModelPackageGroupDescription string
		CreationTime                                                              epochTime
	}
	err := json.Unmarshal(b, &v)
	*g = registryGroup(v)
	return err
}

// UnmarshalJSON reads SageMaker's field names.
func (p *registryPackage) UnmarshalJSON(b []byte) error {
	var v struct {
		ModelPackageGroupName                                         string
		ModelPackageVersion                                           int
		ModelPackageArn, ModelApprovalStatus, ModelPackageDescription string
		CreationTime                                                  epochTime
	}
	err := json.Unmarshal(b, &v)
	*p = registryPackage(v)
	return err
}

func newRegistryGroupsCmd() *cobra.Command {
	var contains string
	cmd := &cobra.Command{
		Use:     "groups [--name-contains TEXT]",
		Short:   "List the model package groups the caller may list",
		Example: "  tenantml registry groups\n  tenantml registry groups --name-contains churn -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var all []registryGroup
			in := map[string]any{"MaxResults": 100, "SortBy": "Name"}
			if contains != "" {
				in["NameContains"] = contains
			}
			for {
				var page struct {
					ModelPackageGroupSummaryList []registryGroup
					NextToken                    string
				}
				if err := c.sagemaker(cmd.Context(), "ListModelPackageGroups", in, &page); err != nil {
					return err
				}
				all = append(all, page.ModelPackageGroupSummaryList...)
				if page.NextToken == "" {
					break
				}
				in["NextToken"] = page.NextToken
			}
			return printOutput(cmd, map[string]any{"groups": all}, func(w io.Writer) error {
				fmt.Fprintln(w, "GROUP\tCREATED\tDESCRIPTION")
				for _, g := range all {
					fmt.Fprintf(w, "%s\t%s\t%s\n", g.ModelPackageGroupName, g.CreationTime, g.ModelPackageGroupDescription)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&contains, "name-contains", "", "keep groups whose name contains this")
	return cmd
}

func newRegistryPackagesCmd() *cobra.Command {
	var status string
	cmd := &cobra.Command{
		Use:     "packages GROUP [--status PendingManualApproval|Approved|Rejected]",
		Short:   "List the versions of a model package group, oldest first",
		Example: "  tenantml registry packages acme--churn\n  tenantml registry packages acme--churn --status Approved -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var all []registryPackage
			in := map[string]any{"ModelPackageGroupName": args[0], "MaxResults": 100, "SortBy": "CreationTime"}
			if status != "" {
				in["ModelApprovalStatus"] = status
			}
			for {
				var page struct {
					ModelPackageSummaryList []registryPackage
					NextToken               string
				}
				if err := c.sagemaker(cmd.Context(), "ListModelPackages", in, &page); err != nil {
					return err
				}
				all = append(all, page.ModelPackageSummaryList...)
				if page.NextToken == "" {
					break
				}
				in["NextToken"] = page.NextToken
			}
			return printOutput(cmd, map[string]any{"packages": all}, func(w io.Writer) error {
				fmt.Fprintln(w, "VERSION\tSTATUS\tCREATED\tARN\tDESCRIPTION")
				for _, p := range all {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", p.ModelPackageVersion, p.ModelApprovalStatus, p.CreationTime, p.ModelPackageArn, p.ModelPackageDescription)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "keep versions with this approval status")
	return cmd
}

// newRegistryDecideCmd is `approve` or `reject`: UpdateModelPackage with
// the status, recorded as the caller's decision.
func newRegistryDecideCmd(verb, status string) *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:     verb + " GROUP/VERSION|PACKAGE_ARN [--description TEXT]",
		Short:   "Set a model package version's approval status to " + status,
		Example: "  tenantml registry " + verb + " acme--churn/2 --description \"offline AUC 0.93\"",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			in := map[string]any{"ModelPackageArn": args[0], "ModelApprovalStatus": status}
			if cmd.Flags().Changed("description") {
				in["ApprovalDescription"] = description
			}
			var out struct{ ModelPackageArn string }
			if err := c.sagemaker(cmd.Context(), "UpdateModelPackage", in, &out); err != nil {
				return err
			}
			return printOutput(cmd, map[string]string{"arn": out.ModelPackageArn, "approvalStatus": status}, func(w io.Writer) error {
				fmt.Fprintf(w, "%s\t%s\n", out.ModelPackageArn, status)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "the ApprovalDescription recorded with the decision")
	return cmd
}
