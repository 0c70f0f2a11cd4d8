package manage

import (
	"encoding/json"
	"errors"
	"maps"
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
//
// A tenant never sees a global position in the log: its events come
// without seq, its page tokens are sealed (PageTokens), and it proves an
// event by eventId; only the proof itself carries the event's position and
// a checkpointed tree size, which verifying it needs (docs/audit.md,
// "What a tenant learns from proofs").
type Audit struct {
	Log *audit.Log
	// Tokens seals the lookups' page tokens; required.
	Tokens    *PageTokens
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// AuditEvent is an event as the audit API returns it: the audit.Event with
// Seq, its position in the whole log, only in the operator's views. For a
// tenant Seq is nil and "seq" is left out of the JSON (this field shadows
// audit.Event's), as is the firing event's seq of alerts recorded before
// alerts named it by ID.
type AuditEvent struct {
	audit.Event
	// Seq is the event's position in the log; operator views only.
	Seq *int64 `json:"seq,omitempty"`
}

// LookupEventsOutput is the body of GET /api/v1/audit/events.
type LookupEventsOutput struct {
	Events []AuditEvent `json:"events"`
	// NextToken continues the lookup: opaque, valid for the same caller
	// and filter for DefaultPageTokenTTL.
	NextToken string `json:"nextToken,omitempty"`
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

// callerScope is whose token a caller holds: its tenant, or the
// operator's (all tenants). It differs from the read scope when the
// operator reads one tenant.
func callerScope(c *authn.Principal) audit.Scope {
	if c.TenantID != "" {
		return audit.Scope{TenantID: c.TenantID}
	}
	return audit.Scope{AllTenants: true}
}

// view is ev as caller may see it.
func view(caller audit.Scope, ev audit.Event) AuditEvent {
	v := AuditEvent{Event: ev}
	if caller.AllTenants {
		v.Seq = &ev.Seq
		return v
	}
	v.Event.Seq = 0
	if _, ok := ev.AdditionalEventData["eventSeq"]; ok && ev.EventType == audit.TypeAlert {
		extra := maps.Clone(ev.AdditionalEventData)
		delete(extra, "eventSeq")
		v.AdditionalEventData = extra
	}
	return v
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
		return tenantml.Errorf(tenantml.EINVALID, "%s", invalidTokenMessage)
	case errors.Is(err, audit.ErrUnavailable), errors.Is(err, audit.ErrClosed):
		return &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "the audit log is unavailable", Err: err}
	}
	return err
}

// invalidTokenMessage answers every nextToken that does not open, whatever
// the reason, so that the answer is no oracle.
const invalidTokenMessage = "nextToken is not valid: it was issued to another caller or for another lookup, was altered, or has expired; repeat the lookup without it"

func (h *Audit) lookup(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	s, ok, err := h.scope(c, r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	f, err := filter(r, s)
	if err != nil {
		return err
	}
	if h.Tokens == nil {
		return errors.New("audit lookup: no page token sealer configured")
	}
	caller := callerScope(c)
	if tok := r.URL.Query().Get("nextToken"); tok != "" {
		cur, err := h.Tokens.Open(caller, f, tok)
		if err != nil {
			return readError(err)
		}
		f.Cursor = &cur
	}
	out := LookupEventsOutput{Events: []AuditEvent{}}
	if ok {
		page, err := h.Log.Lookup(r.Context(), f)
		if err != nil {
			return readError(err)
		}
		for _, ev := range page.Events {
			out.Events = append(out.Events, view(caller, ev))
		}
		if page.Next != nil {
			if out.NextToken, err = h.Tokens.Seal(caller, f, *page.Next); err != nil {
				return err
			}
		}
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
	caller := callerScope(c)
	enc := json.NewEncoder(w)
	if _, err := h.Log.Each(r.Context(), f, func(ev audit.Event) error { return enc.Encode(view(caller, ev)) }); err != nil {
		return readError(err)
	}
	return nil
}

// maxEventIDLen bounds ?eventId= (event IDs are 36-character UUIDs).
const maxEventIDLen = 128

// inclusion proves one event, named by eventId (anyone) or seq (the
// operator only: a tenant is never asked for a global position).
func (h *Audit) inclusion(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	s, ok, err := h.scope(c, r.URL.Query().Get("tenant"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	id, bySeq := q.Get("eventId"), q.Has("seq")
	switch {
	case id != "" && bySeq:
		return tenantml.Errorf(tenantml.EINVALID, "give eventId or seq, not both")
	case bySeq && !callerScope(c).AllTenants:
		return tenantml.Errorf(tenantml.EINVALID, "seq is the operator's; prove an event by eventId")
	case id == "" && !bySeq:
		return tenantml.Errorf(tenantml.EINVALID, "eventId is required")
	case len(id) > maxEventIDLen:
		return tenantml.Errorf(tenantml.EINVALID, "eventId is longer than %d characters", maxEventIDLen)
	}
	var seq int64
	if bySeq {
		if seq, err = queryInt(r, "seq", true); err != nil {
			return err
		}
	}
	size, err := queryInt(r, "treeSize", false)
	if err != nil {
		return err
	}
	if !ok {
		return readError(audit.ErrNotFound)
	}
	var p audit.InclusionProof
	if bySeq {
		p, err = h.Log.InclusionProof(r.Context(), s, seq, size)
	} else {
		p, err = h.Log.InclusionProofByID(r.Context(), s, id, size)
	}
	if err != nil {
		return readError(err)
	}
	api.WriteJSON(w, http.StatusOK, p)
	return nil
}

func (h *Audit) consistency(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	s, _, err := h.scope(c, "")
	if err != nil {
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
	p, err := h.Log.ConsistencyProof(r.Context(), s, oldSize, newSize)
	if errors.Is(err, audit.ErrNotFound) {
		limit := "the log's size"
		if !s.AllTenants {
			limit = "the latest checkpoint's size"
		}
		return tenantml.Errorf(tenantml.EINVALID, "old %d and new %d must satisfy old <= new <= %s", oldSize, newSize, limit)
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
