package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/audit/alert"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeAfter fires at once and remembers the delays asked for.
type fakeAfter struct {
	mu     sync.Mutex
	delays []time.Duration
}

func (f *fakeAfter) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	f.delays = append(f.delays, d)
	f.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

// memRecorder stands in for the audit log.
type memRecorder struct {
	mu     sync.Mutex
	events []audit.Event
	fail   error
}

func (m *memRecorder) Append(_ context.Context, ev audit.Event) (audit.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return audit.Receipt{}, m.fail
	}
	m.events = append(m.events, ev)
	return audit.Receipt{Seq: int64(len(m.events) - 1)}, nil
}

func (m *memRecorder) all() []audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Event(nil), m.events...)
}

func newEngine(t *testing.T, rules []alert.Rule, mod func(*alert.Config)) (*alert.Engine, *fakeClock, *memRecorder) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	fa := &fakeAfter{}
	cfg := alert.Config{Rules: rules, Now: clock.Now, After: fa.After, Logger: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	e, err := alert.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec := &memRecorder{}
	e.SetRecorder(rec)
	t.Cleanup(func() { e.Close(context.Background()) })
	return e, clock, rec
}

func ev(tenant, principal string, effect audit.Effect) audit.Event {
	return audit.Event{TenantID: tenant, EventSource: "sagemaker.amazonaws.com", EventName: "InvokeEndpoint",
		UserIdentity: audit.UserIdentity{ARN: "arn:aws:sts::111122223333:assumed-role/r/" + principal}, Decision: audit.Decision{Effect: effect}}
}

func TestEngine_ObserveEvent(t *testing.T) {
	denied := alert.Rule{Name: "denied", Kind: alert.DeniedRequests, Threshold: 3, Window: time.Minute}
	tests := []struct {
		name  string
		rules []alert.Rule
		feed  func(e *alert.Engine, c *fakeClock)
		want  []alert.Kind
	}{
		{"DeniedBelowThreshold", []alert.Rule{denied}, func(e *alert.Engine, c *fakeClock) {
			e.ObserveEvent(ev("a", "p", audit.ImplicitlyDenied))
			e.ObserveEvent(ev("a", "p", audit.ExplicitlyDenied))
			e.ObserveEvent(ev("a", "p", audit.Allowed))
		}, nil},
		{"DeniedBurst", []alert.Rule{denied}, func(e *alert.Engine, c *fakeClock) {
			for range 3 {
				e.ObserveEvent(ev("a", "p", audit.ImplicitlyDenied))
				c.Advance(10 * time.Second)
			}
		}, []alert.Kind{alert.DeniedRequests}},
		{"DeniedOutsideWindow", []alert.Rule{denied}, func(e *alert.Engine, c *fakeClock) {
			for range 3 {
				e.ObserveEvent(ev("a", "p", audit.ImplicitlyDenied))
				c.Advance(31 * time.Second)
			}
		}, nil},
		{"DeniedPerPrincipal", []alert.Rule{denied}, func(e *alert.Engine, c *fakeClock) {
			e.ObserveEvent(ev("a", "p1", audit.ImplicitlyDenied))
			e.ObserveEvent(ev("a", "p2", audit.ImplicitlyDenied))
			e.ObserveEvent(ev("a", "p3", audit.ImplicitlyDenied))
		}, nil},
		{"DeniedCooldown", []alert.Rule{denied}, func(e *alert.Engine, c *fakeClock) {
			for range 6 {
				e.ObserveEvent(ev("a", "p", audit.ImplicitlyDenied))
			}
		}, []alert.Kind{alert.DeniedRequests}},
		{"TenantRuleIgnoresOthers", []alert.Rule{{Name: "b-only", Kind: alert.DeniedRequests, TenantID: "b", Threshold: 1}}, func(e *alert.Engine, c *fakeClock) {
			e.ObserveEvent(ev("a", "p", audit.ImplicitlyDenied))
		}, nil},
		{"CrossTenantBurst", []alert.Rule{{Name: "x", Kind: alert.CrossTenantAttempts, Threshold: 2, Window: time.Minute}}, func(e *alert.Engine, c *fakeClock) {
			for _, p := range []string{"p1", "p2"} {
				x := ev("a", p, audit.ImplicitlyDenied)
				x.CrossTenant = true
				e.ObserveEvent(x)
			}
		}, []alert.Kind{alert.CrossTenantAttempts}},
		{"SuspendedTenant", []alert.Rule{{Name: "s", Kind: alert.SuspendedTenantAccess}}, func(e *alert.Engine, c *fakeClock) {
			x := ev("a", "p", audit.ExplicitlyDenied)
			x.TenantSuspended = true
			e.ObserveEvent(x)
		}, []alert.Kind{alert.SuspendedTenantAccess}},
		{"KeyDeletion", []alert.Rule{{Name: "k", Kind: alert.KeyDeletionScheduled, Cooldown: -1}}, func(e *alert.Engine, c *fakeClock) {
			for range 2 {
				x := ev("a", "p", audit.Allowed)
				x.EventSource, x.EventName = "kms.amazonaws.com", "ScheduleKeyDeletion"
				e.ObserveEvent(x)
			}
			denied := ev("a", "p", audit.ExplicitlyDenied)
			denied.EventName = "ScheduleKeyDeletion"
			e.ObserveEvent(denied)
		}, []alert.Kind{alert.KeyDeletionScheduled, alert.KeyDeletionScheduled}},
		{"AuditWriteFailure", alert.DefaultRules(), func(e *alert.Engine, c *fakeClock) {
			e.ObserveFailure(audit.ErrUnavailable)
		}, []alert.Kind{alert.AuditWriteFailure}},
		{"AlertsDoNotLoop", []alert.Rule{{Name: "any", Kind: alert.DeniedRequests}}, func(e *alert.Engine, c *fakeClock) {
			e.ObserveEvent(audit.Event{EventType: audit.TypeAlert, EventSource: "tenantml.alert", EventName: "AlertFired", Decision: audit.Decision{Effect: audit.ImplicitlyDenied}})
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, clock, rec := newEngine(t, tc.rules, nil)
			tc.feed(e, clock)
			if err := e.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := rec.all()
			if len(got) != len(tc.want) {
				t.Fatalf("%d alerts recorded, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, r := range got {
				if r.EventType != audit.TypeAlert || r.EventName != "AlertFired" || r.AdditionalEventData["kind"] != string(tc.want[i]) {
					t.Errorf("alert %d = %+v, want kind %s", i, r, tc.want[i])
				}
			}
		})
	}
}

// TestEngine_RecordsEventIDNotSeq: the alert recorded in the log (which a
// tenant may read) names the firing event by ID, never by its global seq.
func TestEngine_RecordsEventIDNotSeq(t *testing.T) {
	e, _, rec := newEngine(t, []alert.Rule{{Name: "s", Kind: alert.SuspendedTenantAccess, GroupBy: alert.GroupTenant}}, nil)
	x := ev("acme", "p", audit.ExplicitlyDenied)
	x.TenantSuspended, x.Seq, x.EventID = true, 987654321, "3f1c2a9e-0000-4000-8000-000000000001"
	e.ObserveEvent(x)
	if err := e.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := rec.all()
	if len(got) != 1 || got[0].TenantID != "acme" {
		t.Fatalf("recorded %+v, want one alert of acme", got)
	}
	if id := got[0].AdditionalEventData["eventId"]; id != x.EventID {
		t.Errorf("eventId = %q, want %q", id, x.EventID)
	}
	b, _ := json.Marshal(got[0])
	if _, ok := got[0].AdditionalEventData["eventSeq"]; ok || strings.Contains(string(b), "987654321") {
		t.Errorf("the recorded alert carries the global seq: %s", b)
	}
}

func TestNew(t *testing.T) {
	for name, cfg := range map[string]alert.Config{
		"UnknownKind":   {Rules: []alert.Rule{{Name: "x", Kind: "Nope"}}},
		"NoName":        {Rules: []alert.Rule{{Kind: alert.DeniedRequests}}},
		"Duplicate":     {Rules: []alert.Rule{{Name: "x", Kind: alert.DeniedRequests}, {Name: "x", Kind: alert.DeniedRequests}}},
		"TenantFailure": {Rules: []alert.Rule{{Name: "x", Kind: alert.AuditWriteFailure, TenantID: "a"}}},
		"NoSecret":      {WebhookURL: "http://127.0.0.1:1/"},
		"BadGroup":      {Rules: []alert.Rule{{Name: "x", Kind: alert.DeniedRequests, GroupBy: "moon"}}},
	} {
		t.Run(name, func(t *testing.T) {
			if e, err := alert.New(cfg); err == nil {
				e.Close(context.Background())
				t.Error("New accepted an invalid config")
			}
		})
	}
}

// webhook is an httptest receiver that fails the first failures requests.
type webhook struct {
	mu       sync.Mutex
	failures int
	status   int
	got      []alert.Alert
	attempts int
	badSig   int
	secret   []byte
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts++
	if err := alert.VerifySignature(w.secret, r.Header.Get(alert.TimestampHeader), body, r.Header.Get(alert.SignatureHeader)); err != nil {
		w.badSig++
		http.Error(rw, "bad signature", http.StatusUnauthorized)
		return
	}
	if w.attempts <= w.failures {
		http.Error(rw, "busy", w.status)
		return
	}
	var a alert.Alert
	if err := json.Unmarshal(body, &a); err != nil || a.ID != r.Header.Get(alert.AlertIDHeader) {
		http.Error(rw, "bad body", http.StatusBadRequest)
		return
	}
	w.got = append(w.got, a)
}

func TestEngine_Deliver(t *testing.T) {
	secret := []byte("s3cret")
	rule := []alert.Rule{{Name: "s", Kind: alert.SuspendedTenantAccess}}
	suspended := ev("acme", "p", audit.ExplicitlyDenied)
	suspended.TenantSuspended = true
	tests := []struct {
		name          string
		failures      int
		status        int
		secret        []byte
		wantDelivered int
		wantAttempts  int
		wantDelays    []time.Duration
	}{
		{"OK", 0, 0, secret, 1, 1, nil},
		{"RetryBackoffCapped", 3, http.StatusServiceUnavailable, secret, 1, 4, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{"RetryTooMany", 1, http.StatusTooManyRequests, secret, 1, 2, []time.Duration{time.Second}},
		{"GiveUp", 10, http.StatusInternalServerError, secret, 0, 4, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}},
		{"NoRetryOn4xx", 10, http.StatusBadRequest, secret, 0, 1, nil},
		{"WrongSecret", 0, 0, []byte("other"), 0, 1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wh := &webhook{failures: tc.failures, status: tc.status, secret: secret}
			srv := httptest.NewServer(wh)
			defer srv.Close()
			fa := &fakeAfter{}
			e, _, rec := newEngine(t, rule, func(c *alert.Config) {
				c.WebhookURL, c.Secret, c.After, c.MaxAttempts, c.MaxBackoff = srv.URL, tc.secret, fa.After, 4, 3*time.Second
				c.Client = srv.Client()
			})
			e.ObserveEvent(suspended)
			if err := e.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
			wh.mu.Lock()
			defer wh.mu.Unlock()
			if len(wh.got) != tc.wantDelivered || wh.attempts != tc.wantAttempts {
				t.Errorf("delivered %d in %d attempts, want %d in %d", len(wh.got), wh.attempts, tc.wantDelivered, tc.wantAttempts)
			}
			if tc.wantDelivered > 0 {
				if a := wh.got[0]; a.Kind != alert.SuspendedTenantAccess || a.TenantID != "acme" || a.Rule != "s" {
					t.Errorf("alert = %+v", a)
				}
			}
			fa.mu.Lock()
			if len(fa.delays) != len(tc.wantDelays) {
				t.Errorf("backoff delays %v, want %v", fa.delays, tc.wantDelays)
			} else {
				for i := range fa.delays {
					if fa.delays[i] != tc.wantDelays[i] {
						t.Errorf("backoff delays %v, want %v", fa.delays, tc.wantDelays)
					}
				}
			}
			fa.mu.Unlock()
			st := e.Stats()
			if int(st.Delivered) != tc.wantDelivered || st.Fired != 1 || len(rec.all()) != 1 {
				t.Errorf("Stats = %+v, recorded %d", st, len(rec.all()))
			}
		})
	}
}

func TestEngine_QueueBound(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	e, _, _ := newEngine(t, []alert.Rule{{Name: "k", Kind: alert.KeyDeletionScheduled, Cooldown: -1}}, func(c *alert.Config) {
		c.WebhookURL, c.Secret, c.QueueSize, c.Client = srv.URL, []byte("x"), 2, srv.Client()
	})
	x := ev("a", "p", audit.Allowed)
	x.EventName = "ScheduleKeyDeletion"
	for range 10 {
		e.ObserveEvent(x) // never blocks, even with the worker stuck
	}
	st := e.Stats()
	close(release)
	if st.Fired != 10 || st.Dropped < 7 {
		t.Errorf("Stats = %+v, want 10 fired and at least 7 dropped with a queue of 2", st)
	}
}

func TestSign(t *testing.T) {
	// Fixed vector, computed independently with:
	//   printf '1700000000.{}' | openssl dgst -sha256 -hmac key
	got := alert.Sign([]byte("key"), "1700000000", []byte("{}"))
	want := "sha256=" + opensslVector
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	if err := alert.VerifySignature([]byte("key"), "1700000001", []byte("{}"), got); !errors.Is(err, alert.ErrBadSignature) {
		t.Errorf("replayed timestamp verified: %v", err)
	}
}

const opensslVector = "9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
