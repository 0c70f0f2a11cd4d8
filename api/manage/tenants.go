package manage

import (
	"net/http"
	"strconv"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
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
	collection := func(*http.Request) string { return h.arn("*") }
	one := func(r *http.Request) string { return h.arn(r.PathValue("id")) }
	id := func(r *http.Request) string { return r.PathValue("id") }
	srv.Handle("POST /api/v1/tenants", p.Handler(api.Op{Action: "tenantml:CreateTenant", Resource: collection, Handle: h.create}))
	srv.Handle("GET /api/v1/tenants", p.Handler(api.Op{Action: "tenantml:ListTenants", Resource: collection, Handle: h.list}))
	srv.Handle("GET /api/v1/tenants/{id}", p.Handler(api.Op{Action: "tenantml:GetTenant", Resource: one, TenantID: id, Handle: h.get}))
	srv.Handle("PATCH /api/v1/tenants/{id}", p.Handler(api.Op{Action: "tenantml:UpdateTenant", Resource: one, TenantID: id, Handle: h.update}))
	srv.Handle("POST /api/v1/tenants/{id}/suspend", p.Handler(api.Op{Action: "tenantml:SuspendTenant", Resource: one, TenantID: id, Handle: h.status(tenant.Suspended)}))
	srv.Handle("POST /api/v1/tenants/{id}/resume", p.Handler(api.Op{Action: "tenantml:ResumeTenant", Resource: one, TenantID: id, Handle: h.status(tenant.Active)}))
	srv.Handle("DELETE /api/v1/tenants/{id}", p.Handler(api.Op{Action: "tenantml:DeleteTenant", Resource: one, TenantID: id, Handle: h.status(tenant.PendingDeletion)}))
}

func (h *Tenants) arn(id string) string {
	return "arn:aws:tenantml:" + h.Region + ":" + h.AccountID + ":tenant/" + id
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

func (h *Tenants) list(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
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
