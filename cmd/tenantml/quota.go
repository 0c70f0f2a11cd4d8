package main

import (
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/quota"
)

// limitFlag is one quota flag and the field it sets.
type limitFlag struct {
	name, help string
	float      func(*quota.Limits) **float64
	count      func(*quota.Limits) **int64
}

// limitFlags are the quota flags shared by tier create|update and tenant
// quotas set, in the order the tables show them.
var limitFlags = []limitFlag{
	{name: "invocations-per-second", help: "sustained InvokeEndpoint rate", float: func(l *quota.Limits) **float64 { return &l.InvocationsPerSecond }},
	{name: "invocation-burst", help: "invocations allowed at once", count: func(l *quota.Limits) **int64 { return &l.InvocationBurst }},
	{name: "concurrent-invocations", help: "invocations in flight per gateway", count: func(l *quota.Limits) **int64 { return &l.ConcurrentInvocations }},
	{name: "loaded-models", help: "models held in a pool worker's memory", count: func(l *quota.Limits) **int64 { return &l.LoadedModels }},
	{name: "loaded-model-bytes", help: "bytes of models held in a pool worker's memory", count: func(l *quota.Limits) **int64 { return &l.LoadedModelBytes }},
	{name: "stored-bytes", help: "bytes of stored objects (and parts of uploads in progress)", count: func(l *quota.Limits) **int64 { return &l.StoredBytes }},
	{name: "endpoints", help: "SageMaker endpoints", count: func(l *quota.Limits) **int64 { return &l.Endpoints }},
	{name: "models", help: "SageMaker models", count: func(l *quota.Limits) **int64 { return &l.Models }},
	{name: "management-per-second", help: "sustained rate of every other API call", float: func(l *quota.Limits) **float64 { return &l.ManagementPerSecond }},
	{name: "management-burst", help: "other API calls allowed at once", count: func(l *quota.Limits) **int64 { return &l.ManagementBurst }},
	{name: "weight", help: "fair-share weight in the pool (default 1)", float: func(l *quota.Limits) **float64 { return &l.Weight }},
}

// addLimitFlags registers the quota flags on fs.
func addLimitFlags(fs *pflag.FlagSet) {
	for _, f := range limitFlags {
		fs.String(f.name, "", f.help+" (\"unlimited\" or -1 for no limit)")
	}
}

// limitsFromFlags sets on l the fields whose flags were given.
func limitsFromFlags(fs *pflag.FlagSet, l *quota.Limits) error {
	for _, f := range limitFlags {
		fl := fs.Lookup(f.name)
		if !fl.Changed {
			continue
		}
		v := fl.Value.String()
		if v == "unlimited" {
			v = "-1"
		}
		if f.float != nil {
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return fmt.Errorf("--%s %q is not a number", f.name, v)
			}
			*f.float(l) = &x
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("--%s %q is not an integer", f.name, v)
		}
		*f.count(l) = &n
	}
	return nil
}

// limitText shows one limit: "-" when unset, "unlimited" for -1.
func limitText(f limitFlag, l *quota.Limits) string {
	if f.float != nil {
		if p := *f.float(l); p != nil {
			if *p == quota.Unlimited {
				return "unlimited"
			}
			return strconv.FormatFloat(*p, 'g', -1, 64)
		}
		return "-"
	}
	if p := *f.count(l); p != nil {
		if *p == quota.Unlimited {
			return "unlimited"
		}
		return strconv.FormatInt(*p, 10)
	}
	return "-"
}

func newTierCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tier",
		Short: "Manage service tiers (default quotas of their tenants)",
		Long:  "Create, change and list tiers through the management API. A tenant's tier (tenant create|update --tier) gives its default quotas; tenant quotas set overrides them per tenant. basic and premium are built in until changed.",
	}
	addClientFlags(cmd)
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Define a tier; limits not given are unlimited",
		Example: "  tenantml tier create gold --invocations-per-second 500 --invocation-burst 1000 --endpoints 20 --weight 8",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := manage.CreateTierInput{Name: args[0]}
			if err := limitsFromFlags(cmd.Flags(), &in.Limits); err != nil {
				return err
			}
			return callTier(cmd, "POST", "/api/v1/tiers", in)
		},
	}
	addLimitFlags(create.Flags())
	update := &cobra.Command{
		Use:     "update NAME",
		Short:   "Change the limits given; the others stay",
		Example: "  tenantml tier update premium --invocations-per-second 300\n  tenantml tier update basic --stored-bytes unlimited",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var change quota.Limits
			if err := limitsFromFlags(cmd.Flags(), &change); err != nil {
				return err
			}
			return callTier(cmd, "PATCH", "/api/v1/tiers/"+url.PathEscape(args[0]), change)
		},
	}
	addLimitFlags(update.Flags())
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the tiers and their limits",
		Example: "  tenantml tier list\n  tenantml tier list -o yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.ListTiersOutput
			if err := c.do(cmd.Context(), "GET", "/api/v1/tiers", nil, &out); err != nil {
				return err
			}
			return printTiers(cmd, out, out.Tiers)
		},
	}
	cmd.AddCommand(create, update, list)
	return cmd
}

func callTier(cmd *cobra.Command, method, path string, in any) error {
	c, err := newAPIClient(cmd)
	if err != nil {
		return err
	}
	var out quota.Tier
	if err := c.do(cmd.Context(), method, path, in, &out); err != nil {
		return err
	}
	return printTiers(cmd, &out, []*quota.Tier{&out})
}

// printTiers shows tiers as a table: one row per limit, one column per
// tier.
func printTiers(cmd *cobra.Command, doc any, tiers []*quota.Tier) error {
	return printOutput(cmd, doc, func(w io.Writer) error {
		fmt.Fprint(w, "LIMIT")
		for _, t := range tiers {
			name := t.Name
			if t.Builtin {
				name += " (built in)"
			}
			fmt.Fprint(w, "\t"+name)
		}
		fmt.Fprintln(w)
		for _, f := range limitFlags {
			fmt.Fprint(w, f.name)
			for _, t := range tiers {
				fmt.Fprint(w, "\t"+limitText(f, &t.Limits))
			}
			fmt.Fprintln(w)
		}
		return nil
	})
}

func newTenantQuotasCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quotas",
		Short: "Show or override a tenant's quotas",
	}
	get := &cobra.Command{
		Use:     "get TENANT_ID",
		Short:   "Show a tenant's effective quotas: its tier's, with its overrides",
		Example: "  tenantml tenant quotas get acme",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return callQuotas(cmd, "GET", args[0], nil)
		},
	}
	var reset bool
	set := &cobra.Command{
		Use:     "set TENANT_ID",
		Short:   "Override some of a tenant's quotas (the others keep their overrides, or the tier's)",
		Example: "  tenantml tenant quotas set acme --invocations-per-second 5 --invocation-burst 10\n  tenantml tenant quotas set acme --reset --endpoints 3",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var cur quota.Effective
			if !reset {
				if err := c.do(cmd.Context(), "GET", "/api/v1/tenants/"+url.PathEscape(args[0])+"/quotas", nil, &cur); err != nil {
					return err
				}
			}
			o := cur.Overrides
			if err := limitsFromFlags(cmd.Flags(), &o); err != nil {
				return err
			}
			return callQuotas(cmd, "PUT", args[0], o)
		},
	}
	addLimitFlags(set.Flags())
	set.Flags().BoolVar(&reset, "reset", false, "drop the tenant's other overrides (only the flags given remain)")
	cmd.AddCommand(get, set)
	return cmd
}

func callQuotas(cmd *cobra.Command, method, id string, in any) error {
	c, err := newAPIClient(cmd)
	if err != nil {
		return err
	}
	var out quota.Effective
	if err := c.do(cmd.Context(), method, "/api/v1/tenants/"+url.PathEscape(id)+"/quotas", in, &out); err != nil {
		return err
	}
	return printOutput(cmd, &out, func(w io.Writer) error {
		tier := out.Tier
		if !out.TierDefined {
			tier += " (not defined: " + quota.DefaultTier + "'s limits apply)"
		}
		fmt.Fprintf(w, "TENANT\t%s\nTIER\t%s\n\nLIMIT\tEFFECTIVE\tOVERRIDE\n", out.Tenant, tier)
		for _, f := range limitFlags {
			eff := limitText(f, &out.Limits)
			if eff == "-" {
				eff = "unlimited" // unset in the tier and not overridden
				if f.name == "weight" {
					eff = "1"
				}
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", f.name, eff, limitText(f, &out.Overrides))
		}
		return nil
	})
}
