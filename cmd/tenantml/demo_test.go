package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	t.Run("HintRuns", func(t *testing.T) {
		// The command the demo prints must work as printed.
		hint := demoLookupHint(ts.cfg.DataDir)
		if !strings.Contains(out.String(), hint) {
			t.Fatalf("demo output lacks the hint %q:\n%s", hint, out.String())
		}
		args := strings.Fields(strings.TrimPrefix(hint, "tenantml "))
		got, err := runCLI(t, "", args...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", hint, err, got)
		}
		var lines, denied int
		for line := range strings.Lines(got) {
			var ev audit.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			if ev.EventName != "IsolationSelfCheck" {
				t.Fatalf("event %s, want only IsolationSelfCheck", ev.EventName)
			}
			lines++
			if ev.Decision.Effect != audit.Allowed {
				denied++
			}
		}
		if got, want := [2]int{lines, denied}, [2]int{24, 12}; got != want {
			t.Fatalf("(events, denied) = %v, want %v: both tenants' checks over two runs", got, want)
		}
	})
	for _, id := range demoTenants {
		if _, err := ts.store.Tenants().FindTenant(context.Background(), id); err != nil {
			t.Fatalf("demo tenant %s not onboarded: %v", id, err)
		}
	}
}
