package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/tenant"
)

// The demo's two tenants.
var demoTenants = []string{"demo-a", "demo-b"}

// The invoke policies of the three isolation models, verbatim as README.md
// shows them (with the server's region and account). %[1]s is the region,
// %[2]s the account, %[3]s the silo tenant.
const (
	siloPolicy = `{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
   "Resource": "arn:aws:sagemaker:%[1]s:%[2]s:endpoint/%[3]s"}]}`
	poolPolicy = `{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
   "Resource": "arn:aws:sagemaker:%[1]s:%[2]s:endpoint/pool-endpoint",
   "Condition": {"StringEquals": {"sagemaker:TargetModel": "${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`
	bridgePolicy = `{"Version": "2012-10-17",
 "Statement": [{"Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
   "Resource": "arn:aws:sagemaker:%[1]s:%[2]s:endpoint/${aws:PrincipalTag/TenantID}"}]}`
)

// demoCheck is one invocation the demo decides: caller tenant, target
// tenant, and the request the isolation model would make.
type demoCheck struct {
	model    tenant.Isolation
	caller   string
	target   string
	policy   *iam.Policy
	request  iam.Request
	decision iam.Decision
	reason   string
}

// isolationChecks builds, for every isolation model, the invocation of each
// demo tenant against its own resources and against the other tenant's.
func isolationChecks(region, account string) ([]*demoCheck, error) {
	var checks []*demoCheck
	endpoint := func(name string) string { return arn.New("sagemaker", region, account, "endpoint/"+name).String() }
	for _, caller := range demoTenants {
		for _, target := range demoTenants {
			session := "arn:aws:sts::" + account + ":assumed-role/"
			tag := iam.Single("aws:PrincipalTag/TenantID", caller)
			for _, model := range []tenant.Isolation{tenant.Silo, tenant.Pool, tenant.Bridge} {
				c := &demoCheck{model: model, caller: caller, target: target}
				var doc string
				switch model {
				case tenant.Silo: // the caller's own role and policy, naming its own endpoint
					doc = fmt.Sprintf(siloPolicy, region, account, caller)
					c.request = iam.Request{Principal: session + caller + "-invoke/demo", Action: "sagemaker:InvokeEndpoint", Resource: endpoint(target)}
				case tenant.Pool: // the shared role; the target model names the tenant
					doc = fmt.Sprintf(poolPolicy, region, account)
					c.request = iam.Request{Principal: session + "pool-invoke/" + caller, Action: "sagemaker:InvokeEndpoint", Resource: endpoint("pool-endpoint"),
						Context: iam.Context{tag, iam.Single("sagemaker:TargetModel", target+".tar.gz")}}
				case tenant.Bridge: // the shared role; the endpoint names the tenant
					doc = fmt.Sprintf(bridgePolicy, region, account)
					c.request = iam.Request{Principal: session + "bridge-invoke/" + caller, Action: "sagemaker:InvokeEndpoint", Resource: endpoint(target), Context: iam.Context{tag}}
				}
				p, err := iam.Parse([]byte(doc), iam.ParseOptions{Kind: iam.KindIdentity})
				if err != nil {
					return nil, fmt.Errorf("parse %s policy: %w", model, err)
				}
				c.policy = p
				d, diag := iam.Authorize(&iam.PolicySet{Identity: []*iam.Policy{p}}, &c.request)
				c.decision, c.reason = d, diag.Reason()
				checks = append(checks, c)
			}
		}
	}
	return checks, nil
}

// runDemo onboards the demo tenants (if missing), decides every isolation
// check with the IAM engine, records each decision in the audit log and
// prints the table. It fails if any cross-tenant call is allowed or any
// same-tenant call denied: the demo doubles as a self-check.
func (s *server) runDemo(ctx context.Context, out io.Writer) error {
	for i, id := range demoTenants {
		t := &tenant.Tenant{ID: id, DisplayName: "Demo tenant " + strings.ToUpper(id[len(id)-1:]), Isolation: []tenant.Isolation{tenant.Silo, tenant.Pool}[i], HomeRegion: s.cfg.Region}
		if err := s.store.Tenants().CreateTenant(ctx, t); err != nil && tenantml.ErrorCode(err) != tenantml.ECONFLICT {
			return fmt.Errorf("demo: onboard %s: %w", id, err)
		}
	}
	checks, err := isolationChecks(s.cfg.Region, s.cfg.AccountID)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	fmt.Fprintln(out, "Isolation demo: each tenant invokes its own and the other tenant's model under the README's policies, decided by the IAM engine:")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  MODEL\tCALLER\tTARGET\tDECISION")
	var failures []string
	for _, c := range checks {
		ev := audit.Event{
			EventType:           audit.TypeServiceEvent,
			TenantID:            c.caller,
			EventSource:         "tenantml.internal",
			EventName:           "IsolationSelfCheck",
			UserIdentity:        audit.UserIdentity{Type: "AssumedRole", ARN: c.request.Principal, AccountID: s.cfg.AccountID},
			Resources:           []audit.Resource{{ARN: c.request.Resource}},
			Decision:            audit.Decision{Effect: audit.Effect(c.decision.String())},
			CrossTenant:         c.caller != c.target,
			AdditionalEventData: map[string]string{"isolation": string(c.model), "targetTenant": c.target},
		}
		if _, err := s.audit.Append(ctx, ev); err != nil {
			return fmt.Errorf("demo: audit: %w", err)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.model, c.caller, c.target, c.decision)
		if want := c.caller == c.target; (c.decision == iam.Allowed) != want {
			failures = append(failures, fmt.Sprintf("%s %s→%s: %s", c.model, c.caller, c.target, c.reason))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(failures) > 0 {
		return fmt.Errorf("demo: isolation self-check failed:\n  %s", strings.Join(failures, "\n  "))
	}
	fmt.Fprintf(out, "Every cross-tenant call was denied and every same-tenant call allowed; each decision is in the audit log:\n  %s\n", demoLookupHint(s.cfg.DataDir))
	return nil
}

// demoLookupHint is the command that lists the demo's decisions from the
// audit log in dataDir (it reads beside the running server).
func demoLookupHint(dataDir string) string {
	return "tenantml audit lookup --data-dir " + dataDir + " --all --action IsolationSelfCheck"
}
