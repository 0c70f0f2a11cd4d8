package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store/sqlite"
)

// getAs sends GET path as root with a distinctive User-Agent and returns the
// request ID.
func (ts *testServer) getAs(t *testing.T, path, userAgent string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", userAgent)
	req.SetBasicAuth(rootKeyID, rootSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d", path, resp.StatusCode)
	}
	return resp.Header.Get("X-Request-Id")
}

// tenantEvent looks up the one event of tenantID with the request ID.
func tenantEvent(t *testing.T, ts *testServer, tenantID, requestID string) audit.Event {
	t.Helper()
	page, err := ts.audit.Lookup(context.Background(), audit.Filter{TenantID: tenantID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range page.Events {
		if ev.RequestID == requestID {
			return ev
		}
	}
	t.Fatalf("no event of %s for request %s", tenantID, requestID)
	return audit.Event{}
}

func TestAuditSealer_EraseTenant(t *testing.T) {
	ts := startServer(t, rootEnv)
	for _, id := range []string{"acme", "bolt"} {
		mustCLI(t, ts, "tenant", "create", id)
	}
	const agentA, agentB = "acme-agent/1.0", "bolt-agent/1.0"
	reqA, reqB := ts.getAs(t, "/api/v1/tenants/acme", agentA), ts.getAs(t, "/api/v1/tenants/bolt", agentB)

	t.Run("SealedAtRestReadableBeforeErasure", func(t *testing.T) {
		for _, tt := range []struct{ tenant, req, agent string }{{"acme", reqA, agentA}, {"bolt", reqB, agentB}} {
			ev := tenantEvent(t, ts, tt.tenant, tt.req)
			if ev.PersonalDataErased || ev.UserAgent != tt.agent || ev.SourceIPAddress != "127.0.0.1" || !strings.HasSuffix(ev.UserIdentity.ARN, ":root") {
				t.Fatalf("%s event before erasure = %+v, want its personal fields", tt.tenant, ev)
			}
		}
		raw := readSegments(t, ts)
		for _, agent := range []string{agentA, agentB} {
			if bytes.Contains(raw, []byte(agent)) {
				t.Fatalf("the log stores the user agent %q in clear", agent)
			}
		}
		if !bytes.Contains(raw, []byte(`"sealedPersonalData"`)) {
			t.Fatal("the log has no sealedPersonalData")
		}
	})

	mustCLI(t, ts, "tenant", "erase", "acme", "--override")

	t.Run("ErasedAfterErasure", func(t *testing.T) {
		ev := tenantEvent(t, ts, "acme", reqA)
		if !ev.PersonalDataErased || ev.UserAgent != "" || ev.SourceIPAddress != "" || ev.UserIdentity.ARN != "" || ev.UserIdentity.SessionName != "" {
			t.Fatalf("acme event after erasure = %+v, want personal fields empty and erased", ev)
		}
		if ev.EventName != "GetTenant" || ev.UserIdentity.Type != "Root" || ev.Decision.Effect != audit.Allowed {
			t.Fatalf("acme event after erasure lost its non-personal fields: %+v", ev)
		}
	})
	t.Run("OtherTenantKeepsFields", func(t *testing.T) {
		ev := tenantEvent(t, ts, "bolt", reqB)
		if ev.PersonalDataErased || ev.UserAgent != agentB || ev.SourceIPAddress != "127.0.0.1" {
			t.Fatalf("bolt event after acme's erasure = %+v, want its personal fields", ev)
		}
	})
	t.Run("EventsAfterErasureStillRecorded", func(t *testing.T) {
		// acme is pending deletion with its keys destroyed: its events are
		// still appended (no 503), the personal fields withheld.
		page, err := ts.audit.Lookup(context.Background(), audit.Filter{TenantID: "acme", EventName: "EraseTenantOverride"})
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("EraseTenantOverride events = %d (%v), want 1", len(page.Events), err)
		}
		if ev := page.Events[0]; !ev.PersonalDataErased || ev.UserAgent != "" {
			t.Fatalf("event recorded after the key was destroyed = %+v, want personal fields withheld", ev)
		}
		if _, err := ts.kp.keys.DescribeKey(context.Background(), "acme", "alias/tenantml/artifacts"); keys.ExceptionOf(err) != keys.ExcNotFound {
			t.Fatalf("erased tenant's artifact key alias: %v, want NotFound (the sealer must not recreate it)", err)
		}
	})
	t.Run("VerifyStillPasses", func(t *testing.T) {
		size := ts.audit.Size()
		ts.stop()
		out, err := ts.cli(t, "", "", "audit", "verify", "--data-dir", ts.cfg.DataDir)
		if err != nil {
			t.Fatalf("verify after erasure: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`(?m)^(\d+) events, \d+ checkpoints valid`).FindStringSubmatch(out)
		if m == nil || m[1] != strconv.FormatInt(size, 10) {
			t.Fatalf("verify output %q, want %d events", out, size)
		}
	})
}

// readSegments returns the bytes of every audit segment file.
func readSegments(t *testing.T, ts *testServer) []byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(ts.cfg.DataDir, "audit", "events-*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("segments: %v (%d files)", err, len(files))
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	return all
}

func TestAuditSealer_Seal(t *testing.T) {
	ts := startServer(t, rootEnv)
	ctx := context.Background()
	mustCLI(t, ts, "tenant", "create", "acme")
	s := &auditSealer{keys: ts.kp.keys, tenants: ts.store.Tenants()}
	aad := []byte("tenantml.audit/v1\x00acme\x00e1")
	ct, err := s.Seal(ctx, "acme", []byte(`{"userAgent":"x"}`), aad)
	if err != nil || bytes.Equal(ct, withheldMarker) {
		t.Fatalf("seal for acme = %q, %v; want a ciphertext", ct, err)
	}
	for _, tt := range []struct {
		name, tenant string
		ct, aad      []byte
		wantOK       bool
	}{
		{"RoundTrip", "acme", ct, aad, true},
		{"ErrOtherAAD", "acme", ct, []byte("tenantml.audit/v1\x00acme\x00e2"), false},
		{"ErrOtherTenant", "bolt", ct, aad, false},
		{"ErrWithheld", "acme", withheldMarker, aad, false},
		{"ErrGarbage", "acme", []byte{1, 2, 3}, aad, false},
		{"ErrEmpty", "acme", nil, aad, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pt, err := s.Open(ctx, tt.tenant, tt.ct, tt.aad)
			if tt.wantOK != (err == nil) {
				t.Fatalf("open = %q, %v; want ok %t", pt, err, tt.wantOK)
			}
			if tt.wantOK && string(pt) != `{"userAgent":"x"}` {
				t.Fatalf("open = %q", pt)
			}
		})
	}
	t.Run("UnknownTenantWithheldWithoutKey", func(t *testing.T) {
		ct, err := s.Seal(ctx, "ghost", []byte("x"), aad)
		if err != nil || !bytes.Equal(ct, withheldMarker) {
			t.Fatalf("seal for unknown tenant = %q, %v; want the withheld marker", ct, err)
		}
		if ks, err := ts.kp.keys.ListKeys(ctx, "ghost"); err != nil || len(ks) != 0 {
			t.Fatalf("keys of unknown tenant = %v, %v; want none created", ks, err)
		}
	})
}

func TestServe_UnknownRouteAudited(t *testing.T) {
	ts := startServer(t, rootEnv)
	for _, tt := range []struct {
		name, method, path string
		status             int
	}{
		{"NotFound", http.MethodGet, "/no/such/route", http.StatusNotFound},
		{"MethodNotAllowed", http.MethodPut, "/healthz", http.StatusMethodNotAllowed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, ts.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			}
			ev, ok := ts.eventsByRequest(t)[resp.Header.Get("X-Request-Id")]
			if !ok || ev.EventName != "UnknownRoute" || ev.UserIdentity.Type != "Anonymous" || ev.Decision.Effect != audit.ImplicitlyDenied || ev.TenantID != "" {
				t.Fatalf("event for %s %s = %+v (found %t), want an anonymous UnknownRoute platform event", tt.method, tt.path, ev, ok)
			}
		})
	}
}

// BenchmarkAuditSealer compares appending a tenant event to the audit log
// in clear and sealed (the serve configuration: SQLite key records, local
// KEK), and measures Seal and Open alone. Compare AppendSealed with
// AppendClear in the same run.
func BenchmarkAuditSealer(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "metadata.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	kek, err := keys.OpenLocalKEK(filepath.Join(dir, "master.key"), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := keys.New(keys.Config{Store: db.Keys(), KEK: kek, Now: time.Now, Rand: rand.Reader})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.EnsureKey(ctx, "acme", artifact.DefaultKeyAlias, "bench"); err != nil {
		b.Fatal(err)
	}
	s := &auditSealer{keys: svc, tenants: db.Tenants()}
	pt := []byte(`{"arn":"arn:aws:iam::123456789012:user/carol","sourceIPAddress":"192.0.2.1","userAgent":"aws-cli/2"}`)
	aad := []byte("tenantml.audit/v1\x00acme\x00e1")
	ct, err := s.Seal(ctx, "acme", pt, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Seal", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Seal(ctx, "acme", pt, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.Open(ctx, "acme", ct, aad); err != nil {
				b.Fatal(err)
			}
		}
	})
	ev := audit.Event{EventType: audit.TypeAPICall, TenantID: "acme", EventSource: "tenantml.internal", EventName: "GetTenant",
		SourceIPAddress: "192.0.2.1", UserAgent: "aws-cli/2", Decision: audit.Decision{Effect: audit.Allowed},
		UserIdentity: audit.UserIdentity{Type: "IAMUser", ARN: "arn:aws:iam::123456789012:user/carol"}}
	for _, bb := range []struct {
		name   string
		sealer audit.FieldSealer
	}{{"AppendClear", nil}, {"AppendSealed", s}} {
		b.Run(bb.name, func(b *testing.B) {
			log, err := audit.Open(ctx, audit.Config{Dir: filepath.Join(b.TempDir(), "audit"), Origin: "tenantml.audit/bench", Sealer: bb.sealer})
			if err != nil {
				b.Fatal(err)
			}
			defer log.Close(ctx)
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := log.Append(ctx, ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
