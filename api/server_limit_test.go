package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/api"
)

// TestServer_SetMaxBody checks that routes registered with Handle get the
// server's body limit: the default, or the one set before registration.
func TestServer_SetMaxBody(t *testing.T) {
	cases := []struct {
		name   string
		limit  int64 // 0: keep the default
		body   int
		status int
	}{
		{"DefaultFits", 0, api.DefaultMaxBodyBytes, http.StatusOK},
		{"ErrDefaultExceeded", 0, api.DefaultMaxBodyBytes + 1, http.StatusRequestEntityTooLarge},
		{"SmallFits", 100, 100, http.StatusOK},
		{"ErrSmallExceeded", 100, 101, http.StatusRequestEntityTooLarge},
		{"LargeFits", 3 << 20, 3 << 20, http.StatusOK},
		{"NonPositiveIgnored", -1, api.DefaultMaxBodyBytes + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := api.NewServer(slog.New(slog.DiscardHandler), nil)
			if tc.limit != 0 {
				srv.SetMaxBody(tc.limit)
			}
			srv.Handle("POST /echo", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.Copy(io.Discard, r.Body); err != nil {
					w.WriteHeader(http.StatusRequestEntityTooLarge)
				}
			}))
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest("POST", "/echo", strings.NewReader(strings.Repeat("x", tc.body))))
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d", w.Code, tc.status)
			}
		})
	}
}
