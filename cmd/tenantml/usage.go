package main

import (
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/observe"
)

func newUsageCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "usage",
		Short: "Read tenants' metered usage and their recent metrics",
		Long: `Usage reports price the hourly usage records (invocations, errors, bytes in
and out, model compute time, pool memory, worker time, storage) with the
server's price sheet and allocate costs by the tenants' tags
(docs/metering.md). A tenant's principals read only their own tenant's.`,
	}
	addClientFlags(cmd)
	cmd.AddCommand(newUsageReportCmd(), newUsageMetricsCmd())
	return cmd
}

func newUsageReportCmd() *cobra.Command {
	var tenantID, from, to string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Report usage and cost per tenant, hour and dimension",
		Long: `Report usage and cost per tenant, hour and dimension over [--from, --to):
RFC 3339 times, dates (YYYY-MM-DD) or hours (YYYY-MM-DDTHH), UTC, rounded
out to whole hours. Without --tenant, every tenant's (the operator). -o csv
prints one row per tenant-hour-dimension with a header, as spreadsheets and
cost tools read it.`,
		Example:     "  tenantml usage report --tenant acme --from 2026-11-01 --to 2026-12-01\n  tenantml usage report --from 2026-11-01 --to 2026-11-02 -o csv > usage.csv",
		Args:        cobra.NoArgs,
		Annotations: map[string]string{csvOutput: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return &exitError{code: 2, err: fmt.Errorf("--from and --to are required")}
			}
			if _, _, err := metering.ParseRange(from, to, 0); err != nil {
				return &exitError{code: 2, err: err}
			}
			format, err := outputFormat(cmd)
			if err != nil {
				return err
			}
			path := "/api/v1/usage"
			if tenantID != "" {
				path = "/api/v1/tenants/" + url.PathEscape(tenantID) + "/usage"
			}
			q := url.Values{"from": {from}, "to": {to}}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			if format == "csv" {
				q.Set("format", "csv")
				resp, err := c.stream(cmd.Context(), "GET", path+"?"+q.Encode(), nil, 0, nil)
				if err != nil {
					return err
				}
				defer resp.Body.Close()
				_, err = io.Copy(cmd.OutOrStdout(), resp.Body)
				return err
			}
			var rep metering.Report
			if err := c.do(cmd.Context(), "GET", path+"?"+q.Encode(), nil, &rep); err != nil {
				return err
			}
			return printOutput(cmd, &rep, func(w io.Writer) error {
				fmt.Fprintln(w, "TENANT\tHOUR\tDIMENSION\tQUANTITY\tUNIT\tCOST")
				for _, l := range rep.Lines {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s %s\n", l.TenantID, l.Hour.UTC().Format("2006-01-02T15Z"), l.Dimension, l.Quantity, l.Unit, l.Cost, rep.Currency)
				}
				fmt.Fprintf(w, "TOTAL\t\t\t\t\t%s %s\n", rep.TotalCost, rep.Currency)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "the tenant (default: every tenant the caller may read)")
	cmd.Flags().StringVar(&from, "from", "", "start: RFC 3339, YYYY-MM-DD or YYYY-MM-DDTHH (UTC)")
	cmd.Flags().StringVar(&to, "to", "", "end (exclusive), in the same forms")
	return cmd
}

func newUsageMetricsCmd() *cobra.Command {
	var tenantID string
	var window time.Duration
	cmd := &cobra.Command{
		Use:     "metrics",
		Short:   "Show a tenant's recent requests, errors, latency percentiles, model loads and throttles (this server)",
		Example: "  tenantml usage metrics --tenant acme --window 15m",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenantID == "" {
				return &exitError{code: 2, err: fmt.Errorf("--tenant is required")}
			}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var s observe.Snapshot
			path := "/api/v1/tenants/" + url.PathEscape(tenantID) + "/metrics?window=" + url.QueryEscape(window.String())
			if err := c.do(cmd.Context(), "GET", path, nil, &s); err != nil {
				return err
			}
			return printOutput(cmd, &s, func(w io.Writer) error {
				fmt.Fprintln(w, "TENANT\tREQUESTS\tERRORS\tERROR RATE\tTHROTTLES\tINVOCATIONS\tP50 MS\tP90 MS\tP99 MS\tMODEL LOADS\tLOAD P50 MS")
				fmt.Fprintf(w, "%s\t%d\t%d\t%.4f\t%d\t%d\t%g\t%g\t%g\t%d\t%g\n", s.TenantID, s.Requests, s.Errors, s.ErrorRate, s.Throttles, s.Invocations,
					s.LatencyMs.P50, s.LatencyMs.P90, s.LatencyMs.P99, s.ModelLoads, s.ModelLoadMs.P50)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&tenantID, "tenant", "", "the tenant")
	cmd.Flags().DurationVar(&window, "window", time.Hour, "how far back, whole minutes from 1m to 1h")
	return cmd
}
