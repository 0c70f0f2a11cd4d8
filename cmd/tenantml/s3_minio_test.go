package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
)

// minioClient is minio-go on ts, path-style, with its default signing:
// streaming chunked signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) for
// uploads over plain HTTP.
func minioClient(t *testing.T, ts *testServer, creds [2]string) *minio.Client {
	t.Helper()
	c, err := minio.New(strings.TrimPrefix(ts.URL, "http://"), &minio.Options{
		Creds: credentials.NewStaticV4(creds[0], creds[1], ""), Region: ts.cfg.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestS3_MinioGo(t *testing.T) {
	e := newS3Env(t)
	ctx := context.Background()
	c := minioClient(t, e.ts, e.acme)
	sse, err := encrypt.NewSSEKMS(e.acmeKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		size int
		opts minio.PutObjectOptions
	}{
		{"Small", 100 << 10, minio.PutObjectOptions{ServerSideEncryption: sse}},
		{"Multipart", 20 << 20, minio.PutObjectOptions{PartSize: 5 << 20, ServerSideEncryption: sse}},
		{"UnknownSize", 6 << 20, minio.PutObjectOptions{PartSize: 5 << 20}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := randomBytes(t, tt.size)
			key := "acme/minio/" + tt.name
			size := int64(len(data))
			if tt.name == "UnknownSize" {
				size = -1
			}
			if _, err := c.PutObject(ctx, "models", key, bytes.NewReader(data), size, tt.opts); err != nil {
				t.Fatalf("PutObject: %v", err)
			}
			info, err := c.StatObject(ctx, "models", key, minio.StatObjectOptions{})
			if err != nil || info.Size != int64(len(data)) || info.Metadata.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != e.acmeKey {
				t.Fatalf("StatObject = %+v, %v", info, err)
			}
			obj, err := c.GetObject(ctx, "models", key, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(obj)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("GetObject: %d bytes, %v", len(got), err)
			}
			var ro minio.GetObjectOptions
			_ = ro.SetRange(10, 99)
			obj, err = c.GetObject(ctx, "models", key, ro)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(obj); err != nil || !bytes.Equal(got, data[10:100]) {
				t.Fatalf("ranged GetObject: %d bytes, %v", len(got), err)
			}
		})
	}
	t.Run("ListAndRemove", func(t *testing.T) {
		var keys []string
		for o := range c.ListObjects(ctx, "models", minio.ListObjectsOptions{Prefix: "acme/minio/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			keys = append(keys, o.Key)
		}
		if len(keys) != 3 {
			t.Fatalf("listed %v", keys)
		}
		for _, k := range keys {
			if err := c.RemoveObject(ctx, "models", k, minio.RemoveObjectOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("KeyTricks", func(t *testing.T) {
		// Stored literally, as S3 does; never a path: every body lands in
		// acme's directory of the bucket.
		keys := []string{"acme/../../../escape", "acme/a\\b", "acme//double", "acme/./dot", "acme/trailing/", "acme/%2e%2e/enc"}
		for _, k := range keys {
			if _, err := c.PutObject(ctx, "models", k, strings.NewReader("trick "+k), -1, minio.PutObjectOptions{}); err != nil {
				t.Fatalf("PutObject %q: %v", k, err)
			}
			obj, err := c.GetObject(ctx, "models", k, minio.GetObjectOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(obj); err != nil || string(got) != "trick "+k {
				t.Fatalf("GetObject %q = %q, %v", k, got, err)
			}
		}
		listed := map[string]bool{}
		for o := range c.ListObjects(ctx, "models", minio.ListObjectsOptions{Prefix: "acme/", Recursive: true}) {
			listed[o.Key] = true
		}
		for _, k := range keys {
			if !listed[k] {
				t.Errorf("%q not listed literally: %v", k, listed)
			}
		}
		root := filepath.Join(e.ts.cfg.DataDir, "blobs")
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			if !strings.HasPrefix(rel, "tenants/") {
				t.Errorf("a body outside tenants/: %s", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		_, err := c.StatObject(ctx, "models", "globex/nothing", minio.StatObjectOptions{})
		if minio.ToErrorResponse(err).StatusCode != 403 {
			t.Fatalf("StatObject in globex's prefix: %v", err)
		}
		wrong := minioClient(t, e.ts, [2]string{e.acme[0], e.acme[1] + "x"})
		_, err = wrong.PutObject(ctx, "models", "acme/forged", bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{})
		if code := minio.ToErrorResponse(err).Code; code != "SignatureDoesNotMatch" {
			t.Fatalf("wrong secret: %v (%s)", err, code)
		}
	})
}
