package artifact_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

const (
	seg     = 1 << 20
	account = "111122223333"
	bucket  = "models"
)

type fixture struct {
	keys  *keys.Service
	index artifact.Index
	store *artifact.Store
	dir   string // fileblob root
}

func newKeys(t testing.TB) *keys.Service {
	t.Helper()
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := keys.New(keys.Config{Store: keystest.NewMemStore(), KEK: kek, Account: account})
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

// newFixtureAt opens a store on a file bucket at dir (query appended to
// the URL) and an in-memory index, with the bucket "models" created.
func newFixtureAt(t testing.TB, dir, query string, opts ...func(*artifact.Config)) *fixture {
	t.Helper()
	f := &fixture{keys: newKeys(t), index: artifacttest.NewMemIndex(), dir: dir}
	f.store = f.open(t, "file://"+dir+query, opts...)
	if _, err := f.store.CreateBucket(context.Background(), artifact.CreateBucketInput{Name: bucket, Account: account}); err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens another store on the fixture's keys and index.
func (f *fixture) open(t testing.TB, url string, opts ...func(*artifact.Config)) *artifact.Store {
	t.Helper()
	cfg := artifact.Config{URL: url, Keys: f.keys, Index: f.index, MinPartSize: 1 << 10}
	for _, o := range opts {
		o(&cfg)
	}
	s := artifact.New(cfg)
	if err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// acmeKey is acme's default key.
var acmeKey = artifact.KeyRef{Tenant: "acme", KeyID: artifact.DefaultKeyAlias}

// putObject stores data at key of the fixture's bucket under enc.
func (f *fixture) putObject(t testing.TB, key string, enc artifact.KeyRef, data []byte) *artifact.Object {
	t.Helper()
	o, err := f.store.PutObject(context.Background(), artifact.PutObjectInput{Bucket: bucket, Key: key, Encryption: enc, Checks: artifact.NoChecks}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("PutObject(%s): %v", key, err)
	}
	return o
}

// getObject reads an object (or a range) to the end: what it delivered and
// the error that ended the stream (nil for a clean io.EOF).
func (f *fixture) getObject(t testing.TB, key string, rng *artifact.Range) ([]byte, error) {
	t.Helper()
	return readObject(t, f.store, bucket, key, rng)
}

func readObject(t testing.TB, s *artifact.Store, b, key string, rng *artifact.Range) ([]byte, error) {
	t.Helper()
	or, err := s.GetObject(context.Background(), b, key, rng)
	if err != nil {
		return nil, err
	}
	defer or.Close()
	return io.ReadAll(or)
}

// put and readAll are the artifact view's.
func (f *fixture) put(t testing.TB, tenant, key, version string, data []byte) *artifact.Info {
	t.Helper()
	info, err := f.store.Put(context.Background(), tenant, key, version, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put(%s, %s, %s): %v", tenant, key, version, err)
	}
	return info
}

func (f *fixture) readAll(t testing.TB, tenant, key, version string) ([]byte, error) {
	t.Helper()
	rc, _, err := f.store.Get(context.Background(), tenant, key, version)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// doc returns an object's manifest as a map, and a function storing it
// back into the index (as an attacker with write access to the database
// would).
func (f *fixture) doc(t testing.TB, b, key string) (map[string]any, func(map[string]any)) {
	t.Helper()
	ctx := context.Background()
	r, err := f.index.GetObject(ctx, b, key)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Doc, &m); err != nil {
		t.Fatal(err)
	}
	return m, func(m map[string]any) {
		t.Helper()
		cur, err := f.index.GetObject(ctx, b, key)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Doc, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
		if _, err := f.index.UpdateObject(ctx, cur); err != nil {
			t.Fatal(err)
		}
	}
}

// bodyFiles returns the paths (under f.dir) of an object's bodies.
func (f *fixture) bodyFiles(t testing.TB, b, key string) []string {
	t.Helper()
	r, err := f.index.GetObject(context.Background(), b, key)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := f.doc(t, b, key)
	var out []string
	for _, x := range m["bodies"].([]any) {
		out = append(out, filepath.Join(f.dir, "tenants", r.Tenant, "bodies", b, x.(map[string]any)["id"].(string)))
	}
	return out
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
func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}
func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func itoa(n int) string { return strconv.Itoa(n) }

// files lists the regular files under dir (relative, sorted).
func files(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
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

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, p string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t testing.TB, src, dst string) { t.Helper(); writeFile(t, dst, readFile(t, src)) }

// wantS3 fails unless err carries the S3 code.
func wantS3(t testing.TB, err error, code artifact.Code) {
	t.Helper()
	if got := artifact.CodeOf(err); got != code {
		t.Fatalf("err = %v (S3 code %q), want %q", err, got, code)
	}
}

// wantApp fails unless err carries the application code.
func wantApp(t testing.TB, err error, code string) {
	t.Helper()
	if got := tenantml.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want %q", err, got, code)
	}
}

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

type failingReader struct{}

func (*failingReader) Read([]byte) (int, error) { return 0, errors.New("client went away") }
