package artifact_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

// byteQuota caps every tenant at limit bytes and records each check.
type byteQuota struct {
	limit  int64
	checks []int64
}

func (q *byteQuota) CheckStored(_ context.Context, _ string, total int64) error {
	q.checks = append(q.checks, total)
	if total > q.limit {
		return &tenantml.Error{Code: tenantml.ETOOMANYREQUESTS, AWSCode: "ResourceLimitExceeded", Message: "over"}
	}
	return nil
}

func TestStore_StorageQuota(t *testing.T) {
	ctx := context.Background()
	q := &byteQuota{limit: 100}
	f := newFixtureAt(t, t.TempDir(), "", func(c *artifact.Config) { c.Quota = q })
	usage := func() int64 {
		t.Helper()
		u, err := f.store.Usage(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		return u.StoredBytes
	}
	put := func(key string, n int, declared bool) error {
		checks := artifact.NoChecks
		if declared {
			checks = artifact.Checks{ContentLength: int64(n)}
		}
		_, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: bucket, Key: key, Encryption: acmeKey, Checks: checks}, bytes.NewReader(make([]byte, n)))
		return err
	}

	t.Run("OK", func(t *testing.T) {
		if err := put("a", 60, true); err != nil {
			t.Fatal(err)
		}
		if err := put("b", 40, false); err != nil {
			t.Fatalf("up to the limit exactly: %v", err)
		}
		if got := usage(); got != 100 {
			t.Fatalf("usage = %d, want 100", got)
		}
	})

	t.Run("ErrOverDeclared", func(t *testing.T) {
		before := len(q.checks)
		err := put("c", 1, true)
		if tenantml.AWSCodeOf(err) != "ResourceLimitExceeded" {
			t.Fatalf("one byte over: %v", err)
		}
		if len(q.checks) != before+1 {
			t.Fatalf("a declared size is refused before its body is written (%d checks)", len(q.checks)-before)
		}
	})

	t.Run("ErrOverUndeclared", func(t *testing.T) {
		if err := put("c", 1, false); tenantml.AWSCodeOf(err) != "ResourceLimitExceeded" {
			t.Fatalf("one byte over, size undeclared: %v", err)
		}
		if got := usage(); got != 100 {
			t.Fatalf("usage after refusals = %d, want 100 (nothing stored)", got)
		}
		if n := len(f.bodyFiles(t, bucket, "a")); n != 1 {
			t.Fatalf("body files of a = %d", n)
		}
	})

	t.Run("ReplacementCountsOnce", func(t *testing.T) {
		if err := put("a", 55, true); err != nil {
			t.Fatalf("replacing a 60-byte object by 55 bytes: %v", err)
		}
		if err := put("a", 60, true); err != nil {
			t.Fatalf("replacing by 60 bytes (100 in all): %v", err)
		}
		if err := put("a", 61, true); tenantml.AWSCodeOf(err) != "ResourceLimitExceeded" {
			t.Fatalf("replacing by 61 bytes (101 in all): %v", err)
		}
	})

	t.Run("ErrMultipartPart", func(t *testing.T) {
		u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "mp", Encryption: acmeKey})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.store.UploadPart(ctx, artifact.UploadPartInput{Bucket: bucket, Key: "mp", UploadID: u.UploadID, PartNumber: 1, Checks: artifact.NoChecks}, bytes.NewReader(make([]byte, 2)))
		if tenantml.AWSCodeOf(err) != "ResourceLimitExceeded" {
			t.Fatalf("a part over the quota: %v", err)
		}
	})

	t.Run("OtherTenantUnaffected", func(t *testing.T) {
		_, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: bucket, Key: "g", Encryption: artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}, Checks: artifact.NoChecks}, bytes.NewReader(make([]byte, 100)))
		if err != nil {
			t.Fatalf("globex within its own quota: %v", err)
		}
	})
}
