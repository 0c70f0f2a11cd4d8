package sagemaker

import (
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/serving"
)

// TargetPrefix is the X-Amz-Target prefix of SageMaker operations.
const TargetPrefix = "SageMaker"

// Roles resolves an IAM role ARN to the resource iam:PassRole is decided
// on (its tenant and tags); a role that does not exist comes back with its
// ARN only and found false.
type Roles interface {
	RoleResource(r *http.Request, roleARN string) (res authz.Resource, found bool, err error)
}

// Surface serves the SageMaker control plane.
type Surface struct {
	Controller *serving.Controller
	Pipeline   *api.Pipeline
	Roles      Roles
	// Instances, when set, reports a live endpoint's instance counts by
	// variant (current and desired; autoscaling changes them), for
	// DescribeEndpoint; without it the config's initial counts are shown.
	Instances func(account, endpoint string) map[string][2]int
	// Registry is the model registry; nil leaves its operations out.
	Registry *registry.Service
	// Policies parses model package groups' resource policies;
	// *authz.Engine implements it. Required with Registry.
	Policies interface {
		Parse(doc string, kind iam.Kind) (*iam.Policy, error)
	}
	// ModelData resolves the objects a model package pins; required with
	// Registry (*fleet.ObjectSource implements it).
	ModelData ModelData
}

// ctl is the controller of the caller's account: a request acts on its
// own account's resources only.
func (s *Surface) ctl(c *authn.Principal) *serving.Scoped {
	if c == nil || c.Account == "" {
		return s.Controller.In(s.Controller.AccountID)
	}
	return s.Controller.In(c.Account)
}

// Protocol is SageMaker's JSON 1.1 error form: invalid input and missing
// resources are ValidationException (400), as SageMaker answers them.
func Protocol() *api.JSONProtocol {
	return &api.JSONProtocol{Dialect: api.Dialect{
		tenantml.EINVALID:         {Code: "ValidationException", Status: http.StatusBadRequest},
		tenantml.ENOTFOUND:        {Code: "ValidationException", Status: http.StatusBadRequest},
		tenantml.ECONFLICT:        {Code: "ResourceInUse", Status: http.StatusBadRequest},
		tenantml.EFORBIDDEN:       {Code: "AccessDeniedException", Status: http.StatusBadRequest},
		tenantml.ETOOMANYREQUESTS: {Code: "ThrottlingException", Status: http.StatusBadRequest},
	}}
}

// op is one operation: the resource it acts on (kind and name from its
// input, "" for account-wide listings) and its work.
type op struct {
	newInput func() any
	kind     serving.ResourceKind
	name     func(in any) string
	create   bool // the resource is created by the request
	byARN    bool // the resource is the input's ResourceArn
	tags     func(in any) ([]tag, []string)
	// keys returns the request's own condition keys (sagemaker:*), if any.
	keys   func(in any) iam.Context
	handle func(r *http.Request, c *authn.Principal, in any) (any, error)
}

// Register adds the SageMaker operations to router.
func (s *Surface) Register(router *api.AWSRouter) {
	reg := router.JSONService(TargetPrefix, "sagemaker", s.Pipeline, Protocol())
	ops := s.operations()
	if s.Registry != nil {
		for name, o := range s.registryOperations() {
			ops[name] = o
		}
	}
	for name, o := range ops {
		o := o
		reg.Register(name, o.newInput, api.Op{
			Target: s.target(name, o),
			Handle: func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
				out, err := o.handle(r, c, inputOf(r, o))
				if err != nil {
					return err
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.1")
				w.WriteHeader(http.StatusOK)
				return json.NewEncoder(w).Encode(out)
			},
		})
	}
}

// inputOf returns the decoded input the router stored for r.
func inputOf(r *http.Request, _ op) any { return api.InputValue(r) }

// target resolves the resource an operation names.
func (s *Surface) target(action string, o op) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return func(r *http.Request, c *authn.Principal) (*api.Target, error) {
		in := inputOf(r, o)
		ctl := s.ctl(c)
		t := &api.Target{Resource: authz.Resource{ARN: "*"}}
		if o.tags != nil {
			tags, keys := o.tags(in)
			t.Context = tagKeys(tags, keys)
		}
		if o.keys != nil {
			t.Context = append(t.Context, o.keys(in)...)
		}
		kind, name, ours := o.kind, "", true
		switch {
		case o.byARN:
			k, n, err := serving.ParseARN(in.(*tagsInput).ResourceArn)
			if err != nil {
				return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "ResourceArn: %s", err.Error())
			}
			kind, name = k, n
			if a := arn.AccountOf(in.(*tagsInput).ResourceArn); a != ctl.Account() {
				// Another account's resource: decided and answered as a
				// missing one (SageMaker has no resource policies).
				t.ARN = in.(*tagsInput).ResourceArn
				t.NotFound = serving.ErrNotFound(kind, a, ctl.Region, name)
				return t, nil
			}
			if _, _, foreign, ok := s.registryARN(ctl.Account(), in.(*tagsInput).ResourceArn); ok {
				ours = !foreign
			}
		case o.kind == "" || o.name == nil:
			return t, nil
		default:
			name = o.name(in)
		}
		if name == "" {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "1 validation error detected: the resource name must not be null")
		}
		if kind == registry.KindGroup || kind == registry.KindPackage {
			return s.registryTarget(r, c, kind, name, o.create, ours, t)
		}
		t.ARN = serving.ARN(ctl.Region, ctl.Account(), kind, name)
		t.Parameters = map[string]any{"name": name}
		if x, ok := in.(*createModelInput); ok {
			s.createModelParameters(r, c, x, t.Parameters)
		}
		if o.create {
			return t, nil
		}
		t.NotFound = serving.ErrNotFound(kind, ctl.Account(), ctl.Region, name)
		owner, tags, err := ctl.Resource(r.Context(), kind, name)
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		if c.TenantID != "" && owner == "" {
			// The platform's resources (the shared pool's) are missing
			// ones to a tenant's principal: decided without their tags
			// and answered as missing, whatever its policies allow.
			t.Hide = t.NotFound
			return t, nil
		}
		t.Tenant, t.Tags = owner, tags
		return t, nil
	}
}

// tagKeys are the request's tag condition keys.
func tagKeys(tags []tag, removed []string) iam.Context {
	var ctx iam.Context
	keys := make([]string, 0, len(tags)+len(removed))
	for _, t := range tags {
		ctx = append(ctx, iam.Single("aws:RequestTag/"+t.Key, t.Value))
		keys = append(keys, t.Key)
	}
	keys = append(keys, removed...)
	if len(keys) > 0 {
		ctx = append(ctx, iam.Multi("aws:TagKeys", keys...))
	}
	return ctx
}

// tag is SageMaker's Tag.
type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

func tagMap(in []tag) map[string]string {
	if len(in) == 0 {
		return nil
	}
	m := make(map[string]string, len(in))
	for _, t := range in {
		m[t.Key] = t.Value
	}
	return m
}

func tagList(m map[string]string) []tag {
	out := make([]tag, 0, len(m))
	for k, v := range m {
		out = append(out, tag{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// epoch is a timestamp as JSON 1.1 sends it: seconds since the epoch.
type epoch time.Time

// MarshalJSON implements json.Marshaler.
func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64)), nil
}

// UnmarshalJSON implements json.Unmarshaler (epoch seconds).
func (e *epoch) UnmarshalJSON(b []byte) error {
	f, err := strconv.ParseFloat(strings.Trim(string(b), `"`), 64)
	if err != nil {
		return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "a timestamp must be epoch seconds")
	}
	*e = epoch(time.UnixMilli(int64(f * 1000)).UTC())
	return nil
}

// listInput is the common part of List* inputs.
type listInput struct {
	NameContains       string `json:"NameContains"`
	SortBy             string `json:"SortBy"`
	SortOrder          string `json:"SortOrder"`
	MaxResults         int    `json:"MaxResults"`
	NextToken          string `json:"NextToken"`
	CreationTimeBefore *epoch `json:"CreationTimeBefore"`
	CreationTimeAfter  *epoch `json:"CreationTimeAfter"`
	StatusEquals       string `json:"StatusEquals"`
}

func (l *listInput) filter() (serving.ListFilter, error) {
	f := serving.ListFilter{NameContains: l.NameContains, Limit: l.MaxResults, After: l.NextToken, Status: serving.EndpointStatus(l.StatusEquals)}
	if f.Limit == 0 {
		f.Limit = 10
	}
	if f.Limit < 1 || f.Limit > 100 {
		return f, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "MaxResults must be between 1 and 100")
	}
	switch l.SortBy {
	case "", "Name":
	case "CreationTime":
		f.SortByCreationTime = true
	default:
		return f, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "SortBy must be Name or CreationTime")
	}
	switch l.SortOrder {
	case "", "Ascending":
	case "Descending":
		f.Descending = true
	default:
		return f, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", "SortOrder must be Ascending or Descending")
	}
	if l.CreationTimeAfter != nil {
		f.CreatedAfter = time.Time(*l.CreationTimeAfter)
	}
	if l.CreationTimeBefore != nil {
		f.CreatedBefore = time.Time(*l.CreationTimeBefore)
	}
	return f, nil
}
