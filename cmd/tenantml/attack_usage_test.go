package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/observe"
)

// testRefusedUsageMetricsAlerts: acme's principals read acme's usage,
// metrics and alerts, never globex's: with usage recorded for both and an
// alert fired for each, every view acme's principals have holds only
// acme's, and the all-tenants usage view is refused to them. (Another
// tenant named in a route answers as a missing one:
// CrossTenantEveryOperation.)
func testRefusedUsageMetricsAlerts(t *testing.T, e *attackEnv) {
	ctx := context.Background()
	hour := metering.Hour(e.clock.now())
	usage := e.ts.store.Usage()
	src := "test/attack-usage"
	from, err := usage.Watermark(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if err := usage.Commit(ctx, &metering.Batch{Source: src, From: from, To: from + 1, Records: []metering.Record{
		{TenantID: "acme", Hour: hour, Dimension: metering.Invocations, Value: 3},
		{TenantID: "globex", Hour: hour, Dimension: metering.Invocations, Value: 1_000_003},
	}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"acme", "globex"} {
		if _, err := e.ts.audit.Append(ctx, audit.Event{EventType: audit.TypeAlert, EventSource: "tenantml.alert", EventName: "AlertFired", TenantID: id,
			AdditionalEventData: map[string]string{"rule": "tenant-anomaly", "kind": "AnomalousRate", "message": "request-spike for tenant " + id}}); err != nil {
			t.Fatal(err)
		}
	}
	q := "?from=" + hour.Add(-time.Hour).Format(time.RFC3339) + "&to=" + hour.Add(2*time.Hour).Format(time.RFC3339)
	a := e.tenants["acme"]
	for _, by := range []*principal{a.users["admin"], a.users["scientist"], a.users["viewer"]} {
		t.Run(by.kind, func(t *testing.T) {
			r := send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/tenants/acme/usage"+q, nil))
			var rep metering.Report
			if r.status != http.StatusOK || json.Unmarshal(r.body, &rep) != nil {
				t.Fatalf("own usage: %d %s", r.status, firstLine(string(r.body)))
			}
			if got := totals(&rep); got["acme"][metering.Invocations] < 3 || len(got) != 1 {
				t.Errorf("own usage holds %v", got)
			}
			r = send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/tenants/acme/usage"+q+"&format=csv", nil))
			if r.status != http.StatusOK || strings.Contains(string(r.body), "globex") || strings.Contains(string(r.body), "1000003") {
				t.Errorf("own usage CSV: %d %s", r.status, r.body)
			}
			if r := send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/usage"+q, nil)); r.status != http.StatusForbidden {
				t.Errorf("all tenants' usage: %d %s, want 403", r.status, firstLine(string(r.body)))
			}
			r = send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/tenants/acme/metrics?window=1h", nil))
			var s observe.Snapshot
			if r.status != http.StatusOK || json.Unmarshal(r.body, &s) != nil || s.TenantID != "acme" || strings.Contains(string(r.body), "globex") {
				t.Errorf("own metrics: %d %s", r.status, firstLine(string(r.body)))
			}
			r = send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/audit/events?limit=1000&action=AlertFired", nil))
			if r.status == http.StatusForbidden && by.kind == "scientist" {
				return // DataScientist does not read the trail
			}
			var evs manage.LookupEventsOutput
			if r.status != http.StatusOK || json.Unmarshal(r.body, &evs) != nil {
				t.Fatalf("own trail: %d %s", r.status, firstLine(string(r.body)))
			}
			alerts := 0
			for _, ev := range evs.Events {
				if ev.EventType == audit.TypeAlert {
					alerts++
					if ev.TenantID != "acme" || strings.Contains(ev.AdditionalEventData["message"], "globex") {
						t.Errorf("acme's trail shows an alert of %q: %v", ev.TenantID, ev.AdditionalEventData)
					}
				}
			}
			if alerts == 0 {
				t.Error("acme's own alert is not in its trail")
			}
		})
	}
}
