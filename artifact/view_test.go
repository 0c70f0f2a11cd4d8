package artifact_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

// The artifact API is a view of the artifact bucket: one copy, reachable
// both ways.

func TestStore_Put(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for _, n := range []int{0, 1, seg + 1, 3*seg + 17} {
		t.Run("OK/"+itoa(n), func(t *testing.T) {
			data := randBytes(t, n)
			info := f.put(t, "acme", "churn/model.tar.gz", "v"+itoa(n), data)
			if info.Size != int64(n) || info.SHA256 != sum(data) || info.Tenant != "acme" || info.KeyVersion != 1 || len(info.UploadID) != 32 {
				t.Fatalf("info = %+v", info)
			}
			got, err := f.readAll(t, "acme", "churn/model.tar.gz", "v"+itoa(n))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, %v", len(got), err)
			}
		})
	}
	t.Run("OneCopyBothWays", func(t *testing.T) {
		f := newFixture(t)
		data := randBytes(t, seg+3)
		info := f.put(t, "acme", "churn/model.tar.gz", "3", data)
		got, err := readObject(t, f.store, artifact.DefaultArtifactBucket, "acme/churn/3/model.tar.gz", nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("through S3: %d bytes, %v", len(got), err)
		}
		o, _ := f.store.HeadObject(ctx, artifact.DefaultArtifactBucket, "acme/churn/3/model.tar.gz")
		if o.Tenant != "acme" || o.SHA256 != info.SHA256 || o.KeyARN != info.KeyARN {
			t.Fatalf("object = %+v, artifact = %+v", o, info)
		}
		if all := files(t, f.dir); len(all) != 1 || all[0] != "tenants/acme/bodies/"+artifact.DefaultArtifactBucket+"/"+info.UploadID {
			t.Fatalf("files = %v, want the one body", all)
		}
		// Written through S3, read through the artifact API.
		if _, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: artifact.DefaultArtifactBucket, Key: "acme/fraud/1/model.bin",
			Encryption: acmeKey, Checks: artifact.NoChecks}, strings.NewReader("via s3")); err != nil {
			t.Fatal(err)
		}
		if got, err := f.readAll(t, "acme", "fraud/model.bin", "1"); err != nil || string(got) != "via s3" {
			t.Fatalf("through the artifact API: %q, %v", got, err)
		}
	})
	t.Run("ErrOtherOwnerInvisible", func(t *testing.T) {
		// An object under acme's prefix but owned by globex (written
		// through S3 under globex's key) is not acme's artifact.
		f := newFixture(t)
		if _, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: artifact.DefaultArtifactBucket, Key: "acme/m/1/f",
			Encryption: artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}, Checks: artifact.NoChecks}, strings.NewReader("g")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.Get(ctx, "acme", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("Get = %v, want not found", err)
		}
		if _, err := f.store.Stat(ctx, "acme", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("Stat = %v, want not found", err)
		}
		if l, err := f.store.List(ctx, "acme", ""); err != nil || len(l) != 0 {
			t.Fatalf("List = %v, %v", l, err)
		}
		if err := f.store.Delete(ctx, "acme", "m/f", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("Delete = %v, want not found", err)
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
			_, err := f.store.Put(ctx, tc.tenant, tc.key, tc.version, strings.NewReader("x"))
			wantApp(t, err, tenantml.EINVALID)
			_, _, err = f.store.Get(ctx, tc.tenant, tc.key, tc.version)
			wantApp(t, err, tenantml.EINVALID)
		})
	}
	t.Run("ErrNoTenantKey", func(t *testing.T) {
		_, err := f.store.Put(ctx, "initech", "m/f", "1", strings.NewReader("x"))
		wantApp(t, err, tenantml.ENOTFOUND)
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
			wantApp(t, err, tenantml.EINVALID)
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
				t.Fatal("the object changed")
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
	// Every replaced body was deleted as its successor committed.
	if bodies := withPrefix(files(t, f.dir), "tenants/acme/bodies/"); len(bodies) != 1 {
		t.Fatalf("bodies left = %v, want 1", bodies)
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
	if n := len(files(t, f.dir)); n != 1 {
		t.Fatalf("%d bodies remain, want version 2's", n)
	}
}

func TestStore_List(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.put(t, "acme", "churn/model.tar.gz", "1", []byte("a"))
	f.put(t, "acme", "churn/model.tar.gz", "2", []byte("b"))
	f.put(t, "acme", "fraud/model.tar.gz", "1", []byte("c"))
	f.put(t, "globex", "churn/model.tar.gz", "1", []byte("d"))
	if _, err := f.keys.EnsureKey(ctx, "acme-two", artifact.DefaultKeyAlias, ""); err != nil {
		t.Fatal(err)
	}
	f.put(t, "acme-two", "churn/model.tar.gz", "1", []byte("e"))
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
				if i.Tenant != "acme" || i.SHA256 == "" || i.KeyARN == "" {
					t.Fatalf("listed %+v", i)
				}
			}
		})
	}
	if _, err := f.store.List(ctx, "", ""); tenantml.ErrorCode(err) != tenantml.EINVALID {
		t.Fatalf("empty tenant: %v", err)
	}
}

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
		if _, err := s.GetBucket(ctx, bucket); tenantml.ErrorCode(err) != tenantml.EUNAVAILABLE {
			t.Fatalf("GetBucket before Open: %v", err)
		}
	})
	bad := map[string]func(*artifact.Config){
		"ErrNoKeys":        func(c *artifact.Config) { c.Keys = nil },
		"ErrNoIndex":       func(c *artifact.Config) { c.Index = nil },
		"ErrNoURL":         func(c *artifact.Config) { c.URL = "" },
		"ErrScheme":        func(c *artifact.Config) { c.URL = "ftp://x" },
		"ErrBadURL":        func(c *artifact.Config) { c.URL = "::" },
		"ErrS3Option":      func(c *artifact.Config) { c.URL = "s3://b?use_path_style=maybe" },
		"ErrShortSecret":   func(c *artifact.Config) { c.TokenSecret = []byte("short") },
		"ErrArtifactName":  func(c *artifact.Config) { c.ArtifactBucket = "Not_Valid" },
		"ErrArtifactTaken": func(c *artifact.Config) { c.ArtifactBucket = "taken-elsewhere" },
	}
	f := newFixture(t)
	if _, err := f.store.CreateBucket(ctx, artifact.CreateBucketInput{Name: "taken-elsewhere", Account: "999988887777"}); err != nil {
		t.Fatal(err)
	}
	for name, mod := range bad {
		t.Run(name, func(t *testing.T) {
			cfg := artifact.Config{URL: "file://" + t.TempDir(), Keys: f.keys, Index: f.index}
			mod(&cfg)
			if err := artifact.New(cfg).Open(ctx); err == nil {
				t.Fatal("want error")
			}
		})
	}
}

// TestStore_PutOtherFileSystem stores under a directory on another file
// system than $TMPDIR: temporary files are written beside their final
// names, so the rename into place does not cross devices.
func TestStore_PutOtherFileSystem(t *testing.T) {
	dir := ramDir(t)
	t.Setenv("TMPDIR", t.TempDir())
	f := newFixtureAt(t, dir, "")
	data := randBytes(t, 3*seg+5)
	f.put(t, "acme", "m/model.bin", "1", data)
	if got, err := f.readAll(t, "acme", "m/model.bin", "1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
}

func timeAt(hours int) time.Time { return time.Now().Add(time.Duration(hours) * time.Hour) }
