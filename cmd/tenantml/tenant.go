package main

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/tenant"
)

func newTenantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Manage tenants (the provider's customers)",
		Long:  "Create, inspect, update, suspend, resume and delete tenants through the management API. Credentials come from TENANTML_ACCESS_KEY_ID/TENANTML_SECRET_ACCESS_KEY or ~/.tenantml/credentials.",
	}
	addClientFlags(cmd)
	cmd.AddCommand(newTenantCreateCmd(), newTenantGetCmd(), newTenantListCmd(), newTenantUpdateCmd(),
		newTenantStatusCmd("suspend", "Suspend a tenant: its requests are refused until it is resumed", "/suspend", "POST"),
		newTenantStatusCmd("resume", "Resume a suspended tenant", "/resume", "POST"),
		newTenantStatusCmd("delete", "Request a tenant's deletion (it becomes pending_deletion)", "", "DELETE"),
		newTenantEraseCmd(), newTenantSetIsolationCmd(), newTenantQuotasCmd())
	return cmd
}

func newTenantCreateCmd() *cobra.Command {
	var in manage.CreateTenantInput
	var isolation string
	var tags []string
	cmd := &cobra.Command{
		Use:     "create TENANT_ID",
		Short:   "Create a tenant",
		Example: "  tenantml tenant create acme --isolation silo --tier premium --tag costCenter=cc-42",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.ID, in.Isolation = args[0], tenant.Isolation(isolation)
			var err error
			if in.Tags, err = parseTags(tags); err != nil {
				return err
			}
			return callTenant(cmd, "POST", "/api/v1/tenants", in)
		},
	}
	cmd.Flags().StringVar(&isolation, "isolation", "pool", "isolation model: silo, pool or bridge")
	cmd.Flags().StringVar(&in.Tier, "tier", "", "service tier (default basic)")
	cmd.Flags().StringVar(&in.HomeRegion, "region", "", "home region (default: the server's region)")
	cmd.Flags().StringVar(&in.DisplayName, "display-name", "", "human-readable name")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE (repeatable)")
	return cmd
}

func newTenantGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "get TENANT_ID",
		Short:   "Show one tenant",
		Example: "  tenantml tenant get acme -o yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return callTenant(cmd, "GET", "/api/v1/tenants/"+url.PathEscape(args[0]), nil)
		},
	}
}

func newTenantListCmd() *cobra.Command {
	var status, isolation string
	var limit int
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List tenants, following every page",
		Example: "  tenantml tenant list --isolation silo\n  tenantml tenant list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var all []*tenant.Tenant
			next := ""
			for {
				q := url.Values{}
				for k, v := range map[string]string{"status": status, "isolation": isolation, "nextToken": next} {
					if v != "" {
						q.Set(k, v)
					}
				}
				if limit > 0 {
					q.Set("limit", strconv.Itoa(limit))
				}
				var page manage.ListTenantsOutput
				if err := c.do(cmd.Context(), "GET", "/api/v1/tenants?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				all = append(all, page.Tenants...)
				if next = page.NextToken; next == "" {
					break
				}
			}
			if all == nil {
				all = []*tenant.Tenant{}
			}
			return printTenants(cmd, manage.ListTenantsOutput{Tenants: all}, all)
		},
	}
	cmd.Flags().StringVar(&status, "status", "", "only tenants in this status: active, suspended, pending_deletion")
	cmd.Flags().StringVar(&isolation, "isolation", "", "only tenants in this isolation model")
	cmd.Flags().IntVar(&limit, "page-size", 0, "tenants per API page (default 100)")
	return cmd
}

func newTenantUpdateCmd() *cobra.Command {
	var displayName, tier, isolation string
	var tags []string
	cmd := &cobra.Command{
		Use:     "update TENANT_ID",
		Short:   "Change a tenant's display name, tier, isolation model or tags",
		Example: "  tenantml tenant update acme --tier premium\n  tenantml tenant update acme --tag team=ml --tag costCenter=cc-7   # replaces all tags",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var u tenant.Update
			if cmd.Flags().Changed("display-name") {
				u.DisplayName = &displayName
			}
			if cmd.Flags().Changed("tier") {
				u.Tier = &tier
			}
			if cmd.Flags().Changed("isolation") {
				iso := tenant.Isolation(isolation)
				u.Isolation = &iso
			}
			if cmd.Flags().Changed("tag") {
				m, err := parseTags(tags)
				if err != nil {
					return err
				}
				u.Tags = &m
			}
			return callTenant(cmd, "PATCH", "/api/v1/tenants/"+url.PathEscape(args[0]), u)
		},
	}
	cmd.Flags().StringVar(&displayName, "display-name", "", "new display name")
	cmd.Flags().StringVar(&tier, "tier", "", "new tier")
	cmd.Flags().StringVar(&isolation, "isolation", "", "new isolation model: silo, pool or bridge")
	cmd.Flags().StringArrayVar(&tags, "tag", nil, "tag KEY=VALUE (repeatable; replaces all tags)")
	return cmd
}

func newTenantStatusCmd(verb, short, suffix, method string) *cobra.Command {
	return &cobra.Command{
		Use:     verb + " TENANT_ID",
		Short:   short,
		Example: "  tenantml tenant " + verb + " acme",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return callTenant(cmd, method, "/api/v1/tenants/"+url.PathEscape(args[0])+suffix, nil)
		},
	}
}

// callTenant sends one request whose answer is a tenant and prints it.
func callTenant(cmd *cobra.Command, method, path string, in any) error {
	c, err := newAPIClient(cmd)
	if err != nil {
		return err
	}
	var out tenant.Tenant
	if err := c.do(cmd.Context(), method, path, in, &out); err != nil {
		return err
	}
	return printTenants(cmd, &out, []*tenant.Tenant{&out})
}

func parseTags(kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("tag %q must be KEY=VALUE", kv)
		}
		out[k] = v
	}
	return out, nil
}

func printTenants(cmd *cobra.Command, doc any, ts []*tenant.Tenant) error {
	return printOutput(cmd, doc, func(w io.Writer) error {
		fmt.Fprintln(w, "ID\tISOLATION\tTIER\tREGION\tSTATUS\tTAGS\tDISPLAY NAME")
		for _, t := range ts {
			keys := make([]string, 0, len(t.Tags))
			for k := range t.Tags {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for i, k := range keys {
				keys[i] = k + "=" + t.Tags[k]
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Isolation, t.Tier, t.HomeRegion, t.Status, strings.Join(keys, ","), t.DisplayName)
		}
		return nil
	})
}
