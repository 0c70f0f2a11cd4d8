package artifact_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
	"github.com/tenantml/tenantml/store/sqlite"
)

// indexes are the Index implementations listing is checked against.
func indexes(t *testing.T) map[string]func(t *testing.T) artifact.Index {
	return map[string]func(t *testing.T) artifact.Index{
		"Mem": func(*testing.T) artifact.Index { return artifacttest.NewMemIndex() },
		"SQLite": func(t *testing.T) artifact.Index {
			db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db.Objects()
		},
	}
}

// listAll pages through a listing and checks every page's bounds.
func listAll(t *testing.T, s *artifact.Store, b string, in artifact.ListObjectsInput) (keys, prefixes []string, pages int) {
	t.Helper()
	for {
		out, err := s.ListObjects(context.Background(), b, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if out.KeyCount() > max(in.MaxKeys, 0) || (out.IsTruncated && out.KeyCount() != in.MaxKeys) {
			t.Fatalf("page %d holds %d entries, max-keys %d, truncated %v", pages, out.KeyCount(), in.MaxKeys, out.IsTruncated)
		}
		for _, o := range out.Objects {
			keys = append(keys, o.Key)
		}
		prefixes = append(prefixes, out.CommonPrefixes...)
		if !out.IsTruncated {
			if out.NextContinuationToken != "" {
				t.Fatal("last page has a continuation token")
			}
			return keys, prefixes, pages
		}
		if pages > 100000 {
			t.Fatal("listing does not end")
		}
		in.ContinuationToken = out.NextContinuationToken
	}
}

// TestStore_ListObjects10k lists 10,000 objects (100 "directories" of 100)
// every way a client does, against the in-memory index and SQLite: every
// key exactly once, in byte order, pages within max-keys, common prefixes
// counted once.
func TestStore_ListObjects10k(t *testing.T) {
	for name, newIndex := range indexes(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ix := newIndex(t)
			s := artifact.New(artifact.Config{URL: "file://" + t.TempDir(), Keys: newKeys(t), Index: ix})
			if err := s.Open(ctx); err != nil {
				t.Fatal(err)
			}
			defer s.Close(ctx)
			if _, err := s.CreateBucket(ctx, artifact.CreateBucketInput{Name: bucket, Account: account}); err != nil {
				t.Fatal(err)
			}
			var all []string
			for d := range 100 {
				for o := range 100 {
					k := fmt.Sprintf("dir%03d/obj%04d", d, o)
					all = append(all, k)
					if _, err := ix.PutObject(ctx, &artifact.ObjectRecord{Bucket: bucket, Key: k, Tenant: "acme", Size: int64(o), ETag: "e",
						Created: time.Now(), LastModified: time.Now(), Doc: []byte("{}")}); err != nil {
						t.Fatal(err)
					}
				}
			}
			slices.Sort(all)
			t.Run("Flat", func(t *testing.T) {
				keys, prefixes, pages := listAll(t, s, bucket, artifact.ListObjectsInput{MaxKeys: 1000})
				if !slices.Equal(keys, all) || len(prefixes) != 0 || pages != 10 {
					t.Fatalf("listed %d keys in %d pages, want %d in 10", len(keys), pages, len(all))
				}
			})
			t.Run("SmallPages", func(t *testing.T) {
				keys, _, pages := listAll(t, s, bucket, artifact.ListObjectsInput{MaxKeys: 333})
				if !slices.Equal(keys, all) || pages != 31 {
					t.Fatalf("listed %d keys in %d pages", len(keys), pages)
				}
			})
			t.Run("Delimiter", func(t *testing.T) {
				keys, prefixes, pages := listAll(t, s, bucket, artifact.ListObjectsInput{Delimiter: "/", MaxKeys: 7})
				if len(keys) != 0 || len(prefixes) != 100 || prefixes[0] != "dir000/" || prefixes[99] != "dir099/" || pages != 15 {
					t.Fatalf("keys %d prefixes %d (%v...) pages %d", len(keys), len(prefixes), prefixes[:min(3, len(prefixes))], pages)
				}
				if !slices.IsSorted(prefixes) || len(slices.Compact(slices.Clone(prefixes))) != 100 {
					t.Fatal("common prefixes repeated or out of order")
				}
			})
			t.Run("PrefixAndDelimiter", func(t *testing.T) {
				keys, prefixes, _ := listAll(t, s, bucket, artifact.ListObjectsInput{Prefix: "dir042/", Delimiter: "/", MaxKeys: 1000})
				if len(keys) != 100 || keys[0] != "dir042/obj0000" || len(prefixes) != 0 {
					t.Fatalf("keys %d prefixes %v", len(keys), prefixes)
				}
			})
			t.Run("DelimiterInsideName", func(t *testing.T) {
				keys, prefixes, _ := listAll(t, s, bucket, artifact.ListObjectsInput{Prefix: "dir00", Delimiter: "obj", MaxKeys: 4})
				if len(keys) != 0 || strings.Join(prefixes, ",") != strings.Join([]string{
					"dir000/obj", "dir001/obj", "dir002/obj", "dir003/obj", "dir004/obj", "dir005/obj", "dir006/obj", "dir007/obj", "dir008/obj", "dir009/obj"}, ",") {
					t.Fatalf("keys %v prefixes %v", keys, prefixes)
				}
			})
			t.Run("StartAfter", func(t *testing.T) {
				keys, _, _ := listAll(t, s, bucket, artifact.ListObjectsInput{StartAfter: "dir098/obj0099", MaxKeys: 1000})
				if !slices.Equal(keys, all[9900:]) {
					t.Fatalf("listed %d keys after dir098/obj0099", len(keys))
				}
			})
			t.Run("MaxKeysZero", func(t *testing.T) {
				out, err := s.ListObjects(ctx, bucket, artifact.ListObjectsInput{MaxKeys: 0})
				if err != nil || out.KeyCount() != 0 || out.IsTruncated {
					t.Fatalf("max-keys 0 = %+v, %v", out, err)
				}
			})
			t.Run("MaxKeysCapped", func(t *testing.T) {
				out, err := s.ListObjects(ctx, bucket, artifact.ListObjectsInput{MaxKeys: 5000})
				if err != nil || out.KeyCount() != 1000 || !out.IsTruncated {
					t.Fatalf("max-keys 5000 gave %d entries, %v", out.KeyCount(), err)
				}
			})
		})
	}
}

// TestStore_ListObjectsToken: a continuation token is opaque, and refused
// when altered or presented for another bucket.
func TestStore_ListObjectsToken(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	if _, err := f.store.CreateBucket(ctx, artifact.CreateBucketInput{Name: "other", Account: account}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"secret-model-a", "secret-model-b", "secret-model-c"} {
		f.putObject(t, k, acmeKey, []byte("x"))
	}
	out, err := f.store.ListObjects(ctx, bucket, artifact.ListObjectsInput{MaxKeys: 1})
	if err != nil || !out.IsTruncated || out.NextContinuationToken == "" {
		t.Fatalf("page = %+v, %v", out, err)
	}
	tok := out.NextContinuationToken
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || strings.Contains(string(raw), "secret") || strings.Contains(tok, "secret") {
		t.Fatalf("token %q reveals the last key", tok)
	}
	next, err := f.store.ListObjects(ctx, bucket, artifact.ListObjectsInput{MaxKeys: 1, ContinuationToken: tok})
	if err != nil || len(next.Objects) != 1 || next.Objects[0].Key != "secret-model-b" {
		t.Fatalf("next page = %+v, %v", next, err)
	}
	flip := []byte(tok)
	flip[len(flip)/2] ^= 1
	bad := map[string]struct{ bucket, token string }{
		"ErrOtherBucket": {"other", tok},
		"ErrAltered":     {bucket, string(flip)},
		"ErrGarbage":     {bucket, "not-a-token"},
		"ErrTruncated":   {bucket, tok[:len(tok)-4]},
	}
	for name, tc := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := f.store.ListObjects(ctx, tc.bucket, artifact.ListObjectsInput{MaxKeys: 1, ContinuationToken: tc.token})
			wantS3(t, err, artifact.CodeInvalidArgument)
		})
	}
	t.Run("ErrOtherStoreSecret", func(t *testing.T) {
		other := f.open(t, "file://"+f.dir)
		_, err := other.ListObjects(ctx, bucket, artifact.ListObjectsInput{MaxKeys: 1, ContinuationToken: tok})
		wantS3(t, err, artifact.CodeInvalidArgument)
	})
	t.Run("SharedSecret", func(t *testing.T) {
		secret := []byte(strings.Repeat("k", 32))
		a := f.open(t, "file://"+f.dir, func(c *artifact.Config) { c.TokenSecret = secret })
		b := f.open(t, "file://"+f.dir, func(c *artifact.Config) { c.TokenSecret = secret })
		out, err := a.ListObjects(ctx, bucket, artifact.ListObjectsInput{MaxKeys: 2})
		if err != nil {
			t.Fatal(err)
		}
		next, err := b.ListObjects(ctx, bucket, artifact.ListObjectsInput{MaxKeys: 2, ContinuationToken: out.NextContinuationToken})
		if err != nil || len(next.Objects) != 1 || next.Objects[0].Key != "secret-model-c" {
			t.Fatalf("page from another gateway = %+v, %v", next, err)
		}
	})
	for name, in := range map[string]artifact.ListObjectsInput{
		"ErrPrefixNotUTF8": {Prefix: "\xff", MaxKeys: 1},
		"ErrDelimiterNUL":  {Delimiter: "\x00", MaxKeys: 1},
		"ErrMaxKeys":       {MaxKeys: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := f.store.ListObjects(ctx, bucket, in)
			wantS3(t, err, artifact.CodeInvalidArgument)
		})
	}
	_, err = f.store.ListObjects(ctx, "missing", artifact.ListObjectsInput{MaxKeys: 1})
	wantS3(t, err, artifact.CodeNoSuchBucket)
}
