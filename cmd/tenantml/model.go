package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/serving/onboard"
	"github.com/tenantml/tenantml/tenant"
)

func newModelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Deploy tenants' models in their isolation model",
		Long: `Deploy a tenant's model.tar.gz (as SageMaker packs it: xgboost-model, *.json
or *.ubj inside) the way its isolation model serves it: silo — endpoint and
invoke role named after the tenant, dedicated workers; bridge — endpoint named
after the tenant on dedicated workers, the shared bridge-invoke role; pool —
the object pool/<tenant>.tar.gz under the shared pool-endpoint and the shared
pool-invoke role. The model is stored encrypted under the tenant's key.`,
	}
	addClientFlags(cmd)
	cmd.AddCommand(newModelDeployCmd())
	return cmd
}

func newModelDeployCmd() *cobra.Command {
	var tenantID string
	cmd := &cobra.Command{
		Use:   "deploy --tenant TENANT_ID FILE|s3://BUCKET/KEY",
		Short: "Deploy a tenant's model.tar.gz (a local file or an S3 object); answers once it serves",
		Long: `Deploy a tenant's model.tar.gz and answer once it serves. The model is a
local file, or an object of the S3 API (s3://bucket/key) read with the
caller's credentials (s3:GetObject and kms:Decrypt on its key) and streamed
to the deployment.`,
		Example: "  tenantml model deploy --tenant acme examples/models/model.tar.gz\n  tenantml model deploy --tenant acme s3://models/acme/model.tar.gz",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := tenant.ValidateID(tenantID); err != nil {
				return usage(err)
			}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var (
				body io.Reader
				size int64
				hdr  = http.Header{"Content-Type": {"application/x-gzip"}}
			)
			if bucket, key, ok := parseS3URL(args[0]); ok {
				// Read through the S3 API with the caller's credentials
				// and stream it to the deployment: never held whole.
				src, err := c.s3Get(cmd.Context(), bucket, key)
				if err != nil {
					return err
				}
				defer src.Body.Close()
				if src.ContentLength < 0 {
					return fmt.Errorf("GET %s: the answer has no Content-Length", args[0])
				}
				body, size = src.Body, src.ContentLength
			} else {
				f, err := os.Open(args[0])
				if err != nil {
					return usage(fmt.Errorf("open %s: %w", args[0], err))
				}
				defer f.Close()
				h := sha256.New()
				if size, err = io.Copy(h, f); err != nil {
					return fmt.Errorf("hash %s: %w", args[0], err)
				}
				if _, err := f.Seek(0, io.SeekStart); err != nil {
					return fmt.Errorf("rewind %s: %w", args[0], err)
				}
				body = f
				hdr.Set(manage.SHA256Header, hex.EncodeToString(h.Sum(nil)))
			}
			resp, err := c.stream(cmd.Context(), http.MethodPost, "/api/v1/tenants/"+url.PathEscape(tenantID)+"/models", body, size, hdr)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var res onboard.Result
			if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&res); err != nil {
				return fmt.Errorf("decode response: %w", err)
			}
			return printResult(cmd, res)
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

// parseS3URL splits s3://bucket/key.
func parseS3URL(s string) (bucket, key string, ok bool) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, key, ok = strings.Cut(rest, "/")
	return bucket, key, ok && bucket != "" && key != ""
}

// printResult prints a deployment's result.
func printResult(cmd *cobra.Command, res onboard.Result) error {
	return printOutput(cmd, res, func(w io.Writer) error {
		fmt.Fprintf(w, "TENANT\tISOLATION\tENDPOINT\tTARGET MODEL\tINVOKE ROLE\n%s\t%s\t%s\t%s\t%s\n", res.Tenant, res.Isolation, res.Endpoint, dash(res.TargetModel), res.InvokeRole)
		return nil
	})
}

func newTenantSetIsolationCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "set-isolation TENANT_ID silo|pool|bridge",
		Short: "Move a tenant to another isolation model without losing requests",
		Long: `Move a tenant's deployed model to another isolation model: it is served the
new way first (the new endpoint InService), then the tenant's isolation changes
(the tenant gateway routes by it from the next request), then what the old
model served is retired, draining its in-flight requests. Clients that call
the old endpoint or assume the old invoke role themselves must follow.`,
		Example: "  tenantml tenant set-isolation acme pool",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			iso := tenant.Isolation(args[1])
			if err := tenant.ValidateIsolation(iso); err != nil {
				return usage(err)
			}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var res onboard.Result
			if err := c.do(cmd.Context(), http.MethodPost, "/api/v1/tenants/"+url.PathEscape(args[0])+"/isolation", manage.SetIsolationInput{Isolation: iso}, &res); err != nil {
				return err
			}
			return printResult(cmd, res)
		},
	}
}

// usage marks err as a usage error (exit status 2), as for a bad flag.
func usage(err error) error { return &exitError{code: 2, err: err} }
