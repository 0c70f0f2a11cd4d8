package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store"
)

// RunDeployments runs the contract suite of serving.RolloutStore and
// alarm.Store (migration 0012_deployments.sql). newStore must return an
// empty store; RunDeployments closes it.
func RunDeployments(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	const acct, other = "111122223333", "444455556666"
	t.Run("Rollouts", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		rs := s.Rollouts()
		if _, err := rs.GetRollout(ctx, acct, "acme"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("get of none: %v, want ENOTFOUND", err)
		}
		r := &serving.Rollout{AccountID: acct, Endpoint: "Acme", Tenant: "acme", From: "acme--v1", To: "acme--v2", State: serving.RolloutBaking, Share: 0.25,
			Config: serving.DeploymentConfig{BlueGreenUpdatePolicy: &serving.BlueGreenUpdatePolicy{TrafficRoutingConfiguration: serving.TrafficRoutingConfiguration{
				Type: serving.RoutingCanary, WaitIntervalInSeconds: 60, CanarySize: &serving.CapacitySize{Type: serving.CapacityPercent, Value: 25}}, TerminationWaitInSeconds: 5},
				AutoRollbackConfiguration: &serving.AutoRollbackConfiguration{Alarms: []string{"acme--errors"}}},
			StartedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
		if err := rs.PutRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := rs.GetRollout(ctx, acct, "ACME") // names match in any case
		if err != nil || got.State != serving.RolloutBaking || got.Share != 0.25 || got.To != "acme--v2" || !got.StartedAt.Equal(r.StartedAt) ||
			got.Config.BlueGreenUpdatePolicy.TrafficRoutingConfiguration.CanarySize.Value != 25 || got.Config.AutoRollbackConfiguration.Alarms[0] != "acme--errors" {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if _, err := rs.GetRollout(ctx, other, "acme"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("another account's: %v, want ENOTFOUND", err)
		}
		r.State, r.Reason = serving.RolloutRolledBack, "alarm"
		if err := rs.PutRollout(ctx, r); err != nil {
			t.Fatal(err)
		}
		if got, _ := rs.GetRollout(ctx, acct, "acme"); got.State != serving.RolloutRolledBack || got.Reason != "alarm" {
			t.Errorf("after replace: %+v", got)
		}
		if err := rs.DeleteRollout(ctx, acct, "acme"); err != nil {
			t.Fatal(err)
		}
		if _, err := rs.GetRollout(ctx, acct, "acme"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("after delete: %v", err)
		}
		if err := rs.DeleteRollout(ctx, acct, "acme"); err != nil {
			t.Errorf("delete of none: %v", err)
		}
	})
	t.Run("Alarms", func(t *testing.T) {
		s := newStore(t)
		defer s.Close()
		as := s.Alarms()
		at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
		mk := func(name, tenant string) *alarm.Alarm {
			return &alarm.Alarm{AccountID: acct, Name: name, Tenant: tenant, ARN: alarm.ARN("us-east-1", acct, name), Namespace: alarm.Namespace,
				MetricName: alarm.MetricLatency, ExtendedStatistic: "p99", Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 2, Threshold: 250000,
				ComparisonOperator: alarm.GreaterThan, TreatMissingData: alarm.MissingMissing, Dimensions: []alarm.Dimension{{Name: alarm.DimEndpoint, Value: tenant}},
				Tags: map[string]string{"TenantID": tenant}, State: alarm.StateInsufficientData, StateReason: "new", StateUpdatedAt: at, ConfigUpdatedAt: at}
		}
		for _, a := range []*alarm.Alarm{mk("acme--p99", "acme"), mk("acme--errors", "acme"), mk("globex--p99", "globex")} {
			if err := as.PutAlarm(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := as.GetAlarm(ctx, acct, "acme--p99")
		if err != nil || got.Tenant != "acme" || got.ExtendedStatistic != "p99" || got.DatapointsToAlarm != 2 || got.Threshold != 250000 ||
			got.Dimensions[0].Value != "acme" || got.Tags["TenantID"] != "acme" || !got.StateUpdatedAt.Equal(at) {
			t.Fatalf("get = %+v, %v", got, err)
		}
		if _, err := as.GetAlarm(ctx, acct, "ACME--P99"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("alarm names are case-sensitive: %v", err)
		}
		list := func(f alarm.Filter) []string {
			t.Helper()
			as, err := as.ListAlarms(ctx, acct, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, a := range as {
				out = append(out, a.Name)
			}
			return out
		}
		for _, tc := range []struct {
			f    alarm.Filter
			want string
		}{
			{alarm.Filter{}, "[acme--errors acme--p99 globex--p99]"},
			{alarm.Filter{Tenant: "acme"}, "[acme--errors acme--p99]"},
			{alarm.Filter{Tenant: "acme", Names: []string{"globex--p99", "acme--p99"}}, "[acme--p99]"},
			{alarm.Filter{Prefix: "globex"}, "[globex--p99]"},
			{alarm.Filter{State: alarm.StateAlarm}, "[]"},
		} {
			if got := list(tc.f); fmtList(got) != tc.want {
				t.Errorf("list %+v = %v, want %s", tc.f, got, tc.want)
			}
		}
		later := at.Add(time.Minute)
		if err := as.SetState(ctx, acct, "acme--p99", alarm.StateAlarm, "breached", later); err != nil {
			t.Fatal(err)
		}
		// Putting the definition again keeps the state.
		again := mk("acme--p99", "acme")
		again.Threshold = 1
		if err := as.PutAlarm(ctx, again); err != nil {
			t.Fatal(err)
		}
		got, _ = as.GetAlarm(ctx, acct, "acme--p99")
		if got.State != alarm.StateAlarm || got.StateReason != "breached" || !got.StateUpdatedAt.Equal(later) || got.Threshold != 1 {
			t.Errorf("after set state and put: %+v", got)
		}
		if l := list(alarm.Filter{State: alarm.StateAlarm}); fmtList(l) != "[acme--p99]" {
			t.Errorf("by state: %v", l)
		}
		if err := as.DeleteAlarm(ctx, acct, "acme--p99"); err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{as.DeleteAlarm(ctx, acct, "acme--p99"), as.SetState(ctx, acct, "acme--p99", alarm.StateOK, "", at)} {
			if tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				t.Errorf("missing alarm: %v, want ENOTFOUND", err)
			}
		}
		if _, err := as.GetAlarm(ctx, other, "globex--p99"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("another account's: %v", err)
		}
	})
}

func fmtList(s []string) string {
	out := "["
	for i, v := range s {
		if i > 0 {
			out += " "
		}
		out += v
	}
	return out + "]"
}
