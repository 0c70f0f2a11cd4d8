package alarm_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
)

func valid() alarm.Alarm {
	return alarm.Alarm{Name: "acme--errors", Namespace: alarm.Namespace, MetricName: alarm.Metric5XX, Statistic: "Average", Period: 60, EvaluationPeriods: 3,
		Threshold: 0.1, ComparisonOperator: alarm.GreaterThan, Dimensions: []alarm.Dimension{{Name: alarm.DimEndpoint, Value: "acme"}}}
}

func TestAlarm_Validate(t *testing.T) {
	a := valid()
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	if a.TreatMissingData != alarm.MissingMissing || a.DatapointsToAlarm != 3 {
		t.Errorf("defaults: %q %d", a.TreatMissingData, a.DatapointsToAlarm)
	}
	tests := map[string]func(*alarm.Alarm){
		"NoName":            func(a *alarm.Alarm) { a.Name = "" },
		"Namespace":         func(a *alarm.Alarm) { a.Namespace = "AWS/EC2" },
		"Metric":            func(a *alarm.Alarm) { a.MetricName = "CPUUtilization" },
		"NoStatistic":       func(a *alarm.Alarm) { a.Statistic = "" },
		"BothStatistics":    func(a *alarm.Alarm) { a.ExtendedStatistic = "p99" },
		"Statistic":         func(a *alarm.Alarm) { a.Statistic = "Median" },
		"PercentileOfCount": func(a *alarm.Alarm) { a.Statistic, a.ExtendedStatistic = "", "p99" },
		"Percentile":        func(a *alarm.Alarm) { a.MetricName, a.Statistic, a.ExtendedStatistic = alarm.MetricLatency, "", "p101" },
		"Period":            func(a *alarm.Alarm) { a.Period = 45 },
		"ZeroPeriods":       func(a *alarm.Alarm) { a.EvaluationPeriods = 0 },
		"DatapointsToAlarm": func(a *alarm.Alarm) { a.DatapointsToAlarm = 4 },
		"Operator":          func(a *alarm.Alarm) { a.ComparisonOperator = "GreaterThanUpperThreshold" },
		"TreatMissing":      func(a *alarm.Alarm) { a.TreatMissingData = "sometimes" },
		"NoEndpoint":        func(a *alarm.Alarm) { a.Dimensions = []alarm.Dimension{{Name: alarm.DimVariant, Value: "AllTraffic"}} },
		"Dimension": func(a *alarm.Alarm) {
			a.Dimensions = append(a.Dimensions, alarm.Dimension{Name: "InstanceId", Value: "i-1"})
		},
		"TwiceDimension": func(a *alarm.Alarm) { a.Dimensions = append(a.Dimensions, a.Dimensions[0]) },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			a := valid()
			mod(&a)
			err := a.Validate()
			if tenantml.ErrorCode(err) != tenantml.EINVALID || tenantml.AWSCodeOf(err) != "ValidationError" {
				t.Errorf("Validate = %v, want ValidationError", err)
			}
		})
	}
}

// figures returns n invocations, bad of them 5xx, the rest answered in
// latency.
func figures(n, bad int, latency time.Duration) alarm.Figures {
	var f alarm.Figures
	for i := range n {
		status := 200
		if i < bad {
			status = 503
		}
		f.Observe(status, latency)
	}
	return f
}

func TestAlarm_Datapoint(t *testing.T) {
	tests := []struct {
		name, metric, stat, ext string
		f                       alarm.Figures
		want                    float64
		present                 bool
	}{
		{"ErrorRate", alarm.Metric5XX, "Average", "", figures(40, 10, time.Millisecond), 0.25, true},
		{"ErrorSum", alarm.Metric5XX, "Sum", "", figures(40, 10, time.Millisecond), 10, true},
		{"ErrorMax", alarm.Metric5XX, "Maximum", "", figures(40, 10, time.Millisecond), 1, true},
		{"ErrorsWithoutTraffic", alarm.Metric5XX, "Average", "", alarm.Figures{}, 0, false},
		{"Invocations", alarm.MetricInvocations, "Sum", "", figures(7, 7, 0), 7, true},
		{"4xx", alarm.Metric4XX, "Sum", "", figures(7, 7, 0), 0, true},
		{"LatencyAverage", alarm.MetricLatency, "Average", "", figures(10, 0, 3*time.Millisecond), 3000, true},
		{"LatencyP99Bucket", alarm.MetricLatency, "", "p99", figures(10, 0, 3*time.Millisecond), 3200, true},
		{"LatencyOfFailuresOnly", alarm.MetricLatency, "", "p99", figures(10, 10, 0), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := alarm.Alarm{MetricName: tt.metric, Statistic: tt.stat, ExtendedStatistic: tt.ext}
			got := a.Datapoint(tt.f)
			if got.Present != tt.present || got.Value != tt.want {
				t.Errorf("Datapoint = %+v, want %g present %v", got, tt.want, tt.present)
			}
		})
	}
	// p99 of 99 fast and one slow answer is the fast bucket's; of 98 fast
	// and two slow, the slow one's.
	a := alarm.Alarm{MetricName: alarm.MetricLatency, ExtendedStatistic: "p99"}
	var f alarm.Figures
	for range 99 {
		f.Observe(200, 150*time.Microsecond)
	}
	f.Observe(200, time.Second)
	if got := a.Datapoint(f).Value; got != 200 {
		t.Errorf("p99 of 99 x 150µs + 1 x 1s = %g, want 200 (µs)", got)
	}
	f.Observe(200, time.Second)
	if got := a.Datapoint(f).Value; got < 1e6 {
		t.Errorf("p99 of 99 x 150µs + 2 x 1s = %g, want >= 1e6 (µs)", got)
	}
	// A period's figures are the difference of snapshots.
	before := figures(10, 0, time.Millisecond)
	after := before.Add(figures(10, 5, time.Millisecond))
	e := alarm.Alarm{MetricName: alarm.Metric5XX, Statistic: "Average"}
	if got := e.Datapoint(after.Sub(before)).Value; got != 0.5 {
		t.Errorf("rate of the period = %g, want 0.5", got)
	}
}

func TestAlarm_Evaluate(t *testing.T) {
	p := func(v float64) alarm.Datapoint { return alarm.Datapoint{Value: v, Present: true} }
	none := alarm.Datapoint{}
	tests := []struct {
		name    string
		n, m    int
		missing string
		points  []alarm.Datapoint
		current alarm.StateValue
		want    alarm.StateValue
	}{
		{"Breach", 1, 1, "", []alarm.Datapoint{p(0.5)}, alarm.StateOK, alarm.StateAlarm},
		{"AtThreshold", 1, 1, "", []alarm.Datapoint{p(0.1)}, alarm.StateOK, alarm.StateOK},
		{"TwoOfThree", 3, 2, "", []alarm.Datapoint{p(0.5), p(0), p(0.5)}, alarm.StateOK, alarm.StateAlarm},
		{"OneOfThree", 3, 2, "", []alarm.Datapoint{p(0.5), p(0), p(0)}, alarm.StateOK, alarm.StateOK},
		{"OnlyLastCount", 2, 2, "", []alarm.Datapoint{p(0.5), p(0.5), p(0)}, alarm.StateOK, alarm.StateOK},
		{"AllMissing", 2, 2, "missing", []alarm.Datapoint{none, none}, alarm.StateOK, alarm.StateInsufficientData},
		{"MissingIgnored", 2, 2, "ignore", []alarm.Datapoint{none, none}, alarm.StateAlarm, alarm.StateAlarm},
		{"MissingBreaches", 2, 2, "breaching", []alarm.Datapoint{none, p(0.5)}, alarm.StateOK, alarm.StateAlarm},
		{"MissingNotBreaching", 2, 1, "notBreaching", []alarm.Datapoint{none, none}, alarm.StateAlarm, alarm.StateOK},
		{"FewerPeriodsThanN", 3, 3, "breaching", []alarm.Datapoint{p(0.5)}, alarm.StateOK, alarm.StateOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := valid()
			a.EvaluationPeriods, a.DatapointsToAlarm, a.TreatMissingData = tt.n, tt.m, tt.missing
			if err := a.Validate(); err != nil {
				t.Fatal(err)
			}
			got, why := a.Evaluate(tt.current, tt.points)
			if got != tt.want || why == "" {
				t.Errorf("Evaluate = %s (%s), want %s", got, why, tt.want)
			}
			if got == alarm.StateAlarm && tt.current != alarm.StateAlarm && !strings.HasPrefix(why, "Threshold Crossed") {
				t.Errorf("reason %q", why)
			}
		})
	}
}
