package api_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tenantml/tenantml/api"
)

// TestServer_HandleSigned: a request no route takes goes to the surface
// its SigV4 scope names; routes always win, the root path is shared by
// scope, and an unsigned request that no route takes is a 404.
func TestServer_HandleSigned(t *testing.T) {
	srv := api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	answer := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) })
	}
	srv.Handle("GET /api/v1/things", answer("route"))
	srv.Handle("GET /{$}", answer("root"))
	srv.HandleSigned("s3", 0, answer("s3"))
	auth := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/" + service + "/aws4_request, SignedHeaders=host, Signature=00"
	}
	tests := []struct {
		name, method, target, authz, want string
		status                            int
	}{
		{"RouteWins", "GET", "/api/v1/things", auth("s3"), "route", 200},
		{"RootBySTS", "GET", "/", auth("sts"), "root", 200},
		{"RootByS3", "GET", "/", auth("s3"), "s3", 200},
		{"PathStyle", "PUT", "/bucket/some/key", auth("s3"), "s3", 200},
		{"UnderARouteSegment", "GET", "/api/other", auth("s3"), "s3", 200},
		{"Presigned", "GET", "/bucket/key?X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00", "", "s3", 200},
		{"OtherService", "GET", "/bucket/key", auth("kms"), "", 404},
		{"Unsigned", "GET", "/bucket/key", "", "", 404},
		{"MalformedScope", "GET", "/bucket/key", "AWS4-HMAC-SHA256 Credential=AKID/s3", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.authz != "" {
				r.Header.Set("Authorization", tt.authz)
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code != tt.status || (tt.want != "" && w.Body.String() != tt.want) {
				t.Fatalf("%d %q, want %d %q", w.Code, w.Body.String(), tt.status, tt.want)
			}
		})
	}
}
