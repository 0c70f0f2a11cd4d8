package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/tenant"
)

const artifactKey, artifactVersion = "churn/model.tar.gz", "1"

// putArtifact stores random bytes as tenant's artifact through the server's
// artifact store and returns them.
func putArtifact(t *testing.T, ts *testServer, tenantID string) []byte {
	t.Helper()
	data := make([]byte, 300<<10)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.kp.artifacts.Put(context.Background(), tenantID, artifactKey, artifactVersion, bytes.NewReader(data)); err != nil {
		t.Fatalf("put %s's artifact: %v", tenantID, err)
	}
	return data
}

// readArtifact reads tenant's artifact to EOF.
func readArtifact(ts *testServer, tenantID string) ([]byte, error) {
	rc, _, err := ts.kp.artifacts.Get(context.Background(), tenantID, artifactKey, artifactVersion)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// copyTree copies the directory src to dst (files only).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, rel)), 0o700); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

func mustCLI(t *testing.T, ts *testServer, args ...string) string {
	t.Helper()
	out, err := ts.cli(t, rootKeyID, rootSecret, args...)
	if err != nil {
		t.Fatalf("tenantml %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func wantAPIError(t *testing.T, err error, status int, contains string) {
	t.Helper()
	var ae *apiError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %v, want an API error %d", err, status)
	}
	if ae.Status != status || !strings.Contains(ae.Message, contains) {
		t.Fatalf("err = %d %q, want %d containing %q", ae.Status, ae.Message, status, contains)
	}
}

func TestServer_KeysAndErasure(t *testing.T) {
	ts := startServer(t, rootEnv)
	ctx := context.Background()
	for _, id := range []string{"acme", "bolt"} {
		mustCLI(t, ts, "tenant", "create", id)
	}
	dataA, dataB := putArtifact(t, ts, "acme"), putArtifact(t, ts, "bolt")

	var listA manage.ListTenantKeysOutput
	rawA := mustCLI(t, ts, "keys", "list", "--tenant", "acme", "-o", "json")
	if err := json.Unmarshal([]byte(rawA), &listA); err != nil {
		t.Fatal(err)
	}
	// camelCase throughout, and an unset deletion date is left out rather
	// than printed as year 1.
	for _, bad := range []string{`"KeyID"`, `"KeyState"`, `"Number"`, `"deletionDate"`, "0001-01-01"} {
		if strings.Contains(rawA, bad) {
			t.Fatalf("keys list -o json holds %s:\n%s", bad, rawA)
		}
	}
	for _, want := range []string{`"keyId"`, `"keyState": "Enabled"`, `"currentVersion": 1`, `"rotationType"`} {
		if !strings.Contains(rawA, want) {
			t.Fatalf("keys list -o json lacks %s:\n%s", want, rawA)
		}
	}
	if len(listA.Keys) != 1 || len(listA.Keys[0].Aliases) != 1 || listA.Keys[0].Aliases[0] != "alias/tenantml/artifacts" || listA.Keys[0].Metadata.CurrentVersion != 1 {
		t.Fatalf("a's keys after onboarding = %+v, want one artifact key at version 1", listA)
	}
	keyA := listA.Keys[0].Metadata.KeyID

	t.Run("RotateRewrap", func(t *testing.T) {
		var out manage.RotateTenantKeyOutput
		if err := json.Unmarshal([]byte(mustCLI(t, ts, "keys", "rotate", "--tenant", "acme", "--rewrap", "-o", "json")), &out); err != nil {
			t.Fatal(err)
		}
		if out.KeyID != keyA || out.CurrentVersion != 2 || out.Rewrap == nil || out.Rewrap.Rewrapped != 1 {
			t.Fatalf("rotate = %+v, want key %s at version 2 with 1 artifact rewrapped", out, keyA)
		}
		info, err := ts.kp.artifacts.Stat(ctx, "acme", artifactKey, artifactVersion)
		if err != nil {
			t.Fatal(err)
		}
		if info.KeyVersion != 2 {
			t.Fatalf("artifact key version after rewrap = %d, want 2", info.KeyVersion)
		}
		got, err := readArtifact(ts, "acme")
		if err != nil || !bytes.Equal(got, dataA) {
			t.Fatalf("read a's artifact after rewrap: %v (equal %t)", err, bytes.Equal(got, dataA))
		}
	})

	t.Run("ErrUnknownTenant", func(t *testing.T) {
		for _, args := range [][]string{
			{"keys", "list", "--tenant", "nobody"},
			{"keys", "rotate", "--tenant", "nobody"},
			{"tenant", "erase", "nobody", "--override"},
		} {
			out, err := ts.cli(t, rootKeyID, rootSecret, args...)
			wantAPIError(t, err, 404, "")
			if strings.Contains(out, keyA) {
				t.Fatalf("%v printed a's key: %s", args, out)
			}
		}
	})

	t.Run("ListShowsOnlyOwnKeys", func(t *testing.T) {
		out := mustCLI(t, ts, "keys", "list", "--tenant", "bolt", "-o", "json")
		if strings.Contains(out, keyA) {
			t.Fatalf("b's key list names a's key %s:\n%s", keyA, out)
		}
		var listB manage.ListTenantKeysOutput
		if err := json.Unmarshal([]byte(out), &listB); err != nil || len(listB.Keys) != 1 {
			t.Fatalf("b's keys = %s (%v), want one", out, err)
		}
	})

	t.Run("ErrRotateOtherTenantsKey", func(t *testing.T) {
		_, err := ts.cli(t, rootKeyID, rootSecret, "keys", "rotate", "--tenant", "bolt", "--key-id", keyA)
		wantAPIError(t, err, 404, "does not exist")
		md, err := ts.kp.keys.DescribeKey(ctx, "acme", keyA)
		if err != nil || md.CurrentVersion != 2 {
			t.Fatalf("acme's key after bolt's rotate attempt: version %d (%v), want 2", md.CurrentVersion, err)
		}
	})

	t.Run("ErrEraseActiveWithoutOverride", func(t *testing.T) {
		_, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "erase", "bolt")
		wantAPIError(t, err, 409, "only a tenant pending deletion can be erased")
		if _, err := readArtifact(ts, "bolt"); err != nil {
			t.Fatalf("b's artifact after a refused erase: %v", err)
		}
	})

	t.Run("ErrEraseMalformedBody", func(t *testing.T) {
		for _, body := range []string{`{"override": "yes"}`, `{"override": true, "extra": 1}`, `not json`} {
			req, err := http.NewRequest("POST", ts.URL+"/api/v1/tenants/bolt/erase", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.SetBasicAuth(rootKeyID, rootSecret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("erase with body %s = %d, want 400", body, resp.StatusCode)
			}
		}
		if _, err := readArtifact(ts, "bolt"); err != nil {
			t.Fatalf("bolt's artifact after malformed erase requests: %v", err)
		}
	})

	t.Run("EraseOverride", func(t *testing.T) {
		tenantDir := filepath.Join(ts.cfg.DataDir, "blobs", "tenants", "acme")
		backup := filepath.Join(t.TempDir(), "acme")
		copyTree(t, tenantDir, backup)

		var rep manage.EraseTenantOutput
		if err := json.Unmarshal([]byte(mustCLI(t, ts, "tenant", "erase", "acme", "--override", "-o", "json")), &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Keys == nil || !rep.Keys.Override || len(rep.Keys.Keys) != 1 || rep.Keys.Keys[0].KeyID != keyA || rep.Keys.Keys[0].Versions != 2 || rep.BlobsDeleted == 0 {
			t.Fatalf("erasure report = %+v, want a's one key (2 versions) destroyed with override and blobs deleted", rep)
		}
		if _, err := readArtifact(ts, "acme"); err == nil {
			t.Fatal("a's artifact still reads after erasure")
		}
		// A copy of the ciphertext taken before erasure, put back in place,
		// still does not decrypt: the key that wrapped its data key is gone.
		copyTree(t, backup, tenantDir)
		if _, err := readArtifact(ts, "acme"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("restored copy of a's artifact: err = %v, want not found (key destroyed)", err)
		}
		page, err := ts.audit.Lookup(ctx, audit.Filter{TenantID: "acme", EventName: "EraseTenantOverride"})
		if err != nil || len(page.Events) != 1 {
			t.Fatalf("audit events EraseTenantOverride for acme = %d (%v), want 1", len(page.Events), err)
		}
		if got, err := readArtifact(ts, "bolt"); err != nil || !bytes.Equal(got, dataB) {
			t.Fatalf("b's artifact after a's erasure: %v", err)
		}
		if got, err := ts.store.Tenants().FindTenant(ctx, "acme"); err != nil || got.Status != tenant.PendingDeletion {
			t.Fatalf("acme after an override erase: %+v, %v; want pending_deletion", got, err)
		}
		table := mustCLI(t, ts, "keys", "list", "--tenant", "acme")
		if strings.Contains(table, keyA) {
			t.Fatalf("a's destroyed key still listed:\n%s", table)
		}
	})
}

// Deleting a tenant schedules its keys' deletion; the sweep destroys them
// once the waiting period is over, and not before. Erasing before then
// without override is refused.
func TestServer_SweepKeys(t *testing.T) {
	ts := startServer(t, rootEnv)
	ctx := context.Background()
	mustCLI(t, ts, "tenant", "create", "cobalt")
	putArtifact(t, ts, "cobalt")
	mustCLI(t, ts, "tenant", "delete", "cobalt")

	var list manage.ListTenantKeysOutput
	if err := json.Unmarshal([]byte(mustCLI(t, ts, "keys", "list", "--tenant", "cobalt", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Keys) != 1 || list.Keys[0].Metadata.KeyState != keys.StatePendingDeletion {
		t.Fatalf("c's keys after delete = %+v, want one key pending deletion", list.Keys)
	}
	deletion := list.Keys[0].Metadata.DeletionDate

	tests := []struct {
		name      string
		now       time.Time
		wantKeys  int
		wantErase bool
	}{
		{"BeforeWaitingPeriod", deletion.Add(-time.Hour), 1, false},
		{"AfterWaitingPeriod", deletion.Add(time.Hour), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := ts.sweepKeys(ctx, tc.now); err != nil {
				t.Fatalf("sweep: %v", err)
			}
			got, err := ts.kp.keys.ListKeys(ctx, "cobalt")
			if err != nil || len(got) != tc.wantKeys {
				t.Fatalf("keys after sweep = %d (%v), want %d", len(got), err, tc.wantKeys)
			}
			out, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "erase", "cobalt")
			if tc.wantErase {
				if err != nil {
					t.Fatalf("erase after the waiting period: %v\n%s", err, out)
				}
				if !strings.Contains(out, "cobalt") || !strings.Contains(out, "DESTROYED KEY") {
					t.Fatalf("erasure report table:\n%s\nwant the tenant and the destroyed-keys header", out)
				}
				if _, err := readArtifact(ts, "cobalt"); err == nil {
					t.Fatal("c's artifact still reads after erasure")
				}
				return
			}
			wantAPIError(t, err, 400, "not due for deletion")
			// A key pending deletion is unusable: the artifact must not
			// read, but a refused erase must not have deleted it.
			if _, err := readArtifact(ts, "cobalt"); err == nil {
				t.Fatal("c's artifact read while its key is pending deletion")
			}
			if _, err := ts.kp.artifacts.Stat(ctx, "cobalt", artifactKey, artifactVersion); err != nil {
				t.Fatalf("c's artifact deleted by a refused erase: %v", err)
			}
		})
	}
}

// failingKeyStore refuses every key write.
type failingKeyStore struct{ *keystest.MemStore }

func (failingKeyStore) PutKey(context.Context, *keys.Record) (int64, error) {
	return 0, errors.New("disk full")
}

func TestKeyedTenants_CreateTenant(t *testing.T) {
	tests := []struct {
		name    string
		store   keys.Store
		wantErr bool
	}{
		{"OK", keystest.NewMemStore(), false},
		{"ErrKeyCreation", failingKeyStore{keystest.NewMemStore()}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			svc, err := keys.New(keys.Config{Store: tc.store, KEK: kek})
			if err != nil {
				t.Fatal(err)
			}
			tenants := &tenant.Onboarding{Service: db.Tenants(), Provisioners: []tenant.Provisioner{&keys.TenantKeys{Keys: svc, Alias: artifact.DefaultKeyAlias}}}
			err = tenants.CreateTenant(ctx, &tenant.Tenant{ID: "acme", Isolation: tenant.Pool, HomeRegion: "us-east-1"})
			if (err != nil) != tc.wantErr {
				t.Fatalf("CreateTenant err = %v, want error %t", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			md, err := svc.DescribeKey(ctx, "acme", "alias/tenantml/artifacts")
			if err != nil || md.KeyState != keys.StateEnabled {
				t.Fatalf("artifact key after CreateTenant = %+v, %v", md, err)
			}
		})
	}
}

func TestServer_BlobSetting(t *testing.T) {
	t.Run("FileURL", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "elsewhere")
		env := map[string]string{"TENANTML_BLOB": "file://" + filepath.ToSlash(dir)}
		for k, v := range rootEnv {
			env[k] = v
		}
		ts := startServer(t, env)
		mustCLI(t, ts, "tenant", "create", "acme")
		putArtifact(t, ts, "acme")
		if _, err := os.Stat(filepath.Join(dir, "tenants", "acme")); err != nil {
			t.Fatalf("artifact not under the configured blob dir: %v", err)
		}
		if _, err := os.Stat(filepath.Join(ts.cfg.DataDir, "blobs")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("default blob dir used despite the blob setting: %v", err)
		}
	})
	t.Run("ErrUnknownScheme", func(t *testing.T) {
		getenv := func(k string) string {
			return map[string]string{"TENANTML_DATA_DIR": t.TempDir(), "TENANTML_LISTEN": "127.0.0.1:0", "TENANTML_BLOB": "gs://bucket",
				"TENANTML_ROOT_ACCESS_KEY_ID": rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY": rootSecret}[k]
		}
		cfg, err := loadConfig(newServeCmd().Flags(), getenv)
		if err != nil {
			t.Fatal(err)
		}
		var out, logs bytes.Buffer
		s := &server{cfg: cfg, stdout: &out, stderr: &logs, rand: rand.Reader, now: time.Now}
		err = s.open(context.Background())
		_ = s.close(context.Background())
		if err == nil || !strings.Contains(err.Error(), "open artifact store") {
			t.Fatalf("open with blob gs://bucket: err = %v, want an artifact store error", err)
		}
	})
}
