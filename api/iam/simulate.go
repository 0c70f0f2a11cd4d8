package iam

import (
	"context"
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/identity"
)

// xmlEvaluationResult is IAM's EvaluationResult element.
type xmlEvaluationResult struct {
	EvalActionName       string               `xml:"EvalActionName"`
	EvalResourceName     string               `xml:"EvalResourceName"`
	EvalDecision         string               `xml:"EvalDecision"`
	MatchedStatements    []xmlStatement       `xml:"MatchedStatements>member"`
	MissingContextValues []string             `xml:"MissingContextValues>member"`
	BoundaryDetail       *xmlBoundaryDecision `xml:"PermissionsBoundaryDecisionDetail,omitempty"`
}

// xmlStatement is IAM's Statement element of MatchedStatements.
type xmlStatement struct {
	SourcePolicyID   string `xml:"SourcePolicyId"`
	SourcePolicyType string `xml:"SourcePolicyType"`
}

type xmlBoundaryDecision struct {
	AllowedByPermissionsBoundary bool `xml:"AllowedByPermissionsBoundary"`
}

type simulateResult struct {
	EvaluationResults []xmlEvaluationResult `xml:"EvaluationResults>member"`
	IsTruncated       bool                  `xml:"IsTruncated"`
}

// simPolicy is one policy taking part in a simulation, with the
// SourcePolicyId and SourcePolicyType IAM reports for it.
type simPolicy struct {
	doc      string
	id, kind string
}

// simulation is everything one Simulate* call decides over.
type simulation struct {
	principal string
	identity  []simPolicy
	boundary  []simPolicy
	resource  *simPolicy
	context   iam.Context
}

func (s *Surface) registerSimulate(add func(string, resourceFunc, handler)) {
	anything := func(url.Values, *authn.Principal) string { return "*" }
	add("SimulateCustomPolicy", anything, func(_ context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "PolicyInputList.member.1"); err != nil {
			return nil, err
		}
		sim := simulation{principal: f.Get("CallerArn")}
		if sim.principal == "" && c != nil {
			sim.principal = c.ARN
		}
		for i, d := range api.FormList(f, "PolicyInputList") {
			sim.identity = append(sim.identity, simPolicy{doc: d, id: "PolicyInputList." + strconv.Itoa(i+1), kind: "IAM Policy"})
		}
		return s.simulate(f, &sim)
	})
	add("SimulatePrincipalPolicy", func(f url.Values, c *authn.Principal) string { return f.Get("PolicySourceArn") },
		func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
			if err := required(f, "PolicySourceArn"); err != nil {
				return nil, err
			}
			sim, err := s.principalSimulation(ctx, c, f.Get("PolicySourceArn"))
			if err != nil {
				return nil, err
			}
			for i, d := range api.FormList(f, "PolicyInputList") {
				sim.identity = append(sim.identity, simPolicy{doc: d, id: "PolicyInputList." + strconv.Itoa(i+1), kind: "IAM Policy"})
			}
			return s.simulate(f, sim)
		})
}

// principalSimulation gathers the effective policies and tags of the user
// or role an ARN of this account names.
func (s *Surface) principalSimulation(ctx context.Context, c *authn.Principal, source string) (*simulation, error) {
	parts := strings.SplitN(source, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" {
		return nil, identity.Errorf(identity.InvalidInput, "PolicySourceArn %q is not an IAM user or role ARN", source)
	}
	kind, rest, _ := strings.Cut(parts[5], "/")
	name := rest[strings.LastIndex(rest, "/")+1:]
	if parts[4] != s.account(c) || name == "" {
		return nil, identity.Errorf(identity.NoSuchEntity, "The entity %s cannot be found.", source)
	}
	var (
		eff *identity.Effective
		err error
	)
	switch kind {
	case "user":
		eff, err = s.Service.PoliciesForUser(ctx, s.account(c), name)
	case "role":
		eff, err = s.Service.PoliciesForRole(ctx, s.account(c), name)
	default:
		return nil, identity.Errorf(identity.InvalidInput, "PolicySourceArn must name a user or a role, not %q", kind)
	}
	if err != nil {
		return nil, err
	}
	sim := &simulation{principal: eff.ARN}
	for _, d := range eff.Policies {
		sim.identity = append(sim.identity, documentPolicy(d, kind))
	}
	if eff.Boundary != nil {
		sim.boundary = append(sim.boundary, documentPolicy(*eff.Boundary, kind))
	}
	keys := make([]string, 0, len(eff.Tags))
	for k := range eff.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		sim.context = append(sim.context, iam.Single("aws:PrincipalTag/"+k, eff.Tags[k]))
	}
	return sim, nil
}

// documentPolicy labels a stored document the way IAM's simulator does:
// managed policies by ARN ("user-managed", or "aws-managed" for the
// platform's built-in ones), inline ones by name with the entity kind.
func documentPolicy(d identity.Document, kind string) simPolicy {
	if d.ARN != "" {
		t := "user-managed"
		if strings.HasPrefix(d.ARN, "arn:aws:iam::aws:") {
			t = "aws-managed"
		}
		return simPolicy{doc: d.Document, id: d.ARN, kind: t}
	}
	if g, ok := strings.CutPrefix(d.Source, "group/"); ok {
		return simPolicy{doc: d.Document, id: g + "_" + d.Name, kind: "group"}
	}
	return simPolicy{doc: d.Document, id: d.Name, kind: kind}
}

// simulate adds the request's boundary, resource policy and context entries
// to sim and decides every action on every resource.
func (s *Surface) simulate(f url.Values, sim *simulation) (any, error) {
	actions := api.FormList(f, "ActionNames")
	if len(actions) == 0 {
		return nil, required(f, "ActionNames")
	}
	resources := api.FormList(f, "ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	for i, d := range api.FormList(f, "PermissionsBoundaryPolicyInputList") {
		sim.boundary = append(sim.boundary, simPolicy{doc: d, id: "PermissionsBoundaryPolicyInputList." + strconv.Itoa(i+1), kind: "IAM Policy"})
	}
	if d := f.Get("ResourcePolicy"); d != "" {
		sim.resource = &simPolicy{doc: d, id: "ResourcePolicy", kind: "resource"}
	}
	entries, err := contextEntries(f)
	if err != nil {
		return nil, err
	}
	// Entries given in the request come first: the first of a key wins.
	reqCtx := append(entries, sim.context...)

	var set iam.PolicySet
	var referenced []string
	parse := func(p simPolicy, kind iam.Kind) (*iam.Policy, error) {
		pol, err := iam.Parse([]byte(p.doc), iam.ParseOptions{Kind: kind})
		if err != nil {
			return nil, identity.Errorf(identity.MalformedPolicyDocument, "%s: %s", p.id, firstLine(err.Error()))
		}
		referenced = append(referenced, conditionKeys(p.doc)...)
		return pol, nil
	}
	for _, p := range sim.identity {
		pol, err := parse(p, iam.KindIdentity)
		if err != nil {
			return nil, err
		}
		set.Identity = append(set.Identity, pol)
	}
	for _, p := range sim.boundary {
		pol, err := parse(p, iam.KindBoundary)
		if err != nil {
			return nil, err
		}
		set.Boundaries = append(set.Boundaries, pol)
	}
	if sim.resource != nil {
		if set.Resource, err = parse(*sim.resource, iam.KindResource); err != nil {
			return nil, err
		}
	}
	missing := missingKeys(referenced, reqCtx)

	res := simulateResult{EvaluationResults: []xmlEvaluationResult{}}
	for _, action := range actions {
		for _, resource := range resources {
			req := &iam.Request{Principal: sim.principal, Action: action, Resource: resource, Context: reqCtx}
			dec, diag := iam.Authorize(&set, req)
			r := xmlEvaluationResult{EvalActionName: action, EvalResourceName: resource, EvalDecision: evalDecision(dec),
				MatchedStatements: []xmlStatement{}, MissingContextValues: missing}
			for _, ref := range diag.Statements() {
				r.MatchedStatements = append(r.MatchedStatements, sim.statement(ref))
			}
			if len(set.Boundaries) > 0 {
				allowed := diag.MissingAllow() != "boundary" && !(dec == iam.ExplicitlyDenied && deniedBy(diag.Statements(), iam.KindBoundary))
				r.BoundaryDetail = &xmlBoundaryDecision{AllowedByPermissionsBoundary: allowed}
			}
			res.EvaluationResults = append(res.EvaluationResults, r)
		}
	}
	return res, nil
}

// statement names the policy of a deciding statement.
func (sim *simulation) statement(ref iam.StatementRef) xmlStatement {
	var p *simPolicy
	switch ref.Kind {
	case iam.KindIdentity:
		if int(ref.Policy) < len(sim.identity) {
			p = &sim.identity[ref.Policy]
		}
	case iam.KindBoundary:
		if int(ref.Policy) < len(sim.boundary) {
			p = &sim.boundary[ref.Policy]
		}
	case iam.KindResource:
		p = sim.resource
	}
	if p == nil {
		return xmlStatement{SourcePolicyID: ref.PolicyLabel(), SourcePolicyType: "none"}
	}
	return xmlStatement{SourcePolicyID: p.id, SourcePolicyType: p.kind}
}

func deniedBy(refs []iam.StatementRef, k iam.Kind) bool {
	for _, r := range refs {
		if r.Kind == k {
			return true
		}
	}
	return false
}

// evalDecision is IAM's EvalDecision value.
func evalDecision(d iam.Decision) string {
	switch d {
	case iam.Allowed:
		return "allowed"
	case iam.ExplicitlyDenied:
		return "explicitDeny"
	}
	return "implicitDeny"
}

// contextEntries reads ContextEntries.member.N.{ContextKeyName,
// ContextKeyValues.member.M, ContextKeyType}; a *List type is multi-valued.
func contextEntries(f url.Values) (iam.Context, error) {
	var out iam.Context
	for i := 1; ; i++ {
		p := "ContextEntries.member." + strconv.Itoa(i) + "."
		name := f.Get(p + "ContextKeyName")
		typ := f.Get(p + "ContextKeyType")
		vals := api.FormList(f, p+"ContextKeyValues")
		if name == "" {
			if typ != "" || len(vals) > 0 {
				return nil, identity.Errorf(identity.InvalidInput, "context entry %d has no ContextKeyName", i)
			}
			return out, nil
		}
		switch strings.ToLower(typ) {
		case "string", "numeric", "boolean", "date", "ip", "binary", "":
			if len(vals) != 1 {
				return nil, identity.Errorf(identity.InvalidInput, "context key %s of type %s needs exactly one value, got %d", name, typ, len(vals))
			}
			out = append(out, iam.Single(name, vals[0]))
		case "stringlist", "numericlist", "booleanlist", "datelist", "iplist", "binarylist":
			out = append(out, iam.Multi(name, vals...))
		default:
			return nil, identity.Errorf(identity.ValidationError, "context key %s has unknown ContextKeyType %q", name, typ)
		}
	}
}

// conditionKeys lists the condition keys a policy document names in its
// Condition blocks and policy variables. The document has already been
// validated by iam.Parse, which does not expose them.
func conditionKeys(doc string) []string {
	var p struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &p) != nil {
		return nil
	}
	var sts []struct {
		Condition map[string]map[string]json.RawMessage
	}
	if json.Unmarshal(p.Statement, &sts) != nil {
		var one struct {
			Condition map[string]map[string]json.RawMessage
		}
		if json.Unmarshal(p.Statement, &one) != nil {
			return nil
		}
		sts = append(sts, one)
	}
	var keys []string
	for _, st := range sts {
		for _, kv := range st.Condition {
			for k := range kv {
				keys = append(keys, k)
			}
		}
	}
	return append(keys, policyVariables(doc)...)
}

// missingKeys are the referenced keys absent from the context, sorted and
// without duplicates (compared case-insensitively, as IAM does).
func missingKeys(referenced []string, ctx iam.Context) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range referenced {
		l := strings.ToLower(k)
		if seen[l] {
			continue
		}
		seen[l] = true
		if _, ok := ctx.Lookup(k); !ok {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// policyVariables lists the keys of the policy variables such as
// ${aws:PrincipalTag/TenantID} in a document, skipping the ${*}, ${?} and
// ${$} escapes and any default value (${key, 'default'}).
func policyVariables(doc string) []string {
	var out []string
	for {
		i := strings.Index(doc, "${")
		if i < 0 {
			return out
		}
		doc = doc[i+2:]
		j := strings.IndexByte(doc, '}')
		if j < 0 {
			return out
		}
		name, _, _ := strings.Cut(doc[:j], ",")
		if name = strings.TrimSpace(name); name != "*" && name != "?" && name != "$" && name != "" {
			out = append(out, name)
		}
		doc = doc[j+1:]
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
