package main

import (
	"net/url"
	"testing"

	"github.com/tenantml/tenantml/alarm"
)

// The cross-tenant templates of the alarm API (CloudWatch's query
// protocol) and of blue/green updates. globex's side is its alarm on its
// endpoint; the missing side an alarm name of the same shape that does not
// exist; acme's own alarm (on its own endpoint) is the same on both sides.

// opAlarmRelated: the second alarm of a DeleteAlarms, or an alarm of an
// update's AutoRollbackConfiguration, is decided inside the operation
// (Pipeline.Check, the alarm service as the caller's tenant sees it),
// where another tenant's answers as a missing one; nothing attributes the
// attempt.
const opAlarmRelated = "an alarm named besides the request's target is resolved inside the operation as the caller's tenant sees it: another tenant's answers as a missing one on the same path"

// cwOp is a template of CloudWatch action op.
func cwOp(op, variant string, params func(x *crossTarget) url.Values) crossCase {
	return crossCase{op: op, variant: variant, build: func(x *crossTarget) signedRequest { return queryRequest("monitoring", op, params(x)) }}
}

// alarmParams are PutMetricAlarm's parameters for an error-rate alarm
// named name on endpoint.
func alarmParams(name, endpoint string) url.Values {
	return url.Values{"AlarmName": {name}, "Namespace": {alarm.Namespace}, "MetricName": {alarm.Metric5XX}, "Statistic": {"Average"},
		"Period": {"60"}, "EvaluationPeriods": {"1"}, "Threshold": {"0.1"}, "ComparisonOperator": {alarm.GreaterThan},
		"Dimensions.member.1.Name": {alarm.DimEndpoint}, "Dimensions.member.1.Value": {endpoint}}
}

func alarmCases() []crossCase {
	quiet := func(c crossCase, operator string) crossCase { c.operator = operator; return c }
	list := func(c crossCase) crossCase { c.kind = crossList; return c }
	blueGreen := func(alarms ...string) map[string]any {
		refs := []map[string]string{}
		for _, a := range alarms {
			refs = append(refs, map[string]string{"AlarmName": a})
		}
		return map[string]any{"BlueGreenUpdatePolicy": map[string]any{"TrafficRoutingConfiguration": map[string]any{"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0}},
			"AutoRollbackConfiguration": map[string]any{"Alarms": refs}}
	}
	return []crossCase{
		// An alarm named in globex's name space, and one of acme's on
		// globex's endpoint.
		quiet(cwOp("PutMetricAlarm", "", func(x *crossTarget) url.Values { return alarmParams(x.alarm, x.ownEndpoint) }), opNamespace),
		quiet(cwOp("PutMetricAlarm", "endpoint", func(x *crossTarget) url.Values { return alarmParams("acme--attack", x.endpoint) }), opNamespace),
		list(cwOp("DescribeAlarms", "", func(*crossTarget) url.Values { return url.Values{} })),
		list(cwOp("DescribeAlarms", "names", func(x *crossTarget) url.Values { return url.Values{"AlarmNames.member.1": {x.alarm}} })),
		list(cwOp("DescribeAlarms", "prefix", func(*crossTarget) url.Values { return url.Values{"AlarmNamePrefix": {"globex"}} })),
		cwOp("DeleteAlarms", "", func(x *crossTarget) url.Values { return url.Values{"AlarmNames.member.1": {x.alarm}} }),
		quiet(cwOp("DeleteAlarms", "second", func(x *crossTarget) url.Values {
			return url.Values{"AlarmNames.member.1": {x.ownAlarm}, "AlarmNames.member.2": {x.alarm}}
		}), opAlarmRelated),
		// A blue/green update of acme's own endpoint that names globex's
		// alarm for its rollback.
		quiet(smOp("UpdateEndpoint", "rollback-alarm", func(x *crossTarget) map[string]any {
			return map[string]any{"EndpointName": x.ownEndpoint, "EndpointConfigName": x.ownConfig, "DeploymentConfig": blueGreen(x.alarm)}
		}), opAlarmRelated),
	}
}

// alarms builds the alarms of the scenario: globex's on its endpoint and
// acme's own on its endpoint, both put by the operator with the tenant's
// TenantID tag.
func (e *attackEnv) alarms(t *testing.T) {
	t.Helper()
	put := func(name, endpoint, tenant string) {
		p := alarmParams(name, endpoint)
		p.Set("Tags.member.1.Key", "TenantID")
		p.Set("Tags.member.1.Value", tenant)
		e.mustOK(t, e.root, queryRequest("monitoring", "PutMetricAlarm", p))
	}
	e.sv.alarm, e.sv.ownAlarm = "globex--errors", "acme--errors"
	put(e.sv.alarm, e.sv.endpoint, "globex")
	put(e.sv.ownAlarm, e.sv.ownEndpoint, "acme")
}

// alarmTargets fills the alarm names of globex's side and of the missing
// side.
func (e *attackEnv) alarmTargets(other, missing *crossTarget, word func(n int) string) {
	for _, x := range []*crossTarget{other, missing} {
		x.ownAlarm = e.sv.ownAlarm
	}
	other.alarm = e.sv.alarm
	missing.alarm = "globex--" + word(6)
	for _, x := range []*crossTarget{other, missing} {
		x.alarmARN = alarm.ARN(e.ts.cfg.Region, e.acct, x.alarm)
	}
}
