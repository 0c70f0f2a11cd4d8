package manage

import (
	"context"
	"net/http"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/tenant"
)

// ActionGetUsage is the IAM action of the usage API, on the tenant's ARN
// (arn:aws:tenantml:<region>:<account>:tenant/<id>), or tenant/* for
// every tenant's.
const ActionGetUsage = "tenantml:GetUsage"

// DefaultMaxUsageRange is the longest range one usage query covers.
const DefaultMaxUsageRange = 366 * 24 * time.Hour

// Usage serves the usage reports: GET /api/v1/tenants/{id}/usage (one
// tenant) and GET /api/v1/usage (every tenant the caller may see: the
// operator's all, a tenant principal's only its own), with ?from=&to= and
// ?format=json (default) or csv.
//
// A tenant principal naming another tenant is answered by the pipeline
// exactly as for a tenant that does not exist.
type Usage struct {
	Tenants tenant.Service
	Records metering.Store
	// Sync, when set, meters what this server has recorded so far before
	// a report is read, so that a report includes every request answered
	// before it.
	Sync func(ctx context.Context) error
	// Prices returns the current price sheet; nil prices nothing.
	Prices func() (*metering.PriceSheet, error)
	// MaxRange bounds a query's range; default DefaultMaxUsageRange.
	MaxRange  time.Duration
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// Register adds the usage routes to srv.
func (h *Usage) Register(srv *api.Server) {
	p := h.Pipeline
	t := &Tenants{Region: h.Region, AccountID: h.AccountID}
	one := tenantTarget(func(r *http.Request) string { return t.arn(r.PathValue("id")) }, "id")
	srv.Handle("GET /api/v1/tenants/{id}/usage", p.Handler(api.Op{Action: ActionGetUsage, Target: one, Handle: h.tenantUsage}))
	srv.Handle("GET /api/v1/usage", p.Handler(api.Op{Action: ActionGetUsage, Target: fixedTarget(t.arn("*")), Handle: h.allUsage}))
}

func (h *Usage) tenantUsage(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	t, err := h.Tenants.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.report(w, r, metering.Filter{TenantID: t.ID}, map[string]map[string]string{t.ID: t.Tags})
}

// allUsage reports every tenant's usage to the operator, and only its own
// to a tenant principal.
func (h *Usage) allUsage(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	if c.TenantID != "" {
		t, err := h.Tenants.FindTenant(r.Context(), c.TenantID)
		if err != nil {
			return err
		}
		return h.report(w, r, metering.Filter{TenantID: t.ID}, map[string]map[string]string{t.ID: t.Tags})
	}
	tags := map[string]map[string]string{}
	f := tenant.Filter{Limit: 1000}
	for {
		ts, next, err := h.Tenants.ListTenants(r.Context(), f)
		if err != nil {
			return err
		}
		for _, t := range ts {
			tags[t.ID] = t.Tags
		}
		if next == "" {
			break
		}
		f.After = next
	}
	return h.report(w, r, metering.Filter{AllTenants: true}, tags)
}

func (h *Usage) report(w http.ResponseWriter, r *http.Request, f metering.Filter, tags map[string]map[string]string) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return tenantml.Errorf(tenantml.EINVALID, "format %q: want json or csv", truncateParam(format))
	}
	maxRange := h.MaxRange
	if maxRange <= 0 {
		maxRange = DefaultMaxUsageRange
	}
	from, to, err := metering.ParseRange(q.Get("from"), q.Get("to"), maxRange)
	if err != nil {
		return err
	}
	f.From, f.To = from, to
	ps := metering.DefaultPriceSheet()
	if h.Prices != nil {
		if ps, err = h.Prices(); err != nil {
			return &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "the price sheet cannot be read; the operator must fix it", Err: err}
		}
	}
	if h.Sync != nil {
		if err := h.Sync(r.Context()); err != nil {
			return &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "usage cannot be brought up to date now; retry", Err: err}
		}
	}
	recs, err := h.Records.Records(r.Context(), f)
	if err != nil {
		return err
	}
	rep := metering.Build(recs, tags, ps, from, to)
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return rep.WriteCSV(w)
	}
	api.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// truncateParam bounds a query parameter quoted in an error message.
func truncateParam(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}
