package observe_test

import (
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/observe"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func call(tenant, name, code string, latencyMs int64) audit.Event {
	return audit.Event{EventType: audit.TypeAPICall, EventName: name, TenantID: tenant, ErrorCode: code, LatencyMs: latencyMs, Decision: audit.Decision{Effect: audit.Allowed}}
}

func TestTracker_Snapshot(t *testing.T) {
	clk := &clock{t: t0}
	tr := observe.NewTracker(clk.Now, nil)
	// acme: 100 invocations at 1..100 ms, 10 of them errors, 3 throttled
	// requests, one other API call; 2 model loads; globex: 5 calls.
	for i := 1; i <= 100; i++ {
		code := ""
		if i%10 == 0 {
			code = "ModelError"
		}
		tr.ObserveEvent(call("acme", "InvokeEndpoint", code, int64(i)))
	}
	for range 3 {
		tr.ObserveEvent(call("acme", "InvokeEndpoint", "ThrottlingException", 0))
	}
	tr.ObserveEvent(call("acme", "DescribeEndpoint", "", 1))
	for _, ms := range []string{"200", "800"} {
		tr.ObserveEvent(audit.Event{EventType: audit.TypeServiceEvent, EventName: "ModelLoaded", TenantID: "acme", AdditionalEventData: map[string]string{"durationMs": ms}})
	}
	tr.ObserveEvent(audit.Event{EventType: audit.TypeAlert, EventName: "AlertFired", TenantID: "acme"})
	for range 5 {
		tr.ObserveEvent(call("globex", "InvokeEndpoint", "", 5))
	}
	tr.ObserveEvent(call("", "InvokeEndpoint", "", 5)) // platform: not tracked
	clk.Advance(2 * time.Minute)
	tr.ObserveEvent(call("acme", "InvokeEndpoint", "", 1)) // a later minute

	tests := []struct {
		name, tenant string
		window       time.Duration
		check        func(t *testing.T, s observe.Snapshot)
	}{
		{"WholeWindow", "acme", time.Hour, func(t *testing.T, s observe.Snapshot) {
			if s.Requests != 105 || s.Errors != 13 || s.Throttles != 3 || s.Invocations != 104 || s.InvocationErrors != 13 {
				t.Errorf("counts %+v", s)
			}
			if s.ModelLoads != 2 || s.ModelLoadMs.P50 < 200 || s.ModelLoadMs.P50 > 250 || s.ModelLoadMs.P99 < 800 || s.ModelLoadMs.P99 > 1000 {
				t.Errorf("model loads %d, %+v", s.ModelLoads, s.ModelLoadMs)
			}
			// p50 of 0 ×3, 1..100 ms and 1: rank 52 holds ~49 ms; within 25% above.
			if s.LatencyMs.P50 < 45 || s.LatencyMs.P50 > 62 || s.LatencyMs.P99 < 99 || s.LatencyMs.P99 > 125 {
				t.Errorf("latency %+v", s.LatencyMs)
			}
			if len(s.PerMinute) != 2 || s.PerMinute[1].Requests != 1 {
				t.Errorf("per minute %+v", s.PerMinute)
			}
		}},
		{"LastMinuteOnly", "acme", time.Minute, func(t *testing.T, s observe.Snapshot) {
			if s.Requests != 1 || s.Invocations != 1 || s.Errors != 0 {
				t.Errorf("counts %+v", s)
			}
		}},
		{"OtherTenant", "globex", time.Hour, func(t *testing.T, s observe.Snapshot) {
			if s.Requests != 5 || s.Invocations != 5 || s.ModelLoads != 0 || s.ErrorRate != 0 {
				t.Errorf("counts %+v", s)
			}
		}},
		{"UnknownTenant", "initech", time.Hour, func(t *testing.T, s observe.Snapshot) {
			if s.Requests != 0 || len(s.PerMinute) != 0 {
				t.Errorf("counts %+v", s)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tr.Snapshot(tt.tenant, tt.window)) })
	}
}

func TestTracker_ForgetsIdleTenants(t *testing.T) {
	clk := &clock{t: t0}
	tr := observe.NewTracker(clk.Now, nil)
	tr.ObserveEvent(call("acme", "InvokeEndpoint", "", 1))
	clk.Advance(59 * time.Minute)
	tr.Tick()
	if tr.Tenants() != 1 || tr.Snapshot("acme", time.Hour).Requests != 1 {
		t.Fatal("forgot acme within the window")
	}
	clk.Advance(2 * time.Minute)
	tr.Tick()
	if tr.Tenants() != 0 {
		t.Errorf("%d tenants tracked after an idle hour, want 0", tr.Tenants())
	}
}

// The detector learns each tenant's own baseline and raises exactly one
// anomaly per signal within the cooldown: a spike of one tenant, not of
// the other whose rate is always that high.
func TestDetector(t *testing.T) {
	type phase struct {
		minutes          int
		acme, acmeErrors int // per minute
		globex           int
	}
	tests := []struct {
		name   string
		phases []phase
		want   map[observe.Signal]int // acme's anomalies
	}{
		{"Steady", []phase{{40, 20, 0, 200}}, map[observe.Signal]int{}},
		{"Spike", []phase{{20, 20, 0, 200}, {3, 200, 0, 200}}, map[observe.Signal]int{observe.RequestSpike: 1}},
		{"SpikeDuringWarmupIgnored", []phase{{5, 20, 0, 200}, {3, 200, 0, 200}}, map[observe.Signal]int{}},
		{"ErrorSpike", []phase{{20, 20, 0, 200}, {2, 20, 15, 200}}, map[observe.Signal]int{observe.ErrorSpike: 1}},
		{"Drop", []phase{{20, 50, 0, 200}, {2, 0, 0, 200}}, map[observe.Signal]int{observe.RequestDrop: 1}},
		{"SmallCountsNeverAlert", []phase{{20, 0, 0, 200}, {3, 5, 5, 200}}, map[observe.Signal]int{}},
		{"AgainAfterCooldown", []phase{{20, 20, 0, 200}, {1, 500, 0, 200}, {20, 20, 0, 200}, {1, 5000, 0, 200}}, map[observe.Signal]int{observe.RequestSpike: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: t0}
			var got []observe.Anomaly
			d := &observe.Detector{Raise: func(a observe.Anomaly) { got = append(got, a) }}
			tr := observe.NewTracker(clk.Now, d)
			for _, p := range tt.phases {
				for range p.minutes {
					for i := range p.acme {
						code := ""
						if i < p.acmeErrors {
							code = "ModelError"
						}
						tr.ObserveEvent(call("acme", "InvokeEndpoint", code, 1))
					}
					for range p.globex {
						tr.ObserveEvent(call("globex", "InvokeEndpoint", "", 1))
					}
					clk.Advance(time.Minute)
					tr.Tick()
				}
			}
			count := map[observe.Signal]int{}
			for _, a := range got {
				if a.TenantID != "acme" {
					t.Errorf("anomaly of %s: %s", a.TenantID, a.Message())
				}
				count[a.Signal]++
			}
			for _, s := range []observe.Signal{observe.RequestSpike, observe.RequestDrop, observe.ErrorSpike} {
				if count[s] != tt.want[s] {
					t.Errorf("%s: %d anomalies, want %d (%v)", s, count[s], tt.want[s], got)
				}
			}
		})
	}
}
