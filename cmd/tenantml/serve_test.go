package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/tenant"
)

const (
	rootKeyID  = "AKIAROOTTESTKEY00001"
	rootSecret = "root-secret-for-tests-0123456789abcdefgh"
)

var rootEnv = map[string]string{"TENANTML_ROOT_ACCESS_KEY_ID": rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY": rootSecret}

func TestServe_Health(t *testing.T) {
	ts := startServer(t, rootEnv)
	if code := getJSON(t, ts.URL+"/healthz", nil); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	var ready struct {
		Ready  bool              `json:"ready"`
		Checks map[string]string `json:"checks"`
	}
	if code := getJSON(t, ts.URL+"/readyz", &ready); code != 200 || !ready.Ready || ready.Checks["store"] != "ok" {
		t.Fatalf("/readyz = %d %+v", code, ready)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"go_goroutines", "process_cpu_seconds_total", `tenantml_http_requests_total{code="200",method="GET",route="GET /readyz"}`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(ts.stdout.String(), "SECRET") {
		t.Fatal("configured root credentials were printed")
	}
}

func TestServe_ReadyzFailsWhenStoreIsClosed(t *testing.T) {
	ts := startServer(t, rootEnv)
	if err := ts.store.Close(); err != nil {
		t.Fatal(err)
	}
	if code := getJSON(t, ts.URL+"/readyz", nil); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with a closed store = %d, want 503", code)
	}
}

func TestServe_TenantCLI(t *testing.T) {
	ts := startServer(t, rootEnv)
	run := func(args ...string) string {
		t.Helper()
		out, err := ts.cli(t, rootKeyID, rootSecret, args...)
		if err != nil {
			t.Fatalf("tenantml %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	run("tenant", "create", "acme", "--isolation", "silo", "--tier", "premium", "--tag", "costCenter=cc-1")
	run("tenant", "create", "globex")
	var got tenant.Tenant
	if err := json.Unmarshal([]byte(run("tenant", "get", "acme", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	if got.Isolation != tenant.Silo || got.Tier != "premium" || got.Tags["costCenter"] != "cc-1" || got.HomeRegion != "us-east-1" {
		t.Fatalf("get acme = %+v", got)
	}
	if out := run("tenant", "get", "acme", "-o", "yaml"); !strings.Contains(out, "isolation: silo") {
		t.Fatalf("yaml output:\n%s", out)
	}
	table := run("tenant", "list", "--page-size", "1")
	if !strings.Contains(table, "acme") || !strings.Contains(table, "globex") || !strings.HasPrefix(table, "ID") {
		t.Fatalf("list (paged by 1) =\n%s", table)
	}
	run("tenant", "update", "acme", "--tier", "basic", "--display-name", "ACME")
	run("tenant", "suspend", "acme")
	if out := run("tenant", "list", "--status", "suspended"); !strings.Contains(out, "acme") || strings.Contains(out, "globex") {
		t.Fatalf("suspended list =\n%s", out)
	}
	run("tenant", "resume", "acme")
	if out := run("tenant", "delete", "globex", "-o", "json"); !strings.Contains(out, `"pending_deletion"`) {
		t.Fatalf("delete =\n%s", out)
	}

	errs := []struct {
		name string
		args []string
		want string
	}{
		{"ErrDuplicate", []string{"tenant", "create", "acme"}, "already exists"},
		{"ErrBadID", []string{"tenant", "create", "Bad_ID"}, "lowercase"},
		{"ErrReserved", []string{"tenant", "create", "admin"}, "reserved"},
		{"ErrIsolation", []string{"tenant", "create", "newco", "--isolation", "hybrid"}, "silo, pool, bridge"},
		{"ErrNotFound", []string{"tenant", "get", "nobody"}, "not found"},
		{"ErrResumeDeleted", []string{"tenant", "resume", "globex"}, "cannot become"},
		{"ErrOutput", []string{"tenant", "get", "acme", "-o", "xml"}, "table, json or yaml"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ts.cli(t, rootKeyID, rootSecret, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (out %q), want it to mention %q", err, out, tt.want)
			}
		})
	}
	t.Run("ErrWrongSecret", func(t *testing.T) {
		_, err := ts.cli(t, rootKeyID, rootSecret+"x", "tenant", "list")
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v, want 401", err)
		}
	})
}

func TestServe_RootCredentials(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	open := func(env map[string]string) (*server, error) {
		getenv := func(k string) string {
			if k == "TENANTML_DATA_DIR" {
				return dataDir
			}
			if k == "TENANTML_LISTEN" {
				return "127.0.0.1:0"
			}
			return env[k]
		}
		cfg, err := loadConfig(newServeCmd().Flags(), getenv)
		if err != nil {
			return nil, err
		}
		s := &server{cfg: cfg, stdout: io.Discard, stderr: io.Discard, rand: rand.Reader, now: time.Now}
		err = s.open(context.Background())
		_ = s.close(context.Background())
		return s, err
	}
	if _, err := open(rootEnv); err != nil {
		t.Fatal(err)
	}
	t.Run("SameCredentialsAgain", func(t *testing.T) {
		if _, err := open(rootEnv); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("NoneConfiguredUsesStored", func(t *testing.T) {
		s, err := open(nil)
		if err != nil || s.root.AccessKeyID != rootKeyID {
			t.Fatalf("reopen without env: %v", err)
		}
	})
	t.Run("ErrDifferentCredentials", func(t *testing.T) {
		_, err := open(map[string]string{"TENANTML_ROOT_ACCESS_KEY_ID": rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY": "other"})
		if err == nil || !strings.Contains(err.Error(), "differ") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrMasterKeyReadableByOthers", func(t *testing.T) {
		if err := os.Chmod(filepath.Join(dataDir, "master.key"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(filepath.Join(dataDir, "master.key"), 0o600)
		_, err := open(nil)
		if err == nil || !strings.Contains(err.Error(), "master key") {
			t.Fatalf("err = %v, want a refusal naming the master key", err)
		}
	})
	t.Run("ErrWrongMasterKey", func(t *testing.T) {
		key := filepath.Join(dataDir, "master.key")
		orig, _ := os.ReadFile(key)
		defer os.WriteFile(key, orig, 0o600)
		if err := os.WriteFile(key, make([]byte, len(orig)), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := open(nil)
		if err == nil || !strings.Contains(err.Error(), "unseal root credentials") {
			t.Fatalf("err = %v", err)
		}
	})
}
