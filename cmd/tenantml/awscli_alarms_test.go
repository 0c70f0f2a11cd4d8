package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAWSCLI_Alarms drives the alarm API with the real AWS CLI
// (`aws cloudwatch`): a ModelLatency p99 alarm of tenant acme is put,
// described, refused with an alarm action, kept when a DeleteAlarms names
// a missing alarm beside it, and deleted.
func TestAWSCLI_Alarms(t *testing.T) {
	t.Parallel()
	ts := startServer(t, rootEnv)
	cw := func(args ...string) (string, error) {
		return awsCLI(t, ts, rootKeyID, rootSecret, "", append([]string{"cloudwatch"}, args...)...)
	}
	put := []string{"put-metric-alarm", "--alarm-name", "acme--p99", "--namespace", "AWS/SageMaker", "--metric-name", "ModelLatency",
		"--extended-statistic", "p99", "--dimensions", "Name=EndpointName,Value=acme", "Name=VariantName,Value=AllTraffic",
		"--period", "60", "--evaluation-periods", "3", "--datapoints-to-alarm", "2", "--threshold", "250000",
		"--comparison-operator", "GreaterThanThreshold", "--tags", "Key=TenantID,Value=acme"}
	if out, err := cw(put...); err != nil {
		t.Fatalf("put-metric-alarm: %v\n%s", err, out)
	}
	describe := func() []map[string]any {
		t.Helper()
		out, err := cw("describe-alarms", "--alarm-names", "acme--p99")
		if err != nil {
			t.Fatalf("describe-alarms: %v\n%s", err, out)
		}
		var got struct{ MetricAlarms []map[string]any }
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		return got.MetricAlarms
	}
	as := describe()
	if len(as) != 1 {
		t.Fatalf("describe-alarms = %v", as)
	}
	a := as[0]
	dims, _ := a["Dimensions"].([]any)
	if a["StateValue"] != "INSUFFICIENT_DATA" || a["ExtendedStatistic"] != "p99" || a["DatapointsToAlarm"] != float64(2) || a["Threshold"] != float64(250000) ||
		len(dims) != 2 || a["AlarmArn"] != "arn:aws:cloudwatch:us-east-1:"+ts.cfg.AccountID+":alarm:acme--p99" {
		t.Errorf("alarm = %v", a)
	}
	for name, args := range map[string][]string{
		"action":     append(append([]string{}, put...), "--alarm-actions", "arn:aws:sns:us-east-1:"+ts.cfg.AccountID+":pager"),
		"percentile": {"put-metric-alarm", "--alarm-name", "acme--x", "--namespace", "AWS/SageMaker", "--metric-name", "Invocations", "--extended-statistic", "p99", "--dimensions", "Name=EndpointName,Value=acme", "--period", "60", "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "GreaterThanThreshold"},
		"period":     {"put-metric-alarm", "--alarm-name", "acme--x", "--namespace", "AWS/SageMaker", "--metric-name", "Invocations", "--statistic", "Sum", "--dimensions", "Name=EndpointName,Value=acme", "--period", "45", "--evaluation-periods", "1", "--threshold", "1", "--comparison-operator", "GreaterThanThreshold"},
	} {
		if out, err := cw(args...); err == nil || !strings.Contains(out, "ValidationError") {
			t.Errorf("%s: %v, %s; want ValidationError", name, err, out)
		}
	}
	if out, err := cw("delete-alarms", "--alarm-names", "acme--p99", "acme--missing"); err == nil || !strings.Contains(out, "ResourceNotFound") {
		t.Errorf("delete-alarms with a missing alarm: %v, %s; want ResourceNotFound", err, out)
	}
	if len(describe()) != 1 {
		t.Error("a refused delete-alarms deleted an alarm")
	}
	if out, err := cw("delete-alarms", "--alarm-names", "acme--p99"); err != nil {
		t.Fatalf("delete-alarms: %v\n%s", err, out)
	}
	if as := describe(); len(as) != 0 {
		t.Errorf("after delete-alarms: %v", as)
	}
}
