package api_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
)

func TestServer_UnmatchedAudited(t *testing.T) {
	for _, tt := range []struct {
		name, method, path string
		auth               bool
		status             int
		code               string
	}{
		{"NotFoundAnonymous", "GET", "/nope", false, 404, tenantml.ENOTFOUND},
		{"NotFoundWithCredentials", "GET", "/nope", true, 404, tenantml.ENOTFOUND},
		{"MethodNotAllowed", "DELETE", "/things", false, 405, "method_not_allowed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.srv.Audit = f.audit
			w := f.do(t, tt.method, tt.path, "", tt.auth, "User-Agent", "probe/1")
			if w.Code != tt.status || decodeError(t, w).Code != tt.code {
				t.Fatalf("status %d body %s, want %d %s", w.Code, w.Body, tt.status, tt.code)
			}
			rec := f.audit.last(t)
			if rec.Action != api.UnknownRouteAction || rec.Caller != nil || rec.Decision.Effect.String() != "ImplicitlyDenied" ||
				rec.Status != tt.status || rec.ErrorCode != tt.code || rec.UserAgent != "probe/1" || rec.SourceIP == "" ||
				rec.RequestID != w.Header().Get("X-Request-Id") {
				t.Fatalf("audit record = %+v", rec)
			}
			ev := api.EventFor(&rec)
			if ev.EventName != "UnknownRoute" || ev.UserIdentity.Type != "Anonymous" || ev.TenantID != "" {
				t.Fatalf("event = %+v, want an anonymous platform UnknownRoute event", ev)
			}
		})
	}
	t.Run("ErrAuditFailureFailsClosed", func(t *testing.T) {
		f := newFixture(t)
		f.srv.Audit = f.audit
		f.audit.err = errors.New("disk full")
		w := f.do(t, "DELETE", "/things", "", false)
		got := decodeError(t, w)
		if w.Code != http.StatusServiceUnavailable || got.Code != tenantml.EUNAVAILABLE || strings.Contains(got.Message, "disk full") || w.Header().Get("Allow") != "" {
			t.Fatalf("status %d allow %q body %s, want 503 without detail", w.Code, w.Header().Get("Allow"), w.Body)
		}
	})
	t.Run("NoAuditorNoRecord", func(t *testing.T) {
		f := newFixture(t)
		if w := f.do(t, "GET", "/nope", "", false); w.Code != 404 {
			t.Fatalf("status %d", w.Code)
		}
		if len(f.audit.records) != 0 {
			t.Fatalf("records without a server auditor: %+v", f.audit.records)
		}
	})
}
