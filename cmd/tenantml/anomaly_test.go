package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/audit/alert"
)

// TestServe_AnomalyAlert: acme and globex send a steady 12 requests a
// minute for 20 minutes (the clock moved, never slept on); then acme
// sends 150 in a minute. Exactly one alert is raised — acme's request
// spike — delivered signed to the alert webhook and recorded in acme's
// trail, not in globex's.
func TestServe_AnomalyAlert(t *testing.T) {
	const secret = "webhook-signing-secret-for-tests"
	hook := newWebhook(t)
	env := map[string]string{"TENANTML_ALERT_WEBHOOK_URL": hook.URL, "TENANTML_ALERT_WEBHOOK_SECRET": secret, "TENANTML_METER_INTERVAL": "5m"}
	for k, v := range rootEnv {
		env[k] = v
	}
	clock := &offsetClock{}
	ts := startServerClock(t, env, clock.now)
	for _, id := range []string{"acme", "globex"} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", id)
	}
	get := func(id string, n int) {
		for range n {
			if code, body, _ := ts.call(t, "GET", "/api/v1/tenants/"+id, rootKeyID, rootSecret, nil); code != http.StatusOK {
				t.Fatalf("get %s = %d %s", id, code, body)
			}
		}
	}
	// Start on a minute boundary, so that each minute's requests share it.
	clock.advance(time.Duration(60-clock.now().Second()) * time.Second)
	ts.obs.tracker.Tick()
	for range 20 {
		get("acme", 12)
		get("globex", 12)
		clock.advance(time.Minute)
		ts.obs.tracker.Tick()
	}
	get("acme", 150)
	get("globex", 12)
	clock.advance(time.Minute)
	ts.obs.tracker.Tick()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.alerts.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var got []alert.Alert
	for drained := false; !drained; {
		select {
		case d := <-hook.got:
			if err := alert.VerifySignature([]byte(secret), d.header.Get(alert.TimestampHeader), d.body, d.header.Get(alert.SignatureHeader)); err != nil {
				t.Error(err)
			}
			var a alert.Alert
			if err := json.Unmarshal(d.body, &a); err != nil {
				t.Fatal(err)
			}
			got = append(got, a)
		default:
			drained = true
		}
	}
	if len(got) != 1 || got[0].Kind != alert.AnomalousRate || got[0].TenantID != "acme" || got[0].Count != 150 {
		t.Fatalf("alerts %+v, want acme's one AnomalousRate alert for 150 requests", got)
	}
	for _, c := range []struct {
		tenant string
		want   int
	}{{"acme", 1}, {"globex", 0}} {
		var page manage.LookupEventsOutput
		ts.rootJSON(t, "/api/v1/audit/events?action=AlertFired&tenant="+c.tenant, &page)
		n := 0
		for _, ev := range page.Events {
			if ev.EventType == audit.TypeAlert && ev.AdditionalEventData["kind"] == string(alert.AnomalousRate) {
				n++
			}
		}
		if n != c.want {
			t.Errorf("%s's trail: %d anomaly alerts, want %d", c.tenant, n, c.want)
		}
	}
}
