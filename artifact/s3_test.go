package artifact_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

// versitygwBinary finds the versitygw binary that scripts/test-deps.sh
// installs.
func versitygwBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	p := filepath.Join(build.Default.GOPATH, "bin", "versitygw")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("versitygw not found on PATH or at %s: run scripts/test-deps.sh (make deps)", p)
	}
	return p
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startVersitygw runs an S3 gateway with a posix backend in a temporary
// directory on a free loopback port, with a generated access key, and
// returns its endpoint and bucket name once it answers.
func startVersitygw(t *testing.T) (endpoint, bucket string) {
	t.Helper()
	bin := versitygwBinary(t)
	root := t.TempDir()
	bucket = "tenantml-test"
	if err := os.Mkdir(filepath.Join(root, bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	access, secret := randHex(t, 10), randHex(t, 20)
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--access", access, "--secret", secret,
		"--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet", "posix", root)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start versitygw: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cancel()
		<-exited
	})
	endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(endpoint + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("versitygw exited: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw not ready after 20s: %v\n%s", err, logs.String())
		}
	}
	t.Setenv("AWS_ACCESS_KEY_ID", access)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(root, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(root, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return endpoint, bucket
}

func randHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func keysIn(t *testing.T, b *blob.Bucket, prefix string) []string {
	t.Helper()
	var out []string
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj.Key)
	}
}

// TestStore_S3 runs the store against a real S3 implementation (versitygw)
// through gocloud's s3blob, opened from the URL form operators use.
func TestStore_S3(t *testing.T) {
	endpoint, bucketName := startVersitygw(t)
	ctx := context.Background()
	url := fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true&disable_https=true", bucketName, endpoint)
	svc := newKeys(t)
	store := artifact.New(artifact.Config{URL: url, Keys: svc})
	if err := store.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer store.Close(ctx)
	raw, err := artifact.OpenBucket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	data := randBytes(t, 11<<20+123) // three multipart parts, eleven segments
	info, err := store.Put(ctx, "acme", "churn/model.tar.gz", "1", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Get", func(t *testing.T) {
		rc, got, err := store.Get(ctx, "acme", "churn/model.tar.gz", "1")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(b, data) || got.SHA256 != info.SHA256 {
			t.Fatalf("read %d bytes, %v", len(b), err)
		}
	})
	t.Run("Layout", func(t *testing.T) {
		keys := keysIn(t, raw, "")
		want := []string{
			"tenants/acme/blobs/churn/1/model.tar.gz/" + info.UploadID,
			"tenants/acme/models/churn/1/model.tar.gz",
		}
		if fmt.Sprint(keys) != fmt.Sprint(want) {
			t.Fatalf("objects = %v, want %v", keys, want)
		}
	})
	t.Run("ErrCrossTenant", func(t *testing.T) {
		if _, _, err := store.Get(ctx, "globex", "churn/model.tar.gz", "1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		body := "tenants/acme/blobs/churn/1/model.tar.gz/" + info.UploadID
		ct, err := raw.ReadAll(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(ct)
		bad[len(bad)/2] ^= 1
		if err := raw.WriteAll(ctx, body, bad, nil); err != nil {
			t.Fatal(err)
		}
		rc, _, err := store.Get(ctx, "acme", "churn/model.tar.gz", "1")
		if err == nil {
			_, err = io.ReadAll(rc)
			rc.Close()
		}
		if !errors.Is(err, artifact.ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
		if err := raw.WriteAll(ctx, body, ct, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AbortedUploadInvisible", func(t *testing.T) {
		before := keysIn(t, raw, "")
		r := io.MultiReader(bytes.NewReader(data[:7<<20]), &failingReader{})
		if _, err := store.Put(ctx, "acme", "churn/model.tar.gz", "2", r); err == nil {
			t.Fatal("aborted upload succeeded")
		}
		if after := keysIn(t, raw, ""); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("objects after abort = %v, before = %v", after, before)
		}
	})
	t.Run("Rewrap", func(t *testing.T) {
		if _, err := svc.RotateKeyOnDemand(ctx, "acme", artifact.DefaultKeyAlias); err != nil {
			t.Fatal(err)
		}
		rep, err := store.Rewrap(ctx, "acme", "churn/")
		if err != nil || rep.Rewrapped != 1 {
			t.Fatalf("rewrap = %+v, %v", rep, err)
		}
		rc, _, err := store.Get(ctx, "acme", "churn/model.tar.gz", "1")
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("read after rewrap: %v", err)
		}
	})
	t.Run("ConcurrentPutsOneWholeVersion", func(t *testing.T) {
		payloads := [][]byte{randBytes(t, 6<<20), randBytes(t, 6<<20+1), randBytes(t, 6<<20+2)}
		var wg sync.WaitGroup
		errs := make([]error, len(payloads))
		for i := range payloads {
			wg.Go(func() {
				_, errs[i] = store.Put(ctx, "acme", "fraud/model.tar.gz", "1", bytes.NewReader(payloads[i]))
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		rc, _, err := store.Get(ctx, "acme", "fraud/model.tar.gz", "1")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		whole := 0
		for _, p := range payloads {
			if bytes.Equal(got, p) {
				whole++
			}
		}
		if whole != 1 {
			t.Fatalf("read %d bytes matching %d uploads, want exactly one", len(got), whole)
		}
		if _, err := store.Sweep(ctx, "acme", "fraud/", -time.Hour); err != nil {
			t.Fatal(err)
		}
		if bodies := keysIn(t, raw, "tenants/acme/blobs/fraud/"); len(bodies) != 1 {
			t.Fatalf("bodies after sweep: %v", bodies)
		}
	})
	t.Run("DeleteTenant", func(t *testing.T) {
		n, err := store.DeleteTenant(ctx, "acme")
		if err != nil || n != 4 {
			t.Fatalf("DeleteTenant = %d, %v; want 4 (two manifests, two bodies)", n, err)
		}
		if left := keysIn(t, raw, ""); len(left) != 0 {
			t.Fatalf("left: %v", left)
		}
	})
}

type failingReader struct{}

func (*failingReader) Read([]byte) (int, error) { return 0, errors.New("client went away") }
