package promotion

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The webhook retries a failing receiver and delivers an EventBridge-
// shaped body.
func TestWebhook_RetriesAndShape(t *testing.T) {
	var calls atomic.Int32
	got := make(chan EventBridgeEvent, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(r.Body)
		var ev EventBridgeEvent
		if err := json.Unmarshal(body, &ev); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("body %s: %v", body, err)
		}
		got <- ev
	}))
	defer srv.Close()
	w := &Webhook{Region: "us-east-1", Backoff: time.Millisecond}
	defer w.Close()
	spec := testSpec()
	spec.Webhook = srv.URL
	run := Run{AccountID: testAcct, Pipeline: spec.Name, ID: "r1", PackageARN: "arn:aws:sagemaker:us-east-1:111111111111:model-package/acme--churn/2", Version: 2, State: Failed}
	w.Send(Event{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Kind: EventProductionRollback, Run: run, Spec: spec, Env: "production", Reason: "alarm"})
	select {
	case ev := <-got:
		if ev.Version != "0" || ev.Source != "aws.sagemaker" || ev.DetailType != DetailEndpointDeployChange || ev.Account != "333333333333" ||
			ev.Time != "2026-01-02T03:04:05Z" || ev.Region != "us-east-1" || len(ev.ID) != 36 ||
			len(ev.Resources) != 1 || ev.Resources[0] != "arn:aws:sagemaker:us-east-1:333333333333:endpoint/acme--churn" ||
			ev.Detail["State"] != "ROLLBACK_COMPLETED" || ev.Detail["Reason"] != "alarm" || ev.Detail["ModelPackageVersion"] != float64(2) {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no delivery after %d attempts", calls.Load())
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

func TestToEventBridge_Kinds(t *testing.T) {
	spec := testSpec()
	run := Run{AccountID: testAcct, Pipeline: spec.Name, ID: "r1", PackageARN: "arn:pkg", Version: 1}
	tests := []struct {
		kind   EventKind
		ok     bool
		detail string
		acct   string
	}{
		{EventRunStarted, true, DetailPackageStateChange, testAcct},
		{EventApproved, true, DetailPackageStateChange, testAcct},
		{EventStagingDeployed, true, DetailEndpointDeployChange, "222222222222"},
		{EventProductionDeployed, true, DetailEndpointDeployChange, "333333333333"},
		{EventSmokeTestPassed, false, "", ""},
	}
	for _, tt := range tests {
		ev, ok := ToEventBridge(Event{Kind: tt.kind, Run: run, Spec: spec}, "us-east-1", "id")
		if ok != tt.ok || ev.DetailType != tt.detail || ev.Account != tt.acct {
			t.Errorf("%s: %v %+v", tt.kind, ok, ev)
		}
	}
}
