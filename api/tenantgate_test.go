package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
)

// taggedAuthn authenticates every request as an IAM user tagged with a
// tenant (none when empty).
type taggedAuthn struct{ tenant string }

func (a taggedAuthn) Authenticate(*http.Request) (*authn.Principal, error) {
	p := &authn.Principal{Type: authn.IAMUser, Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/u"}
	if a.tenant != "" {
		p.Tags = map[string]string{api.TenantTag: a.tenant}
	}
	return p, nil
}

type allowAll struct{ asked int }

func (a *allowAll) Authorize(context.Context, *authn.Principal, string, string) (api.Decision, error) {
	a.asked++
	return api.Decision{Effect: "Allowed"}, nil
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
		{name: "TargetSuspendedIsNotTheGatesBusiness", caller: "acme", target: "globex", status: 200, wantAsked: []string{"acme"}, wantHandled: true},
		{name: "UntaggedCallerNotAsked", caller: "", target: "globex", status: 200, wantHandled: true},
		{name: "ErrGateFailsClosed", caller: "acme", target: "acme", gateErr: errors.New("db down"), status: 503, code: tenantml.EUNAVAILABLE, wantAsked: []string{"acme"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log := slog.New(slog.NewJSONHandler(io.Discard, nil))
			gate := &fakeGate{inactive: map[string]bool{"globex": true}, err: tc.gateErr}
			authz := &allowAll{}
			rec := &recordingAuditor{}
			p := &api.Pipeline{Authn: taggedAuthn{tc.caller}, Authz: authz, Audit: rec, Log: log, Now: time.Now, Tenants: gate}
			handled := false
			srv := api.NewServer(log, nil)
			srv.Handle("GET /things", p.Handler(api.Op{
				Action:   "test:GetThing",
				Resource: func(*http.Request) string { return "arn:aws:test:us-east-1:" + testAccount + ":thing/" + tc.target },
				TenantID: func(*http.Request) string { return tc.target },
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
			if handled != tc.wantHandled || (authz.asked > 0) != tc.wantHandled {
				t.Fatalf("handled %v, authorizer asked %d times; want handled %v", handled, authz.asked, tc.wantHandled)
			}
			if len(gate.asked) != len(tc.wantAsked) || (len(gate.asked) > 0 && gate.asked[0] != tc.wantAsked[0]) {
				t.Fatalf("gate asked %v, want %v", gate.asked, tc.wantAsked)
			}
			r := rec.last(t)
			if r.TenantSuspended != tc.suspended || api.EventFor(&r).TenantSuspended != tc.suspended {
				t.Fatalf("audit record TenantSuspended = %v, want %v", r.TenantSuspended, tc.suspended)
			}
			if !tc.wantHandled && r.Decision.Effect != "ImplicitlyDenied" {
				t.Fatalf("decision %+v, want ImplicitlyDenied", r.Decision)
			}
		})
	}
}
