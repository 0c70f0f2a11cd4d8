package artifact_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

func TestStore_PutObject(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, n := range []int{0, 1, 1000, seg - 57, seg - 56, seg - 55, seg, 3*seg + 17} {
		t.Run("OK/"+itoa(n), func(t *testing.T) {
			data := randBytes(t, n)
			key := "sizes/" + itoa(n)
			o := f.putObject(t, key, acmeKey, data)
			if o.Size != int64(n) || o.SHA256 != sum(data) || o.ETag != md5hex(data) || o.Tenant != "acme" || o.KeyVersion != 1 ||
				!strings.HasPrefix(o.KeyARN, "arn:aws:kms:us-east-1:"+account+":key/") || o.Parts != 0 {
				t.Fatalf("object = %+v", o)
			}
			got, err := f.getObject(t, key, nil)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes (%v), want the %d written", len(got), err, n)
			}
			h, err := f.store.HeadObject(ctx, bucket, key)
			if err != nil || h.ETag != o.ETag || h.Size != o.Size || !h.LastModified.Equal(o.LastModified) {
				t.Fatalf("head = %+v, %v", h, err)
			}
		})
	}
	t.Run("MetadataAndTags", func(t *testing.T) {
		in := artifact.PutObjectInput{Bucket: bucket, Key: "meta", Encryption: acmeKey, ContentType: "application/x-tar",
			Metadata: map[string]string{"framework": "xgboost", "version": "1.7"},
			Tags:     []artifact.Tag{{Key: "stage", Value: "prod"}, {Key: "owner", Value: "ml@acme"}}, Checks: artifact.NoChecks}
		if _, err := f.store.PutObject(ctx, in, strings.NewReader("x")); err != nil {
			t.Fatal(err)
		}
		h, err := f.store.HeadObject(ctx, bucket, "meta")
		if err != nil || h.ContentType != "application/x-tar" || h.Metadata["framework"] != "xgboost" ||
			len(h.Tags) != 2 || h.Tags[0].Key != "owner" {
			t.Fatalf("head = %+v, %v", h, err)
		}
	})
	t.Run("ReplaceDeletesOldBody", func(t *testing.T) {
		f := newFixture(t)
		first := f.putObject(t, "k", acmeKey, []byte("one"))
		f.putObject(t, "k", acmeKey, []byte("two"))
		got, err := f.getObject(t, "k", nil)
		if err != nil || string(got) != "two" {
			t.Fatalf("read %q, %v", got, err)
		}
		if n := len(withPrefix(files(t, f.dir), "tenants/acme/bodies/models/")); n != 1 {
			t.Fatalf("%d bodies remain, want 1", n)
		}
		h, _ := f.store.HeadObject(ctx, bucket, "k")
		if !h.Created.Equal(first.Created) {
			t.Fatalf("created %v, want the first write's %v", h.Created, first.Created)
		}
	})
	t.Run("BodyHoldsNoPlaintext", func(t *testing.T) {
		f := newFixture(t)
		f.putObject(t, "k", acmeKey, bytes.Repeat([]byte("plaintext!"), 1000))
		for _, p := range files(t, f.dir) {
			if bytes.Contains(readFile(t, filepath.Join(f.dir, p)), []byte("plaintext!")) {
				t.Fatalf("%s holds plaintext", p)
			}
		}
	})
}

// TestStore_PutObjectChecks: whatever the request declares must match the
// body, else nothing is stored.
func TestStore_PutObjectChecks(t *testing.T) {
	ctx := context.Background()
	data := []byte("0123456789")
	cases := []struct {
		name   string
		checks artifact.Checks
		body   io.Reader
		want   artifact.Code
	}{
		{"OK", artifact.Checks{ContentLength: 10, ContentMD5: md5b64(data), SHA256: sum(data)}, nil, ""},
		{"OKUppercaseSHA", artifact.Checks{ContentLength: -1, SHA256: strings.ToUpper(sum(data))}, nil, ""},
		{"ErrShort", artifact.Checks{ContentLength: 11}, nil, artifact.CodeIncompleteBody},
		{"ErrLong", artifact.Checks{ContentLength: 9}, nil, artifact.CodeInvalidArgument},
		{"ErrMD5", artifact.Checks{ContentLength: -1, ContentMD5: md5b64([]byte("other"))}, nil, artifact.CodeBadDigest},
		{"ErrMD5Malformed", artifact.Checks{ContentLength: -1, ContentMD5: "not base64!"}, nil, artifact.CodeInvalidDigest},
		{"ErrMD5WrongLength", artifact.Checks{ContentLength: -1, ContentMD5: "AAAA"}, nil, artifact.CodeInvalidDigest},
		{"ErrSHA256", artifact.Checks{ContentLength: -1, SHA256: sum([]byte("other"))}, nil, artifact.CodeSHA256Mismatch},
		{"ErrSHA256Malformed", artifact.Checks{ContentLength: -1, SHA256: "abc"}, nil, artifact.CodeInvalidArgument},
		{"ErrTooLarge", artifact.Checks{ContentLength: -1, MaxSize: 9}, nil, artifact.CodeEntityTooLarge},
		{"ErrDeclaredTooLarge", artifact.Checks{ContentLength: 10, MaxSize: 9}, nil, artifact.CodeEntityTooLarge},
		{"ErrBodyFails", artifact.Checks{ContentLength: -1}, io.MultiReader(bytes.NewReader(data), &failingReader{}), artifact.CodeInternalError},
		{"ErrBodyTimeout", artifact.Checks{ContentLength: -1}, iotest.TimeoutReader(bytes.NewReader(data)), artifact.CodeInternalError},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			body := tc.body
			if body == nil {
				body = bytes.NewReader(data)
			}
			_, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, Checks: tc.checks}, body)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantS3(t, err, tc.want)
			if tenantml.ErrorCode(err) == tenantml.EINTERNAL && tc.want != artifact.CodeInternalError {
				t.Fatalf("bad input is an internal error: %v", err)
			}
			if left := files(t, f.dir); len(left) != 0 {
				t.Fatalf("a refused upload left %v", left)
			}
			_, err = f.store.HeadObject(ctx, bucket, "k")
			wantS3(t, err, artifact.CodeNoSuchKey)
		})
	}
}

func TestStore_PutObjectRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	put := func(in artifact.PutObjectInput) error {
		in.Checks = artifact.NoChecks
		_, err := f.store.PutObject(ctx, in, strings.NewReader("x"))
		return err
	}
	cases := []struct {
		name string
		in   artifact.PutObjectInput
		want artifact.Code
	}{
		{"ErrNoBucket", artifact.PutObjectInput{Bucket: "missing", Key: "k", Encryption: acmeKey}, artifact.CodeNoSuchBucket},
		{"ErrBadBucketName", artifact.PutObjectInput{Bucket: "../x", Key: "k", Encryption: acmeKey}, artifact.CodeNoSuchBucket},
		{"ErrEmptyKey", artifact.PutObjectInput{Bucket: bucket, Encryption: acmeKey}, artifact.CodeInvalidArgument},
		{"ErrKeyTooLong", artifact.PutObjectInput{Bucket: bucket, Key: strings.Repeat("k", 1025), Encryption: acmeKey}, artifact.CodeKeyTooLong},
		{"ErrKeyNUL", artifact.PutObjectInput{Bucket: bucket, Key: "a\x00b", Encryption: acmeKey}, artifact.CodeInvalidArgument},
		{"ErrKeyNotUTF8", artifact.PutObjectInput{Bucket: bucket, Key: "a\xffb", Encryption: acmeKey}, artifact.CodeInvalidArgument},
		{"ErrNoEncryption", artifact.PutObjectInput{Bucket: bucket, Key: "k"}, artifact.CodeInvalidArgument},
		{"ErrMetadataKey", artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, Metadata: map[string]string{"Upper": "x"}}, artifact.CodeInvalidArgument},
		{"ErrMetadataValue", artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, Metadata: map[string]string{"a": "x\r\ny"}}, artifact.CodeInvalidArgument},
		{"ErrMetadataTooLarge", artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, Metadata: map[string]string{"a": strings.Repeat("x", 2048)}}, artifact.CodeMetadataTooLarge},
		{"ErrTooManyTags", artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, Tags: make([]artifact.Tag, 11)}, artifact.CodeInvalidTag},
		{"ErrAWSTag", artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, Tags: []artifact.Tag{{Key: "aws:x", Value: "y"}}}, artifact.CodeInvalidTag},
		{"ErrDuplicateTag", artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, Tags: []artifact.Tag{{Key: "a"}, {Key: "a"}}}, artifact.CodeInvalidTag},
		{"ErrContentType", artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: acmeKey, ContentType: "a\nb"}, artifact.CodeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantS3(t, put(tc.in), tc.want)
			if left := files(t, f.dir); len(left) != 0 {
				t.Fatalf("left %v", left)
			}
		})
	}
	t.Run("ErrOtherTenantsKeyAlias", func(t *testing.T) {
		// acme's default key named as initech's: initech has no key.
		err := put(artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: artifact.KeyRef{Tenant: "initech", KeyID: artifact.DefaultKeyAlias}})
		wantApp(t, err, tenantml.ENOTFOUND)
	})
	t.Run("ErrKeyOfAnotherTenant", func(t *testing.T) {
		o := f.putObject(t, "globex-owned", artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}, []byte("x"))
		// globex's key ARN, claimed for acme: the key service answers as
		// for a missing key.
		err := put(artifact.PutObjectInput{Bucket: bucket, Key: "k", Encryption: artifact.KeyRef{Tenant: "acme", KeyID: o.KeyARN}})
		wantApp(t, err, tenantml.ENOTFOUND)
	})
}

// TestStore_KeyTricks stores the keys path tricks are made of: each is
// stored literally, reads back under its own name, and every file the
// store writes stays under its tenant's directory for the bucket.
func TestStore_KeyTricks(t *testing.T) {
	f := newFixture(t)
	tricks := []string{
		"..", "../../etc/passwd", "a/../../b", "./x", ".", "/leading", "//double", "trailing/", "back\\slash",
		"..\\..\\win", "%2e%2e%2f", "a/./b", "\u202e", "日本/語", " space ", "tab\there", "new\nline",
		strings.Repeat("x/", 512), strings.Repeat("é", 512),
	}
	for i, k := range tricks {
		f.putObject(t, k, acmeKey, []byte(itoa(i)))
	}
	for i, k := range tricks {
		got, err := f.getObject(t, k, nil)
		if err != nil || string(got) != itoa(i) {
			t.Fatalf("key %q read %q, %v; want %q", k, got, err, itoa(i))
		}
	}
	all := files(t, f.dir)
	if len(all) != len(tricks) {
		t.Fatalf("%d files for %d objects: %v", len(all), len(tricks), all)
	}
	for _, p := range all {
		if !strings.HasPrefix(p, "tenants/acme/bodies/models/") || strings.Count(p, "/") != 4 {
			t.Fatalf("file %q outside tenants/acme/bodies/models/", p)
		}
	}
	page, err := f.store.ListObjects(context.Background(), bucket, artifact.ListObjectsInput{MaxKeys: 1000})
	if err != nil || len(page.Objects) != len(tricks) {
		t.Fatalf("listed %d objects (%v), want %d", len(page.Objects), err, len(tricks))
	}
}

// TestStore_GetObjectRange reads ranges around every boundary that
// matters — segment edges, the first segment's shorter capacity, the end —
// and compares with the plaintext; only the range's segments are read.
func TestStore_GetObjectRange(t *testing.T) {
	f := newFixture(t)
	first := seg - 56 // plaintext in the first segment (header and tag)
	next := seg - 16
	size := first + 3*next + 1000
	data := randBytes(t, size)
	f.putObject(t, "k", acmeKey, data)
	cases := []struct {
		name       string
		rng        artifact.Range
		start, end int // expected slice of data
	}{
		{"FirstByte", artifact.Range{Start: 0, End: 0}, 0, 1},
		{"FirstSegment", artifact.Range{Start: 0, End: int64(first - 1)}, 0, first},
		{"AcrossFirstBoundary", artifact.Range{Start: int64(first - 1), End: int64(first)}, first - 1, first + 1},
		{"SecondSegmentStart", artifact.Range{Start: int64(first), End: int64(first + 9)}, first, first + 10},
		{"MiddleTwoSegments", artifact.Range{Start: int64(first + next - 5), End: int64(first + 2*next + 5)}, first + next - 5, first + 2*next + 6},
		{"ToEnd", artifact.Range{Start: int64(size - 10), End: -1}, size - 10, size},
		{"EndBeyondSize", artifact.Range{Start: int64(size - 10), End: int64(size + 100)}, size - 10, size},
		{"LastByte", artifact.Range{Start: int64(size - 1), End: int64(size - 1)}, size - 1, size},
		{"Suffix", artifact.Range{Suffix: 1500}, size - 1500, size},
		{"SuffixLargerThanObject", artifact.Range{Suffix: int64(size + 5)}, 0, size},
		{"Whole", artifact.Range{Start: 0, End: -1}, 0, size},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			or, err := f.store.GetObject(context.Background(), bucket, "k", &tc.rng)
			if err != nil {
				t.Fatal(err)
			}
			defer or.Close()
			if or.Offset != int64(tc.start) || or.Length != int64(tc.end-tc.start) || !or.Ranged || or.Object.Size != int64(size) {
				t.Fatalf("offset %d length %d ranged %v, want %d %d", or.Offset, or.Length, or.Ranged, tc.start, tc.end-tc.start)
			}
			got, err := io.ReadAll(or)
			if err != nil || !bytes.Equal(got, data[tc.start:tc.end]) {
				t.Fatalf("range read %d bytes (%v), want data[%d:%d]", len(got), err, tc.start, tc.end)
			}
		})
	}
	for name, rng := range map[string]artifact.Range{
		"ErrStartPastEnd":   {Start: int64(size), End: -1},
		"ErrEndBeforeStart": {Start: 10, End: 5},
		"ErrZeroSuffix":     {Suffix: 0, Start: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.store.GetObject(context.Background(), bucket, "k", &rng)
			wantS3(t, err, artifact.CodeInvalidRange)
		})
	}
	t.Run("ErrRangeOfEmptyObject", func(t *testing.T) {
		f.putObject(t, "empty", acmeKey, nil)
		_, err := f.store.GetObject(context.Background(), bucket, "empty", &artifact.Range{Start: 0, End: 0})
		wantS3(t, err, artifact.CodeInvalidRange)
	})
	t.Run("DecryptsOnlyTheRange", func(t *testing.T) {
		// Corrupt the last segment: a range in the first one still reads,
		// the whole object does not.
		body := f.bodyFiles(t, bucket, "k")[0]
		ct := readFile(t, body)
		ct[len(ct)-20] ^= 1
		writeFile(t, body, ct)
		got, err := f.getObject(t, "k", &artifact.Range{Start: 10, End: 99})
		if err != nil || !bytes.Equal(got, data[10:100]) {
			t.Fatalf("range in an intact segment: %d bytes, %v", len(got), err)
		}
		if _, err := f.getObject(t, "k", &artifact.Range{Suffix: 10}); !isIntegrity(err) {
			t.Fatalf("range in the corrupted segment: %v, want ErrIntegrity", err)
		}
	})
}

func TestStore_DeleteObject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.putObject(t, "a", acmeKey, []byte("x"))
	f.putObject(t, "b", acmeKey, []byte("y"))
	if err := f.store.DeleteObject(ctx, bucket, "a"); err != nil {
		t.Fatal(err)
	}
	wantS3(t, f.store.DeleteObject(ctx, bucket, "a"), artifact.CodeNoSuchKey)
	_, err := f.store.HeadObject(ctx, bucket, "a")
	wantS3(t, err, artifact.CodeNoSuchKey)
	if n := len(files(t, f.dir)); n != 1 {
		t.Fatalf("%d bodies left, want b's", n)
	}
	t.Run("DeleteObjects", func(t *testing.T) {
		res, err := f.store.DeleteObjects(ctx, bucket, []string{"b", "missing", "\x00bad"})
		if err != nil || len(res) != 3 || res[0].Err != nil || artifact.CodeOf(res[1].Err) != artifact.CodeNoSuchKey || artifact.CodeOf(res[2].Err) != artifact.CodeNoSuchKey {
			t.Fatalf("results = %+v, %v", res, err)
		}
		if n := len(files(t, f.dir)); n != 0 {
			t.Fatalf("%d bodies left", n)
		}
		_, err = f.store.DeleteObjects(ctx, bucket, make([]string, 1001))
		wantS3(t, err, artifact.CodeMalformedXML)
		_, err = f.store.DeleteObjects(ctx, bucket, nil)
		wantS3(t, err, artifact.CodeMalformedXML)
	})
	wantS3(t, f.store.DeleteObject(ctx, "missing", "a"), artifact.CodeNoSuchBucket)
}

func TestStore_CopyObject(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	data := randBytes(t, 2*seg+9)
	in := artifact.PutObjectInput{Bucket: bucket, Key: "src", Encryption: acmeKey, ContentType: "application/x-tar",
		Metadata: map[string]string{"a": "1"}, Tags: []artifact.Tag{{Key: "t", Value: "v"}}, Checks: artifact.NoChecks}
	if _, err := f.store.PutObject(ctx, in, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	globexKey := artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}
	t.Run("AcrossTenantsKeys", func(t *testing.T) {
		var checked *artifact.Object
		o, err := f.store.CopyObject(ctx, artifact.CopyObjectInput{SourceBucket: bucket, SourceKey: "src",
			CheckSource:    func(o *artifact.Object) error { checked = o; return nil },
			PutObjectInput: artifact.PutObjectInput{Bucket: bucket, Key: "dst", Encryption: globexKey}})
		if err != nil {
			t.Fatal(err)
		}
		if checked == nil || checked.Tenant != "acme" {
			t.Fatalf("CheckSource saw %+v", checked)
		}
		if o.Tenant != "globex" || o.ETag != md5hex(data) || o.ContentType != "application/x-tar" || o.Metadata["a"] != "1" || len(o.Tags) != 1 {
			t.Fatalf("copy = %+v", o)
		}
		src, _ := f.store.HeadObject(ctx, bucket, "src")
		if o.KeyARN == src.KeyARN {
			t.Fatal("the copy is under the source's key")
		}
		got, err := f.getObject(t, "dst", nil)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("copy reads %d bytes, %v", len(got), err)
		}
	})
	t.Run("ReplaceMetadata", func(t *testing.T) {
		o, err := f.store.CopyObject(ctx, artifact.CopyObjectInput{SourceBucket: bucket, SourceKey: "src", ReplaceMetadata: true, ReplaceTags: true,
			PutObjectInput: artifact.PutObjectInput{Bucket: bucket, Key: "dst2", Encryption: acmeKey, ContentType: "text/plain"}})
		if err != nil || o.ContentType != "text/plain" || len(o.Metadata) != 0 || len(o.Tags) != 0 {
			t.Fatalf("copy = %+v, %v", o, err)
		}
	})
	t.Run("OntoItself", func(t *testing.T) {
		if _, err := f.store.CopyObject(ctx, artifact.CopyObjectInput{SourceBucket: bucket, SourceKey: "dst2",
			PutObjectInput: artifact.PutObjectInput{Bucket: bucket, Key: "dst2", Encryption: acmeKey}}); err != nil {
			t.Fatal(err)
		}
		if got, err := f.getObject(t, "dst2", nil); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("self-copy reads %d bytes, %v", len(got), err)
		}
	})
	t.Run("ErrCheckSourceRefuses", func(t *testing.T) {
		denied := tenantml.Errorf(tenantml.EFORBIDDEN, "denied")
		_, err := f.store.CopyObject(ctx, artifact.CopyObjectInput{SourceBucket: bucket, SourceKey: "src",
			CheckSource:    func(*artifact.Object) error { return denied },
			PutObjectInput: artifact.PutObjectInput{Bucket: bucket, Key: "dst3", Encryption: acmeKey}})
		if err != denied {
			t.Fatalf("err = %v, want the check's", err)
		}
		_, err = f.store.HeadObject(ctx, bucket, "dst3")
		wantS3(t, err, artifact.CodeNoSuchKey)
	})
	t.Run("ErrNoSource", func(t *testing.T) {
		_, err := f.store.CopyObject(ctx, artifact.CopyObjectInput{SourceBucket: bucket, SourceKey: "missing",
			PutObjectInput: artifact.PutObjectInput{Bucket: bucket, Key: "dst4", Encryption: acmeKey}})
		wantS3(t, err, artifact.CodeNoSuchKey)
	})
	t.Run("ErrTamperedSourceStoresNothing", func(t *testing.T) {
		body := f.bodyFiles(t, bucket, "src")[0]
		ct := readFile(t, body)
		ct[len(ct)/2] ^= 1
		writeFile(t, body, ct)
		before := len(files(t, f.dir))
		_, err := f.store.CopyObject(ctx, artifact.CopyObjectInput{SourceBucket: bucket, SourceKey: "src",
			PutObjectInput: artifact.PutObjectInput{Bucket: bucket, Key: "dst5", Encryption: acmeKey}})
		if !isIntegrity(err) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
		if after := len(files(t, f.dir)); after != before {
			t.Fatalf("files %d -> %d", before, after)
		}
	})
}

func TestStore_ObjectTagging(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	o := f.putObject(t, "k", acmeKey, []byte("x"))
	if err := f.store.PutObjectTagging(ctx, bucket, "k", []artifact.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}}); err != nil {
		t.Fatal(err)
	}
	tags, err := f.store.GetObjectTagging(ctx, bucket, "k")
	if err != nil || len(tags) != 2 || tags[0] != (artifact.Tag{Key: "a", Value: "1"}) {
		t.Fatalf("tags = %v, %v", tags, err)
	}
	h, _ := f.store.HeadObject(ctx, bucket, "k")
	if !h.LastModified.Equal(o.LastModified) || h.ETag != o.ETag {
		t.Fatal("tagging changed the object")
	}
	if got, err := f.getObject(t, "k", nil); err != nil || string(got) != "x" {
		t.Fatalf("read after tagging: %q, %v", got, err)
	}
	wantS3(t, f.store.PutObjectTagging(ctx, bucket, "k", []artifact.Tag{{Key: "", Value: "x"}}), artifact.CodeInvalidTag)
	wantS3(t, f.store.PutObjectTagging(ctx, bucket, "missing", nil), artifact.CodeNoSuchKey)
	if err := f.store.DeleteObjectTagging(ctx, bucket, "k"); err != nil {
		t.Fatal(err)
	}
	if tags, _ := f.store.GetObjectTagging(ctx, bucket, "k"); len(tags) != 0 {
		t.Fatalf("tags after delete: %v", tags)
	}
}

func isIntegrity(err error) bool { return errors.Is(err, artifact.ErrIntegrity) }
