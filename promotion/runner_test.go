package promotion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
)

// memStore is an in-memory Store for the state machine's tests.
type memStore struct {
	mu        sync.Mutex
	pipelines map[string]Pipeline
	runs      map[string]Run
}

func newMemStore() *memStore {
	return &memStore{pipelines: map[string]Pipeline{}, runs: map[string]Run{}}
}

func (m *memStore) PutPipeline(_ context.Context, p *Pipeline) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pipelines[p.AccountID+"/"+p.Name()] = *p
	return nil
}

func (m *memStore) GetPipeline(_ context.Context, acct, name string) (*Pipeline, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.pipelines[acct+"/"+name]
	if !ok {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "no pipeline %s", name)
	}
	return &p, nil
}

func (m *memStore) PipelinesForGroup(_ context.Context, acct, group string) ([]*Pipeline, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Pipeline
	for _, p := range m.pipelines {
		if p.AccountID == acct && p.Spec.ModelPackageGroup == group {
			out = append(out, &p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

func (m *memStore) CreateRun(_ context.Context, r *Run) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.runs[r.AccountID+"/"+r.Pipeline+"/"+r.ID] = *r
	return nil
}

func (m *memStore) GetRun(_ context.Context, acct, pipeline, id string) (*Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.runs[acct+"/"+pipeline+"/"+id]
	if !ok {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "no run %s", id)
	}
	r.History = slices.Clone(r.History)
	return &r, nil
}

func (m *memStore) UpdateRun(ctx context.Context, acct, pipeline, id string, fn func(*Run) error) (*Run, error) {
	r, err := m.GetRun(ctx, acct, pipeline, id)
	if err != nil {
		return nil, err
	}
	if err := fn(r); err != nil {
		return nil, err
	}
	return r, m.CreateRun(ctx, r)
}

func (m *memStore) ListRuns(_ context.Context, f RunFilter) ([]*Run, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Run
	for _, r := range m.runs {
		if f.Active && (r.State.Terminal() || r.State == AwaitingApproval) {
			continue
		}
		if f.Pipeline != "" && (r.AccountID != f.AccountID || r.Pipeline != f.Pipeline) {
			continue
		}
		out = append(out, &r)
	}
	return out, nil
}

// fakeDeployer records deployments; fail makes an environment's deploy
// fail, answer is the smoke test's answer.
type fakeDeployer struct {
	mu       sync.Mutex
	deployed map[string]string // env -> package ARN
	calls    []string
	fail     map[string]error
	answer   string
}

func (f *fakeDeployer) Deploy(_ context.Context, _ *Pipeline, env string, t Target, r *Run) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "deploy "+env+" "+t.EndpointName)
	if err := f.fail[env]; err != nil {
		return err
	}
	f.deployed[env] = r.PackageARN
	return nil
}

func (f *fakeDeployer) Invoke(_ context.Context, _ *Pipeline, t Target, _ *Run, ct string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("invoke %s %s %s", t.EndpointName, ct, payload))
	return []byte(f.answer), nil
}

type recEvents struct {
	mu     sync.Mutex
	events []Event
}

func (e *recEvents) Record(_ context.Context, ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.events = append(e.events, ev)
}

func (e *recEvents) kinds() []EventKind {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []EventKind
	for _, ev := range e.events {
		out = append(out, ev.Kind)
	}
	return out
}

const testAcct = "111111111111"

func testSpec() Spec {
	return Spec{Name: "acme--churn", Tenant: "acme", ModelPackageGroup: "acme--churn",
		Staging: Target{AccountID: "222222222222", DeploymentRoleARN: "arn:aws:iam::222222222222:role/deploy", EndpointName: "acme--churn-staging",
			InstanceType: "ml.m5.large", InstanceCount: 1, ExecutionRoleARN: "arn:aws:iam::222222222222:role/exec"},
		Production: Target{AccountID: "333333333333", DeploymentRoleARN: "arn:aws:iam::333333333333:role/deploy", EndpointName: "acme--churn",
			InstanceType: "ml.m5.large", InstanceCount: 2, ExecutionRoleARN: "arn:aws:iam::333333333333:role/exec"},
		SmokeTest: SmokeTest{ContentType: "text/csv", Payload: "1,2", Expected: "0.5", Tolerance: 0.01}}
}

type fixture struct {
	store  *memStore
	dep    *fakeDeployer
	events *recEvents
	runner *Runner
	clock  time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: newMemStore(), dep: &fakeDeployer{deployed: map[string]string{}, fail: map[string]error{}, answer: "0.504"},
		events: &recEvents{}, clock: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	n := 0
	f.runner = &Runner{Store: f.store, Deployer: f.dep, Events: f.events,
		Now:   func() time.Time { f.clock = f.clock.Add(time.Second); return f.clock },
		NewID: func() string { n++; return fmt.Sprintf("run%d", n) },
		Go:    func(fn func()) { fn() }}
	if err := f.store.PutPipeline(context.Background(), &Pipeline{AccountID: testAcct, Spec: testSpec()}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) run(t *testing.T, id string) *Run {
	t.Helper()
	r, err := f.store.GetRun(context.Background(), testAcct, "acme--churn", id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunner_HappyPath(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if err := f.runner.PackageApproved(ctx, testAcct, "acme", "acme--churn", "arn:pkg/1", 1); err != nil {
		t.Fatal(err)
	}
	r := f.run(t, "run1")
	if r.State != AwaitingApproval || f.dep.deployed["staging"] != "arn:pkg/1" || f.dep.deployed["production"] != "" {
		t.Fatalf("after approval of the package: state %s, deployed %v", r.State, f.dep.deployed)
	}
	if _, err := f.runner.Approve(ctx, testAcct, "acme--churn", "run1", "arn:aws:iam::111111111111:user/lead"); err != nil {
		t.Fatal(err)
	}
	r = f.run(t, "run1")
	if r.State != Succeeded || r.ApprovedBy != "arn:aws:iam::111111111111:user/lead" || f.dep.deployed["production"] != "arn:pkg/1" {
		t.Fatalf("after approve: %+v, deployed %v", r, f.dep.deployed)
	}
	var states []State
	for _, h := range r.History {
		states = append(states, h.State)
	}
	want := []State{DeployingStaging, SmokeTesting, AwaitingApproval, DeployingProduction, Succeeded}
	if !slices.Equal(states, want) {
		t.Fatalf("history %v, want %v", states, want)
	}
	wantKinds := []EventKind{EventRunStarted, EventStagingDeployed, EventSmokeTestPassed, EventApproved, EventProductionDeployed}
	if got := f.events.kinds(); !slices.Equal(got, wantKinds) {
		t.Fatalf("events %v, want %v", got, wantKinds)
	}
	wantCalls := []string{"deploy staging acme--churn-staging", "invoke acme--churn-staging text/csv 1,2", "deploy production acme--churn"}
	if !slices.Equal(f.dep.calls, wantCalls) {
		t.Fatalf("calls %v, want %v", f.dep.calls, wantCalls)
	}
	// A finished run cannot be approved again.
	if _, err := f.runner.Approve(ctx, testAcct, "acme--churn", "run1", "x"); tenantml.ErrorCode(err) != tenantml.ECONFLICT {
		t.Fatalf("approve a finished run: %v, want conflict", err)
	}
}

func TestRunner_Failures(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fixture)
		approve   bool
		wantState State
		wantKind  EventKind
		reason    string
		prod      string
	}{
		{"StagingDeployFails", func(f *fixture) { f.dep.fail["staging"] = errors.New("endpoint failed: no such image") }, false,
			Failed, EventRunFailed, "DeployingStaging: endpoint failed: no such image", ""},
		{"SmokeTestFails", func(f *fixture) { f.dep.answer = "0.9" }, false,
			Failed, EventRunFailed, `SmokeTesting: the answer "0.9" differs from the expected "0.5" by more than 0.01`, ""},
		{"ProductionRollsBack", func(f *fixture) { f.dep.fail["production"] = fmt.Errorf("alarm errors fired: %w", ErrRolledBack) }, true,
			Failed, EventProductionRollback, "DeployingProduction: alarm errors fired: the update rolled back", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			tt.setup(f)
			if err := f.runner.PackageApproved(ctx, testAcct, "acme", "acme--churn", "arn:pkg/2", 2); err != nil {
				t.Fatal(err)
			}
			if tt.approve {
				if _, err := f.runner.Approve(ctx, testAcct, "acme--churn", "run1", "lead"); err != nil {
					t.Fatal(err)
				}
			}
			r := f.run(t, "run1")
			if r.State != tt.wantState || r.Reason != tt.reason {
				t.Fatalf("run %s %q, want %s %q", r.State, r.Reason, tt.wantState, tt.reason)
			}
			if f.dep.deployed["production"] != tt.prod {
				t.Fatalf("production deployed %q", f.dep.deployed["production"])
			}
			kinds := f.events.kinds()
			if kinds[len(kinds)-1] != tt.wantKind {
				t.Fatalf("last event %v, want %s", kinds, tt.wantKind)
			}
			if _, err := f.runner.Approve(ctx, testAcct, "acme--churn", "run1", "lead"); tenantml.ErrorCode(err) != tenantml.ECONFLICT {
				t.Fatalf("approve a failed run: %v, want conflict", err)
			}
		})
	}
}

// A run is resumed from its persisted state: a restarted runner picks up
// a run that was deploying production and does not redo staging.
func TestRunner_Resume(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := f.clock
	for _, r := range []*Run{
		{AccountID: testAcct, Pipeline: "acme--churn", ID: "mid", Tenant: "acme", PackageARN: "arn:pkg/3", Version: 3, State: DeployingProduction, CreatedAt: now},
		{AccountID: testAcct, Pipeline: "acme--churn", ID: "waiting", Tenant: "acme", PackageARN: "arn:pkg/4", Version: 4, State: AwaitingApproval, CreatedAt: now},
		{AccountID: testAcct, Pipeline: "acme--churn", ID: "done", Tenant: "acme", PackageARN: "arn:pkg/1", Version: 1, State: Succeeded, CreatedAt: now},
	} {
		if err := f.store.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.runner.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.run(t, "mid").State; got != Succeeded {
		t.Fatalf("resumed run is %s", got)
	}
	if got := f.run(t, "waiting").State; got != AwaitingApproval {
		t.Fatalf("waiting run is %s", got)
	}
	if !slices.Equal(f.dep.calls, []string{"deploy production acme--churn"}) {
		t.Fatalf("calls %v", f.dep.calls)
	}
}

// A package of another tenant in the same group name never starts a run.
func TestRunner_OtherTenantsPackage(t *testing.T) {
	f := newFixture(t)
	if err := f.runner.PackageApproved(context.Background(), testAcct, "globex", "acme--churn", "arn:pkg/1", 1); err != nil {
		t.Fatal(err)
	}
	runs, _ := f.store.ListRuns(context.Background(), RunFilter{})
	if len(runs) != 0 || len(f.dep.calls) != 0 {
		t.Fatalf("runs %v, calls %v", runs, f.dep.calls)
	}
}
