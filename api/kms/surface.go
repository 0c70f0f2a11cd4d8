package kms

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/tenant"
)

// TargetPrefix is the X-Amz-Target prefix of KMS operations.
const TargetPrefix = "TrentService"

// Surface serves the KMS operations of the tenants' keys.
type Surface struct {
	Keys     *keys.Service
	Pipeline *api.Pipeline
	// Policies parses key policies (and caches them with the authorizer's).
	Policies PolicyParser
}

// PolicyParser parses policy documents; *authz.Engine implements it.
type PolicyParser interface {
	Parse(doc string, kind iam.Kind) (*iam.Policy, error)
}

// Protocol is KMS's JSON 1.1 error form: a missing key is
// NotFoundException and a denial AccessDeniedException, both with status
// 400 as AWS KMS answers them.
func Protocol() *api.JSONProtocol {
	return &api.JSONProtocol{Dialect: api.Dialect{
		tenantml.ENOTFOUND:        {Code: string(keys.ExcNotFound), Status: http.StatusBadRequest},
		tenantml.EFORBIDDEN:       {Code: "AccessDeniedException", Status: http.StatusBadRequest},
		tenantml.EINVALID:         {Code: string(keys.ExcValidation), Status: http.StatusBadRequest},
		tenantml.ECONFLICT:        {Code: string(keys.ExcConflict), Status: http.StatusBadRequest},
		tenantml.ETOOMANYREQUESTS: {Code: "ThrottlingException", Status: http.StatusBadRequest},
		tenantml.EINTERNAL:        {Code: string(keys.ExcInternal), Status: http.StatusInternalServerError},
	}}
}

// handler does one operation's work for the caller's tenant, with the key
// service as the caller's account sees it (keys.Service.InAccount), and
// returns the JSON response body.
type handler func(ctx context.Context, k *keys.Service, tenant string, in *request) (any, error)

// keyOf names the key an operation acts on ("" for none).
type keyOf func(in *request) string

// Register adds the KMS operations to router's TrentService.
func (s *Surface) Register(router *api.AWSRouter) {
	reg := router.JSONService(TargetPrefix, "kms", s.Pipeline, Protocol())
	for name, op := range s.operations() {
		reg.Register(name, func() any { return new(request) }, api.Op{
			Target: s.target(op.key),
			Handle: s.handle(op.handle),
		})
	}
}

// target resolves the key an operation names within the caller's tenant
// and account (a key ARN names a key of its own account, decided across
// accounts: the key policy must grant the caller and the caller's own
// policies must allow):
// its ARN, tenant, tags and key policy (a resource-based policy that must
// allow, as on AWS), with aws:RequestTag/* and aws:TagKeys from the
// request. KMS keys belong to tenants: a caller without one is refused. A
// key the caller's tenant does not have — missing, or another tenant's —
// is NotFoundException before any policy is read, recorded as a denial,
// the same answer whatever other tenants hold.
func (s *Surface) target(key keyOf) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return func(r *http.Request, c *authn.Principal) (*api.Target, error) {
		t := c.TenantID
		if t == "" {
			return nil, tenantml.AWSErrorf(tenantml.EFORBIDDEN, "AccessDeniedException", "%s belongs to no tenant: KMS keys belong to tenants, so only a tenant's principals can use the KMS API", c.ARN)
		}
		in := api.Input[request](r)
		out := &api.Target{Resource: authz.Resource{ARN: "*"}, Context: in.conditionKeys()}
		ident := ""
		if key != nil {
			ident = key(in)
		}
		if ident == "" {
			return out, nil
		}
		k := s.Keys.InAccount(c.Account)
		if in.KeyID == "" && in.SourceKeyID == "" && len(in.CiphertextBlob) > 0 {
			// The key a ciphertext records, in whichever account it is
			// (its policy decides whether the caller may use it).
			acct, err := k.KeyAccount(r.Context(), t, ident)
			if err != nil {
				return nil, err
			}
			ident = k.InAccount(acct).KeyARN(ident)
		}
		m, err := k.DescribeKey(r.Context(), t, ident)
		if err != nil {
			return nil, err
		}
		doc, err := k.GetKeyPolicy(r.Context(), t, m.Arn, "default")
		if err != nil {
			return nil, err
		}
		pol, err := s.Policies.Parse(doc, iam.KindResource)
		if err != nil {
			return nil, fmt.Errorf("key policy of %s: %w", m.Arn, err)
		}
		tags, err := k.ListResourceTags(r.Context(), t, m.Arn)
		if err != nil {
			return nil, err
		}
		rt := map[string]string{tenant.TagKey: t}
		for _, g := range tags {
			rt[g.Key] = g.Value
		}
		rt[tenant.TagKey] = t
		out.Resource = authz.Resource{ARN: m.Arn, Tenant: t, Tags: rt, Policy: pol}
		return out, nil
	}
}

// handle runs h for the caller's tenant and writes its JSON 1.1 answer.
func (s *Surface) handle(h handler) func(http.ResponseWriter, *http.Request, *authn.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
		out, err := h(r.Context(), s.Keys.InAccount(c.Account), c.TenantID, api.Input[request](r))
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusOK)
		if err := json.NewEncoder(w).Encode(out); err != nil {
			return &tenantml.Error{Code: tenantml.EINTERNAL, Message: "internal error", Err: err}
		}
		return nil
	}
}

// conditionKeys are the request's tag condition keys.
func (in *request) conditionKeys() iam.Context {
	var ctx iam.Context
	keys := make([]string, 0, len(in.Tags)+len(in.TagKeys))
	for _, t := range in.Tags {
		ctx = append(ctx, iam.Single("aws:RequestTag/"+t.TagKey, t.TagValue))
		keys = append(keys, t.TagKey)
	}
	keys = append(keys, in.TagKeys...)
	if len(keys) > 0 {
		ctx = append(ctx, iam.Multi("aws:TagKeys", keys...))
	}
	return ctx
}
