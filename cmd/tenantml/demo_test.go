package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/iam"
)

func TestIsolationChecks(t *testing.T) {
	checks, err := isolationChecks("us-east-1", "111122223333")
	if err != nil {
		t.Fatal(err)
	}
	if len(checks) != 12 {
		t.Fatalf("%d checks, want 2 callers × 2 targets × 3 models", len(checks))
	}
	for _, c := range checks {
		want := iam.ImplicitlyDenied
		if c.caller == c.target {
			want = iam.Allowed
		}
		if c.decision != want {
			t.Errorf("%s %s→%s = %s, want %s (%s)", c.model, c.caller, c.target, c.decision, want, c.reason)
		}
	}
}

func TestServe_Demo(t *testing.T) {
	ts := startServer(t, rootEnv)
	var out bytes.Buffer
	if err := ts.runDemo(context.Background(), &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Every cross-tenant call was denied") {
		t.Fatalf("demo output:\n%s", out.String())
	}
	// Running it again (a restart with --demo) keeps the tenants and works.
	if err := ts.runDemo(context.Background(), &out); err != nil {
		t.Fatalf("second demo: %v", err)
	}
	page, err := ts.audit.Lookup(context.Background(), audit.Filter{TenantID: "demo-a", EventName: "IsolationSelfCheck"})
	if err != nil {
		t.Fatal(err)
	}
	denied := 0
	for _, ev := range page.Events {
		if ev.Decision.Effect != audit.Allowed {
			denied++
			if !ev.CrossTenant {
				t.Errorf("denied event not marked cross-tenant: %+v", ev)
			}
		}
	}
	if len(page.Events) != 12 || denied != 6 {
		t.Fatalf("demo-a audit events = %d (%d denied), want 12 (6 denied) over two runs", len(page.Events), denied)
	}
	for _, id := range demoTenants {
		if _, err := ts.store.Tenants().FindTenant(context.Background(), id); err != nil {
			t.Fatalf("demo tenant %s not onboarded: %v", id, err)
		}
	}
}
