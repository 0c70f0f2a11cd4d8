// Package autoscaling serves Application Auto Scaling's API for SageMaker
// variants (JSON 1.1, X-Amz-Target AnyScaleFrontendService.<Operation>,
// SigV4 service and IAM action prefix "application-autoscaling") on the
// shared AWS router.
//
// Every operation that names a ResourceId is decided on the variant's
// scalable target (TargetARN) with the tenant and tags of the endpoint
// that owns the variant: another tenant's endpoint (or, to a tenant, the
// platform's) is answered exactly as a missing one, whatever the caller's
// policies allow. Describe operations are listings (resource "*") that
// read only the caller's tenant's rows (a platform principal: every
// tenant's).
package autoscaling

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/serving"
)

// TargetPrefix is the X-Amz-Target prefix of Application Auto Scaling.
const TargetPrefix = "AnyScaleFrontendService"

// Service is the SigV4 service name and IAM action prefix.
const Service = "application-autoscaling"

// Surface serves Application Auto Scaling.
type Surface struct {
	Controller *serving.Controller
	Store      autoscale.Store
	Pipeline   *api.Pipeline
	// Now returns the current time; default time.Now.
	Now func() time.Time
}

// Protocol is Application Auto Scaling's JSON 1.1 error form.
func Protocol() *api.JSONProtocol {
	return &api.JSONProtocol{Dialect: api.Dialect{
		tenantml.EINVALID:         {Code: "ValidationException", Status: http.StatusBadRequest},
		tenantml.ENOTFOUND:        {Code: "ObjectNotFoundException", Status: http.StatusBadRequest},
		tenantml.ECONFLICT:        {Code: "ConcurrentUpdateException", Status: http.StatusBadRequest},
		tenantml.EFORBIDDEN:       {Code: "AccessDeniedException", Status: http.StatusBadRequest},
		tenantml.ETOOMANYREQUESTS: {Code: "ThrottlingException", Status: http.StatusBadRequest},
	}}
}

func (s *Surface) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// op is one operation: how its input names the target (nil for
// listings), what it answers for a missing one, and its work.
type op struct {
	newInput func() any
	resource func(in any) *targetInput
	notFound func(r autoscale.ResourceID, in any) error
	handle   func(r *http.Request, c *authn.Principal, in any) (any, error)
}

// Register adds the operations to router.
func (s *Surface) Register(router *api.AWSRouter) {
	reg := router.JSONService(TargetPrefix, Service, s.Pipeline, Protocol())
	for name, o := range s.operations() {
		reg.Register(name, o.newInput, api.Op{
			Target: s.target(o),
			Handle: func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
				out, err := o.handle(r, c, api.InputValue(r))
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

// targetInput names a scalable target.
type targetInput struct {
	ServiceNamespace  string `json:"ServiceNamespace"`
	ResourceID        string `json:"ResourceId"`
	ScalableDimension string `json:"ScalableDimension"`
}

// parse validates the namespace and dimension and parses the ResourceId.
func (t *targetInput) parse() (autoscale.ResourceID, error) {
	if err := checkNamespace(t.ServiceNamespace); err != nil {
		return autoscale.ResourceID{}, err
	}
	if t.ScalableDimension != autoscale.Dimension {
		return autoscale.ResourceID{}, validation("ScalableDimension must be %s for the sagemaker namespace", autoscale.Dimension)
	}
	return autoscale.ParseResourceID(t.ResourceID)
}

func checkNamespace(ns string) error {
	if ns != autoscale.ServiceNamespace {
		return validation("ServiceNamespace %q is not supported: tenantml scales sagemaker variants", clip(ns))
	}
	return nil
}

// target resolves the variant's scalable target to the endpoint's tenant
// and tags.
func (s *Surface) target(o op) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return func(r *http.Request, c *authn.Principal) (*api.Target, error) {
		t := &api.Target{Resource: authz.Resource{ARN: "*"}}
		in := api.InputValue(r)
		if c.Account != s.Controller.AccountID {
			// The scaler runs the primary account's endpoints only (as
			// the management API and onboarding do): a further account's
			// caller is told so, never shown the primary's targets.
			return nil, validation("Application Auto Scaling serves the deployment's primary account only; account %s has no scalable targets", c.Account)
		}
		if o.resource == nil {
			return t, nil
		}
		ti := o.resource(in)
		rid, err := ti.parse()
		if err != nil {
			return nil, err
		}
		ctl := s.Controller
		t.ARN = autoscale.TargetARN(ctl.Region, ctl.AccountID, rid)
		t.Parameters = map[string]any{"resourceId": rid.String()}
		t.NotFound = o.notFound(rid, in)
		owner, tags, err := ctl.Resource(r.Context(), serving.KindEndpoint, rid.Endpoint)
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return t, nil
		}
		if err != nil {
			return nil, err
		}
		if c.TenantID != "" && owner == "" {
			t.Hide = t.NotFound // the platform's pool endpoint: a missing one to a tenant
			return t, nil
		}
		t.Tenant, t.Tags = owner, tags
		return t, nil
	}
}

// scope is the store filter of the caller's rows: its tenant's, or, for
// a platform principal, every tenant's.
func (s *Surface) scope(c *authn.Principal) autoscale.Filter {
	if c.TenantID == "" {
		return autoscale.Filter{AllTenants: true, AccountID: s.Controller.AccountID}
	}
	return autoscale.Filter{Tenant: c.TenantID, AccountID: s.Controller.AccountID}
}

// owned returns the caller's own target of rid (the platform's target for
// a platform principal naming a tenant's: the pipeline already decided on
// the endpoint's tenant), or nil.
func (s *Surface) owned(ctx context.Context, c *authn.Principal, rid autoscale.ResourceID) (*autoscale.Target, error) {
	f := s.scope(c)
	f.ResourceIDs = []autoscale.ResourceID{rid}
	ts, err := s.Store.Targets(ctx, f)
	if err != nil || len(ts) == 0 {
		return nil, err
	}
	return ts[0], nil
}

// noTarget is ObjectNotFoundException for a target that is not registered
// (or not the caller's).
func noTarget(rid autoscale.ResourceID) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ObjectNotFoundException",
		"No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s", autoscale.ServiceNamespace, rid, autoscale.Dimension)
}

// noResource is ValidationException for a variant that does not exist
// (or is not the caller's).
func noResource(rid autoscale.ResourceID) error {
	return validation("The resource %s does not exist: no such endpoint or variant.", rid)
}

// noPolicy is ObjectNotFoundException for a missing policy.
func noPolicy(rid autoscale.ResourceID, name string) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ObjectNotFoundException",
		"No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s", autoscale.ServiceNamespace, rid, autoscale.Dimension, clip(name))
}

func validation(format string, args ...any) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "ValidationException", format, args...)
}

// clip bounds caller-supplied text quoted in a message.
func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "..."
	}
	return s
}

// epoch is a timestamp as JSON 1.1 sends it: seconds since the epoch.
type epoch time.Time

// MarshalJSON implements json.Marshaler.
func (e epoch) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatFloat(float64(time.Time(e).UnixMilli())/1000, 'f', -1, 64)), nil
}

// page applies MaxResults and NextToken (an offset) to n rows.
func page(n, maxResults int, token string, limit int) (from, to int, next string, err error) {
	if maxResults == 0 {
		maxResults = limit
	}
	if maxResults < 1 || maxResults > limit {
		return 0, 0, "", validation("MaxResults must be between 1 and %d", limit)
	}
	if token != "" {
		from, err = strconv.Atoi(token)
		if err != nil || from < 0 || from > n || strings.HasPrefix(token, "+") {
			return 0, 0, "", validation("NextToken is not valid")
		}
	}
	to = min(from+maxResults, n)
	if to < n {
		next = strconv.Itoa(to)
	}
	return from, to, next, nil
}
