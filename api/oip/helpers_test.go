package oip_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/oip"
	"github.com/tenantml/tenantml/api/runtime"
	"github.com/tenantml/tenantml/api/runtime/runtimetest"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/serving"
)

const (
	acct   = runtimetest.Account
	region = runtimetest.Region
	// poolReadPolicy is Policy 2 with the metadata action docs/oip.md
	// documents added.
	poolReadPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sagemaker:InvokeEndpoint","sagemaker:DescribeEndpoint"],"Resource":"*",
		"Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`
)

// fakeData is a data plane whose models answer, per row, the sum of the
// row's values and the number of its missing values, as text/csv. Pool
// objects "<tenant>.tar.gz" of acme and globex exist, owned by their
// tenant.
type fakeData struct {
	mu      sync.Mutex
	eps     map[string]*serving.LiveEndpoint
	invoked []serving.InvokeInput
	loaded  map[string]bool // pool TargetModels loaded
	answer  func(in *serving.InvokeInput) (*serving.InvokeOutput, error)
}

func (f *fakeData) Endpoint(_, name string) (*serving.LiveEndpoint, bool) {
	ep, ok := f.eps[strings.ToLower(name)]
	return ep, ok
}

func (f *fakeData) ResolveModel(_ context.Context, _ *serving.LiveEndpoint, target string) (string, bool, error) {
	owner, ok := strings.CutSuffix(target, ".tar.gz")
	if !ok || (owner != "acme" && owner != "globex") {
		return "", false, nil
	}
	return owner, true, nil
}

func (f *fakeData) exists(ep *serving.LiveEndpoint, target string) error {
	if !ep.Multi {
		return nil
	}
	if _, ok, _ := f.ResolveModel(context.Background(), ep, target); !ok {
		return serving.ErrModelNotFound(ep.Name, target)
	}
	return nil
}

func (f *fakeData) Invoke(_ context.Context, ep *serving.LiveEndpoint, in *serving.InvokeInput) (*serving.InvokeOutput, error) {
	if err := f.exists(ep, in.TargetModel); err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.invoked = append(f.invoked, *in)
	answer := f.answer
	f.mu.Unlock()
	if answer != nil {
		return answer(in)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix(string(in.Body), "\n"), "\n") {
		sum, missing := 0.0, 0
		for _, field := range strings.Split(line, ",") {
			if field == "" {
				missing++
				continue
			}
			v, err := strconv.ParseFloat(field, 32)
			if err != nil {
				return nil, fmt.Errorf("fake model: %q: %w", field, err)
			}
			sum += v
		}
		fmt.Fprintf(&b, "%g,%d\n", sum, missing)
	}
	variant := in.TargetVariant
	if variant == "" {
		variant = ep.Variants[0].Name
	}
	return &serving.InvokeOutput{Variant: variant, ContentType: "text/csv", CustomAttributes: in.CustomAttributes, Body: []byte(b.String()),
		ModelLatency: 3 * time.Millisecond}, nil
}

func (f *fakeData) ModelState(_ context.Context, ep *serving.LiveEndpoint, _, target string) (serving.ModelState, error) {
	if err := f.exists(ep, target); err != nil {
		return "", err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !ep.Multi || f.loaded[target] {
		return serving.ModelReady, nil
	}
	return serving.ModelUnavailable, nil
}

func (f *fakeData) LoadModel(_ context.Context, ep *serving.LiveEndpoint, _, target string) error {
	if err := f.exists(ep, target); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ep.Multi {
		f.loaded[target] = true
	}
	return nil
}

func (f *fakeData) UnloadModel(_ context.Context, ep *serving.LiveEndpoint, _, target string) error {
	if err := f.exists(ep, target); err != nil {
		return err
	}
	if !ep.Multi {
		return fmt.Errorf("fake: single-model")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.loaded, target)
	return nil
}

func (f *fakeData) IndexModels(string) []serving.IndexedModel {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []serving.IndexedModel
	for _, ep := range []string{"acme", "globex"} {
		out = append(out, serving.IndexedModel{Endpoint: ep, Variant: "AllTraffic", Tenant: ep, State: serving.ModelReady})
	}
	for tm := range f.loaded {
		out = append(out, serving.IndexedModel{Endpoint: serving.PoolEndpointName, Variant: "AllTraffic", TargetModel: tm, Tenant: strings.TrimSuffix(tm, ".tar.gz"), State: serving.ModelReady})
	}
	return out
}

// recordingAuditor keeps every audit record.
type recordingAuditor struct {
	mu      sync.Mutex
	records []api.AuditRecord
}

func (a *recordingAuditor) Record(_ context.Context, rec *api.AuditRecord) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, *rec)
	return nil
}

// byRequest returns the record of a request ID.
func (a *recordingAuditor) byRequest(t *testing.T, id string) api.AuditRecord {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	var found []api.AuditRecord
	for _, r := range a.records {
		if r.RequestID == id {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d audit records for request %s, want 1", len(found), id)
	}
	return found[0]
}

func session(role, tenant string) *authn.Principal { return runtimetest.Session(role, tenant) }

// invocations records what the meter observed.
type invocations struct {
	mu  sync.Mutex
	got []string
}

func (m *invocations) Invocation(mode serving.Mode, status int, model, overhead time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.got = append(m.got, fmt.Sprintf("%s %d model=%v overhead>0=%v", mode, status, model, overhead > 0))
}

// fixture is the surface on a server with the seed's invoke roles in a
// real IAM engine, a fake data plane and a recording audit log.
type fixture struct {
	srv   *api.Server
	data  *fakeData
	audit *recordingAuditor
	meter *invocations
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	engine := runtimetest.Engine(t,
		runtimetest.Role{Name: "acme-silo", Tenant: "acme", Policy: runtimetest.Silo("acme")},
		runtimetest.Role{Name: "globex-silo", Tenant: "globex", Policy: runtimetest.Silo("globex")},
		runtimetest.Role{Name: "pool-invoke", Policy: runtimetest.PoolPolicy},
		runtimetest.Role{Name: "pool-read", Policy: poolReadPolicy},
		runtimetest.Role{Name: "bridge-invoke", Policy: runtimetest.BridgePolicy},
		runtimetest.Role{Name: "open", Policy: runtimetest.AllowAll},
		runtimetest.Role{Name: "operator", Policy: runtimetest.AllowAll},
	)
	data := &fakeData{eps: map[string]*serving.LiveEndpoint{}, loaded: map[string]bool{}}
	for _, e := range []struct {
		name, tenant string
		multi        bool
		variants     []string
	}{{"acme", "acme", false, []string{"AllTraffic"}}, {"globex", "globex", false, []string{"blue", "green"}}, {"pool-endpoint", "", true, []string{"AllTraffic"}}} {
		ep := &serving.LiveEndpoint{AccountID: acct, Name: e.name, ARN: serving.ARN(region, acct, serving.KindEndpoint, e.name), Tenant: e.tenant, Multi: e.multi}
		for _, v := range e.variants {
			ep.Variants = append(ep.Variants, serving.LiveVariant{Name: v, Weight: 1})
		}
		data.eps[e.name] = ep
	}
	callers := runtimetest.Sessions{
		"silo/acme": session("acme-silo", "acme"), "silo/globex": session("globex-silo", "globex"),
		"pool/acme": session("pool-invoke", "acme"), "pool/globex": session("pool-invoke", "globex"),
		"read/acme": session("pool-read", "acme"),
		"open/acme": session("open", "acme"), "open/globex": session("open", "globex"),
		"bridge/acme": session("bridge-invoke", "acme"), "bridge/globex": session("bridge-invoke", "globex"),
		"operator": session("operator", ""),
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := &recordingAuditor{}
	p := &api.Pipeline{Authn: callers, Authz: engine, Audit: rec, Log: log, Now: time.Now}
	srv := api.NewServer(log, nil)
	meter := &invocations{}
	// The meter's clock moves 5 ms a reading: every measured request
	// takes 5 ms, 3 of them the fake model's.
	var clockMu sync.Mutex
	clock := time.Unix(0, 0)
	tick := func() time.Time {
		clockMu.Lock()
		defer clockMu.Unlock()
		clock = clock.Add(5 * time.Millisecond)
		return clock
	}
	(&oip.Surface{Data: data, Repository: data, Pipeline: p, Region: region, AccountID: acct, Version: "test",
		Ready: func(context.Context) error { return nil }, Meter: &runtime.Meter{Metrics: meter, Now: tick}}).Register(srv)
	return &fixture{srv: srv, data: data, audit: rec, meter: meter}
}

// answer is one response.
type answer struct {
	status    int
	body      string
	requestID string
	header    http.Header
}

// json decodes the body.
func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	return m
}

// request builds method path with body as caller.
func (f *fixture) request(caller, method, path, body string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if caller != "" {
		r.Header.Set(runtimetest.CallerHeader, caller)
	}
	return r
}

// serve sends r.
func (f *fixture) serve(r *http.Request) answer {
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return answer{status: w.Code, body: w.Body.String(), requestID: w.Header().Get("X-Request-Id"), header: w.Header()}
}

// do sends method path with body as caller.
func (f *fixture) do(caller, method, path, body string) answer {
	return f.serve(f.request(caller, method, path, body))
}

// calls returns how many invocations reached the data plane.
func (f *fixture) calls() int {
	f.data.mu.Lock()
	defer f.data.mu.Unlock()
	return len(f.data.invoked)
}

// sameValues reports whether got equals want, NaN equal to NaN.
func sameValues(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want[i]))) {
			return false
		}
	}
	return true
}
