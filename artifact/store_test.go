package artifact_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

const seg = 1 << 20

func TestStore_Put(t *testing.T) {
	f := newFixture(t)
	sizes := []int{0, 1, 1000, seg - 1, seg, seg + 1, 3*seg + 17}
	for _, n := range sizes {
		t.Run("OK/"+itoa(n), func(t *testing.T) {
			data := randBytes(t, n)
			info := f.put(t, "acme", "churn/model.tar.gz", "v"+itoa(n), data)
			if info.Size != int64(n) || info.SHA256 != sum(data) || info.Tenant != "acme" || info.KeyVersion != 1 {
				t.Fatalf("info = %+v", info)
			}
			got, err := f.readAll(t, "acme", "churn/model.tar.gz", "v"+itoa(n))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, differ from the %d written", len(got), n)
			}
		})
	}
	t.Run("Layout", func(t *testing.T) {
		f := newFixture(t)
		info := f.put(t, "acme", "churn/model.tar.gz", "3", []byte("model"))
		got := files(t, f.dir)
		want := []string{
			"tenants/acme/blobs/churn/3/model.tar.gz/" + info.UploadID,
			"tenants/acme/models/churn/3/model.tar.gz",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("files = %v, want %v", got, want)
		}
		raw := readFile(t, f.dir+"/"+want[0])
		if bytes.Contains(raw, []byte("model")) {
			t.Fatal("the body holds plaintext")
		}
	})
	t.Run("Replace", func(t *testing.T) {
		f := newFixture(t)
		f.put(t, "acme", "churn/model.tar.gz", "3", []byte("one"))
		f.put(t, "acme", "churn/model.tar.gz", "3", []byte("two"))
		got, err := f.readAll(t, "acme", "churn/model.tar.gz", "3")
		if err != nil || string(got) != "two" {
			t.Fatalf("read %q, %v", got, err)
		}
		if n := len(withPrefix(files(t, f.dir), "tenants/acme/blobs/")); n != 1 {
			t.Fatalf("%d bodies remain, want 1", n)
		}
	})
	bad := []struct{ name, tenant, key, version string }{
		{"ErrNoTenant", "", "m/f", "1"},
		{"ErrTenantSlash", "a/b", "m/f", "1"},
		{"ErrTenantDots", "..", "m/f", "1"},
		{"ErrKeyOneSegment", "acme", "model", "1"},
		{"ErrKeyDotDot", "acme", "m/../f", "1"},
		{"ErrKeyEmptySegment", "acme", "m//f", "1"},
		{"ErrKeyAbsolute", "acme", "/m/f", "1"},
		{"ErrVersionEmpty", "acme", "m/f", ""},
		{"ErrVersionSlash", "acme", "m/f", "1/2"},
		{"ErrVersionDot", "acme", "m/f", "."},
		{"ErrKeyTmpSuffix", "acme", "m/f.tmp", "1"},
		{"ErrKeyTooLong", "acme", "m/" + strings.Repeat("a/", 300) + "f", "1"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.store.Put(context.Background(), tc.tenant, tc.key, tc.version, strings.NewReader("x"))
			if tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Fatalf("err = %v, want invalid", err)
			}
			_, _, err = f.store.Get(context.Background(), tc.tenant, tc.key, tc.version)
			if tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Fatalf("Get err = %v, want invalid", err)
			}
		})
	}
	t.Run("ErrNoTenantKey", func(t *testing.T) {
		_, err := f.store.Put(context.Background(), "initech", "m/f", "1", strings.NewReader("x"))
		if tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("err = %v, want not found (no key for the tenant)", err)
		}
	})
}

func TestStore_PutWith(t *testing.T) {
	ctx := context.Background()
	data := []byte("0123456789")
	cases := []struct {
		name string
		opts artifact.PutOptions
		ok   bool
	}{
		{"OK", artifact.PutOptions{ExpectedSize: 10, ExpectedSHA256: sum(data)}, true},
		{"ErrTruncated", artifact.PutOptions{ExpectedSize: 11}, false},
		{"ErrOverlong", artifact.PutOptions{ExpectedSize: 9}, false},
		{"ErrDigest", artifact.PutOptions{ExpectedSHA256: sum([]byte("other"))}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.store.PutWith(ctx, "acme", "m/f", "1", bytes.NewReader(data), tc.opts)
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Fatalf("err = %v, want invalid", err)
			}
			if _, err := f.store.Stat(ctx, "acme", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				t.Fatalf("rejected upload is visible: %v", err)
			}
			if got := files(t, f.dir); len(got) != 0 {
				t.Fatalf("rejected upload left %v", got)
			}
		})
	}
}

// cancelAfter returns data from r and cancels after n bytes.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		c.cancel()
		return 0, context.Canceled
	}
	if len(p) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= n
	return n, err
}

func TestStore_PutAborted(t *testing.T) {
	data := randBytes(t, 3*seg)
	cases := map[string]func(context.Context, context.CancelFunc) io.Reader{
		"ReaderError": func(context.Context, context.CancelFunc) io.Reader {
			return io.MultiReader(bytes.NewReader(data[:2*seg]), iotest.ErrReader(io.ErrUnexpectedEOF))
		},
		"ContextCancelled": func(_ context.Context, cancel context.CancelFunc) io.Reader {
			return &cancelAfter{r: bytes.NewReader(data), n: 2*seg + 5, cancel: cancel}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			prev := f.put(t, "acme", "m/f", "1", []byte("previous"))
			before := files(t, f.dir)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if _, err := f.store.Put(ctx, "acme", "m/f", "1", mk(ctx, cancel)); err == nil {
				t.Fatal("aborted upload succeeded")
			}
			if after := files(t, f.dir); strings.Join(after, ",") != strings.Join(before, ",") {
				t.Fatalf("files after abort = %v, before = %v", after, before)
			}
			got, err := f.readAll(t, "acme", "m/f", "1")
			if err != nil || string(got) != "previous" {
				t.Fatalf("previous version = %q, %v", got, err)
			}
			info, _ := f.store.Stat(context.Background(), "acme", "m/f", "1")
			if info.UploadID != prev.UploadID {
				t.Fatal("manifest changed")
			}
		})
	}
}

func TestStore_PutConcurrent(t *testing.T) {
	f := newFixture(t)
	const n = 4
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i] = randBytes(t, 2*seg+i)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.store.Put(context.Background(), "acme", "m/f", "1", bytes.NewReader(payloads[i]))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := f.readAll(t, "acme", "m/f", "1")
	if err != nil {
		t.Fatal(err)
	}
	match := 0
	for _, p := range payloads {
		if bytes.Equal(got, p) {
			match++
		}
	}
	if match != 1 {
		t.Fatalf("read %d bytes matching %d uploads, want exactly one whole upload", len(got), match)
	}
	// Losing uploads may leave unreferenced bodies; Sweep reclaims them
	// and keeps the live one.
	if _, err := f.store.Sweep(context.Background(), "acme", "", -time.Hour); err != nil {
		t.Fatal(err)
	}
	if bodies := withPrefix(files(t, f.dir), "tenants/acme/blobs/"); len(bodies) != 1 {
		t.Fatalf("bodies left after sweep = %v, want 1", bodies)
	}
	if got2, err := f.readAll(t, "acme", "m/f", "1"); err != nil || !bytes.Equal(got2, got) {
		t.Fatalf("sweep broke the live artifact: %v", err)
	}
}

func TestStore_Sweep(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	info := f.put(t, "acme", "m/f", "1", []byte("live"))
	f.put(t, "globex", "m/f", "1", []byte("other tenant"))
	orphan := "tenants/acme/blobs/m/1/f/0123456789abcdef0123456789abcdef"
	copyFile(t, f.dir+"/tenants/acme/blobs/m/1/f/"+info.UploadID, f.dir+"/"+orphan)
	// Within the grace period nothing goes.
	if n, err := f.store.Sweep(ctx, "acme", "", time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep within grace = %d, %v", n, err)
	}
	if n, err := f.store.Sweep(ctx, "acme", "", -time.Hour); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v; want 1", n, err)
	}
	if got, err := f.readAll(t, "acme", "m/f", "1"); err != nil || string(got) != "live" {
		t.Fatalf("live artifact = %q, %v", got, err)
	}
	if n := len(withPrefix(files(t, f.dir), "tenants/globex/blobs/")); n != 1 {
		t.Fatal("sweep touched another tenant")
	}
	if _, err := f.store.Sweep(ctx, "", "", 0); tenantml.ErrorCode(err) != tenantml.EINVALID {
		t.Fatalf("empty tenant: %v", err)
	}
}

func TestStore_Delete(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.put(t, "acme", "m/f", "1", []byte("x"))
	f.put(t, "acme", "m/f", "2", []byte("y"))
	if err := f.store.Delete(ctx, "globex", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Fatalf("other tenant delete: %v", err)
	}
	if err := f.store.Delete(ctx, "acme", "m/f", "1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.Get(ctx, "acme", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Fatalf("deleted artifact: %v", err)
	}
	if got, err := f.readAll(t, "acme", "m/f", "2"); err != nil || string(got) != "y" {
		t.Fatalf("sibling version = %q, %v", got, err)
	}
	if err := f.store.Delete(ctx, "acme", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Fatalf("second delete: %v", err)
	}
	if n := len(withPrefix(files(t, f.dir), "tenants/acme/blobs/m/1/")); n != 0 {
		t.Fatalf("%d bodies of the deleted version remain", n)
	}
}

func TestStore_List(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.put(t, "acme", "churn/model.tar.gz", "1", []byte("a"))
	f.put(t, "acme", "churn/model.tar.gz", "2", []byte("b"))
	f.put(t, "acme", "fraud/model.tar.gz", "1", []byte("c"))
	f.put(t, "globex", "churn/model.tar.gz", "1", []byte("d"))
	cases := map[string]int{"": 3, "churn/": 2, "churn/2/": 1, "fraud": 1, "nope": 0}
	for prefix, want := range cases {
		t.Run("prefix="+prefix, func(t *testing.T) {
			got, err := f.store.List(ctx, "acme", prefix)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != want {
				t.Fatalf("listed %d, want %d", len(got), want)
			}
			for _, i := range got {
				if i.Tenant != "acme" {
					t.Fatalf("listed %+v", i)
				}
			}
		})
	}
	if _, err := f.store.List(ctx, "", ""); tenantml.ErrorCode(err) != tenantml.EINVALID {
		t.Fatalf("empty tenant: %v", err)
	}
}

func readFile(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestStore_Open(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrNotOpen", func(t *testing.T) {
		s := artifact.New(artifact.Config{Keys: newKeys(t)})
		if _, err := s.Put(ctx, "acme", "m/f", "1", strings.NewReader("x")); tenantml.ErrorCode(err) != tenantml.EUNAVAILABLE {
			t.Fatalf("Put before Open: %v", err)
		}
		if _, _, err := s.Get(ctx, "acme", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.EUNAVAILABLE {
			t.Fatalf("Get before Open: %v", err)
		}
		if _, err := s.List(ctx, "acme", ""); tenantml.ErrorCode(err) != tenantml.EUNAVAILABLE {
			t.Fatalf("List before Open: %v", err)
		}
		if _, err := s.DeleteTenant(ctx, "acme"); tenantml.ErrorCode(err) != tenantml.EUNAVAILABLE {
			t.Fatalf("DeleteTenant before Open: %v", err)
		}
	})
	bad := map[string]artifact.Config{
		"ErrNoKeys":   {URL: "file://" + t.TempDir()},
		"ErrNoURL":    {Keys: newKeys(t)},
		"ErrScheme":   {URL: "ftp://x", Keys: newKeys(t)},
		"ErrBadURL":   {URL: "::", Keys: newKeys(t)},
		"ErrS3Option": {URL: "s3://b?use_path_style=maybe", Keys: newKeys(t)},
	}
	for name, cfg := range bad {
		t.Run(name, func(t *testing.T) {
			if err := artifact.New(cfg).Open(ctx); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

// TestStore_PutOtherFileSystem stores under a directory on another file
// system than $TMPDIR (tmpfs vs the temp dir): temporary files are written
// beside their final names, so the rename into place does not cross
// devices.
func TestStore_PutOtherFileSystem(t *testing.T) {
	dir := ramDir(t)
	t.Setenv("TMPDIR", t.TempDir())
	f := newFixtureAt(t, dir, "")
	data := randBytes(t, 3*seg+5)
	f.put(t, "acme", "m/model.bin", "1", data)
	if got, err := f.readAll(t, "acme", "m/model.bin", "1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	infos, err := f.store.List(context.Background(), "acme", "")
	if err != nil || len(infos) != 1 {
		t.Fatalf("List = %v, %v; want the one artifact", infos, err)
	}
}
