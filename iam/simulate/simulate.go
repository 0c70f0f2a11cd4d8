package simulate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tenantml/tenantml/iam"
)

// Case is one simulation case in its wire form.
type Case struct {
	Name                   string            `json:"name"`
	Doc                    string            `json:"doc,omitempty"`
	Request                Request           `json:"request"`
	IdentityPolicies       []json.RawMessage `json:"identityPolicies,omitempty"`
	ResourcePolicy         json.RawMessage   `json:"resourcePolicy,omitempty"`
	PermissionBoundaries   []json.RawMessage `json:"permissionBoundaries,omitempty"`
	SessionPolicy          json.RawMessage   `json:"sessionPolicy,omitempty"`
	ServiceControlPolicies []SCPLevel        `json:"serviceControlPolicies,omitempty"`
	Expected               *Expected         `json:"expected,omitempty"`
}

// Request is the request of a case.
type Request struct {
	Principal string                     `json:"principal"`
	Action    string                     `json:"action"`
	Resource  Resource                   `json:"resource"`
	Context   map[string]json.RawMessage `json:"context,omitempty"`
}

// Resource names the resource and its owning account.
type Resource struct {
	Resource  string `json:"resource"`
	AccountID string `json:"accountId,omitempty"`
}

// SCPLevel is one guardrail level: every level must allow.
type SCPLevel struct {
	OrgIdentifier string            `json:"orgIdentifier"`
	Policies      []json.RawMessage `json:"policies"`
}

// Expected is the expected outcome of a case.
type Expected struct {
	Response string `json:"response"`
}

// Result is the outcome of running a case.
type Result struct {
	Name       string      `json:"name"`
	Decision   string      `json:"decision"`
	Statements []Statement `json:"statements"`
	Reason     string      `json:"reason"`
	Error      string      `json:"error,omitempty"`
	Expected   string      `json:"expected,omitempty"`
	Match      *bool       `json:"match,omitempty"`
}

// Statement is a deciding statement in a Result.
type Statement struct {
	Policy string `json:"policy"`
	Index  int    `json:"index"`
	Sid    string `json:"sid"`
	Effect string `json:"effect"`
}

// Mismatch reports whether the case had an expected response that the
// decision did not match (error results never match).
func (r Result) Mismatch() bool { return r.Match != nil && !*r.Match }

// ParseCase decodes one case and checks that it can run: the JSON is
// well-formed, the request names an action, and every policy is valid for
// its type.
func ParseCase(data []byte) (Case, error) {
	var c Case
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("decode case: %w", err)
	}
	if _, _, err := c.compile(); err != nil {
		return c, err
	}
	return c, nil
}

// Run decides the case. It never panics on bad input: an invalid case gives a
// Result with Error set.
func Run(c Case) Result { return run(c, true) }

// run decides the case, with or without the set-level identity index (the
// corpus test runs both and requires the same answer).
func run(c Case, indexed bool) Result {
	res := Result{Name: c.Name, Statements: []Statement{}}
	if c.Expected != nil {
		res.Expected = c.Expected.Response
	}
	set, req, err := c.compile()
	if err != nil {
		res.Error = err.Error()
		if c.Expected != nil {
			f := false
			res.Match = &f
		}
		return res
	}
	if indexed {
		set.IdentityIndex = iam.NewIdentityIndex(set.Identity)
		set.Identity = nil
	}
	dec, diag := iam.Authorize(&set, &req)
	res.Decision = dec.String()
	res.Reason = diag.Reason()
	for _, ref := range diag.Statements() {
		res.Statements = append(res.Statements, Statement{
			Policy: ref.PolicyLabel(), Index: int(ref.Index), Sid: ref.Sid, Effect: ref.Effect.String(),
		})
	}
	if c.Expected != nil {
		m := res.Decision == c.Expected.Response
		res.Match = &m
	}
	return res
}

// RunBatch decodes a JSON array of cases and runs each in order. Only a
// document that is not a JSON array fails the batch; a malformed case gives
// an error Result in its place.
func RunBatch(data []byte) ([]Result, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(data, &raws); err != nil {
		return nil, fmt.Errorf("decode batch: want a JSON array of cases: %w", err)
	}
	out := make([]Result, 0, len(raws))
	for i, raw := range raws {
		res := RunCase(raw)
		if res.Name == "" && res.Error != "" {
			res.Name = fmt.Sprintf("case[%d]", i)
		}
		out = append(out, res)
	}
	return out, nil
}

// RunCase parses and runs one case. A malformed case gives a Result with
// Error set (and Match false when it names an expected response).
func RunCase(data []byte) Result {
	c, err := ParseCase(data)
	if err != nil {
		res := Result{Name: c.Name, Statements: []Statement{}, Error: err.Error()}
		if c.Expected != nil {
			res.Expected = c.Expected.Response
			f := false
			res.Match = &f
		}
		return res
	}
	return Run(c)
}

// compile parses every policy of the case and builds the request.
func (c *Case) compile() (iam.PolicySet, iam.Request, error) {
	var set iam.PolicySet
	var errs []error
	parse := func(label string, raw json.RawMessage, kind iam.Kind) *iam.Policy {
		doc, err := policyBytes(raw)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
			return nil
		}
		p, err := iam.Parse(doc, iam.ParseOptions{Kind: kind})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", label, err))
			return nil
		}
		return p
	}
	for i, raw := range c.IdentityPolicies {
		set.Identity = append(set.Identity, parse(fmt.Sprintf("identity[%d]", i), raw, iam.KindIdentity))
	}
	if present(c.ResourcePolicy) {
		set.Resource = parse("resource", c.ResourcePolicy, iam.KindResource)
	}
	for i, raw := range c.PermissionBoundaries {
		set.Boundaries = append(set.Boundaries, parse(fmt.Sprintf("boundary[%d]", i), raw, iam.KindBoundary))
	}
	if present(c.SessionPolicy) {
		set.Session = append(set.Session, parse("session[0]", c.SessionPolicy, iam.KindSession))
	}
	for _, lvl := range c.ServiceControlPolicies {
		g := iam.GuardrailLevel{Name: lvl.OrgIdentifier}
		for i, raw := range lvl.Policies {
			g.Policies = append(g.Policies, parse(fmt.Sprintf("scp[%s][%d]", lvl.OrgIdentifier, i), raw, iam.KindGuardrail))
		}
		set.Guardrails = append(set.Guardrails, g)
	}
	req, err := c.Request.build()
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return set, req, errors.Join(errs...)
	}
	return set, req, nil
}

func present(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && !bytes.Equal(t, []byte("null"))
}

// policyBytes accepts a policy as a JSON object or a JSON string holding one.
func policyBytes(raw json.RawMessage) ([]byte, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return nil, fmt.Errorf("decode policy string: %w", err)
		}
		return []byte(s), nil
	}
	if len(t) == 0 || t[0] != '{' {
		return nil, fmt.Errorf("policy must be a JSON object or a JSON string")
	}
	return t, nil
}

func (r *Request) build() (iam.Request, error) {
	req := iam.Request{
		Principal:       r.Principal,
		Action:          r.Action,
		Resource:        r.Resource.Resource,
		ResourceAccount: r.Resource.AccountID,
	}
	if r.Action == "" {
		return req, fmt.Errorf("request: missing action")
	}
	if r.Principal == "" {
		return req, fmt.Errorf("request: missing principal")
	}
	keys := make([]string, 0, len(r.Context))
	for k := range r.Context {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kv, err := contextValue(k, r.Context[k])
		if err != nil {
			return req, fmt.Errorf("request: context: %s: %w", k, err)
		}
		if _, dup := req.Context.Lookup(k); dup {
			return req, fmt.Errorf("request: context: key %q given twice (keys are case-insensitive)", k)
		}
		req.Context = append(req.Context, kv)
	}
	return req, nil
}

func contextValue(key string, raw json.RawMessage) (iam.KeyValue, error) {
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return iam.KeyValue{}, fmt.Errorf("bad array")
		}
		vals := make([]string, 0, len(items))
		for _, it := range items {
			v, err := scalar(it)
			if err != nil {
				return iam.KeyValue{}, err
			}
			vals = append(vals, v)
		}
		return iam.Multi(key, vals...), nil
	}
	v, err := scalar(t)
	if err != nil {
		return iam.KeyValue{}, err
	}
	return iam.Single(key, v), nil
}

func scalar(raw json.RawMessage) (string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "", fmt.Errorf("empty value")
	}
	switch t[0] {
	case '"':
		var s string
		if err := json.Unmarshal(t, &s); err != nil {
			return "", fmt.Errorf("bad string")
		}
		return s, nil
	case '{', '[', 'n':
		return "", fmt.Errorf("value %s: want a string, number, boolean or an array of them", strings.TrimSpace(string(t)))
	}
	return string(t), nil
}
