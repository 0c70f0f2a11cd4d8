package main

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Inspect and rotate tenants' keys",
		Long:  "List a tenant's customer master keys and rotate them, optionally re-wrapping every artifact data key to the new version (the artifact bodies are not rewritten).",
	}
	addClientFlags(cmd)
	cmd.AddCommand(newKeysListCmd(), newKeysRotateCmd(), newKeysARNCmd())
	return cmd
}

func newKeysListCmd() *cobra.Command {
	var tenantID string
	cmd := &cobra.Command{
		Use:     "list --tenant TENANT_ID",
		Short:   "List a tenant's keys with their versions and aliases",
		Example: "  tenantml keys list --tenant acme\n  tenantml keys list --tenant acme -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.ListTenantKeysOutput
			if err := c.do(cmd.Context(), "GET", "/api/v1/tenants/"+url.PathEscape(tenantID)+"/keys", nil, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				fmt.Fprintln(w, "KEY ID\tSTATE\tVERSION\tVERSIONS\tALIASES\tDELETION DATE")
				for _, k := range out.Keys {
					del := ""
					if !k.Metadata.DeletionDate.IsZero() {
						del = k.Metadata.DeletionDate.UTC().Format(time.RFC3339)
					}
					fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\t%s\n", k.Metadata.KeyID, k.Metadata.KeyState, k.Metadata.CurrentVersion, len(k.Versions), strings.Join(k.Aliases, ","), del)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

// newKeysARNCmd prints the ARN of a tenant's key named by an alias: what
// x-amz-server-side-encryption-aws-kms-key-id takes (aws s3 cp --sse aws:kms
// --sse-kms-key-id).
func newKeysARNCmd() *cobra.Command {
	var tenantID, alias string
	cmd := &cobra.Command{
		Use:     "arn --tenant TENANT_ID [--alias ALIAS]",
		Short:   "Print the ARN of a tenant's key (default: its artifact key), for aws s3 cp --sse-kms-key-id",
		Example: "  aws s3 cp model.tar.gz s3://models/acme/model.tar.gz --sse aws:kms --sse-kms-key-id $(tenantml keys arn --tenant acme)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.ListTenantKeysOutput
			if err := c.do(cmd.Context(), "GET", "/api/v1/tenants/"+url.PathEscape(tenantID)+"/keys", nil, &out); err != nil {
				return err
			}
			for _, k := range out.Keys {
				if slices.Contains(k.Aliases, alias) {
					return printOutput(cmd, map[string]string{"tenant": tenantID, "alias": alias, "arn": k.Metadata.Arn}, func(w io.Writer) error {
						_, err := fmt.Fprintln(w, k.Metadata.Arn)
						return err
					})
				}
			}
			return fmt.Errorf("tenant %s has no key with alias %s", tenantID, alias)
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	cmd.Flags().StringVar(&alias, "alias", artifact.DefaultKeyAlias, "the key's alias")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

func newKeysRotateCmd() *cobra.Command {
	var tenantID string
	var in manage.RotateTenantKeyInput
	cmd := &cobra.Command{
		Use:     "rotate --tenant TENANT_ID [--key-id KEY] [--rewrap]",
		Short:   "Rotate a tenant key (default: its artifact key); --rewrap re-wraps every artifact's data key",
		Example: "  tenantml keys rotate --tenant acme --rewrap",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.RotateTenantKeyOutput
			if err := c.do(cmd.Context(), "POST", "/api/v1/tenants/"+url.PathEscape(tenantID)+"/keys/rotate", in, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				fmt.Fprintf(w, "tenant\t%s\nkey\t%s\ncurrent version\t%d\n", out.Tenant, out.KeyID, out.CurrentVersion)
				if out.Rewrap != nil {
					fmt.Fprintf(w, "artifacts rewrapped\t%d\nartifacts already current\t%d\n", out.Rewrap.Rewrapped, out.Rewrap.Current)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "tenant ID (required)")
	cmd.Flags().StringVar(&in.KeyID, "key-id", "", "key ID, ARN or alias (default the artifact key alias/tenantml/artifacts)")
	cmd.Flags().BoolVar(&in.Rewrap, "rewrap", false, "re-wrap every artifact's data key to the new key version")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

// newTenantEraseCmd is `tenantml tenant erase`, registered by newTenantCmd.
func newTenantEraseCmd() *cobra.Command {
	var in manage.EraseTenantInput
	cmd := &cobra.Command{
		Use:   "erase TENANT_ID [--override]",
		Short: "Crypto-shred a deleted tenant: destroy its keys and delete its artifacts, printing the erasure report",
		Long: `Erase a tenant: destroy every key of the tenant (which makes every artifact
encrypted under them undecryptable, copies included) and delete its stored
artifacts. The tenant must be pending_deletion ("tenantml tenant delete") and
its keys' waiting period must have ended, unless --override is given; an
override is audited as the separate action tenantml:EraseTenantOverride.`,
		Example: "  tenantml tenant erase acme\n  tenantml tenant erase acme --override -o json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.EraseTenantOutput
			if err := c.do(cmd.Context(), "POST", "/api/v1/tenants/"+url.PathEscape(args[0])+"/erase", in, &out); err != nil {
				return err
			}
			return printOutput(cmd, out, func(w io.Writer) error {
				if out.Keys == nil {
					return fmt.Errorf("erase: the server sent no key report")
				}
				fmt.Fprintf(w, "tenant\t%s\noverride\t%t\ncompleted\t%s\nblobs deleted\t%d\n\n", out.Keys.Tenant, out.Keys.Override, out.Keys.CompletedAt.UTC().Format(time.RFC3339), out.BlobsDeleted)
				fmt.Fprintln(w, "DESTROYED KEY\tSTATE BEFORE\tVERSIONS\tALIASES\tARN")
				for _, k := range out.Keys.Keys {
					fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", k.KeyID, k.StateBefore, k.Versions, strings.Join(k.Aliases, ","), k.Arn)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&in.Override, "override", false, "erase now, whatever the tenant's status and the keys' waiting period (audited)")
	return cmd
}
