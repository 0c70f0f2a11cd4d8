package manage

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
)

// Audit serves the audit trail API: lookups, JSON-lines export, inclusion
// and consistency proofs and the latest signed checkpoint.
//
// Scope is decided here, from the authenticated caller, after IAM has
// allowed the action: a principal tagged TenantID (api.TenantTag) reads and
// proves only its own tenant's events; the account root (the operator)
// reads every event or filters by ?tenant=; any other principal (another
// account's root included) is refused.
// Naming another tenant in ?tenant= answers exactly as a tenant without
// events does (an empty page, a 404 proof), so nothing is learnt.
type Audit struct {
	Log       *audit.Log
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// LookupEventsOutput is the body of GET /api/v1/audit/events.
type LookupEventsOutput struct {
	Events    []audit.Event `json:"events"`
	NextToken string        `json:"nextToken,omitempty"`
}

// CheckpointOutput is the body of GET /api/v1/audit/checkpoint.
type CheckpointOutput struct {
	// Checkpoint is the signed note, verifiable with audit.OpenCheckpoint.
	Checkpoint string `json:"checkpoint"`
	// Size is the tree size it covers.
	Size int64 `json:"size"`
	// Number is the checkpoint's sequence number.
	Number int64 `json:"number"`
	// Time is when it was signed.
	Time time.Time `json:"time"`
}

// The IAM actions of the audit API.
const (
	ActionLookupEvents             = "cloudtrail:LookupEvents"
	ActionGetAuditInclusionProof   = "tenantml:GetAuditInclusionProof"
	ActionGetAuditConsistencyProof = "tenantml:GetAuditConsistencyProof"
	ActionGetAuditCheckpoint       = "tenantml:GetAuditCheckpoint"
)

// Register adds the audit routes to srv.
func (h *Audit) Register(srv *api.Server) {
	p := h.Pipeline
	trail := fixedTarget(h.TrailARN())
	srv.Handle("GET /api/v1/audit/events", p.Handler(api.Op{Action: ActionLookupEvents, Target: trail, Handle: h.lookup}))
	srv.Handle("GET /api/v1/audit/export", p.Handler(api.Op{Action: ActionLookupEvents, Target: trail, Handle: h.export}))
	srv.Handle("GET /api/v1/audit/proofs/inclusion", p.Handler(api.Op{Action: ActionGetAuditInclusionProof, Target: trail, Handle: h.inclusion}))
	srv.Handle("GET /api/v1/audit/proofs/consistency", p.Handler(api.Op{Action: ActionGetAuditConsistencyProof, Target: trail, Handle: h.consistency}))
	srv.Handle("GET /api/v1/audit/checkpoint", p.Handler(api.Op{Action: ActionGetAuditCheckpoint, Target: trail, Handle: h.checkpoint}))
}

// TrailARN is the resource every audit action applies to.
func (h *Audit) TrailARN() string {
	return arn.New("cloudtrail", h.Region, h.AccountID, "trail/tenantml").String()
}

// scope returns the caller's read scope and, for a tenant caller that named
// another tenant, ok=false: the caller must get the answer of an empty
// tenant.
func (h *Audit) scope(c *authn.Principal, requested string) (s audit.Scope, ok bool, err error) {
	if t := c.TenantID; t != "" {
		return audit.Scope{TenantID: t}, requested == "" || requested == t, nil
	}
	if c.Type != authn.Root || c.Account != h.AccountID {
		return audit.Scope{}, false, tenantml.Errorf(tenantml.EFORBIDDEN, "audit reads need a principal of a tenant or the account root")
	}
	if requested != "" {
		return audit.Scope{TenantID: requested}, true, nil
	}
	return audit.Scope{AllTenants: true}, true, nil
}

// filter decodes the lookup query parameters.
func filter(r *http.Request, s audit.Scope) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{
		TenantID:     s.TenantID,
		AllTenants:   s.AllTenants,
		PrincipalARN: q.Get("principal"),
		EventName:    q.Get("action"),
		Effect:       audit.Effect(q.Get("decision")),
		PageToken:    q.Get("nextToken"),
	}
	if f.Effect != "" && f.Effect != audit.Denied && !f.Effect.Valid() {
		return f, tenantml.Errorf(tenantml.EINVALID, "decision %q must be Allowed, ExplicitlyDenied, ImplicitlyDenied or Denied", f.Effect)
	}
	var err error
	if f.StartTime, err = queryTime(q.Get("start"), "start"); err != nil {
		return f, err
	}
	if f.EndTime, err = queryTime(q.Get("end"), "end"); err != nil {
		return f, err
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return f, tenantml.Errorf(tenantml.EINVALID, "limit %q must be a number from 1 to 1000", v)
		}
		f.Limit = n
	}
	switch o := q.Get("order"); o {
	case "", "newest":
	case "oldest":
		f.OldestFirst = true
	default:
		return f, tenantml.Errorf(tenantml.EINVALID, "order %q must be newest or oldest", o)
	}
	return f, nil
}

func queryTime(v, name string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, tenantml.Errorf(tenantml.EINVALID, "%s %q is not an RFC 3339 time", name, v)
	}
	return t, nil
}

func queryInt(r *http.Request, name string, required bool) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if required {
			return 0, tenantml.Errorf(tenantml.EINVALID, "%s is required", name)
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, tenantml.Errorf(tenantml.EINVALID, "%s %q must be a non-negative integer", name, v)
	}
	return n, nil
}

// readError maps the audit package's read errors to API errors.
func readError(err error) error {
	switch {
	case errors.Is(err, audit.ErrNotFound):
		return tenantml.Errorf(tenantml.ENOTFOUND, "audit event not found")
	case errors.Is(err, audit.ErrInvalidPageToken):
		return tenantml.Errorf(tenantml.EINVALID, "nextToken is not valid for this lookup")
	case errors.Is(err, audit.ErrUnavailable), errors.Is(err, audit.ErrClosed):
		return &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "the audit log is unavailable", Err: err}
	}
	return err
}

func (h *Audit) lookup(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	s, ok, err := h.scope(c, r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	f, err := filter(r, s)
	if err != nil {
		return err
	}
	out := LookupEventsOutput{Events: []audit.Event{}}
	if ok {
		page, err := h.Log.Lookup(r.Context(), f)
		if err != nil {
			return readError(err)
		}
		if page.Events != nil {
			out.Events = page.Events
		}
		out.NextToken = page.NextPageToken
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (h *Audit) export(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	s, ok, err := h.scope(c, r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	f, err := filter(r, s)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	if !ok {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	if _, err := h.Log.ExportJSONLines(r.Context(), w, f); err != nil {
		return readError(err)
	}
	return nil
}

func (h *Audit) inclusion(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	s, ok, err := h.scope(c, r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	seq, err := queryInt(r, "seq", true)
	if err != nil {
		return err
	}
	size, err := queryInt(r, "treeSize", false)
	if err != nil {
		return err
	}
	if !ok {
		return readError(audit.ErrNotFound)
	}
	p, err := h.Log.InclusionProof(r.Context(), s, seq, size)
	if err != nil {
		return readError(err)
	}
	api.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h *Audit) consistency(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	if _, _, err := h.scope(c, ""); err != nil {
		return err
	}
	oldSize, err := queryInt(r, "old", true)
	if err != nil {
		return err
	}
	if oldSize == 0 {
		return tenantml.Errorf(tenantml.EINVALID, "old must be at least 1: every tree extends the empty one")
	}
	newSize, err := queryInt(r, "new", false)
	if err != nil {
		return err
	}
	p, err := h.Log.ConsistencyProof(r.Context(), oldSize, newSize)
	if errors.Is(err, audit.ErrNotFound) {
		return tenantml.Errorf(tenantml.EINVALID, "old %d and new %d must satisfy old <= new <= the log's size", oldSize, newSize)
	}
	if err != nil {
		return readError(err)
	}
	api.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h *Audit) checkpoint(w http.ResponseWriter, _ *http.Request, c *authn.Principal) error {
	if _, _, err := h.scope(c, ""); err != nil {
		return err
	}
	cp, msg := h.Log.LatestCheckpoint()
	if msg == nil {
		return tenantml.Errorf(tenantml.EUNAVAILABLE, "no checkpoint has been signed yet")
	}
	api.WriteJSON(w, http.StatusOK, CheckpointOutput{Checkpoint: string(msg), Size: cp.Size, Number: cp.Number, Time: cp.Time})
	return nil
}
