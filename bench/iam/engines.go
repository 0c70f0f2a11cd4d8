package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/tenantml/tenantml/iam"
)

const (
	account     = "111122223333"
	endpointARN = "arn:aws:sagemaker:us-east-1:" + account + ":endpoint/"
	poolRole    = "PoolInvokeRole"
	invoke      = "sagemaker:InvokeEndpoint"
)

// request is one invocation in engine-neutral form.
type request struct {
	// Role is the name of the role whose session calls.
	Role string
	// Session is the role session name.
	Session string
	// TenantTag is the session's TenantID tag; empty means untagged.
	TenantTag string
	// Endpoint is the endpoint name invoked.
	Endpoint string
	// TargetModel is the X-Amzn-SageMaker-Target-Model value; empty means none.
	TargetModel string
}

// world is the set of tenants whose policies are loaded.
type world struct {
	// Pool lists the tenants onboarded in the pool model.
	Pool []string
	// Silo is the number of silo tenants (silo-00000 ... ), each with its own
	// role silo-NNNNN-invoke allowed to invoke endpoint silo-NNNNN-endpoint.
	Silo int
}

func siloName(i int) string { return fmt.Sprintf("silo-%05d", i) }

// decider decides one prepared request.
type decider func() (bool, error)

// engine builds native policies for a world and prepares requests.
type engine interface {
	// Name is the engine's display name.
	Name() string
	// Prepare converts r to the engine's native request once and returns
	// the function that decides it.
	Prepare(r request) (decider, error)
}

// ---- tenantml IAM ----

const poolPolicy = `{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnModel","Effect":"Allow",` +
	`"Action":"sagemaker:InvokeEndpoint","Resource":"` + endpointARN + `pool-endpoint",` +
	`"Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`

func siloPolicy(tenant string) string {
	return `{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnEndpoint","Effect":"Allow",` +
		`"Action":"sagemaker:InvokeEndpoint","Resource":"` + endpointARN + tenant + `-endpoint"}]}`
}

type iamEngine struct {
	byRole map[string]*iam.PolicySet
}

func roleARN(role string) string { return "arn:aws:iam::" + account + ":role/" + role }

func newIAM(w world) (*iamEngine, error) {
	e := &iamEngine{byRole: make(map[string]*iam.PolicySet, w.Silo+1)}
	p, err := iam.Parse([]byte(poolPolicy), iam.ParseOptions{Kind: iam.KindIdentity})
	if err != nil {
		return nil, fmt.Errorf("parse pool policy: %w", err)
	}
	e.byRole[roleARN(poolRole)] = &iam.PolicySet{Identity: []*iam.Policy{p}}
	for i := range w.Silo {
		name := siloName(i)
		p, err := iam.Parse([]byte(siloPolicy(name)), iam.ParseOptions{Kind: iam.KindIdentity})
		if err != nil {
			return nil, fmt.Errorf("parse silo policy %s: %w", name, err)
		}
		e.byRole[roleARN(name+"-invoke")] = &iam.PolicySet{Identity: []*iam.Policy{p}}
	}
	return e, nil
}

func (e *iamEngine) Name() string { return "tenantml" }

func (e *iamEngine) Prepare(r request) (decider, error) {
	var ctx iam.Context
	if r.TenantTag != "" {
		ctx = append(ctx, iam.Single("aws:PrincipalTag/TenantID", r.TenantTag))
	}
	if r.TargetModel != "" {
		ctx = append(ctx, iam.Single("sagemaker:TargetModel", r.TargetModel))
	}
	role := roleARN(r.Role)
	req := &iam.Request{
		Principal: "arn:aws:sts::" + account + ":assumed-role/" + r.Role + "/" + r.Session,
		RoleARN:   role,
		Action:    invoke,
		Resource:  endpointARN + r.Endpoint,
		Context:   ctx,
	}
	return func() (bool, error) {
		set := e.byRole[role]
		if set == nil {
			return false, nil
		}
		dec, _ := iam.Authorize(set, req)
		return dec == iam.Allowed, nil
	}, nil
}

// iamOneSet is tenantml's engine given every tenant's policy in one policy
// set, the layout cedar-go uses: each silo tenant's policy is scoped to its
// role with an aws:PrincipalArn condition (what the principal scope does in
// Cedar), and the 10,000 policies go into an iam.IdentityIndex, which keys
// statements by (action, resource) so that only the candidates are evaluated.
type iamOneSet struct {
	set *iam.PolicySet
}

func newIAMOneSet(w world) (*iamOneSet, error) {
	pool := `{"Version":"2012-10-17","Statement":[{"Sid":"AllowOwnModel","Effect":"Allow",` +
		`"Action":"sagemaker:InvokeEndpoint","Resource":"` + endpointARN + `pool-endpoint",` +
		`"Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"},` +
		`"ArnEquals":{"aws:PrincipalArn":"` + roleARN(poolRole) + `"}}}]}`
	p, err := iam.Parse([]byte(pool), iam.ParseOptions{Kind: iam.KindIdentity})
	if err != nil {
		return nil, fmt.Errorf("parse pool policy: %w", err)
	}
	silos := make([]*iam.Policy, 0, w.Silo)
	for i := range w.Silo {
		name := siloName(i)
		doc := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":%q,"Resource":%q,`+
			`"Condition":{"ArnEquals":{"aws:PrincipalArn":%q}}}]}`,
			invoke, endpointARN+name+"-endpoint", roleARN(name+"-invoke"))
		sp, err := iam.Parse([]byte(doc), iam.ParseOptions{Kind: iam.KindIdentity})
		if err != nil {
			return nil, fmt.Errorf("parse silo policy %s: %w", name, err)
		}
		silos = append(silos, sp)
	}
	return &iamOneSet{set: &iam.PolicySet{Identity: []*iam.Policy{p}, IdentityIndex: iam.NewIdentityIndex(silos)}}, nil
}

func (e *iamOneSet) Name() string { return "tenantml-1set" }

func (e *iamOneSet) Prepare(r request) (decider, error) {
	inner := &iamEngine{byRole: map[string]*iam.PolicySet{roleARN(r.Role): e.set}}
	return inner.Prepare(r)
}

// ---- cedar-go ----

// cedarPolicies renders the world as Cedar. The principal is the role; the
// session's tags and the target model travel in the context.
func cedarPolicies(w world) string {
	var b strings.Builder
	for _, t := range w.Pool {
		fmt.Fprintf(&b, `permit (
  principal == Role::%q,
  action == Action::%q,
  resource == Endpoint::%q
) when {
  context.principalTags has TenantID &&
  context.principalTags.TenantID == %q &&
  context has targetModel &&
  context.targetModel == %q
};
`, poolRole, invoke, endpointARN+"pool-endpoint", t, t+".tar.gz")
	}
	for i := range w.Silo {
		b.WriteString(cedarSiloPolicy(siloName(i)))
	}
	return b.String()
}

func cedarSiloPolicy(name string) string {
	return fmt.Sprintf("permit (principal == Role::%q, action == Action::%q, resource == Endpoint::%q);\n",
		name+"-invoke", invoke, endpointARN+name+"-endpoint")
}

type cedarEngine struct {
	ps *cedar.PolicySet
}

func newCedar(w world) (*cedarEngine, error) {
	ps, err := cedar.NewPolicySetFromBytes("tenants.cedar", []byte(cedarPolicies(w)))
	if err != nil {
		return nil, fmt.Errorf("parse cedar policies: %w", err)
	}
	return &cedarEngine{ps: ps}, nil
}

func (e *cedarEngine) Name() string { return "cedar-go" }

func (e *cedarEngine) Prepare(r request) (decider, error) {
	tags := cedar.RecordMap{}
	if r.TenantTag != "" {
		tags["TenantID"] = cedar.String(r.TenantTag)
	}
	ctx := cedar.RecordMap{"principalTags": cedar.NewRecord(tags)}
	if r.TargetModel != "" {
		ctx["targetModel"] = cedar.String(r.TargetModel)
	}
	req := cedar.Request{
		Principal: cedar.NewEntityUID("Role", cedar.String(r.Role)),
		Action:    cedar.NewEntityUID("Action", invoke),
		Resource:  cedar.NewEntityUID("Endpoint", cedar.String(endpointARN+r.Endpoint)),
		Context:   cedar.NewRecord(ctx),
	}
	var entities cedar.EntityMap
	return func() (bool, error) {
		dec, diag := cedar.Authorize(e.ps, entities, req)
		if len(diag.Errors) > 0 {
			return false, fmt.Errorf("cedar: %s", diag.Errors[0].Message)
		}
		return dec == cedar.Allow, nil
	}, nil
}

// cedarByRole is cedar-go used the way tenantml uses its own engine: one
// policy set per role, looked up by the caller's role before deciding. It
// shows how much of cedar-go's cost with many tenants is the linear scan.
type cedarByRole struct {
	byRole map[string]*cedar.PolicySet
}

func newCedarByRole(w world) (*cedarByRole, error) {
	e := &cedarByRole{byRole: make(map[string]*cedar.PolicySet, w.Silo+1)}
	pool, err := cedar.NewPolicySetFromBytes("pool.cedar", []byte(cedarPolicies(world{Pool: w.Pool})))
	if err != nil {
		return nil, fmt.Errorf("parse cedar pool policies: %w", err)
	}
	e.byRole[poolRole] = pool
	for i := range w.Silo {
		name := siloName(i)
		ps, err := cedar.NewPolicySetFromBytes(name+".cedar", []byte(cedarSiloPolicy(name)))
		if err != nil {
			return nil, fmt.Errorf("parse cedar policy %s: %w", name, err)
		}
		e.byRole[name+"-invoke"] = ps
	}
	return e, nil
}

func (e *cedarByRole) Name() string { return "cedar-role" }

func (e *cedarByRole) Prepare(r request) (decider, error) {
	inner := &cedarEngine{ps: e.byRole[r.Role]}
	if inner.ps == nil {
		return func() (bool, error) { return false, nil }, nil
	}
	decide, err := inner.Prepare(r)
	if err != nil {
		return nil, err
	}
	role := r.Role
	return func() (bool, error) {
		if e.byRole[role] == nil {
			return false, nil
		}
		return decide()
	}, nil
}

// ---- OPA ----

// regoModule renders the world as one Rego module: one generic pool rule
// (Rego has concat, so like the IAM policy it serves every pool tenant) and
// one rule per silo tenant.
func regoModule(w world) string {
	var b strings.Builder
	b.WriteString(`package tenantml.authz

default allow := false

allow if {
	input.role == "` + poolRole + `"
	input.action == "` + invoke + `"
	input.resource == "` + endpointARN + `pool-endpoint"
	input.context.targetModel == concat("", [input.context.principalTags.TenantID, ".tar.gz"])
}
`)
	for i := range w.Silo {
		name := siloName(i)
		fmt.Fprintf(&b, "\nallow if {\n\tinput.role == %q\n\tinput.action == %q\n\tinput.resource == %q\n}\n",
			name+"-invoke", invoke, endpointARN+name+"-endpoint")
	}
	return b.String()
}

type opaEngine struct {
	pq rego.PreparedEvalQuery
}

func newOPA(ctx context.Context, w world) (*opaEngine, error) {
	pq, err := rego.New(
		rego.Query("data.tenantml.authz.allow"),
		rego.Module("tenants.rego", regoModule(w)),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare rego: %w", err)
	}
	return &opaEngine{pq: pq}, nil
}

func (e *opaEngine) Name() string { return "opa" }

func (e *opaEngine) Prepare(r request) (decider, error) {
	tags := map[string]any{}
	if r.TenantTag != "" {
		tags["TenantID"] = r.TenantTag
	}
	reqCtx := map[string]any{"principalTags": tags}
	if r.TargetModel != "" {
		reqCtx["targetModel"] = r.TargetModel
	}
	input, err := ast.InterfaceToValue(map[string]any{
		"role":     r.Role,
		"action":   invoke,
		"resource": endpointARN + r.Endpoint,
		"context":  reqCtx,
	})
	if err != nil {
		return nil, fmt.Errorf("opa input: %w", err)
	}
	ctx := context.Background()
	return func() (bool, error) {
		rs, err := e.pq.Eval(ctx, rego.EvalParsedInput(input))
		if err != nil {
			return false, fmt.Errorf("opa eval: %w", err)
		}
		return rs.Allowed(), nil
	}, nil
}
