package api

import (
	"context"
	"net/http"
	"sort"
	"time"
)

// Check reports whether one dependency can serve.
type Check func(ctx context.Context) error

// Live answers GET /healthz: the process is up.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// Ready answers GET /readyz: 200 only when every check passes within a
// second, 503 otherwise, naming the failing checks (never their detail,
// which is logged by the component).
func Ready(checks map[string]Check) http.Handler {
	names := make([]string, 0, len(checks))
	for n := range checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), time.Second)
		defer cancel()
		status, result := http.StatusOK, map[string]string{}
		for _, n := range names {
			if err := checks[n](ctx); err != nil {
				status, result[n] = http.StatusServiceUnavailable, "failing"
				continue
			}
			result[n] = "ok"
		}
		WriteJSON(w, status, map[string]any{"ready": status == http.StatusOK, "checks": result})
	})
}
