package serving_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqlite"
)

const acct = "111122223333"

// fakeClock is a clock the test advances; After registers a waiter.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	changed chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), changed: make(chan struct{}, 1)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.now.Add(d), ch})
	select {
	case c.changed <- struct{}{}:
	default:
	}
	return ch
}

// awaitWaiter returns once the rollout waits on the clock.
func (c *fakeClock) awaitWaiter(t *testing.T) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		n := len(c.waiters)
		c.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-c.changed:
		case <-deadline:
			t.Fatal("the rollout never waited on the clock")
		}
	}
}

// advance moves the clock by d and fires the waiters due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
			continue
		}
		kept = append(kept, w)
	}
	c.waiters = kept
}

// fakeFleet records what the controller asks of the data plane.
type fakeFleet struct {
	mu        sync.Mutex
	calls     []string
	share     float64
	figures   map[string]alarm.Figures
	stageFail error
}

func (f *fakeFleet) log(s string) {
	f.mu.Lock()
	f.calls = append(f.calls, s)
	f.mu.Unlock()
}

func (f *fakeFleet) Deploy(_ context.Context, d *serving.Deployment) error {
	f.log("deploy " + d.Config.Name)
	return nil
}
func (f *fakeFleet) Undeploy(context.Context, string, string) error { f.log("undeploy"); return nil }
func (f *fakeFleet) Stage(_ context.Context, d *serving.Deployment) error {
	f.log("stage " + d.Config.Name)
	return f.stageFail
}
func (f *fakeFleet) Shift(_, _ string, share float64) error {
	f.mu.Lock()
	f.share = share
	f.mu.Unlock()
	f.log("shift")
	return nil
}
func (f *fakeFleet) Promote(context.Context, string, string) error { f.log("promote"); return nil }
func (f *fakeFleet) Abort(context.Context, string, string) error {
	f.mu.Lock()
	f.share = 0
	f.mu.Unlock()
	f.log("abort")
	return nil
}
func (f *fakeFleet) Figures(string, string) map[string]alarm.Figures {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]alarm.Figures{}
	for k, v := range f.figures {
		out[k] = v
	}
	return out
}

// setFigures gives the new fleet's variant n invocations, errors5xx of
// them failed.
func (f *fakeFleet) setFigures(variant string, n, errors5xx int64) {
	var g alarm.Figures
	for i := int64(0); i < n; i++ {
		status := 200
		if i < errors5xx {
			status = 500
		}
		g.Observe(status, 3*time.Millisecond)
	}
	f.mu.Lock()
	f.figures = map[string]alarm.Figures{variant: g}
	f.mu.Unlock()
}

func (f *fakeFleet) state() (float64, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.share, slices.Clone(f.calls)
}

type okChecker struct{}

func (okChecker) CheckImage(string) error        { return nil }
func (okChecker) CheckInstanceType(string) error { return nil }

type rolloutEnv struct {
	ctl    *serving.Controller
	fleet  *fakeFleet
	clock  *fakeClock
	alarms *alarm.Service
	events *eventLog
	db     *sqlite.DB
}

type eventLog struct {
	mu sync.Mutex
	ev []serving.Event
}

func (l *eventLog) Publish(e serving.Event) {
	l.mu.Lock()
	l.ev = append(l.ev, e)
	l.mu.Unlock()
}

func (l *eventLog) kinds() []serving.EventKind {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []serving.EventKind
	for _, e := range l.ev {
		out = append(out, e.Kind)
	}
	return out
}

// newRolloutEnv returns a controller over a SQLite store and a fake
// fleet, with tenant acme's endpoint "acme" InService on config
// acme--v1 and config acme--v2 ready for an update.
func newRolloutEnv(t *testing.T, dir string) *rolloutEnv {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	env := &rolloutEnv{fleet: &fakeFleet{}, clock: newFakeClock(), events: &eventLog{}, db: db}
	env.alarms = &alarm.Service{Store: db.Alarms(), AccountID: acct, Region: "us-east-1", CheckName: serving.CheckTenantName, Now: env.clock.Now}
	env.ctl = &serving.Controller{Store: db.Serving(), Deployer: env.fleet, Checker: okChecker{}, Region: "us-east-1", AccountID: acct,
		Shifter: env.fleet, Rollouts: db.Rollouts(), Alarms: env.alarms, Events: env.events, Clock: env.clock}
	return env
}

func (env *rolloutEnv) seed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, v := range []string{"v1", "v2"} {
		m := &serving.Model{Name: "acme--" + v, ExecutionRoleARN: "arn:aws:iam::" + acct + ":role/acme-exec",
			PrimaryContainer: serving.Container{Image: "tenantml/xgboost", ModelDataURL: "s3://models/acme/" + v + ".tar.gz"}}
		if err := env.ctl.CreateModel(ctx, "acme", m); err != nil {
			t.Fatal(err)
		}
		ec := &serving.EndpointConfig{Name: "acme--" + v, ProductionVariants: []serving.ProductionVariant{
			{VariantName: "Variant-" + v, ModelName: "acme--" + v, InitialInstanceCount: 4, InstanceType: "ml.m5.large"}}}
		if err := env.ctl.CreateEndpointConfig(ctx, "acme", ec); err != nil {
			t.Fatal(err)
		}
	}
	if err := env.ctl.CreateEndpoint(ctx, "acme", &serving.Endpoint{Name: "acme", EndpointConfigName: "acme--v1"}); err != nil {
		t.Fatal(err)
	}
	env.wait(t)
}

func (env *rolloutEnv) putAlarm(t *testing.T, caller string, a alarm.Alarm) {
	t.Helper()
	if err := env.alarms.Put(context.Background(), caller, &a); err != nil {
		t.Fatalf("put alarm %s: %v", a.Name, err)
	}
}

// errorRate is an alarm on the new fleet's 5xx rate above 10% in one
// 60-second period.
func errorRate(name, endpoint string) alarm.Alarm {
	return alarm.Alarm{Name: name, Namespace: alarm.Namespace, MetricName: alarm.Metric5XX, Statistic: "Average", Period: 60, EvaluationPeriods: 1,
		Threshold: 0.1, ComparisonOperator: alarm.GreaterThan, Dimensions: []alarm.Dimension{{Name: alarm.DimEndpoint, Value: endpoint}}}
}

func canary(wait, termination int, alarms ...string) *serving.DeploymentConfig {
	dc := &serving.DeploymentConfig{BlueGreenUpdatePolicy: &serving.BlueGreenUpdatePolicy{
		TrafficRoutingConfiguration: serving.TrafficRoutingConfiguration{Type: serving.RoutingCanary, WaitIntervalInSeconds: wait,
			CanarySize: &serving.CapacitySize{Type: serving.CapacityPercent, Value: 25}},
		TerminationWaitInSeconds: termination}}
	if len(alarms) > 0 {
		dc.AutoRollbackConfiguration = &serving.AutoRollbackConfiguration{Alarms: alarms}
	}
	return dc
}

// wait waits for the endpoint's update to end, failing the test if it
// does not within a deadline (the clock was not advanced far enough).
func (env *rolloutEnv) wait(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := env.ctl.WaitEndpoint(ctx, "acme"); err != nil {
		t.Fatalf("wait for the update: %v", err)
	}
}

func (env *rolloutEnv) endpoint(t *testing.T) *serving.Endpoint {
	t.Helper()
	e, err := env.ctl.DescribeEndpoint(context.Background(), "acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (env *rolloutEnv) rollout(t *testing.T) *serving.Rollout {
	t.Helper()
	r, err := env.ctl.LastRollout(context.Background(), "acme", "acme")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestController_BlueGreenCanaryRollsBack(t *testing.T) {
	env := newRolloutEnv(t, t.TempDir())
	env.seed(t)
	env.putAlarm(t, "acme", errorRate("acme--5xx", "acme"))
	ctx := context.Background()
	if _, err := env.ctl.UpdateEndpointDeployment(ctx, "acme", serving.UpdateInput{Endpoint: "acme", Config: "acme--v2", Deployment: canary(600, 0, "acme--5xx")}); err != nil {
		t.Fatal(err)
	}
	env.clock.awaitWaiter(t)
	if share, _ := env.fleet.state(); share != 0.25 {
		t.Fatalf("canary share = %g, want 0.25", share)
	}
	if e := env.endpoint(t); e.Status != serving.StatusUpdating || e.EndpointConfigName != "acme--v1" {
		t.Fatalf("during the canary: %s on %s", e.Status, e.EndpointConfigName)
	}
	if r := env.rollout(t); r.State != serving.RolloutBaking || r.Step != 0 {
		t.Fatalf("rollout %s step %d", r.State, r.Step)
	}
	// The canary answers half its requests with a 5xx: the first period's
	// datapoint (0.5) breaches 0.1.
	env.fleet.setFigures("Variant-v2", 40, 20)
	env.clock.advance(60 * time.Second)
	env.wait(t)
	share, calls := env.fleet.state()
	if share != 0 || !slices.Contains(calls, "abort") || slices.Contains(calls, "promote") {
		t.Errorf("fleet: share %g, calls %v; want aborted", share, calls)
	}
	e := env.endpoint(t)
	if e.Status != serving.StatusInService || e.EndpointConfigName != "acme--v1" || !strings.Contains(e.FailureReason, "rolled back") || !strings.Contains(e.FailureReason, "acme--5xx") {
		t.Errorf("endpoint after rollback: %s on %s, reason %q", e.Status, e.EndpointConfigName, e.FailureReason)
	}
	if r := env.rollout(t); r.State != serving.RolloutRolledBack || !strings.Contains(r.Reason, "ALARM") {
		t.Errorf("rollout %s: %q", r.State, r.Reason)
	}
	a, err := env.alarms.Get(ctx, "acme", "acme--5xx")
	if err != nil || a.State != alarm.StateAlarm {
		t.Errorf("alarm state = %v, %v; want ALARM", a, err)
	}
	if k := env.events.kinds(); !slices.Contains(k, serving.EventUpdateRolledBack) || !slices.Contains(k, serving.EventTrafficShifted) {
		t.Errorf("events %v", k)
	}
}

func TestController_BlueGreenCanaryCompletes(t *testing.T) {
	env := newRolloutEnv(t, t.TempDir())
	env.seed(t)
	env.putAlarm(t, "acme", errorRate("acme--5xx", "acme"))
	ctx := context.Background()
	if _, err := env.ctl.UpdateEndpointDeployment(ctx, "acme", serving.UpdateInput{Endpoint: "acme", Config: "acme--v2", Deployment: canary(120, 300, "acme--5xx")}); err != nil {
		t.Fatal(err)
	}
	healthy := int64(0)
	step := func(want float64) {
		t.Helper()
		env.clock.awaitWaiter(t)
		if share, _ := env.fleet.state(); share != want {
			t.Fatalf("share = %g, want %g", share, want)
		}
		healthy += 100
		env.fleet.setFigures("Variant-v2", healthy, 0)
		env.clock.advance(60 * time.Second)
	}
	step(0.25) // canary: two periods of 60 s in the 120 s bake
	step(0.25)
	step(1) // the rest, baked as long
	step(1)
	env.clock.awaitWaiter(t) // TerminationWaitInSeconds
	if _, calls := env.fleet.state(); slices.Contains(calls, "promote") {
		t.Fatal("old fleet stopped before TerminationWaitInSeconds")
	}
	if e := env.endpoint(t); e.Status != serving.StatusUpdating || e.EndpointConfigName != "acme--v2" {
		t.Errorf("while terminating: %s on %s", e.Status, e.EndpointConfigName)
	}
	if r := env.rollout(t); r.State != serving.RolloutTerminating {
		t.Errorf("rollout %s", r.State)
	}
	env.clock.advance(300 * time.Second)
	env.wait(t)
	_, calls := env.fleet.state()
	if !slices.Contains(calls, "promote") || slices.Contains(calls, "abort") {
		t.Errorf("calls %v", calls)
	}
	e := env.endpoint(t)
	if e.Status != serving.StatusInService || e.EndpointConfigName != "acme--v2" || e.FailureReason != "" {
		t.Errorf("endpoint: %s on %s, %q", e.Status, e.EndpointConfigName, e.FailureReason)
	}
	if r := env.rollout(t); r.State != serving.RolloutCompleted {
		t.Errorf("rollout %s", r.State)
	}
	if a, _ := env.alarms.Get(ctx, "acme", "acme--5xx"); a.State != alarm.StateOK {
		t.Errorf("alarm %s, want OK", a.State)
	}
}

func TestController_BlueGreenTimeout(t *testing.T) {
	env := newRolloutEnv(t, t.TempDir())
	env.seed(t)
	ctx := context.Background()
	dc := canary(3600, 0)
	dc.BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds = 600
	if _, err := env.ctl.UpdateEndpointDeployment(ctx, "acme", serving.UpdateInput{Endpoint: "acme", Config: "acme--v2", Deployment: dc}); err != nil {
		t.Fatal(err)
	}
	env.clock.awaitWaiter(t)
	env.clock.advance(600 * time.Second)
	env.wait(t)
	if r := env.rollout(t); r.State != serving.RolloutRolledBack || !strings.Contains(r.Reason, "MaximumExecutionTimeoutInSeconds") {
		t.Errorf("rollout %s: %q", r.State, r.Reason)
	}
}

func TestController_BlueGreenStageFails(t *testing.T) {
	env := newRolloutEnv(t, t.TempDir())
	env.seed(t)
	env.fleet.stageFail = tenantml.Errorf(tenantml.EINVALID, "worker did not start")
	ctx := context.Background()
	if _, err := env.ctl.UpdateEndpointDeployment(ctx, "acme", serving.UpdateInput{Endpoint: "acme", Config: "acme--v2", Deployment: canary(60, 0)}); err != nil {
		t.Fatal(err)
	}
	env.wait(t)
	e := env.endpoint(t)
	if e.Status != serving.StatusInService || e.EndpointConfigName != "acme--v1" || !strings.Contains(e.FailureReason, "worker did not start") {
		t.Errorf("endpoint: %s on %s, %q", e.Status, e.EndpointConfigName, e.FailureReason)
	}
	if r := env.rollout(t); r.State != serving.RolloutFailed {
		t.Errorf("rollout %s", r.State)
	}
}

// TestController_BlueGreenResume: a server that stops during a bake
// rolls the update back at start (the new fleet was in memory); one that
// stops while the old fleet waits to terminate completes it.
func TestController_BlueGreenResume(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		state                serving.RolloutState
		wantConfig, wantText string
		wantState            serving.RolloutState
	}{
		{"Baking", serving.RolloutBaking, "acme--v1", "restarted", serving.RolloutRolledBack},
		{"Terminating", serving.RolloutTerminating, "acme--v2", "", serving.RolloutCompleted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			env := newRolloutEnv(t, dir)
			env.seed(t)
			ctx := context.Background()
			// What the first server left: the endpoint Updating, its
			// rollout in tc.state.
			e := env.endpoint(t)
			e.Status = serving.StatusUpdating
			if tc.state == serving.RolloutTerminating {
				e.EndpointConfigName = "acme--v2"
			}
			if err := env.db.Serving().UpdateEndpoint(ctx, e); err != nil {
				t.Fatal(err)
			}
			r := &serving.Rollout{AccountID: acct, Endpoint: "acme", Tenant: "acme", Config: *canary(60, 0), From: "acme--v1", To: "acme--v2", State: tc.state, Share: 0.25}
			if err := env.db.Rollouts().PutRollout(ctx, r); err != nil {
				t.Fatal(err)
			}
			restarted := newRolloutEnv(t, dir)
			if err := restarted.ctl.Resume(ctx); err != nil {
				t.Fatal(err)
			}
			restarted.ctl.Wait()
			if _, calls := restarted.fleet.state(); !slices.Equal(calls, []string{"deploy " + tc.wantConfig}) {
				t.Errorf("calls %v", calls)
			}
			got := restarted.endpoint(t)
			if got.Status != serving.StatusInService || got.EndpointConfigName != tc.wantConfig || !strings.Contains(got.FailureReason, tc.wantText) || (tc.wantText == "") != (got.FailureReason == "") {
				t.Errorf("endpoint: %s on %s, %q", got.Status, got.EndpointConfigName, got.FailureReason)
			}
			if r := restarted.rollout(t); r.State != tc.wantState {
				t.Errorf("rollout %s", r.State)
			}
		})
	}
}

func TestController_BlueGreenInvalid(t *testing.T) {
	env := newRolloutEnv(t, t.TempDir())
	env.seed(t)
	ctx := context.Background()
	env.putAlarm(t, "acme", errorRate("acme--5xx", "acme"))
	env.putAlarm(t, "acme", errorRate("acme--other", "acme--other"))
	env.putAlarm(t, "globex", errorRate("globex--5xx", "globex"))
	tests := map[string]struct {
		config string
		mod    func(*serving.DeploymentConfig)
		want   string
	}{
		"NoPolicy": {mod: func(dc *serving.DeploymentConfig) { dc.BlueGreenUpdatePolicy = nil }, want: "BlueGreenUpdatePolicy"},
		"BadType": {mod: func(dc *serving.DeploymentConfig) {
			dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type = "SOMETIMES"
		}, want: "Type"},
		"NoCanarySize": {mod: func(dc *serving.DeploymentConfig) {
			dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.CanarySize = nil
		}, want: "CanarySize"},
		"CanaryTooLarge": {mod: func(dc *serving.DeploymentConfig) {
			dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.CanarySize.Value = 60
		}, want: "CanarySize"},
		"CanaryInstances": {mod: func(dc *serving.DeploymentConfig) {
			*dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.CanarySize = serving.CapacitySize{Type: "INSTANCE_COUNT", Value: 3}
		}, want: "half"},
		"NegativeWait": {mod: func(dc *serving.DeploymentConfig) {
			dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.WaitIntervalInSeconds = -1
		}, want: "WaitInterval"},
		"LongTermination": {mod: func(dc *serving.DeploymentConfig) { dc.BlueGreenUpdatePolicy.TerminationWaitInSeconds = 3601 }, want: "TerminationWait"},
		"ShortTimeout":    {mod: func(dc *serving.DeploymentConfig) { dc.BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds = 599 }, want: "MaximumExecution"},
		"LinearStepSmall": {mod: func(dc *serving.DeploymentConfig) {
			dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration = serving.TrafficRoutingConfiguration{Type: "LINEAR", LinearStepSize: &serving.CapacitySize{Type: "CAPACITY_PERCENT", Value: 5}}
		}, want: "LinearStepSize"},
		"AllAtOnceWithCanary": {mod: func(dc *serving.DeploymentConfig) {
			dc.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.Type = "ALL_AT_ONCE"
		}, want: "ALL_AT_ONCE"},
		"NoAlarms": {mod: func(dc *serving.DeploymentConfig) {
			dc.AutoRollbackConfiguration = &serving.AutoRollbackConfiguration{}
		}, want: "Alarms"},
		"MissingAlarm":         {mod: func(dc *serving.DeploymentConfig) { dc.AutoRollbackConfiguration.Alarms = []string{"acme--nope"} }, want: "Could not find alarm"},
		"OtherTenantsAlarm":    {mod: func(dc *serving.DeploymentConfig) { dc.AutoRollbackConfiguration.Alarms = []string{"globex--5xx"} }, want: "Could not find alarm"},
		"AlarmOfOtherEndpoint": {mod: func(dc *serving.DeploymentConfig) { dc.AutoRollbackConfiguration.Alarms = []string{"acme--other"} }, want: "watches endpoint"},
		"SameConfig":           {config: "acme--v1", want: "already runs"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			dc := canary(60, 0, "acme--5xx")
			if tt.mod != nil {
				tt.mod(dc)
			}
			cfg := "acme--v2"
			if tt.config != "" {
				cfg = tt.config
			}
			_, err := env.ctl.UpdateEndpointDeployment(ctx, "acme", serving.UpdateInput{Endpoint: "acme", Config: cfg, Deployment: dc})
			if tenantml.ErrorCode(err) != tenantml.EINVALID || tenantml.AWSCodeOf(err) != "ValidationException" || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want a ValidationException about %s", err, tt.want)
			}
		})
	}
	if e := env.endpoint(t); e.Status != serving.StatusInService || e.EndpointConfigName != "acme--v1" {
		t.Errorf("a refused update changed the endpoint: %s on %s", e.Status, e.EndpointConfigName)
	}
}

func TestBlueGreenUpdatePolicy_Plan(t *testing.T) {
	size := func(typ string, v int) *serving.CapacitySize { return &serving.CapacitySize{Type: typ, Value: v} }
	tests := []struct {
		name      string
		routing   serving.TrafficRoutingConfiguration
		instances int
		want      []float64
	}{
		{"AllAtOnce", serving.TrafficRoutingConfiguration{Type: "ALL_AT_ONCE"}, 2, []float64{1}},
		{"CanaryPercent", serving.TrafficRoutingConfiguration{Type: "CANARY", CanarySize: size("CAPACITY_PERCENT", 10)}, 1, []float64{0.1, 1}},
		{"CanaryInstances", serving.TrafficRoutingConfiguration{Type: "CANARY", CanarySize: size("INSTANCE_COUNT", 1)}, 4, []float64{0.25, 1}},
		{"Linear", serving.TrafficRoutingConfiguration{Type: "LINEAR", LinearStepSize: size("CAPACITY_PERCENT", 25)}, 4, []float64{0.25, 0.5, 0.75, 1}},
		{"LinearUneven", serving.TrafficRoutingConfiguration{Type: "LINEAR", LinearStepSize: size("CAPACITY_PERCENT", 40)}, 4, []float64{0.4, 0.8, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.routing.WaitIntervalInSeconds = 30
			p := &serving.BlueGreenUpdatePolicy{TrafficRoutingConfiguration: tt.routing}
			dc := serving.DeploymentConfig{BlueGreenUpdatePolicy: p}
			if err := dc.Validate(tt.instances); err != nil {
				t.Fatal(err)
			}
			var got []float64
			for _, s := range p.Plan(tt.instances) {
				if s.Bake != 30*time.Second {
					t.Errorf("bake %v", s.Bake)
				}
				got = append(got, s.Share)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("shares %v, want %v", got, tt.want)
			}
		})
	}
}

// An update's alarms are its endpoint's account's: an alarm of the same
// name in another account is "Could not find alarm", as a missing one,
// and starts nothing.
func TestController_BlueGreenAlarmOfAnotherAccount(t *testing.T) {
	env := newRolloutEnv(t, t.TempDir())
	env.seed(t)
	other := env.alarms.In("222222222222")
	a := errorRate("acme--5xx", "acme")
	if err := other.Put(context.Background(), "acme", &a); err != nil {
		t.Fatal(err)
	}
	if a.ARN != "arn:aws:cloudwatch:us-east-1:222222222222:alarm:acme--5xx" {
		t.Errorf("ARN of the other account's alarm = %s", a.ARN)
	}
	ctx := context.Background()
	_, err := env.ctl.UpdateEndpointDeployment(ctx, "acme", serving.UpdateInput{Endpoint: "acme", Config: "acme--v2", Deployment: canary(600, 0, "acme--5xx")})
	if err == nil || !strings.Contains(tenantml.ErrorMessage(err), `Could not find alarm "acme--5xx"`) {
		t.Fatalf("update naming another account's alarm: %v", err)
	}
	if _, err := env.alarms.Get(ctx, "acme", "acme--5xx"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Errorf("the primary account's view of the other account's alarm: %v", err)
	}
	if e := env.endpoint(t); e.Status != serving.StatusInService || e.EndpointConfigName != "acme--v1" {
		t.Errorf("endpoint after the refused update: %s on %s", e.Status, e.EndpointConfigName)
	}
}
