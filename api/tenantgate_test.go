package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
)

// taggedAuthn authenticates every request as an IAM user tagged with a
// tenant (none when empty).
type taggedAuthn struct{ tenant string }

func (a taggedAuthn) Authenticate(*http.Request) (*authn.Principal, error) {
	p := &authn.Principal{Type: authn.IAMUser, Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/u"}
	if a.tenant != "" {
		p.TenantID = a.tenant
	}
	return p, nil
}

type allowAll struct{ asked int }

func (a *allowAll) Authorize(context.Context, *authz.Request) (authz.Decision, error) {
	a.asked++
	return authz.Allow("test"), nil
}

// fakeGate marks the tenants in inactive as not active, or fails.
type fakeGate struct {
	inactive map[string]bool
	err      error
	asked    []string
}

func (g *fakeGate) Inactive(_ context.Context, tenant string) (bool, error) {
	g.asked = append(g.asked, tenant)
	return g.inactive[tenant], g.err
}

// TestPipeline_TenantGate refuses the principals of inactive tenants before
// authorization, flags the audit record, fails closed when the status
// cannot be read, and looks only at the caller's own tenant.
func TestPipeline_TenantGate(t *testing.T) {
	cases := []struct {
		name        string
		caller      string // the caller's TenantID tag
		target      string // the resource's tenant
		gateErr     error
		status      int
		code        string
		suspended   bool
		wantAsked   []string
		wantHandled bool
	}{
		{name: "ActiveTenant", caller: "acme", target: "acme", status: 200, wantAsked: []string{"acme"}, wantHandled: true},
		{name: "ErrSuspendedTenant", caller: "globex", target: "globex", status: 403, code: tenantml.EFORBIDDEN, suspended: true, wantAsked: []string{"globex"}},
		{name: "ErrSuspendedCallerOtherTarget", caller: "globex", target: "acme", status: 403, code: tenantml.EFORBIDDEN, suspended: true, wantAsked: []string{"globex"}},
		{name: "SharedTargetNotAsked", caller: "acme", target: "", status: 200, wantAsked: []string{"acme"}, wantHandled: true},
		{name: "UntaggedCallerNotAsked", caller: "", target: "globex", status: 200, wantHandled: true},
		{name: "ErrGateFailsClosed", caller: "acme", target: "acme", gateErr: errors.New("db down"), status: 503, code: tenantml.EUNAVAILABLE, wantAsked: []string{"acme"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			gate := &fakeGate{inactive: map[string]bool{"globex": true}, err: tc.gateErr}
			az := &allowAll{}
			rec := &recordingAuditor{}
			p := &api.Pipeline{Authn: taggedAuthn{tc.caller}, Authz: az, Audit: rec, Log: log, Now: time.Now, Tenants: gate}
			handled := false
			srv := api.NewServer(log, nil)
			srv.Handle("GET /things", p.Handler(api.Op{
				Action: "test:GetThing",
				Target: func(*http.Request, *authn.Principal) (*api.Target, error) {
					return &api.Target{Resource: authz.Resource{ARN: "arn:aws:test:us-east-1:" + testAccount + ":thing/" + tc.target, Tenant: tc.target}}, nil
				},
				Handle: func(w http.ResponseWriter, _ *http.Request, _ *authn.Principal) error {
					handled = true
					api.WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
					return nil
				},
			}))
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest("GET", "/things", nil))
			if w.Code != tc.status {
				t.Fatalf("status %d (%s), want %d", w.Code, w.Body, tc.status)
			}
			if tc.code != "" && decodeError(t, w).Code != tc.code {
				t.Fatalf("code %s, want %s", decodeError(t, w).Code, tc.code)
			}
			if handled != tc.wantHandled || (az.asked > 0) != tc.wantHandled {
				t.Fatalf("handled %v, authorizer asked %d times; want handled %v", handled, az.asked, tc.wantHandled)
			}
			if len(gate.asked) != len(tc.wantAsked) || (len(gate.asked) > 0 && gate.asked[0] != tc.wantAsked[0]) {
				t.Fatalf("gate asked %v, want %v", gate.asked, tc.wantAsked)
			}
			r := rec.last(t)
			if r.TenantSuspended != tc.suspended || api.EventFor(&r).TenantSuspended != tc.suspended {
				t.Fatalf("audit record TenantSuspended = %v, want %v", r.TenantSuspended, tc.suspended)
			}
			if !tc.wantHandled && r.Decision.Effect.String() != "ImplicitlyDenied" {
				t.Fatalf("decision %+v, want ImplicitlyDenied", r.Decision)
			}
		})
	}
}

// TestPipeline_CrossTenantHidden checks the one place the tenant boundary
// is answered: a tenant principal's request for another tenant's resource
// is decided as for a missing resource and answered with the operation's
// not-found error without reaching the handler; the caller's event reads
// like the one of a missing resource, and the attempt is flagged for the
// operator only.
func TestPipeline_CrossTenantHidden(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	rec := &recordingAuditor{}
	p := &api.Pipeline{Authn: taggedAuthn{"acme"}, Authz: &allowAll{}, Audit: rec, Log: log, Now: time.Now}
	handled := 0
	srv := api.NewServer(log, nil)
	srv.Handle("GET /things/{owner}", p.Handler(api.Op{
		Action: "test:GetThing",
		Target: func(r *http.Request, _ *authn.Principal) (*api.Target, error) {
			owner := r.PathValue("owner")
			t := &api.Target{Resource: authz.Resource{ARN: "arn:aws:test:us-east-1:" + testAccount + ":thing/x", Tags: map[string]string{"TenantID": owner}},
				NotFound: tenantml.Errorf(tenantml.ENOTFOUND, "thing x not found")}
			if owner != "missing" {
				t.Tenant = owner
			}
			return t, nil
		},
		Handle: func(w http.ResponseWriter, _ *http.Request, _ *authn.Principal) error {
			handled++
			return tenantml.Errorf(tenantml.ENOTFOUND, "thing x not found")
		},
	}))
	answer := func(owner string) (int, string, api.AuditRecord) {
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, httptest.NewRequest("GET", "/things/"+owner, nil))
		body := w.Body.String()
		// Request IDs differ by request; everything else must not.
		return w.Code, strings.ReplaceAll(body, w.Header().Get("X-Request-Id"), "ID"), rec.last(t)
	}
	missingCode, missingBody, missingRec := answer("missing")
	if handled != 1 {
		t.Fatalf("handler ran %d times for a missing thing, want 1", handled)
	}
	otherCode, otherBody, otherRec := answer("globex")
	if handled != 1 {
		t.Fatal("the handler ran for another tenant's thing")
	}
	if otherCode != missingCode || otherBody != missingBody {
		t.Fatalf("another tenant's thing answers %d %s, a missing one %d %s", otherCode, otherBody, missingCode, missingBody)
	}
	if otherRec.TenantID != "acme" || otherRec.ErrorCode != missingRec.ErrorCode || otherRec.Resource != missingRec.Resource ||
		otherRec.Decision.Effect != missingRec.Decision.Effect {
		t.Fatalf("records differ: other %+v missing %+v", otherRec, missingRec)
	}
	if !otherRec.CrossTenant || otherRec.ResourceTenant != "globex" || missingRec.CrossTenant {
		t.Fatalf("cross-tenant flag: other %v/%q, missing %v", otherRec.CrossTenant, otherRec.ResourceTenant, missingRec.CrossTenant)
	}
	own := api.EventFor(&otherRec)
	if own.CrossTenant || own.TenantID != "acme" || strings.Contains(fmt.Sprint(own), "globex") {
		t.Fatalf("the caller's event reveals the other tenant: %+v", own)
	}
	op := api.CrossTenantEventFor(&otherRec)
	if !op.CrossTenant || op.TenantID != "" || op.AdditionalEventData["resourceTenantId"] != "globex" {
		t.Fatalf("operator event %+v", op)
	}
}
