package audit_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/audit/alert"
)

// TestEngine_WithLog wires an alert engine to a real log, as serve does:
// alerts fire on appended events, are recorded in the log, and an audit
// write failure reaches the webhook and is recorded once the log recovers.
func TestEngine_WithLog(t *testing.T) {
	ctx := context.Background()
	secret := []byte("hook-secret")
	var mu sync.Mutex
	var kinds []alert.Kind
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if alert.VerifySignature(secret, r.Header.Get(alert.TimestampHeader), body, r.Header.Get(alert.SignatureHeader)) != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var a alert.Alert
		json.Unmarshal(body, &a)
		mu.Lock()
		kinds = append(kinds, a.Kind)
		mu.Unlock()
	}))
	defer srv.Close()

	ffs := &faultFS{}
	eng, err := alert.New(alert.Config{
		Rules:      []alert.Rule{{Name: "denied", Kind: alert.DeniedRequests, TenantID: "acme", Threshold: 3, Window: time.Minute}, {Name: "audit-down", Kind: alert.AuditWriteFailure}},
		WebhookURL: srv.URL, Secret: secret, Client: srv.Client(),
		After:  func(time.Duration) <-chan time.Time { return make(chan time.Time) }, // retries only on Flush
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	tl := openTestLog(t, t.TempDir(), func(c *audit.Config) { c.Observer = eng; c.OpenFile = ffs.OpenFile })
	defer tl.close(t)
	eng.SetRecorder(tl.Log)

	for range 3 {
		mustAppend(t, tl.Log, event("acme", "mallory", "InvokeEndpoint", audit.ImplicitlyDenied))
	}
	if err := eng.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	page, err := tl.Lookup(ctx, audit.Filter{TenantID: "acme", EventName: "AlertFired"})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("alert events in log = %d, %v; want 1", len(page.Events), err)
	}
	if a := page.Events[0]; a.EventType != audit.TypeAlert || a.AdditionalEventData["kind"] != string(alert.DeniedRequests) ||
		a.UserIdentity.ARN != "arn:aws:sts::111122223333:assumed-role/acme-invoke/mallory" {
		t.Errorf("alert event = %+v", a)
	}

	ffs.set(syscall.ENOSPC)
	if _, err := tl.Append(ctx, event("acme", "alice", "InvokeEndpoint", audit.Allowed)); err == nil {
		t.Fatal("append succeeded on a full disk")
	}
	if err := eng.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := eng.Stats(); got.RecordFailures == 0 {
		t.Errorf("Stats = %+v: failure alert should not be recordable while the log is down", got)
	}
	ffs.set(nil)
	tl.tickAndSync(t)
	if err := eng.Flush(ctx); err != nil { // retries the pending record
		t.Fatal(err)
	}
	page, err = tl.Lookup(ctx, audit.Filter{AllTenants: true, EventName: "AlertFired", OldestFirst: true})
	if err != nil || len(page.Events) != 2 || page.Events[1].AdditionalEventData["kind"] != string(alert.AuditWriteFailure) {
		t.Fatalf("alert events after recovery = %+v, %v", page.Events, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kinds) != 2 || kinds[0] != alert.DeniedRequests || kinds[1] != alert.AuditWriteFailure {
		t.Errorf("webhook got %v", kinds)
	}
}
