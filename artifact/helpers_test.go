package artifact_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

type fixture struct {
	keys  *keys.Service
	store *artifact.Store
	dir   string // fileblob root
}

func newKeys(t testing.TB) *keys.Service {
	t.Helper()
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := keys.New(keys.Config{Store: keystest.NewMemStore(), KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{"acme", "globex"} {
		if _, err := svc.EnsureKey(context.Background(), tn, artifact.DefaultKeyAlias, "artifacts"); err != nil {
			t.Fatal(err)
		}
	}
	return svc
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureAt(t, t.TempDir(), "")
}

// ramDir returns a fresh directory on tmpfs (/dev/shm) when there is one,
// so that multi-GiB tests measure the code, not the disk; else t.TempDir().
func ramDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "tenantml-artifact-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// newFixtureAt opens a file bucket at dir; query is appended to the URL.
func newFixtureAt(t testing.TB, dir, query string) *fixture {
	t.Helper()
	f := &fixture{keys: newKeys(t), dir: dir}
	f.store = artifact.New(artifact.Config{URL: "file://" + f.dir + query, Keys: f.keys})
	if err := f.store.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close(context.Background()) })
	return f
}

func (f *fixture) put(t testing.TB, tenant, key, version string, data []byte) *artifact.Info {
	t.Helper()
	info, err := f.store.Put(context.Background(), tenant, key, version, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%s, %s, %s): %v", tenant, key, version, err)
	}
	return info
}

// readAll reads an artifact to the end, returning what it delivered and the
// error that ended the stream (nil for a clean io.EOF).
func (f *fixture) readAll(t testing.TB, tenant, key, version string) ([]byte, error) {
	t.Helper()
	rc, _, err := f.store.Get(context.Background(), tenant, key, version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// files lists the regular files under dir (relative, sorted), ignoring
// fileblob's attribute sidecars.
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasSuffix(p, ".attrs") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func withPrefix(ss []string, prefix string) []string {
	var out []string
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
