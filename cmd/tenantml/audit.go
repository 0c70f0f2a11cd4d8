package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
)

// newAuditCmd is `tenantml audit`: offline tools over the audit log in a
// data directory (a copy, or the live one while the server is stopped), and
// `audit events`, which reads the running server's audit API.
// The logic lives in package audit; these commands only parse flags and
// print.
func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify and read the tamper-evident audit log",
		Long: `Offline tools over the audit log kept in <data-dir>/audit: verify that no
event was modified, removed or reordered and that every checkpoint is genuine, and
look events up. See docs/audit.md for the formats.`,
		Example: "  tenantml audit verify --data-dir ./tenantml-data\n" +
			"  tenantml audit lookup --data-dir ./backup --tenant acme --decision Denied\n" +
			"  tenantml audit events --endpoint http://127.0.0.1:8080 --decision Denied",
	}
	cmd.AddCommand(newAuditVerifyCmd(), newAuditLookupCmd(), newAuditTailCmd(), newAuditEventsCmd(), newAuditProveCmd())
	return cmd
}

func auditDir(dataDir string) string { return filepath.Join(dataDir, "audit") }

func newAuditVerifyCmd() *cobra.Command {
	var dataDir, keyFile string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify --data-dir DIR [--key FILE] [-o table|json|yaml]",
		Short: "Recompute every hash and check every signed checkpoint",
		Long: `Verify reads <data-dir>/audit without modifying it: it recomputes every event
hash and the Merkle tree, checks each checkpoint's Ed25519 signature and that each
matches the events, and reports each problem with its location (modified, deleted or
reordered events, a truncated tail, forged or missing checkpoints). It prints
"N events, M checkpoints valid" and exits 0 when nothing is wrong, 1 otherwise;
-o json or yaml prints the full report.

On a running server's data directory, verify usually warns that the last few events
are not yet signed. That is normal: the server signs a checkpoint at least once a
minute while events arrive (once an hour when idle, and when it stops), and the next
checkpoint covers every event written since the last one. The warning matters only
on a stopped server's data, where it means the server crashed or checkpoints were
removed.

The checkpoint public key is read from <data-dir>/audit/checkpoint.pub unless --key
names a trusted copy (recommended: whoever can rewrite the directory can replace the
key in it).`,
		Example: "  tenantml audit verify --data-dir ./tenantml-data\n" +
			"  tenantml audit verify --data-dir /backup/tenantml --key /etc/tenantml/audit.pub -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return &exitError{code: 2, err: fmt.Errorf("--data-dir is required")}
			}
			if asJSON {
				_ = cmd.Flags().Set("output", "json")
			}
			var opts audit.VerifyOptions
			if keyFile != "" {
				v, err := audit.ReadVerifierKey(keyFile)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				opts.Verifier = v
			}
			rep, err := audit.Verify(auditDir(dataDir), opts)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			err = printOutput(cmd, rep, func(w io.Writer) error {
				for _, p := range rep.Problems {
					fmt.Fprintln(w, "problem:", p)
				}
				for _, p := range rep.Warnings {
					fmt.Fprintln(w, "warning:", p)
					if p.Kind == audit.UnsignedTail {
						fmt.Fprintln(w, "note: normal on a running server: it signs a checkpoint within a minute of new events (hourly when idle, and when it stops), and the next checkpoint covers these; on a stopped server's data it means a crash or removed checkpoints")
					}
				}
				_, err := fmt.Fprintln(w, rep.Summary())
				return err
			})
			if err != nil {
				return err
			}
			if !rep.OK() {
				return &exitError{code: 1, err: fmt.Errorf("audit log failed verification: %d problems", len(rep.Problems))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "data directory holding audit/")
	cmd.Flags().StringVar(&keyFile, "key", "", "trusted checkpoint public key file (default: audit/checkpoint.pub)")
	addOutputFlag(cmd, "table")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the full report as JSON")
	_ = cmd.Flags().MarkDeprecated("json", "use -o json")
	return cmd
}

func newAuditLookupCmd() *cobra.Command {
	var (
		dataDir, since, until, decision, pageToken string
		f                                          audit.Filter
	)
	cmd := &cobra.Command{
		Use:   "lookup --data-dir DIR (--tenant ID | --all) [filters]",
		Short: "Print audit events as JSON lines",
		Long: `Lookup reads <data-dir>/audit (read-only: the server may be running) and prints
the matching events, newest first, one JSON object per line. Events of one tenant need
--tenant; --all is the operator-wide view.`,
		Example: "  tenantml audit lookup --data-dir ./tenantml-data --tenant acme --decision Denied --since 2026-11-23T00:00:00Z\n" +
			"  tenantml audit lookup --data-dir ./tenantml-data --all --action AssumeRole --limit 10",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return &exitError{code: 2, err: fmt.Errorf("--data-dir is required")}
			}
			if err := needScope(f); err != nil {
				return err
			}
			var err error
			if f.StartTime, err = parseFlagTime("since", since); err != nil {
				return &exitError{code: 2, err: err}
			}
			if f.EndTime, err = parseFlagTime("until", until); err != nil {
				return &exitError{code: 2, err: err}
			}
			f.Effect = audit.Effect(decision)
			if pageToken != "" {
				c, err := audit.ParseCursor(pageToken)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("--page-token: %w", err)}
				}
				f.Cursor = &c
			}
			log, err := audit.Open(cmd.Context(), audit.Config{Dir: auditDir(dataDir), ReadOnly: true})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			defer log.Close(cmd.Context())
			if f.Limit > 0 {
				page, err := log.Lookup(cmd.Context(), f)
				if err != nil {
					return &exitError{code: 1, err: err}
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				for _, ev := range page.Events {
					if err := enc.Encode(ev); err != nil {
						return err
					}
				}
				if page.Next != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "next page: --page-token", page.Next)
				}
				return nil
			}
			if _, err := log.ExportJSONLines(cmd.Context(), cmd.OutOrStdout(), f); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dataDir, "data-dir", "", "data directory holding audit/")
	fl.StringVar(&f.TenantID, "tenant", "", "tenant whose events to read")
	fl.BoolVar(&f.AllTenants, "all", false, "read every tenant's and the platform's events (operator)")
	fl.StringVar(&f.PrincipalARN, "principal", "", "only events by this principal ARN")
	fl.StringVar(&f.EventName, "action", "", "only events with this eventName, e.g. InvokeEndpoint")
	fl.StringVar(&decision, "decision", "", "only Allowed, ExplicitlyDenied, ImplicitlyDenied or Denied (both denies)")
	fl.StringVar(&decision, "effect", "", "the old name of --decision")
	_ = fl.MarkDeprecated("effect", "use --decision")
	fl.StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
	fl.StringVar(&until, "until", "", "only events at or before this RFC 3339 time")
	fl.BoolVar(&f.OldestFirst, "oldest-first", false, "print in log order")
	fl.IntVar(&f.Limit, "limit", 0, "print one page of at most this many events (default: all)")
	fl.StringVar(&pageToken, "page-token", "", "continue a previous --limit lookup")
	return cmd
}

func newAuditTailCmd() *cobra.Command {
	var (
		dataDir  string
		n        int
		follow   bool
		interval time.Duration
		f        audit.Filter
	)
	cmd := &cobra.Command{
		Use:   "tail --data-dir DIR (--tenant ID | --all) [-n N] [--follow]",
		Short: "Print the latest audit events, and optionally follow new ones",
		Long: `Tail reads <data-dir>/audit (read-only: the server may be running) and prints the
last N events in log order, one JSON object per line; with --follow it keeps printing
new events as they are written.`,
		Example: "  tenantml audit tail --data-dir ./tenantml-data --all -n 50\n" +
			"  tenantml audit tail --data-dir ./tenantml-data --tenant acme --follow",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dataDir == "" {
				return &exitError{code: 2, err: fmt.Errorf("--data-dir is required")}
			}
			if err := needScope(f); err != nil {
				return err
			}
			if n <= 0 || n > 1000 {
				return &exitError{code: 2, err: fmt.Errorf("-n must be between 1 and 1000")}
			}
			ctx := cmd.Context()
			enc := json.NewEncoder(cmd.OutOrStdout())
			next := int64(0) // first seq not yet printed
			show := func(first bool) error {
				log, err := audit.Open(ctx, audit.Config{Dir: auditDir(dataDir), ReadOnly: true})
				if err != nil {
					return err
				}
				defer log.Close(ctx)
				q := f
				if first {
					q.Limit = n
					page, err := log.Lookup(ctx, q)
					if err != nil {
						return err
					}
					for i := len(page.Events) - 1; i >= 0; i-- {
						if err := enc.Encode(page.Events[i]); err != nil {
							return err
						}
					}
					next = log.Size()
					return nil
				}
				q.FromSeq, q.OldestFirst = next, true
				next = log.Size()
				_, err = log.ExportJSONLines(ctx, cmd.OutOrStdout(), q)
				return err
			}
			if err := show(true); err != nil {
				return &exitError{code: 1, err: err}
			}
			for follow {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
				if err := show(false); err != nil {
					return &exitError{code: 1, err: err}
				}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&dataDir, "data-dir", "", "data directory holding audit/")
	fl.StringVar(&f.TenantID, "tenant", "", "tenant whose events to read")
	fl.BoolVar(&f.AllTenants, "all", false, "read every tenant's and the platform's events (operator)")
	fl.IntVarP(&n, "lines", "n", 20, "how many of the latest events to print")
	fl.BoolVarP(&follow, "follow", "f", false, "keep printing new events")
	fl.DurationVar(&interval, "interval", time.Second, "how often --follow looks for new events")
	return cmd
}

// needScope refuses an offline read that names neither one tenant nor all.
func needScope(f audit.Filter) error {
	if f.TenantID == "" && !f.AllTenants {
		return &exitError{code: 2, err: fmt.Errorf("give --tenant ID (one tenant's events) or --all (every tenant's and the platform's)")}
	}
	return nil
}

func parseFlagTime(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s %q is not an RFC 3339 time", name, v)
	}
	return t, nil
}

// newAuditEventsCmd is `tenantml audit events`: the LookupEvents API of a
// running server, with the CLI's credentials. A tenant principal sees only
// its own tenant's events, without their positions in the log (no SEQ
// column); the operator sees all or one --tenant, with positions.
func newAuditEventsCmd() *cobra.Command {
	var (
		tenantID, principal, action, decision, since, until, pageToken string
		limit                                                          int
		oldestFirst                                                    bool
	)
	cmd := &cobra.Command{
		Use:   "events [--tenant ID] [filters]",
		Short: "Look up audit events through the API of a running server",
		Long: `Events calls GET /api/v1/audit/events on the server (--endpoint, TENANTML_ENDPOINT or
the profile) and prints the matching events, newest first. Without --limit it follows
every page; with --limit it prints one page and the token of the next on stderr (an
opaque token, valid for an hour, for the same credentials' tenant and the same filters).
A tenant's events come without their position in the log (seq): prove one with
"tenantml audit prove --event-id".`,
		Example: "  tenantml audit events --decision Denied --since 2026-11-23T00:00:00Z\n" +
			"  tenantml audit events --tenant acme --action CreateTenant -o json",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for name, v := range map[string]string{"since": since, "until": until} {
				if _, err := parseFlagTime(name, v); err != nil {
					return &exitError{code: 2, err: err}
				}
			}
			if limit < 0 || limit > 1000 {
				return &exitError{code: 2, err: fmt.Errorf("--limit must be between 1 and 1000")}
			}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			for k, v := range map[string]string{"tenant": tenantID, "principal": principal, "action": action, "decision": decision, "start": since, "end": until} {
				if v != "" {
					q.Set(k, v)
				}
			}
			if oldestFirst {
				q.Set("order", "oldest")
			}
			if limit > 0 {
				q.Set("limit", strconv.Itoa(limit))
			}
			all := manage.LookupEventsOutput{Events: []manage.AuditEvent{}}
			next := pageToken
			for {
				if next != "" {
					q.Set("nextToken", next)
				}
				var page manage.LookupEventsOutput
				if err := c.do(cmd.Context(), "GET", "/api/v1/audit/events?"+q.Encode(), nil, &page); err != nil {
					return err
				}
				all.Events = append(all.Events, page.Events...)
				next = page.NextToken
				if next == "" || limit > 0 {
					break
				}
			}
			if next != "" {
				fmt.Fprintln(cmd.ErrOrStderr(), "next page: --page-token", next)
			}
			return printOutput(cmd, all, func(w io.Writer) error { return eventTable(w, all.Events) })
		},
	}
	addClientFlags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&tenantID, "tenant", "", "only this tenant's events (operator; a tenant principal always reads its own)")
	fl.StringVar(&principal, "principal", "", "only events by this principal ARN")
	fl.StringVar(&action, "action", "", "only events with this eventName, e.g. CreateTenant")
	fl.StringVar(&decision, "decision", "", "only Allowed, ExplicitlyDenied, ImplicitlyDenied or Denied (both denies)")
	fl.StringVar(&since, "since", "", "only events at or after this RFC 3339 time")
	fl.StringVar(&until, "until", "", "only events at or before this RFC 3339 time")
	fl.BoolVar(&oldestFirst, "oldest-first", false, "list in log order")
	fl.IntVar(&limit, "limit", 0, "print one page of at most this many events (default: every page)")
	fl.StringVar(&pageToken, "page-token", "", "continue a previous --limit listing")
	return cmd
}

// eventTable draws audit events as a table, one row each. The SEQ column
// is there only when the server gave positions (the operator's views).
func eventTable(w io.Writer, events []manage.AuditEvent) error {
	withSeq := slices.ContainsFunc(events, func(ev manage.AuditEvent) bool { return ev.Seq != nil })
	head := "TIME\tEVENT ID\tTENANT\tPRINCIPAL\tACTION\tDECISION\tERROR\tREQUEST ID"
	if withSeq {
		head = "TIME\tSEQ\t" + strings.TrimPrefix(head, "TIME\t")
	}
	fmt.Fprintln(w, head)
	for _, ev := range events {
		who := ev.UserIdentity.ARN
		if who == "" {
			who = ev.UserIdentity.Type
		}
		fmt.Fprint(w, ev.EventTime.UTC().Format(time.RFC3339), "\t")
		if withSeq {
			seq := "-"
			if ev.Seq != nil {
				seq = strconv.FormatInt(*ev.Seq, 10)
			}
			fmt.Fprint(w, seq, "\t")
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.EventID, dash(ev.TenantID), dash(who),
			ev.EventName, dash(string(ev.Decision.Effect)), dash(ev.ErrorCode), dash(ev.RequestID))
	}
	return nil
}

// dash shows an empty table cell as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// newAuditProveCmd is `tenantml audit prove`: fetch an inclusion proof of
// one event from the API and check it offline against the latest signed
// checkpoint, with a trusted copy of the log's public key. Tenants name the
// event by its ID; the operator may also name it by seq.
func newAuditProveCmd() *cobra.Command {
	var (
		seq              int64
		eventID, keyFile string
	)
	cmd := &cobra.Command{
		Use:   "prove (--event-id ID | --seq N) --key FILE",
		Short: "Prove through the API that an event is in the signed audit log",
		Long: `Prove fetches the server's latest signed checkpoint and an inclusion proof of one
event in the tree that checkpoint signs, then checks both locally: the checkpoint's
Ed25519 signature with --key (a trusted copy of <data-dir>/audit/checkpoint.pub) and the
RFC 6962 audit path of the event to the checkpoint's root. It prints the proved event
(-o table, json or yaml) and exits 1 when anything fails to verify. An event newer than
the latest checkpoint can be proved after the next one (at most a minute under load).

Name the event by --event-id (its eventID, from "audit events"); the operator may use
--seq, its position in the log, instead. The proof necessarily holds the event's
position and the checkpoint's tree size (see docs/audit.md); the event is printed
with its seq only when it was asked for by --seq.`,
		Example: "  tenantml audit prove --event-id 3f1c2a9e-8b1d-4c55-9f0e-6d2f1a7b9c10 --key ./audit.pub\n" +
			"  tenantml audit prove --event-id 3f1c2a9e-8b1d-4c55-9f0e-6d2f1a7b9c10 --key ./audit.pub -o json\n" +
			"  tenantml audit prove --seq 42 --key ./audit.pub   # operator",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if keyFile == "" {
				return &exitError{code: 2, err: fmt.Errorf("--key is required: a proof is only as good as the key that checks the checkpoint")}
			}
			bySeq := cmd.Flags().Changed("seq")
			switch {
			case bySeq && eventID != "":
				return &exitError{code: 2, err: fmt.Errorf("give --event-id or --seq, not both")}
			case !bySeq && eventID == "":
				return &exitError{code: 2, err: fmt.Errorf("--event-id is required (or --seq, for the operator)")}
			case bySeq && seq < 0:
				return &exitError{code: 2, err: fmt.Errorf("--seq must be a non-negative event number")}
			}
			v, err := audit.ReadVerifierKey(keyFile)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			c, err := newAPIClient(cmd)
			if err != nil {
				return err
			}
			var out manage.CheckpointOutput
			if err := c.do(cmd.Context(), "GET", "/api/v1/audit/checkpoint", nil, &out); err != nil {
				return err
			}
			cp, err := audit.OpenCheckpoint([]byte(out.Checkpoint), v)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("served checkpoint: %w", err)}
			}
			q, name := url.Values{"treeSize": {strconv.FormatInt(cp.Size, 10)}}, "event "+eventID
			if bySeq {
				q.Set("seq", strconv.FormatInt(seq, 10))
				name = "event " + strconv.FormatInt(seq, 10)
			} else {
				q.Set("eventId", eventID)
			}
			var p audit.InclusionProof
			if err := c.do(cmd.Context(), "GET", "/api/v1/audit/proofs/inclusion?"+q.Encode(), nil, &p); err != nil {
				return fmt.Errorf("%s (the latest checkpoint covers the log's first %d events): %w", name, cp.Size, err)
			}
			if p.TreeSize != cp.Size {
				return &exitError{code: 1, err: fmt.Errorf("the server proved a tree of %d events, not the checkpoint's %d", p.TreeSize, cp.Size)}
			}
			if bySeq && p.Seq != seq {
				return &exitError{code: 1, err: fmt.Errorf("the server proved event %d, not %d", p.Seq, seq)}
			}
			if err := audit.VerifyInclusion(p, cp.Root); err != nil {
				return &exitError{code: 1, err: err}
			}
			ev, err := audit.LeafEvent(p.Leaf)
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if !bySeq && ev.EventID != eventID {
				return &exitError{code: 1, err: fmt.Errorf("the server proved event %s, not %s", ev.EventID, eventID)}
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s is in the audit log of %d events signed by checkpoint %d (%s)\n", name, cp.Size, cp.Number, cp.Time.UTC().Format(time.RFC3339))
			proved := manage.AuditEvent{Event: ev}
			if bySeq {
				proved.Seq = &ev.Seq
			} else {
				proved.Event.Seq = 0
			}
			return printOutput(cmd, proved, func(w io.Writer) error { return eventTable(w, []manage.AuditEvent{proved}) })
		},
	}
	addClientFlags(cmd)
	cmd.Flags().StringVar(&eventID, "event-id", "", "the event's eventID (from audit events)")
	cmd.Flags().Int64Var(&seq, "seq", -1, "the event's position in the log (operator)")
	cmd.Flags().StringVar(&keyFile, "key", "", "trusted checkpoint public key file")
	return cmd
}
