package artifact_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/store/sqlite"
)

// s3ETag is S3's multipart ETag of parts.
func s3ETag(parts ...[]byte) string {
	var cat []byte
	for _, p := range parts {
		s := md5.Sum(p)
		cat = append(cat, s[:]...)
	}
	s := md5.Sum(cat)
	return hex.EncodeToString(s[:]) + "-" + itoa(len(parts))
}

func uploadPart(t *testing.T, s *artifact.Store, key, id string, n int, data []byte) *artifact.Part {
	t.Helper()
	p, err := s.UploadPart(context.Background(), artifact.UploadPartInput{Bucket: bucket, Key: key, UploadID: id, PartNumber: n, Checks: artifact.NoChecks}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("UploadPart %d: %v", n, err)
	}
	return p
}

func TestStore_Multipart(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t) // MinPartSize 1 KiB
	in := artifact.CreateUploadInput{Bucket: bucket, Key: "big.tar.gz", Encryption: acmeKey, ContentType: "application/gzip",
		Metadata: map[string]string{"m": "1"}, Tags: []artifact.Tag{{Key: "t", Value: "1"}}}
	u, err := f.store.CreateMultipartUpload(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	// Parts crossing segment boundaries at odd offsets; part 2 uploaded
	// twice (the second wins), part 4 uploaded but left out.
	p1, p2, p3 := randBytes(t, seg+333), randBytes(t, 2*seg-5), randBytes(t, 4321)
	e1 := uploadPart(t, f.store, in.Key, u.UploadID, 1, p1)
	uploadPart(t, f.store, in.Key, u.UploadID, 2, randBytes(t, 5000))
	e2 := uploadPart(t, f.store, in.Key, u.UploadID, 2, p2)
	e3 := uploadPart(t, f.store, in.Key, u.UploadID, 3, p3)
	uploadPart(t, f.store, in.Key, u.UploadID, 4, randBytes(t, 2000))
	if e1.ETag != md5hex(p1) || e2.Size != int64(len(p2)) {
		t.Fatalf("parts = %+v %+v", e1, e2)
	}
	t.Run("ListParts", func(t *testing.T) {
		out, err := f.store.ListParts(ctx, bucket, in.Key, u.UploadID, 0, 2)
		if err != nil || len(out.Parts) != 2 || !out.IsTruncated || out.NextPartNumberMarker != 2 || out.Parts[1].ETag != md5hex(p2) {
			t.Fatalf("parts = %+v, %v", out, err)
		}
		out, err = f.store.ListParts(ctx, bucket, in.Key, u.UploadID, 2, 2)
		if err != nil || len(out.Parts) != 2 || out.IsTruncated || out.Parts[0].Number != 3 {
			t.Fatalf("parts page 2 = %+v, %v", out, err)
		}
	})
	t.Run("ListUploads", func(t *testing.T) {
		out, err := f.store.ListMultipartUploads(ctx, bucket, artifact.ListUploadsInput{})
		if err != nil || len(out.Uploads) != 1 || out.Uploads[0].UploadID != u.UploadID || out.Uploads[0].Tenant != "acme" {
			t.Fatalf("uploads = %+v, %v", out, err)
		}
	})
	usage, err := f.store.Usage(ctx, "acme")
	if err != nil || usage.Parts != 4 || usage.PartBytes != int64(len(p1)+len(p2)+len(p3)+2000) {
		t.Fatalf("usage during upload = %+v, %v", usage, err)
	}
	refused := []struct {
		name  string
		parts []artifact.CompletedPart
		want  artifact.Code
	}{
		{"ErrNoParts", nil, artifact.CodeMalformedXML},
		{"ErrOrder", []artifact.CompletedPart{{2, e2.ETag}, {1, e1.ETag}}, artifact.CodeInvalidPartOrder},
		{"ErrDuplicate", []artifact.CompletedPart{{1, e1.ETag}, {1, e1.ETag}}, artifact.CodeInvalidPartOrder},
		{"ErrMissingPart", []artifact.CompletedPart{{1, e1.ETag}, {5, e1.ETag}}, artifact.CodeInvalidPart},
		{"ErrWrongETag", []artifact.CompletedPart{{1, e1.ETag}, {2, md5hex([]byte("x"))}}, artifact.CodeInvalidPart},
		{"ErrStaleETag", []artifact.CompletedPart{{1, e1.ETag}, {2, md5hex(p3)}}, artifact.CodeInvalidPart},
		{"ErrLastETag", []artifact.CompletedPart{{3, e3.ETag}, {4, "whatever"}}, artifact.CodeInvalidPart},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.store.CompleteMultipartUpload(ctx, bucket, in.Key, u.UploadID, tc.parts)
			wantS3(t, err, tc.want)
		})
	}
	t.Run("ErrEntityTooSmall", func(t *testing.T) {
		small := f.open(t, "file://"+f.dir, func(c *artifact.Config) { c.MinPartSize = 5 << 20 })
		_, err := small.CompleteMultipartUpload(ctx, bucket, in.Key, u.UploadID, []artifact.CompletedPart{{1, e1.ETag}, {2, e2.ETag}})
		wantS3(t, err, artifact.CodeEntityTooSmall)
	})
	o, err := f.store.CompleteMultipartUpload(ctx, bucket, in.Key, u.UploadID,
		[]artifact.CompletedPart{{1, `"` + e1.ETag + `"`}, {2, strings.ToUpper(e2.ETag)}, {3, e3.ETag}})
	if err != nil {
		t.Fatal(err)
	}
	whole := bytes.Join([][]byte{p1, p2, p3}, nil)
	if o.ETag != s3ETag(p1, p2, p3) || o.Size != int64(len(whole)) || o.Parts != 3 || o.SHA256 != "" || o.ContentType != "application/gzip" ||
		o.Metadata["m"] != "1" || len(o.Tags) != 1 {
		t.Fatalf("object = %+v", o)
	}
	t.Run("ReadsAsOne", func(t *testing.T) {
		got, err := f.getObject(t, in.Key, nil)
		if err != nil || !bytes.Equal(got, whole) {
			t.Fatalf("read %d bytes, %v", len(got), err)
		}
	})
	t.Run("RangesAcrossParts", func(t *testing.T) {
		b1, b2 := int64(len(p1)), int64(len(p1)+len(p2))
		for _, r := range [][2]int64{{b1 - 1, b1}, {b1 - 10, b2 + 10}, {0, b1 - 1}, {b1, b1}, {b2, int64(len(whole)) - 1}, {5, int64(len(whole)) - 6}, {b2 - 1, b2 - 1}} {
			got, err := f.getObject(t, in.Key, &artifact.Range{Start: r[0], End: r[1]})
			if err != nil || !bytes.Equal(got, whole[r[0]:r[1]+1]) {
				t.Fatalf("range %v: %d bytes, %v", r, len(got), err)
			}
		}
	})
	t.Run("UploadGone", func(t *testing.T) {
		_, err := f.store.UploadPart(ctx, artifact.UploadPartInput{Bucket: bucket, Key: in.Key, UploadID: u.UploadID, PartNumber: 5, Checks: artifact.NoChecks}, strings.NewReader("x"))
		wantS3(t, err, artifact.CodeNoSuchUpload)
		_, err = f.store.CompleteMultipartUpload(ctx, bucket, in.Key, u.UploadID, []artifact.CompletedPart{{1, e1.ETag}})
		wantS3(t, err, artifact.CodeNoSuchUpload)
		// Only the three parts in use remain (plus nothing else).
		if n := len(files(t, f.dir)); n != 3 {
			t.Fatalf("%d bodies, want the 3 parts in use: %v", n, files(t, f.dir))
		}
		usage, _ := f.store.Usage(ctx, "acme")
		if usage.Parts != 0 || usage.Bytes != int64(len(whole)) || usage.StoredBytes != int64(len(whole)) {
			t.Fatalf("usage after complete = %+v", usage)
		}
	})
	t.Run("ErrReorderedManifest", func(t *testing.T) {
		// Someone with write access to the index swaps two parts in the
		// manifest: the data key's context binds the part list.
		m, put := f.doc(t, bucket, in.Key)
		bodies := m["bodies"].([]any)
		bodies[0], bodies[1] = bodies[1], bodies[0]
		put(m)
		_, err := f.getObject(t, in.Key, nil)
		if err == nil {
			t.Fatal("a reordered part list decrypted")
		}
	})
}

func TestStore_MultipartRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "k", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	part := func(in artifact.UploadPartInput) error {
		if in.Checks == (artifact.Checks{}) {
			in.Checks = artifact.NoChecks
		}
		_, err := f.store.UploadPart(ctx, in, strings.NewReader("data"))
		return err
	}
	cases := []struct {
		name string
		in   artifact.UploadPartInput
		want artifact.Code
	}{
		{"ErrPartZero", artifact.UploadPartInput{Bucket: bucket, Key: "k", UploadID: u.UploadID, PartNumber: 0}, artifact.CodeInvalidArgument},
		{"ErrPartTooHigh", artifact.UploadPartInput{Bucket: bucket, Key: "k", UploadID: u.UploadID, PartNumber: 10001}, artifact.CodeInvalidArgument},
		{"ErrOtherKey", artifact.UploadPartInput{Bucket: bucket, Key: "other", UploadID: u.UploadID, PartNumber: 1}, artifact.CodeNoSuchUpload},
		{"ErrMalformedID", artifact.UploadPartInput{Bucket: bucket, Key: "k", UploadID: "../../x", PartNumber: 1}, artifact.CodeNoSuchUpload},
		{"ErrUnknownID", artifact.UploadPartInput{Bucket: bucket, Key: "k", UploadID: strings.Repeat("0", 48), PartNumber: 1}, artifact.CodeNoSuchUpload},
		{"ErrOneCharChanged", artifact.UploadPartInput{Bucket: bucket, Key: "k", UploadID: oneCharChanged(u.UploadID), PartNumber: 1}, artifact.CodeNoSuchUpload},
		{"ErrNoBucket", artifact.UploadPartInput{Bucket: "missing", Key: "k", UploadID: u.UploadID, PartNumber: 1}, artifact.CodeNoSuchBucket},
		{"ErrMD5", artifact.UploadPartInput{Bucket: bucket, Key: "k", UploadID: u.UploadID, PartNumber: 1, Checks: artifact.Checks{ContentLength: -1, ContentMD5: md5b64([]byte("x"))}}, artifact.CodeBadDigest},
		{"ErrTruncated", artifact.UploadPartInput{Bucket: bucket, Key: "k", UploadID: u.UploadID, PartNumber: 1, Checks: artifact.Checks{ContentLength: 100}}, artifact.CodeIncompleteBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantS3(t, part(tc.in), tc.want)
			if left := files(t, f.dir); len(left) != 0 {
				t.Fatalf("a refused part left %v", left)
			}
		})
	}
	for name, fn := range map[string]func() error{
		"ErrAbortOtherKey":  func() error { return f.store.AbortMultipartUpload(ctx, bucket, "other", u.UploadID) },
		"ErrListPartsOther": func() error { _, err := f.store.ListParts(ctx, bucket, "other", u.UploadID, 0, 0); return err },
	} {
		t.Run(name, func(t *testing.T) { wantS3(t, fn(), artifact.CodeNoSuchUpload) })
	}
	t.Run("Abort", func(t *testing.T) {
		uploadPart(t, f.store, "k", u.UploadID, 1, []byte("one"))
		if err := f.store.AbortMultipartUpload(ctx, bucket, "k", u.UploadID); err != nil {
			t.Fatal(err)
		}
		if left := files(t, f.dir); len(left) != 0 {
			t.Fatalf("abort left %v", left)
		}
		wantS3(t, f.store.AbortMultipartUpload(ctx, bucket, "k", u.UploadID), artifact.CodeNoSuchUpload)
	})
}

// TestStore_MultipartRestart reopens the store (and its SQLite index) in
// the middle of an upload: the parts uploaded before stay, the upload
// completes after the restart and reads back whole.
func TestStore_MultipartRestart(t *testing.T) {
	ctx := context.Background()
	dir, dbPath := t.TempDir(), filepath.Join(t.TempDir(), "meta.db")
	ks := newKeys(t)
	open := func() (*artifact.Store, func()) {
		db, err := sqlite.Open(ctx, dbPath)
		if err != nil {
			t.Fatal(err)
		}
		s := artifact.New(artifact.Config{URL: "file://" + dir, Keys: ks, Index: db.Objects(), MinPartSize: 1 << 10})
		if err := s.Open(ctx); err != nil {
			t.Fatal(err)
		}
		return s, func() { s.Close(ctx); db.Close() }
	}
	s, closeStore := open()
	if _, err := s.CreateBucket(ctx, artifact.CreateBucketInput{Name: bucket, Account: account}); err != nil {
		t.Fatal(err)
	}
	u, err := s.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "k", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := randBytes(t, seg+1), randBytes(t, 77)
	e1 := uploadPart(t, s, "k", u.UploadID, 1, p1)
	closeStore()

	s, closeStore = open()
	defer closeStore()
	out, err := s.ListParts(ctx, bucket, "k", u.UploadID, 0, 0)
	if err != nil || len(out.Parts) != 1 || out.Parts[0].ETag != e1.ETag {
		t.Fatalf("parts after restart = %+v, %v", out, err)
	}
	e2 := uploadPart(t, s, "k", u.UploadID, 2, p2)
	if _, err := s.CompleteMultipartUpload(ctx, bucket, "k", u.UploadID, []artifact.CompletedPart{{1, e1.ETag}, {2, e2.ETag}}); err != nil {
		t.Fatal(err)
	}
	got, err := readObject(t, s, bucket, "k", nil)
	if err != nil || !bytes.Equal(got, append(p1, p2...)) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}

func TestStore_SweepUploads(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	f := newFixtureAt(t, t.TempDir(), "", func(cfg *artifact.Config) { cfg.Now = c.now })
	old, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "old", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	uploadPart(t, f.store, "old", old.UploadID, 1, []byte("abandoned"))
	c.t = c.t.Add(6 * 24 * time.Hour)
	fresh, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "fresh", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	uploadPart(t, f.store, "fresh", fresh.UploadID, 1, []byte("in progress"))
	n, err := f.store.SweepUploads(ctx, 5*24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want 1", n, err)
	}
	out, err := f.store.ListMultipartUploads(ctx, bucket, artifact.ListUploadsInput{})
	if err != nil || len(out.Uploads) != 1 || out.Uploads[0].Key != "fresh" {
		t.Fatalf("uploads left = %+v, %v", out, err)
	}
	if n := len(files(t, f.dir)); n != 1 {
		t.Fatalf("%d bodies left, want the fresh part", n)
	}
}

func TestStore_ListMultipartUploads(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	f := newFixtureAt(t, t.TempDir(), "", func(cfg *artifact.Config) { cfg.Now = c.now })
	var ids []string
	for i, k := range []string{"a/1", "a/2", "b", "b", "c/x/y"} {
		c.t = c.t.Add(time.Duration(i) * time.Second)
		u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: k, Encryption: acmeKey})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.UploadID)
	}
	list := func(in artifact.ListUploadsInput) string {
		out, err := f.store.ListMultipartUploads(ctx, bucket, in)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, u := range out.Uploads {
			s = append(s, u.Key)
		}
		return fmt.Sprint(s, out.CommonPrefixes, out.IsTruncated)
	}
	cases := []struct {
		name string
		in   artifact.ListUploadsInput
		want string
	}{
		{"All", artifact.ListUploadsInput{}, "[a/1 a/2 b b c/x/y] [] false"},
		{"Max", artifact.ListUploadsInput{MaxUploads: 2}, "[a/1 a/2] [] true"},
		{"Delimiter", artifact.ListUploadsInput{Delimiter: "/"}, "[b b] [a/ c/] false"},
		{"PrefixDelimiter", artifact.ListUploadsInput{Prefix: "c/", Delimiter: "/"}, "[] [c/x/] false"},
		{"KeyMarker", artifact.ListUploadsInput{KeyMarker: "a/2"}, "[b b c/x/y] [] false"},
		{"KeyAndIDMarker", artifact.ListUploadsInput{KeyMarker: "b", UploadIDMarker: ids[2]}, "[b c/x/y] [] false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := list(tc.in); got != tc.want {
				t.Fatalf("list = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("InitiationOrder", func(t *testing.T) {
		out, _ := f.store.ListMultipartUploads(ctx, bucket, artifact.ListUploadsInput{Prefix: "b"})
		if len(out.Uploads) != 2 || out.Uploads[0].UploadID != ids[2] || !out.Uploads[0].Initiated.Before(out.Uploads[1].Initiated) {
			t.Fatalf("uploads of b = %+v", out.Uploads)
		}
	})
	_, err := f.store.ListMultipartUploads(ctx, bucket, artifact.ListUploadsInput{UploadIDMarker: ids[0]})
	wantS3(t, err, artifact.CodeInvalidArgument)
}

// oneCharChanged changes the last hex digit of id.
func oneCharChanged(id string) string {
	last := "0"
	if id[len(id)-1] == '0' {
		last = "1"
	}
	return id[:len(id)-1] + last
}
