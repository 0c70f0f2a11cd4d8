package fleet_test

import (
	"context"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/fleet"
)

// TestFleet_SetInstanceCount scales a live variant out and in: the counts
// follow, the invocation figures survive the replacement, and a request
// racing a scale-in (its variant stops before admitting it) is answered
// by the replacement, not dropped.
func TestFleet_SetInstanceCount(t *testing.T) {
	ctx := context.Background()
	const acct = "111122223333"
	b := &backend{hook: map[string]func(){}}
	f := fleet.New(fleet.Config{Backend: b, Source: source{}})
	if err := f.Deploy(ctx, deployment("v1")); err != nil {
		t.Fatal(err)
	}
	ep, _ := f.Endpoint(acct, "acme")
	count := func() int {
		t.Helper()
		vc, ok := f.VariantCounts(acct, "acme")
		if !ok || len(vc) != 1 || vc[0].Variant != "AllTraffic" {
			t.Fatalf("VariantCounts = %+v, %v", vc, ok)
		}
		return vc[0].Instances
	}
	invoke := func() {
		t.Helper()
		if _, err := f.Invoke(ctx, ep, &serving.InvokeInput{Body: []byte("1,2")}); err != nil {
			t.Fatalf("invoke: %v", err)
		}
	}
	if got := count(); got != 1 {
		t.Fatalf("instances %d, want 1", got)
	}
	invoke()
	if err := f.SetInstanceCount(ctx, acct, "acme", "alltraffic", 3); err != nil {
		t.Fatal(err)
	}
	if got := count(); got != 3 {
		t.Fatalf("after scale-out: %d instances, want 3", got)
	}
	b.hook["v1"] = func() {
		if err := f.SetInstanceCount(ctx, acct, "acme", "AllTraffic", 2); err != nil {
			t.Error(err)
		}
	}
	invoke() // races the scale-in to 2
	if got := count(); got != 2 {
		t.Fatalf("after scale-in: %d instances, want 2", got)
	}
	st, ok := f.VariantState(acct, "acme", "AllTraffic")
	if !ok || st.Invocations != 2 || st.Instances != 2 || st.Tenant != "acme" || st.InFlight != 0 {
		t.Errorf("VariantState = %+v, %v; want 2 invocations (the raced one once), 2 instances, tenant acme, none in flight", st, ok)
	}
	for _, tt := range []struct {
		endpoint, variant string
		n                 int
		code              string
	}{{"acme", "Other", 2, tenantml.ENOTFOUND}, {"globex", "AllTraffic", 2, tenantml.ENOTFOUND}, {"acme", "AllTraffic", 0, tenantml.EINVALID}} {
		if err := f.SetInstanceCount(ctx, acct, tt.endpoint, tt.variant, tt.n); tenantml.ErrorCode(err) != tt.code {
			t.Errorf("SetInstanceCount(%s, %s, %d) = %v, want %s", tt.endpoint, tt.variant, tt.n, err, tt.code)
		}
	}
	if _, ok := f.VariantState(acct, "acme", "Other"); ok {
		t.Error("a missing variant has a state")
	}
}
