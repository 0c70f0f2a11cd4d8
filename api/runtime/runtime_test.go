package runtime_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/runtime"
	"github.com/tenantml/tenantml/api/runtime/runtimetest"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/serving"
)

const (
	acct   = runtimetest.Account
	region = runtimetest.Region
)

// fakeData serves fixed live endpoints and echoes what it was asked.
type fakeData struct {
	mu      sync.Mutex
	eps     map[string]*serving.LiveEndpoint
	invoked []string
}

func (f *fakeData) Endpoint(_, name string) (*serving.LiveEndpoint, bool) {
	ep, ok := f.eps[strings.ToLower(name)]
	return ep, ok
}

// ResolveModel owns "<tenant>.tar.gz" objects by their tenant.
func (f *fakeData) ResolveModel(_ context.Context, _ *serving.LiveEndpoint, target string) (string, bool, error) {
	owner, ok := strings.CutSuffix(target, ".tar.gz")
	if !ok || (owner != "acme" && owner != "globex") {
		return "", false, nil
	}
	return owner, true, nil
}

func (f *fakeData) Invoke(_ context.Context, ep *serving.LiveEndpoint, in *serving.InvokeInput) (*serving.InvokeOutput, error) {
	if ep.Multi {
		if _, ok, _ := f.ResolveModel(context.Background(), ep, in.TargetModel); !ok {
			return nil, serving.ErrModelNotFound(ep.Name, in.TargetModel)
		}
	}
	f.mu.Lock()
	f.invoked = append(f.invoked, ep.Name+"|"+in.TargetModel)
	f.mu.Unlock()
	return &serving.InvokeOutput{Variant: "AllTraffic", ContentType: "text/csv", Body: []byte(ep.Name + "|" + in.TargetModel + "|" + string(in.Body)),
		ModelLatency: 2 * time.Millisecond}, nil
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, *api.AuditRecord) error { return nil }

type sessions = runtimetest.Sessions

func session(role, tenant string) *authn.Principal { return runtimetest.Session(role, tenant) }

// TestSurface_IsolationModels runs the seed's policies verbatim through
// the pipeline and the IAM engine: each tenant invokes its own model in
// silo, pool and bridge, and every cross-tenant call is refused with
// AccessDeniedException before the data plane sees it.
func TestSurface_IsolationModels(t *testing.T) {
	engine := runtimetest.Engine(t,
		runtimetest.Role{Name: "acme-silo", Tenant: "acme", Policy: runtimetest.Silo("acme")},
		runtimetest.Role{Name: "globex-silo", Tenant: "globex", Policy: runtimetest.Silo("globex")},
		runtimetest.Role{Name: "pool-invoke", Policy: runtimetest.PoolPolicy},
		runtimetest.Role{Name: "bridge-invoke", Policy: runtimetest.BridgePolicy},
		// A wrong (too open) pool policy: the data plane still holds the line.
		runtimetest.Role{Name: "pool-open", Policy: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`},
	)

	data := &fakeData{eps: map[string]*serving.LiveEndpoint{}}
	for _, e := range []struct {
		name, tenant string
		multi        bool
	}{{"acme", "acme", false}, {"globex", "globex", false}, {"pool-endpoint", "", true}} {
		data.eps[e.name] = &serving.LiveEndpoint{AccountID: acct, Name: e.name, ARN: serving.ARN(region, acct, serving.KindEndpoint, e.name), Tenant: e.tenant, Multi: e.multi,
			Variants: []serving.LiveVariant{{Name: "AllTraffic", Weight: 1}}}
	}
	callers := sessions{
		"silo/acme": session("acme-silo", "acme"), "silo/globex": session("globex-silo", "globex"),
		"pool/acme": session("pool-invoke", "acme"), "pool/globex": session("pool-invoke", "globex"), "pool/none": session("pool-invoke", ""),
		"open/acme":   session("pool-open", "acme"),
		"bridge/acme": session("bridge-invoke", "acme"), "bridge/globex": session("bridge-invoke", "globex"), "bridge/none": session("bridge-invoke", ""),
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &api.Pipeline{Authn: callers, Authz: engine, Audit: nopAudit{}, Log: log, Now: time.Now}
	srv := api.NewServer(log, nil)
	(&runtime.Surface{Data: data, Pipeline: p, Region: region, AccountID: acct}).Register(srv)

	invoke := func(caller, endpoint, target string) (int, string, string) {
		r := httptest.NewRequest("POST", "/endpoints/"+endpoint+"/invocations", strings.NewReader("1,2,3"))
		r.Header.Set("Content-Type", "text/csv")
		r.Header.Set(runtimetest.CallerHeader, caller)
		if target != "" {
			r.Header.Set(runtime.HeaderTargetModel, target)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code, w.Header().Get("X-Amzn-ErrorType"), w.Body.String()
	}
	tests := []struct {
		name, caller, endpoint, target string
		status                         int
		code                           string
	}{
		{"SiloOwn", "silo/acme", "acme", "", 200, ""},
		{"SiloOther", "silo/acme", "globex", "", 403, "AccessDeniedException"},
		{"SiloOtherOwnTenant", "silo/globex", "globex", "", 200, ""},
		{"PoolOwnModel", "pool/acme", "pool-endpoint", "acme.tar.gz", 200, ""},
		{"PoolOtherModel", "pool/acme", "pool-endpoint", "globex.tar.gz", 403, "AccessDeniedException"},
		{"PoolNoTargetModel", "pool/acme", "pool-endpoint", "", 403, "AccessDeniedException"},
		{"PoolNoTenant", "pool/none", "pool-endpoint", "acme.tar.gz", 403, "AccessDeniedException"},
		{"PoolTraversal", "pool/acme", "pool-endpoint", "acme.tar.gz/../globex.tar.gz", 400, "ValidationError"},
		{"PoolEncodedTraversal", "pool/acme", "pool-endpoint", "..%2Fglobex.tar.gz", 400, "ValidationError"},
		{"BridgeOwn", "bridge/acme", "acme", "", 200, ""},
		{"BridgeOther", "bridge/acme", "globex", "", 403, "AccessDeniedException"},
		{"BridgeNoTenant", "bridge/none", "acme", "", 403, "AccessDeniedException"},
		{"BridgeOtherGlobex", "bridge/globex", "acme", "", 403, "AccessDeniedException"},
		{"MissingEndpoint", "bridge/acme", "nowhere", "", 403, "AccessDeniedException"},
		{"OpenPolicyOwnModel", "open/acme", "pool-endpoint", "acme.tar.gz", 200, ""},
		{"OpenPolicyOtherTenantModel", "open/acme", "pool-endpoint", "globex.tar.gz", 400, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data.mu.Lock()
			before := len(data.invoked)
			data.mu.Unlock()
			status, code, body := invoke(tt.caller, tt.endpoint, tt.target)
			if status != tt.status || code != tt.code {
				t.Fatalf("= %d %s %s, want %d %s", status, code, body, tt.status, tt.code)
			}
			data.mu.Lock()
			reached := len(data.invoked) > before
			data.mu.Unlock()
			if reached != (tt.status == 200) {
				t.Fatalf("data plane reached = %v for status %d", reached, status)
			}
			if status == 200 && !strings.HasPrefix(body, tt.endpoint+"|"+tt.target+"|1,2,3") {
				t.Fatalf("body %q", body)
			}
		})
	}
	t.Run("OtherTenantModelAnswersAsMissing", func(t *testing.T) {
		s1, c1, b1 := invoke("open/acme", "pool-endpoint", "globex.tar.gz")
		s2, c2, b2 := invoke("open/acme", "pool-endpoint", "zzzz.tar.gz")
		norm := func(s, name string) string { return strings.ReplaceAll(s, name, "NAME") }
		if s1 != s2 || c1 != c2 || norm(b1, "globex") != norm(b2, "zzzz") {
			t.Fatalf("answers differ: %d %s %s / %d %s %s", s1, c1, b1, s2, c2, b2)
		}
	})
	t.Run("OtherTenantEndpointAnswersAsMissing", func(t *testing.T) {
		// A tenant principal allowed everything still cannot reach another
		// tenant's endpoint, and learns nothing from the answer.
		s1, c1, b1 := invoke("bridge/globex", "acme", "")
		s2, c2, b2 := invoke("bridge/globex", "nowhere", "")
		norm := func(s, name string) string { return strings.ReplaceAll(s, name, "NAME") }
		if s1 != s2 || c1 != c2 || norm(b1, "acme") != norm(b2, "nowhere") {
			t.Fatalf("answers differ: %d %s %s / %d %s %s", s1, c1, b1, s2, c2, b2)
		}
	})
}

// meterRecorder records what the meter observed.
type meterRecorder struct {
	mu  sync.Mutex
	got []string
}

func (m *meterRecorder) Invocation(mode serving.Mode, status int, model, overhead time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, string(mode)+" "+strconv.Itoa(status)+" "+model.String()+" "+overhead.String())
}

// TestSurface_Meter checks that InvokeEndpoint measures the invocations
// that reach a live endpoint (by the endpoint's mode, ModelLatency from the
// data plane, OverheadLatency the rest of the request's time) and not the
// ones refused before.
func TestSurface_Meter(t *testing.T) {
	data := &fakeData{eps: map[string]*serving.LiveEndpoint{
		"acme":          {AccountID: acct, Name: "acme", Tenant: "acme", Variants: []serving.LiveVariant{{Name: "AllTraffic", Weight: 1}}},
		"pool-endpoint": {AccountID: acct, Name: "pool-endpoint", Multi: true, Variants: []serving.LiveVariant{{Name: "AllTraffic", Weight: 1}}},
	}}
	callers := sessions{"root": {Type: authn.Root, Account: acct, ARN: "arn:aws:iam::" + acct + ":root"}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &api.Pipeline{Authn: callers, Authz: allowAll{}, Audit: nopAudit{}, Log: log, Now: time.Now}
	srv := api.NewServer(log, nil)
	rec := &meterRecorder{}
	var mu sync.Mutex
	clock := time.Unix(0, 0)
	tick := func() time.Time { // 10 ms a reading
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(10 * time.Millisecond)
		return clock
	}
	(&runtime.Surface{Data: data, Pipeline: p, Region: region, AccountID: acct, Meter: &runtime.Meter{Metrics: rec, Now: tick}}).Register(srv)
	invoke := func(caller, endpoint, target string) {
		r := httptest.NewRequest("POST", "/endpoints/"+endpoint+"/invocations", strings.NewReader("1,2,3"))
		r.Header.Set(runtimetest.CallerHeader, caller)
		if target != "" {
			r.Header.Set(runtime.HeaderTargetModel, target)
		}
		srv.ServeHTTP(httptest.NewRecorder(), r)
	}
	invoke("root", "acme", "")
	invoke("root", "pool-endpoint", "acme.tar.gz")
	invoke("root", "pool-endpoint", "nobody.tar.gz") // reaches the endpoint: a 400
	invoke("root", "nowhere", "")                    // no endpoint: not an invocation
	invoke("nobody", "acme", "")                     // unauthenticated
	want := []string{"SingleModel 200 2ms 8ms", "MultiModel 200 2ms 8ms", "MultiModel 400 0s 0s"}
	if !slices.Equal(rec.got, want) {
		t.Fatalf("meter saw %q, want %q", rec.got, want)
	}
}

// allowAll allows every request.
type allowAll struct{}

func (allowAll) Authorize(context.Context, *authz.Request) (authz.Decision, error) {
	return authz.Allow("test"), nil
}
