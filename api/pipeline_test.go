package api_test

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

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
)

// recordingAuditor keeps every record, or fails when err is set.
type recordingAuditor struct {
	mu      sync.Mutex
	records []api.AuditRecord
	err     error
}

func (a *recordingAuditor) Record(_ context.Context, rec *api.AuditRecord) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return a.err
	}
	a.records = append(a.records, *rec)
	return nil
}

func (a *recordingAuditor) last(t *testing.T) api.AuditRecord {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.records) == 0 {
		t.Fatal("no audit record")
	}
	return a.records[len(a.records)-1]
}

const (
	testAccount = "123456789012"
	testKeyID   = "AKIAEXAMPLEROOT00001"
	testSecret  = "s3cr3t-root-secret-for-tests"
)

type fixture struct {
	srv     *api.Server
	audit   *recordingAuditor
	reg     *prometheus.Registry
	handled int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{audit: &recordingAuditor{}, reg: prometheus.NewRegistry()}
	m, err := api.NewMetrics(f.reg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	f.srv = api.NewServer(log, m)
	p := &api.Pipeline{
		Authn: &api.RootAuthenticator{AccessKeyID: testKeyID, Secret: []byte(testSecret), AccountID: testAccount},
		Authz: &authz.RootOnly{AccountID: testAccount},
		Audit: f.audit,
		Log:   log,
		Now:   time.Now,
	}
	f.srv.Handle("POST /things", p.Handler(api.Op{
		Action: "test:CreateThing",
		Target: api.At("arn:aws:test:us-east-1:" + testAccount + ":thing/x"),
		Handle: func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
			var in struct {
				Name string `json:"name"`
			}
			if err := api.DecodeJSON(r, &in); err != nil {
				return err
			}
			if in.Name == "refused" {
				return tenantml.Errorf(tenantml.EFORBIDDEN, "the operation refuses it")
			}
			f.handled++
			api.WriteJSON(w, http.StatusCreated, map[string]string{"name": in.Name, "by": c.ARN})
			return nil
		},
	}))
	f.srv.Handle("GET /panic", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string, auth bool, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if auth {
		r.SetBasicAuth(testKeyID, testSecret)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	return w
}

func decodeError(t *testing.T, w *httptest.ResponseRecorder) api.ErrorDetail {
	t.Helper()
	var body api.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("error body %q is not the JSON error shape: %v", w.Body.String(), err)
	}
	if body.Error.RequestID == "" || body.Error.RequestID != w.Header().Get("X-Request-Id") {
		t.Fatalf("error requestId %q does not match header %q", body.Error.RequestID, w.Header().Get("X-Request-Id"))
	}
	return body.Error
}

func TestPipeline_Handler(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		auth       bool
		password   string
		wantStatus int
		wantCode   string
		wantEffect string
	}{
		{name: "OK", body: `{"name":"a"}`, auth: true, wantStatus: 201, wantEffect: "Allowed"},
		{name: "ErrNoCredentials", body: `{"name":"a"}`, wantStatus: 401, wantCode: authn.CodeMissingAuthenticationToken, wantEffect: "ImplicitlyDenied"},
		{name: "ErrMalformedJSON", body: `{"name":`, auth: true, wantStatus: 400, wantCode: tenantml.EINVALID, wantEffect: "Allowed"},
		{name: "ErrUnknownField", body: `{"name":"a","extra":1}`, auth: true, wantStatus: 400, wantCode: tenantml.EINVALID, wantEffect: "Allowed"},
		{name: "ErrTrailingData", body: `{"name":"a"} {}`, auth: true, wantStatus: 400, wantCode: tenantml.EINVALID, wantEffect: "Allowed"},
		{name: "ErrWrongType", body: `{"name":5}`, auth: true, wantStatus: 400, wantCode: tenantml.EINVALID, wantEffect: "Allowed"},
		// A refusal by the operation itself, after the policies allowed,
		// is recorded as the denial it is.
		{name: "ErrRefusedByOperation", body: `{"name":"refused"}`, auth: true, wantStatus: 403, wantCode: tenantml.EFORBIDDEN, wantEffect: "ImplicitlyDenied"},
		{name: "ErrTooLarge", body: `{"name":"` + strings.Repeat("a", api.DefaultMaxBodyBytes) + `"}`, auth: true, wantStatus: 413, wantCode: tenantml.ETOOLARGE, wantEffect: "Allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			w := f.do(t, "POST", "/things", tt.body, tt.auth)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			rec := f.audit.last(t)
			if rec.Decision.Effect.String() != tt.wantEffect || rec.Status != tt.wantStatus || rec.Action != "test:CreateThing" || rec.RequestID != w.Header().Get("X-Request-Id") {
				t.Fatalf("audit record %+v does not match the response", rec)
			}
			if tt.wantCode == "" {
				if f.handled != 1 {
					t.Fatalf("handler ran %d times", f.handled)
				}
				return
			}
			if got := decodeError(t, w); got.Code != tt.wantCode {
				t.Fatalf("error code = %q, want %q", got.Code, tt.wantCode)
			}
			if rec.ErrorCode != tt.wantCode {
				t.Fatalf("audit error code = %q, want %q", rec.ErrorCode, tt.wantCode)
			}
		})
	}
}

func TestPipeline_WrongSecretIsUnauthorized(t *testing.T) {
	f := newFixture(t)
	r := httptest.NewRequest("POST", "/things", strings.NewReader(`{}`))
	r.SetBasicAuth(testKeyID, testSecret+"x")
	w := httptest.NewRecorder()
	f.srv.ServeHTTP(w, r)
	if w.Code != 401 || f.handled != 0 {
		t.Fatalf("status %d handled %d, want 401 and not handled", w.Code, f.handled)
	}
	if strings.Contains(w.Body.String(), testSecret) {
		t.Fatal("response echoes the secret")
	}
}

func TestPipeline_AuditFailureFailsClosed(t *testing.T) {
	f := newFixture(t)
	f.audit.err = errors.New("disk full")
	w := f.do(t, "POST", "/things", `{"name":"a"}`, true)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	got := decodeError(t, w)
	if got.Code != tenantml.EUNAVAILABLE || strings.Contains(got.Message, "disk full") {
		t.Fatalf("error = %+v; want unavailable without internal detail", got)
	}
	if strings.Contains(w.Body.String(), `"name"`) {
		t.Fatal("the handler's response leaked although the audit record failed")
	}
}

func TestServer_Routing(t *testing.T) {
	f := newFixture(t)
	t.Run("ErrNotFound", func(t *testing.T) {
		w := f.do(t, "GET", "/nope", "", true)
		if w.Code != 404 || decodeError(t, w).Code != tenantml.ENOTFOUND {
			t.Fatalf("status %d body %s", w.Code, w.Body)
		}
	})
	t.Run("ErrMethodNotAllowed", func(t *testing.T) {
		w := f.do(t, "DELETE", "/things", "", true)
		if w.Code != 405 || decodeError(t, w).Code != "method_not_allowed" || w.Header().Get("Allow") == "" {
			t.Fatalf("status %d allow %q body %s", w.Code, w.Header().Get("Allow"), w.Body)
		}
	})
	t.Run("ErrPanicRecovered", func(t *testing.T) {
		w := f.do(t, "GET", "/panic", "", true)
		if w.Code != 500 || decodeError(t, w).Message != "internal error" {
			t.Fatalf("status %d body %s", w.Code, w.Body)
		}
	})
	t.Run("RequestIDEchoed", func(t *testing.T) {
		w := f.do(t, "GET", "/nope", "", true, "X-Request-Id", "client-chosen-id-1")
		if got := w.Header().Get("X-Request-Id"); got != "client-chosen-id-1" {
			t.Fatalf("request id = %q", got)
		}
		w = f.do(t, "GET", "/nope", "", true, "X-Request-Id", "bad id with spaces\n")
		if got := w.Header().Get("X-Request-Id"); len(got) != 36 {
			t.Fatalf("unsafe client request id not replaced: %q", got)
		}
	})
	t.Run("MetricsByRoutePattern", func(t *testing.T) {
		f.do(t, "POST", "/things", `{"name":"a"}`, true)
		f.do(t, "GET", "/tenant-b-secret-path", "", true)
		mfs, err := f.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				labels := map[string]string{}
				for _, l := range m.GetLabel() {
					labels[l.GetName()] = l.GetValue()
					if strings.Contains(l.GetValue(), "tenant-b") {
						t.Fatalf("metric %s carries a raw path: %v", mf.GetName(), labels)
					}
				}
				if mf.GetName() == "tenantml_http_requests_total" && labels["route"] == "POST /things" && labels["code"] == "201" && m.GetCounter().GetValue() >= 1 {
					found = true
				}
			}
		}
		if !found {
			t.Fatal("no tenantml_http_requests_total{route=\"POST /things\",code=\"201\"} counter")
		}
	})
}
