package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGrafanaDashboard keeps deploy/grafana/tenantml.json true: it is a
// dashboard whose every query names metrics a running server exports
// (histograms by their _bucket series), and none groups by a tenant.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "tenantml.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("not a dashboard: %v", err)
	}
	ts := startServer(t, rootEnv)
	if code, _, _ := ts.call(t, "GET", "/api/v1/tenants", rootKeyID, rootSecret, nil); code != 200 {
		t.Fatalf("list tenants = %d", code)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	exported := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(line, "#") {
			name, _, _ = strings.Cut(name, "{")
			exported[name] = true
		}
	}
	metric := regexp.MustCompile(`\b(tenantml|process|go)_[a-z_]+\b`)
	tenantGroup := regexp.MustCompile(`(?i)by \([^)]*tenant`)
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			for _, m := range metric.FindAllString(tg.Expr, -1) {
				if !exported[m] {
					t.Errorf("panel %q: %s is not exported by the server", p.Title, m)
				}
			}
			if tenantGroup.MatchString(tg.Expr) {
				t.Errorf("panel %q groups by a tenant: %s", p.Title, tg.Expr)
			}
		}
	}
	if queries < 20 {
		t.Errorf("%d queries, want the dashboard's 20 or more", queries)
	}
}
