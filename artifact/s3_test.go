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
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
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

// TestStore_S3Backend runs the store's operations on a real S3
// implementation (versitygw) through gocloud's s3blob, opened from the URL
// form operators use, and checks what lands in the S3 bucket.
func TestStore_S3Backend(t *testing.T) {
	endpoint, bucketName := startVersitygw(t)
	ctx := context.Background()
	url := fmt.Sprintf("s3://%s?endpoint=%s&region=us-east-1&use_path_style=true&disable_https=true", bucketName, endpoint)
	f := &fixture{keys: newKeys(t), index: artifacttest.NewMemIndex()}
	f.store = f.open(t, url)
	if _, err := f.store.CreateBucket(ctx, artifact.CreateBucketInput{Name: bucket, Account: account}); err != nil {
		t.Fatal(err)
	}
	raw, err := artifact.OpenBucket(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()

	data := randBytes(t, 11<<20+123) // three blob-upload parts, eleven segments
	o := f.putObject(t, "acme/model.tar.gz", acmeKey, data)
	t.Run("Get", func(t *testing.T) {
		got, err := f.getObject(t, "acme/model.tar.gz", nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
	})
	t.Run("Ranges", func(t *testing.T) {
		for _, r := range [][2]int64{{0, 0}, {seg - 57, seg - 55}, {5 * seg, 7*seg + 3}, {int64(len(data)) - 1, -1}} {
			want := data[r[0]:]
			if r[1] >= 0 {
				want = data[r[0] : r[1]+1]
			}
			got, err := f.getObject(t, "acme/model.tar.gz", &artifact.Range{Start: r[0], End: r[1]})
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
			}
		}
	})
	body := "tenants/acme/bodies/" + bucket + "/"
	t.Run("Layout", func(t *testing.T) {
		keys := keysIn(t, raw, "")
		if len(keys) != 1 || !strings.HasPrefix(keys[0], body) {
			t.Fatalf("objects = %v, want one body under %s", keys, body)
		}
	})
	t.Run("Multipart", func(t *testing.T) {
		u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "acme/big", Encryption: acmeKey})
		if err != nil {
			t.Fatal(err)
		}
		p1, p2 := data[:6<<20], data[6<<20:]
		e1 := uploadPart(t, f.store, "acme/big", u.UploadID, 1, p1)
		e2 := uploadPart(t, f.store, "acme/big", u.UploadID, 2, p2)
		m, err := f.store.CompleteMultipartUpload(ctx, bucket, "acme/big", u.UploadID, []artifact.CompletedPart{{1, e1.ETag}, {2, e2.ETag}})
		if err != nil || m.ETag != s3ETag(p1, p2) {
			t.Fatalf("complete = %+v, %v", m, err)
		}
		got, err := f.getObject(t, "acme/big", &artifact.Range{Start: 6<<20 - 10, End: 6<<20 + 10})
		if err != nil || !bytes.Equal(got, data[6<<20-10:6<<20+11]) {
			t.Fatalf("range across parts: %d bytes, %v", len(got), err)
		}
		if err := f.store.DeleteObject(ctx, bucket, "acme/big"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrTampered", func(t *testing.T) {
		key := keysIn(t, raw, body)[0]
		ct, err := raw.ReadAll(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(ct)
		bad[len(bad)/2] ^= 1
		if err := raw.WriteAll(ctx, key, bad, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := f.getObject(t, "acme/model.tar.gz", nil); !errors.Is(err, artifact.ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
		if err := raw.WriteAll(ctx, key, ct, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("AbortedUploadInvisible", func(t *testing.T) {
		before := keysIn(t, raw, "")
		r := io.MultiReader(bytes.NewReader(data[:7<<20]), &failingReader{})
		if _, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: bucket, Key: "acme/model.tar.gz", Encryption: acmeKey, Checks: artifact.NoChecks}, r); err == nil {
			t.Fatal("aborted upload succeeded")
		}
		if after := keysIn(t, raw, ""); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("objects after abort = %v, before = %v", after, before)
		}
		if got, err := f.getObject(t, "acme/model.tar.gz", nil); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("previous object: %v", err)
		}
	})
	t.Run("Rewrap", func(t *testing.T) {
		if _, err := f.keys.RotateKeyOnDemand(ctx, "acme", artifact.DefaultKeyAlias); err != nil {
			t.Fatal(err)
		}
		if rep, err := f.store.Rewrap(ctx, "acme", ""); err != nil || rep.Rewrapped != 1 {
			t.Fatalf("rewrap = %+v, %v", rep, err)
		}
		if got, err := f.getObject(t, "acme/model.tar.gz", nil); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read after rewrap: %v", err)
		}
	})
	t.Run("DeleteTenant", func(t *testing.T) {
		n, err := f.store.DeleteTenant(ctx, "acme")
		if err != nil || n != 1 {
			t.Fatalf("DeleteTenant = %d, %v; want 1 body", n, err)
		}
		if left := keysIn(t, raw, ""); len(left) != 0 {
			t.Fatalf("left: %v", left)
		}
		_, err = f.store.HeadObject(ctx, bucket, "acme/model.tar.gz")
		wantS3(t, err, artifact.CodeNoSuchKey)
	})
	_ = o
}
