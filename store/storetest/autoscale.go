package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/store"
)

// RunAutoscaling runs the autoscaling contract (autoscale.Store) against
// the stores newStore returns.
func RunAutoscaling(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	const acct = "123456789012"
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	rid := func(e string) autoscale.ResourceID { return autoscale.ResourceID{Endpoint: e, Variant: "AllTraffic"} }
	target := func(tenant, e string, lo, hi int) *autoscale.Target {
		return &autoscale.Target{TenantID: tenant, AccountID: acct, ResourceID: rid(e), MinCapacity: lo, MaxCapacity: hi, ARN: "arn:" + e, CreatedAt: at}
	}
	pol := func(tenant, e, name string, tv float64) *autoscale.Policy {
		return &autoscale.Policy{TenantID: tenant, AccountID: acct, ResourceID: rid(e), Name: name, ARN: "arn:p:" + name, Type: autoscale.PolicyTargetTracking,
			Config: autoscale.TargetTracking{TargetValue: tv, Predefined: autoscale.InvocationsPerInstance, ScaleOutCooldown: 60, ScaleInCooldown: 300}, CreatedAt: at}
	}
	tenantF := func(tenant string) autoscale.Filter {
		return autoscale.Filter{Tenant: tenant, Platform: tenant == "", AccountID: acct}
	}
	seed := func(t *testing.T, s autoscale.Store) {
		t.Helper()
		for _, x := range []*autoscale.Target{target("acme", "acme", 1, 4), target("globex", "globex", 2, 3), target("", "pool", 1, 2)} {
			if err := s.PutTarget(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range []*autoscale.Policy{pol("acme", "acme", "p1", 50), pol("acme", "acme", "p2", 70), pol("globex", "globex", "g", 10)} {
			if err := s.PutPolicy(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}

	t.Run("TargetsByTenant", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		seed(t, s)
		for tenant, want := range map[string][]string{"acme": {"acme"}, "globex": {"globex"}, "": {"pool"}, "initech": nil} {
			ts, err := s.Targets(ctx, tenantF(tenant))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range ts {
				got = append(got, x.ResourceID.Endpoint)
				if x.TenantID != tenant {
					t.Errorf("tenant %q read a target of %q", tenant, x.TenantID)
				}
			}
			if len(got) != len(want) || (len(got) == 1 && got[0] != want[0]) {
				t.Errorf("tenant %q: targets %v, want %v", tenant, got, want)
			}
		}
		all, err := s.Targets(ctx, autoscale.Filter{AllTenants: true, AccountID: acct})
		if err != nil || len(all) != 3 {
			t.Fatalf("all targets: %d, %v", len(all), err)
		}
		if got := all[0]; got.ResourceID != rid("acme") || got.MinCapacity != 1 || got.MaxCapacity != 4 || !got.CreatedAt.Equal(at) || got.ARN != "arn:acme" {
			t.Errorf("target read back as %+v", got)
		}
	})
	t.Run("FilterWithoutTenantFails", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		for _, f := range []autoscale.Filter{{AccountID: acct}, {Tenant: "acme", AllTenants: true, AccountID: acct}, {Tenant: "acme"}} {
			if _, err := s.Targets(ctx, f); err == nil {
				t.Errorf("Targets(%+v) read without naming one tenant and account", f)
			}
			if _, err := s.Policies(ctx, f); err == nil {
				t.Errorf("Policies(%+v) read without naming one tenant and account", f)
			}
			if _, err := s.Activities(ctx, f); err == nil {
				t.Errorf("Activities(%+v) read without naming one tenant and account", f)
			}
		}
	})
	t.Run("PutTargetUpdatesBounds", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		seed(t, s)
		if err := s.PutTarget(ctx, target("acme", "acme", 2, 8)); err != nil {
			t.Fatal(err)
		}
		ts, _ := s.Targets(ctx, tenantF("acme"))
		if len(ts) != 1 || ts[0].MinCapacity != 2 || ts[0].MaxCapacity != 8 {
			t.Fatalf("targets after update: %+v", ts)
		}
		ps, _ := s.Policies(ctx, tenantF("acme"))
		if len(ps) != 2 {
			t.Errorf("an update of the bounds dropped policies: %d left", len(ps))
		}
	})
	t.Run("StaleTargetOfAnotherTenantIsReplaced", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		seed(t, s)
		if err := s.PutTarget(ctx, target("initech", "acme", 1, 2)); err != nil {
			t.Fatal(err)
		}
		if ts, _ := s.Targets(ctx, tenantF("acme")); len(ts) != 0 {
			t.Errorf("acme still has %d targets", len(ts))
		}
		if ps, _ := s.Policies(ctx, tenantF("acme")); len(ps) != 0 {
			t.Errorf("acme's policies of the replaced target remain: %d", len(ps))
		}
		if ts, _ := s.Targets(ctx, tenantF("initech")); len(ts) != 1 {
			t.Errorf("initech has %d targets, want 1", len(ts))
		}
	})
	t.Run("PolicyNeedsOwnTarget", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		seed(t, s)
		for _, p := range []*autoscale.Policy{pol("acme", "globex", "x", 1), pol("acme", "missing", "x", 1), pol("", "acme", "x", 1)} {
			if err := s.PutPolicy(ctx, p); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				t.Errorf("PutPolicy(%s on %s) = %v, want not found", p.TenantID, p.ResourceID, err)
			}
		}
	})
	t.Run("PolicyReplaceAndFilter", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		seed(t, s)
		p := pol("acme", "acme", "p1", 99)
		p.Config.DisableScaleIn = true
		p.Config.Predefined, p.Config.Custom = "", &autoscale.CustomMetric{MetricName: "ModelLatency", Namespace: "tenantml", Statistic: "Average",
			Dimensions: []autoscale.Dim{{Name: "EndpointName", Value: "acme"}, {Name: "VariantName", Value: "AllTraffic"}}}
		if err := s.PutPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
		f := tenantF("acme")
		f.PolicyNames = []string{"p1"}
		ps, err := s.Policies(ctx, f)
		if err != nil || len(ps) != 1 {
			t.Fatalf("policies: %d, %v", len(ps), err)
		}
		got := ps[0]
		if got.Config.TargetValue != 99 || !got.Config.DisableScaleIn || got.Config.Custom == nil || got.Config.Custom.MetricName != "ModelLatency" ||
			len(got.Config.Custom.Dimensions) != 2 || got.Config.ScaleInCooldown != 300 || got.ARN != "arn:p:p1" {
			t.Errorf("policy read back as %+v (custom %+v)", got, got.Config.Custom)
		}
		f.PolicyNames = nil
		f.ResourceIDs = []autoscale.ResourceID{rid("globex")}
		if ps, _ := s.Policies(ctx, f); len(ps) != 0 {
			t.Errorf("acme's filter on globex's resource read %d policies", len(ps))
		}
	})
	t.Run("DeletesAreTenantScoped", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		seed(t, s)
		if err := s.DeletePolicy(ctx, "acme", acct, rid("globex"), "g"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("acme deleted globex's policy: %v", err)
		}
		if err := s.DeleteTarget(ctx, "acme", acct, rid("globex")); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("acme deleted globex's target: %v", err)
		}
		if err := s.DeletePolicy(ctx, "acme", acct, rid("acme"), "p1"); err != nil {
			t.Fatal(err)
		}
		if err := s.DeletePolicy(ctx, "acme", acct, rid("acme"), "p1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("second delete: %v", err)
		}
		if err := s.DeleteTarget(ctx, "acme", acct, rid("acme")); err != nil {
			t.Fatal(err)
		}
		if ps, _ := s.Policies(ctx, tenantF("acme")); len(ps) != 0 {
			t.Errorf("deleting the target left %d policies", len(ps))
		}
		if ts, _ := s.Targets(ctx, tenantF("globex")); len(ts) != 1 {
			t.Errorf("globex's target is gone")
		}
	})
	t.Run("ActivitiesNewestFirst", func(t *testing.T) {
		s := newStore(t).Autoscaling()
		for i, x := range []struct {
			tenant, id string
			from, to   int
		}{{"acme", "a1", 1, 2}, {"acme", "a2", 2, 4}, {"globex", "g1", 2, 3}, {"acme", "a3", 4, 1}} {
			a := &autoscale.Activity{TenantID: x.tenant, AccountID: acct, ID: x.id, ResourceID: rid(x.tenant), From: x.from, To: x.to,
				Description: "d", Cause: "c", StatusCode: autoscale.StatusSuccessful, StatusMessage: "m",
				StartTime: at.Add(time.Duration(i) * time.Minute), EndTime: at.Add(time.Duration(i)*time.Minute + 1500*time.Millisecond)}
			if err := s.AddActivity(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		f := tenantF("acme")
		as, err := s.Activities(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range as {
			ids = append(ids, a.ID)
		}
		if len(ids) != 3 || ids[0] != "a3" || ids[1] != "a2" || ids[2] != "a1" {
			t.Fatalf("acme's activities %v, want [a3 a2 a1]", ids)
		}
		if a := as[0]; a.From != 4 || a.To != 1 || !a.EndTime.Equal(at.Add(3*time.Minute+1500*time.Millisecond)) || a.ResourceID != rid("acme") {
			t.Errorf("activity read back as %+v", a)
		}
		f.Limit = 1
		if as, _ := s.Activities(ctx, f); len(as) != 1 || as[0].ID != "a3" {
			t.Errorf("limited read: %+v", as)
		}
	})
}
