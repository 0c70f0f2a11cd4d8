package autoscale_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/autoscale"
)

func policy(name string, target float64, out, in int, disableIn bool) *autoscale.Policy {
	return &autoscale.Policy{Name: name, Type: autoscale.PolicyTargetTracking, Config: autoscale.TargetTracking{
		TargetValue: target, Predefined: autoscale.InvocationsPerInstance, ScaleOutCooldown: out, ScaleInCooldown: in, DisableScaleIn: disableIn}}
}

func custom(name, metric string, target float64) *autoscale.Policy {
	return &autoscale.Policy{Name: name, Type: autoscale.PolicyTargetTracking, Config: autoscale.TargetTracking{
		TargetValue: target, Custom: &autoscale.CustomMetric{MetricName: metric, Namespace: autoscale.CustomNamespace, Statistic: "Average"}}}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	target := &autoscale.Target{MinCapacity: 1, MaxCapacity: 4}
	fig := func(instances int, perMinute float64) autoscale.Figures {
		return autoscale.Figures{Instances: instances, HasData: true, InvocationsPerMinute: perMinute}
	}
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name     string
		target   *autoscale.Target
		policies []*autoscale.Policy
		fig      autoscale.Figures
		hist     autoscale.History
		want     int
		change   bool
		cause    string // a part of Cause
	}{
		{name: "AtTargetStays", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(2, 200), want: 2, change: false},
		{name: "ScaleOutProportional", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(1, 250), want: 3, change: true, cause: "asked for 3"},
		{name: "JustAboveTargetAddsOne", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(2, 201), want: 3, change: true},
		{name: "ScaleOutClampedToMax", policies: []*autoscale.Policy{policy("p", 10, 60, 300, false)}, fig: fig(2, 1000), want: 4, change: true},
		{name: "AtMaxStays", policies: []*autoscale.Policy{policy("p", 10, 60, 300, false)}, fig: fig(4, 1000), want: 4, change: false},
		{name: "ScaleInProportional", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(4, 150), want: 2, change: true},
		{name: "IdleScalesInToMinNotZero", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(4, 0), want: 1, change: true},
		{name: "IdleWithMinTwo", target: &autoscale.Target{MinCapacity: 2, MaxCapacity: 4}, policies: []*autoscale.Policy{policy("p", 100, 0, 0, false)}, fig: fig(3, 0), want: 2, change: true},
		{name: "BelowMinRaisedWithoutPolicy", target: &autoscale.Target{MinCapacity: 2, MaxCapacity: 4}, fig: fig(1, 0), want: 2, change: true, cause: "below MinCapacity"},
		{name: "AboveMaxLoweredDespiteCooldown", policies: []*autoscale.Policy{policy("p", 100, 60, 300, true)}, fig: fig(6, 1000), hist: autoscale.History{LastScaleIn: ago(time.Second)}, want: 4, change: true, cause: "above MaxCapacity"},
		{name: "NoPolicyStays", fig: fig(2, 1000), want: 2, change: false},
		{name: "NoDataStays", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: autoscale.Figures{Instances: 3}, want: 3, change: false, cause: "insufficient data"},
		{name: "ScaleOutCooldownHolds", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(2, 400), hist: autoscale.History{LastScaleOut: ago(59 * time.Second)}, want: 2, change: false, cause: "scale-out cooldown"},
		{name: "ScaleOutCooldownOver", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(2, 400), hist: autoscale.History{LastScaleOut: ago(60 * time.Second)}, want: 4, change: true},
		{name: "ScaleOutIgnoresScaleInCooldown", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(2, 400), hist: autoscale.History{LastScaleIn: ago(time.Second)}, want: 4, change: true},
		{name: "ScaleInCooldownHolds", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(4, 100), hist: autoscale.History{LastScaleIn: ago(299 * time.Second)}, want: 4, change: false, cause: "scale-in cooldown"},
		{name: "ScaleInCooldownOver", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(4, 100), hist: autoscale.History{LastScaleIn: ago(300 * time.Second)}, want: 1, change: true},
		{name: "ScaleInWaitsForScaleOutCooldown", policies: []*autoscale.Policy{policy("p", 100, 60, 300, false)}, fig: fig(4, 100), hist: autoscale.History{LastScaleOut: ago(30 * time.Second)}, want: 4, change: false, cause: "last scale-out"},
		{name: "DisableScaleInHolds", policies: []*autoscale.Policy{policy("p", 100, 0, 0, true)}, fig: fig(4, 0), want: 4, change: false},
		{name: "DisableScaleInStillScalesOut", policies: []*autoscale.Policy{policy("p", 100, 0, 0, true)}, fig: fig(1, 300), want: 3, change: true},
		{name: "LargestAskWins", policies: []*autoscale.Policy{policy("low", 200, 0, 0, false), policy("high", 50, 0, 0, false)}, fig: fig(1, 150), want: 3, change: true, cause: "policy high"},
		{name: "ScaleInNeedsEveryPolicy", policies: []*autoscale.Policy{policy("in", 100, 0, 0, false), policy("keep", 100, 0, 0, true)}, fig: fig(4, 40), want: 4, change: false},
		{name: "CustomInvocationsTotal", policies: []*autoscale.Policy{custom("c", autoscale.MetricInvocations, 100)}, fig: fig(2, 300), want: 4, change: true},
		{name: "CustomLatency", policies: []*autoscale.Policy{custom("c", autoscale.MetricModelLatency, 1000)}, fig: autoscale.Figures{Instances: 1, HasData: true, ModelLatencyMicros: 2500}, want: 3, change: true},
		{name: "CustomConcurrency", policies: []*autoscale.Policy{custom("c", autoscale.MetricConcurrentRequestsPerInstance, 2)}, fig: autoscale.Figures{Instances: 2, HasData: true, InFlight: 7}, want: 4, change: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.target
			if tg == nil {
				tg = target
			}
			d := autoscale.Decide(now, tg, tt.policies, tt.fig, tt.hist)
			if d.Desired != tt.want || d.Change != tt.change {
				t.Fatalf("Decide = %d (change %v), want %d (change %v); cause %q", d.Desired, d.Change, tt.want, tt.change, d.Cause)
			}
			if !strings.Contains(d.Cause, tt.cause) {
				t.Errorf("cause %q does not say %q", d.Cause, tt.cause)
			}
		})
	}
}

func TestPolicy_Validate(t *testing.T) {
	r := autoscale.ResourceID{Endpoint: "acme", Variant: "AllTraffic"}
	dims := []autoscale.Dim{{Name: "EndpointName", Value: "acme"}, {Name: "VariantName", Value: "AllTraffic"}}
	ok := func() *autoscale.Policy {
		p := policy("p", 70, 60, 300, false)
		p.ResourceID = r
		return p
	}
	tests := []struct {
		name string
		edit func(p *autoscale.Policy)
		msg  string // "" when valid
	}{
		{name: "OK", edit: func(*autoscale.Policy) {}},
		{name: "CustomOK", edit: func(p *autoscale.Policy) {
			p.Config.Predefined, p.Config.Custom = "", &autoscale.CustomMetric{MetricName: "ModelLatency", Namespace: "tenantml", Statistic: "Average", Dimensions: dims}
		}},
		{name: "StepScaling", edit: func(p *autoscale.Policy) { p.Type = "StepScaling" }, msg: "PolicyType"},
		{name: "BadName", edit: func(p *autoscale.Policy) { p.Name = "a/b" }, msg: "PolicyName"},
		{name: "ZeroTarget", edit: func(p *autoscale.Policy) { p.Config.TargetValue = 0 }, msg: "TargetValue"},
		{name: "NegativeCooldown", edit: func(p *autoscale.Policy) { p.Config.ScaleInCooldown = -1 }, msg: "ScaleInCooldown"},
		{name: "OtherPredefined", edit: func(p *autoscale.Policy) { p.Config.Predefined = "ECSServiceAverageCPUUtilization" }, msg: "PredefinedMetricType"},
		{name: "NoMetric", edit: func(p *autoscale.Policy) { p.Config.Predefined = "" }, msg: "exactly one"},
		{name: "BothMetrics", edit: func(p *autoscale.Policy) {
			p.Config.Custom = &autoscale.CustomMetric{MetricName: "Invocations", Namespace: "tenantml", Statistic: "Sum", Dimensions: dims}
		}, msg: "exactly one"},
		{name: "CustomUnknownMetric", edit: func(p *autoscale.Policy) {
			p.Config.Predefined, p.Config.Custom = "", &autoscale.CustomMetric{MetricName: "CPUUtilization", Namespace: "tenantml", Statistic: "Average", Dimensions: dims}
		}, msg: "MetricName"},
		{name: "CustomOtherVariant", edit: func(p *autoscale.Policy) {
			p.Config.Predefined, p.Config.Custom = "", &autoscale.CustomMetric{MetricName: "Invocations", Namespace: "tenantml", Statistic: "Sum",
				Dimensions: []autoscale.Dim{{Name: "EndpointName", Value: "globex"}, {Name: "VariantName", Value: "AllTraffic"}}}
		}, msg: "Dimensions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok()
			tt.edit(p)
			err := p.Validate()
			switch {
			case tt.msg == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tt.msg != "" && (err == nil || !strings.Contains(err.Error(), tt.msg)):
				t.Fatalf("Validate = %v, want an error about %s", err, tt.msg)
			}
		})
	}
}

func TestParseResourceID(t *testing.T) {
	for _, s := range []string{"", "endpoint/a", "endpoint/a/variant/", "endpoint/a/variant/b/c", "service/a/variant/b", "endpoint/a_b/variant/c", "endpoint/-a/variant/b"} {
		if _, err := autoscale.ParseResourceID(s); err == nil {
			t.Errorf("ParseResourceID(%q) accepted", s)
		}
	}
	r, err := autoscale.ParseResourceID("endpoint/acme-1/variant/AllTraffic")
	if err != nil || r != (autoscale.ResourceID{Endpoint: "acme-1", Variant: "AllTraffic"}) || r.String() != "endpoint/acme-1/variant/AllTraffic" {
		t.Fatalf("ParseResourceID = %+v, %v", r, err)
	}
}
