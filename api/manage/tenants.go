package manage

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/tenant"
)

// Tenants serves the tenant registry API.
type Tenants struct {
	Service   tenant.Service
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// CreateTenantInput is the body of POST /api/v1/tenants.
type CreateTenantInput struct {
	ID          string            `json:"id"`
	DisplayName string            `json:"displayName"`
	Isolation   tenant.Isolation  `json:"isolation"`
	Tier        string            `json:"tier"`
	HomeRegion  string            `json:"homeRegion"`
	Tags        map[string]string `json:"tags"`
}

// ListTenantsOutput is the body of GET /api/v1/tenants.
type ListTenantsOutput struct {
	Tenants   []*tenant.Tenant `json:"tenants"`
	NextToken string           `json:"nextToken,omitempty"`
}

// Register adds the tenant routes to srv.
func (h *Tenants) Register(srv *api.Server) {
	p := h.Pipeline
	one := tenantTarget(func(r *http.Request) string { return h.arn(r.PathValue("id")) }, "id")
	srv.Handle("POST /api/v1/tenants", p.Handler(api.Op{Action: "tenantml:CreateTenant", Target: h.createTarget, Handle: h.create}))
	srv.Handle("GET /api/v1/tenants", p.Handler(api.Op{Action: "tenantml:ListTenants", Target: fixedTarget(h.arn("*")), Handle: h.list}))
	srv.Handle("GET /api/v1/tenants/{id}", p.Handler(api.Op{Action: "tenantml:GetTenant", Target: one, Handle: h.get}))
	srv.Handle("PATCH /api/v1/tenants/{id}", p.Handler(api.Op{Action: "tenantml:UpdateTenant", Target: one, Handle: h.update}))
	srv.Handle("POST /api/v1/tenants/{id}/suspend", p.Handler(api.Op{Action: "tenantml:SuspendTenant", Target: one, Handle: h.status(tenant.Suspended)}))
	srv.Handle("POST /api/v1/tenants/{id}/resume", p.Handler(api.Op{Action: "tenantml:ResumeTenant", Target: one, Handle: h.status(tenant.Active)}))
	srv.Handle("DELETE /api/v1/tenants/{id}", p.Handler(api.Op{Action: "tenantml:DeleteTenant", Target: one, Handle: h.status(tenant.PendingDeletion)}))
}

// createTarget names the tenant a CreateTenant body asks for, so that the
// event lands in the new tenant's trail with its parameters. The body is
// read (bounded by the route's limit) and restored for the handler.
func (h *Tenants) createTarget(r *http.Request, _ *authn.Principal) (*api.Target, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, api.DecodeError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	var in CreateTenantInput
	t := &api.Target{Resource: authz.Resource{ARN: h.arn("*")}}
	if json.Unmarshal(body, &in) != nil || tenant.ValidateID(in.ID) != nil {
		return t, nil // the handler reports what is wrong
	}
	t.ARN, t.Tenant, t.NotFound = h.arn(in.ID), in.ID, tenant.ErrNotFound(in.ID)
	t.Parameters = map[string]any{"id": in.ID, "isolation": in.Isolation, "tier": in.Tier, "homeRegion": in.HomeRegion}
	return t, nil
}

func (h *Tenants) arn(id string) string {
	return arn.New("tenantml", h.Region, h.AccountID, "tenant/"+id).String()
}

func (h *Tenants) create(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	var in CreateTenantInput
	if err := api.DecodeJSON(r, &in); err != nil {
		return err
	}
	t := &tenant.Tenant{ID: in.ID, DisplayName: in.DisplayName, Isolation: in.Isolation, Tier: in.Tier, HomeRegion: in.HomeRegion, Tags: in.Tags}
	if t.Isolation == "" {
		t.Isolation = tenant.Pool
	}
	if t.HomeRegion == "" {
		t.HomeRegion = h.Region
	}
	if err := h.Service.CreateTenant(r.Context(), t); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tenants/"+t.ID)
	api.WriteJSON(w, http.StatusCreated, t)
	return nil
}

func (h *Tenants) get(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	t, err := h.Service.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, t)
	return nil
}

// list lists the tenants; a principal of a tenant, whatever its policies
// allow, sees only its own (no page token: nothing of another tenant).
func (h *Tenants) list(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	q := r.URL.Query()
	f := tenant.Filter{After: q.Get("nextToken"), Status: tenant.Status(q.Get("status")), Isolation: tenant.Isolation(q.Get("isolation"))}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return tenantml.Errorf(tenantml.EINVALID, "limit %q is not a number", s)
		}
		f.Limit = n
	}
	if f.Isolation != "" {
		if err := tenant.ValidateIsolation(f.Isolation); err != nil {
			return err
		}
	}
	if c.TenantID != "" {
		out := []*tenant.Tenant{}
		t, err := h.Service.FindTenant(r.Context(), c.TenantID)
		if err != nil {
			return err
		}
		if (f.Status == "" || t.Status == f.Status) && (f.Isolation == "" || t.Isolation == f.Isolation) {
			out = append(out, t)
		}
		api.WriteJSON(w, http.StatusOK, ListTenantsOutput{Tenants: out})
		return nil
	}
	out, next, err := h.Service.ListTenants(r.Context(), f)
	if err != nil {
		return err
	}
	if out == nil {
		out = []*tenant.Tenant{}
	}
	api.WriteJSON(w, http.StatusOK, ListTenantsOutput{Tenants: out, NextToken: next})
	return nil
}

func (h *Tenants) update(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	var u tenant.Update
	if err := api.DecodeJSON(r, &u); err != nil {
		return err
	}
	t, err := h.Service.UpdateTenant(r.Context(), r.PathValue("id"), u)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, t)
	return nil
}

func (h *Tenants) status(to tenant.Status) func(http.ResponseWriter, *http.Request, *authn.Principal) error {
	return func(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
		t, err := h.Service.SetStatus(r.Context(), r.PathValue("id"), to)
		if err != nil {
			return err
		}
		status := http.StatusOK
		if to == tenant.PendingDeletion {
			status = http.StatusAccepted
		}
		api.WriteJSON(w, status, t)
		return nil
	}
}
