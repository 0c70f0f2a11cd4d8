package manage

import (
	"net/http"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/observe"
	"github.com/tenantml/tenantml/tenant"
)

// ActionGetTenantMetrics is the IAM action of the per-tenant metrics API,
// on the tenant's ARN.
const ActionGetTenantMetrics = "tenantml:GetTenantMetrics"

// Metrics serves GET /api/v1/tenants/{id}/metrics?window=<duration>: the
// tenant's requests, invocations, error rates, latency percentiles, model
// load times and throttles over the last window (1m to 1h, default 1h) on
// this server. Readable by the tenant's principals and the operator;
// another tenant's answers exactly as a tenant that does not exist.
type Metrics struct {
	Tenants   tenant.Service
	Tracker   *observe.Tracker
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// Register adds the metrics route to srv.
func (h *Metrics) Register(srv *api.Server) {
	t := &Tenants{Region: h.Region, AccountID: h.AccountID}
	one := tenantTarget(func(r *http.Request) string { return t.arn(r.PathValue("id")) }, "id")
	srv.Handle("GET /api/v1/tenants/{id}/metrics", h.Pipeline.Handler(api.Op{Action: ActionGetTenantMetrics, Target: one, Handle: h.get}))
}

func (h *Metrics) get(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	window := observe.Window
	if s := r.URL.Query().Get("window"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Minute || d > observe.Window || d%time.Minute != 0 {
			return tenantml.Errorf(tenantml.EINVALID, "window %q: want whole minutes from 1m to 1h, such as 5m or 1h", truncateParam(s))
		}
		window = d
	}
	t, err := h.Tenants.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, h.Tracker.Snapshot(t.ID, window))
	return nil
}
