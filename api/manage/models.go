package manage

import (
	"context"
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/serving/onboard"
	"github.com/tenantml/tenantml/tenant"
)

// Models serves the onboarding of tenants' models:
//
//	POST /api/v1/tenants/{id}/models      tenantml:DeployModel (body: model.tar.gz, streamed)
//	POST /api/v1/tenants/{id}/isolation   tenantml:SetTenantIsolation ({"isolation": "silo"|"pool"|"bridge"})
//
// on arn:aws:tenantml:<region>:<account>:tenant/<id>. A deployment does for
// the tenant's isolation model what the seed scenario does by hand
// (serving/onboard) and answers once the model serves.
type Models struct {
	Tenants interface {
		FindTenant(ctx context.Context, id string) (*tenant.Tenant, error)
	}
	Deployer  *onboard.Deployer
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
	// MaxModelBytes bounds an uploaded model; default api.DefaultMaxBodyBytes.
	MaxModelBytes int64
}

// SetIsolationInput is the body of POST /api/v1/tenants/{id}/isolation.
type SetIsolationInput struct {
	Isolation tenant.Isolation `json:"isolation"`
}

// Register adds the model routes to srv.
func (h *Models) Register(srv *api.Server) {
	one := tenantTarget(func(r *http.Request) string {
		return arn.New("tenantml", h.Region, h.AccountID, "tenant/"+r.PathValue("id")).String()
	}, "id")
	limit := h.MaxModelBytes
	if limit <= 0 {
		limit = api.DefaultMaxBodyBytes
	}
	srv.HandleWithLimit("POST /api/v1/tenants/{id}/models", limit, h.Pipeline.Handler(api.Op{Action: "tenantml:DeployModel", Target: one, Handle: h.deploy}))
	srv.Handle("POST /api/v1/tenants/{id}/isolation", h.Pipeline.Handler(api.Op{Action: "tenantml:SetTenantIsolation", Target: one, Handle: h.setIsolation}))
}

func (h *Models) deploy(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	t, err := h.Tenants.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if r.ContentLength <= 0 {
		return tenantml.Errorf(tenantml.EINVALID, "send the model.tar.gz as the request body with its Content-Length")
	}
	res, err := h.Deployer.Deploy(r.Context(), t, r.Body, artifact.Checks{ContentLength: r.ContentLength, SHA256: r.Header.Get(SHA256Header), MaxSize: h.MaxModelBytes})
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, res)
	return nil
}

func (h *Models) setIsolation(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	var in SetIsolationInput
	if err := api.DecodeJSON(r, &in); err != nil {
		return err
	}
	t, err := h.Tenants.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	res, err := h.Deployer.SetIsolation(r.Context(), t, in.Isolation)
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, res)
	return nil
}
