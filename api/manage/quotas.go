package manage

import (
	"net/http"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/quota"
)

// Quotas serves the tiers and tenants' quotas:
//
//	POST  /api/v1/tiers                 tenantml:CreateTier
//	GET   /api/v1/tiers                 tenantml:ListTiers
//	GET   /api/v1/tiers/{name}          tenantml:GetTier
//	PATCH /api/v1/tiers/{name}          tenantml:UpdateTier (fields given replace the tier's)
//	GET   /api/v1/tenants/{id}/quotas   tenantml:GetTenantQuotas (effective limits and overrides)
//	PUT   /api/v1/tenants/{id}/quotas   tenantml:SetTenantQuotas (replaces the overrides)
//
// Tiers are the platform's (arn:aws:tenantml:<region>:<account>:tier/<name>);
// a tenant's quotas are its tenant resource. Another tenant's quotas answer
// a tenant principal exactly as a missing tenant's. Whatever its policies
// allow, a tenant's principal never changes a tier or quotas: the actions
// that do are authz.PlatformOnly.
type Quotas struct {
	Service   *quota.Service
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// CreateTierInput is the body of POST /api/v1/tiers.
type CreateTierInput struct {
	Name   string       `json:"name"`
	Limits quota.Limits `json:"limits"`
}

// ListTiersOutput is the body of GET /api/v1/tiers.
type ListTiersOutput struct {
	Tiers []*quota.Tier `json:"tiers"`
}

// Register adds the quota routes to srv.
func (h *Quotas) Register(srv *api.Server) {
	p := h.Pipeline
	one := func(r *http.Request, _ *authn.Principal) (*api.Target, error) {
		return &api.Target{Resource: authz.Resource{ARN: h.tierARN(r.PathValue("name"))}}, nil
	}
	quotas := tenantTarget(func(r *http.Request) string { return h.tenantARN(r.PathValue("id")) }, "id")
	srv.Handle("POST /api/v1/tiers", p.Handler(api.Op{Action: "tenantml:CreateTier", Target: fixedTarget(h.tierARN("*")), Handle: h.createTier}))
	srv.Handle("GET /api/v1/tiers", p.Handler(api.Op{Action: "tenantml:ListTiers", Target: fixedTarget(h.tierARN("*")), Handle: h.listTiers}))
	srv.Handle("GET /api/v1/tiers/{name}", p.Handler(api.Op{Action: "tenantml:GetTier", Target: one, Handle: h.getTier}))
	srv.Handle("PATCH /api/v1/tiers/{name}", p.Handler(api.Op{Action: "tenantml:UpdateTier", Target: one, Handle: h.updateTier}))
	srv.Handle("GET /api/v1/tenants/{id}/quotas", p.Handler(api.Op{Action: "tenantml:GetTenantQuotas", Target: quotas, Handle: h.getQuotas}))
	srv.Handle("PUT /api/v1/tenants/{id}/quotas", p.Handler(api.Op{Action: "tenantml:SetTenantQuotas", Target: quotas, Handle: h.putQuotas}))
}

func (h *Quotas) tierARN(name string) string {
	return arn.New("tenantml", h.Region, h.AccountID, "tier/"+name).String()
}

func (h *Quotas) tenantARN(id string) string {
	return arn.New("tenantml", h.Region, h.AccountID, "tenant/"+id).String()
}

func (h *Quotas) createTier(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	var in CreateTierInput
	if err := api.DecodeJSON(r, &in); err != nil {
		return err
	}
	t := &quota.Tier{Name: in.Name, Limits: in.Limits}
	if err := h.Service.CreateTier(r.Context(), t); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tiers/"+t.Name)
	api.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (h *Quotas) listTiers(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	all, err := h.Service.ListTiers(r.Context())
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, ListTiersOutput{Tiers: all})
	return nil
}

func (h *Quotas) getTier(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	t, err := h.Service.FindTier(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *Quotas) updateTier(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	var change quota.Limits
	if err := api.DecodeJSON(r, &change); err != nil {
		return err
	}
	t, err := h.Service.UpdateTier(r.Context(), r.PathValue("name"), change)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *Quotas) getQuotas(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	e, err := h.Service.Describe(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, e)
	return nil
}

func (h *Quotas) putQuotas(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	var l quota.Limits
	if err := api.DecodeJSON(r, &l); err != nil {
		return err
	}
	e, err := h.Service.SetOverrides(r.Context(), r.PathValue("id"), l)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, e)
	return nil
}
