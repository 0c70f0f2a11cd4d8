package artifact_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/artifact"
)

func TestValidateBucketName(t *testing.T) {
	good := []string{"abc", "models", "my-bucket.v2", "a1b", strings.Repeat("a", 63), "1-2-3", "192.168.5"}
	bad := []string{"", "ab", strings.Repeat("a", 64), "Models", "my_bucket", "-abc", "abc-", ".abc", "abc.", "a..b",
		"192.168.5.4", "xn--abc", "sthree-abc", "amzn-s3-demo-x", "abc-s3alias", "abc--ol-s3", "abc.mrap", "abc--x-s3",
		"abc--table-s3", "a/b", "a b", "é-bucket", "..", "a\x00b"}
	for _, n := range good {
		if err := artifact.ValidateBucketName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		err := artifact.ValidateBucketName(n)
		if artifact.CodeOf(err) != artifact.CodeInvalidBucketName {
			t.Errorf("%q: err = %v, want InvalidBucketName", n, err)
		}
	}
}

func TestStore_CreateBucket(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	b, err := f.store.CreateBucket(ctx, artifact.CreateBucketInput{Name: "acme-models", Account: account, Tenant: "acme"})
	if err != nil || b.Name != "acme-models" || b.Account != account || b.Tenant != "acme" || b.Created.IsZero() {
		t.Fatalf("bucket = %+v, %v", b, err)
	}
	cases := []struct {
		name string
		in   artifact.CreateBucketInput
		want artifact.Code
	}{
		{"ErrOwnedByYou", artifact.CreateBucketInput{Name: "acme-models", Account: account}, artifact.CodeBucketAlreadyOwnedByYou},
		{"ErrExists", artifact.CreateBucketInput{Name: "acme-models", Account: "999988887777"}, artifact.CodeBucketAlreadyExists},
		{"ErrArtifactBucketTaken", artifact.CreateBucketInput{Name: artifact.DefaultArtifactBucket, Account: "999988887777"}, artifact.CodeBucketAlreadyExists},
		{"ErrName", artifact.CreateBucketInput{Name: "Bad_Name", Account: account}, artifact.CodeInvalidBucketName},
		{"ErrAccount", artifact.CreateBucketInput{Name: "fine-name", Account: "12"}, artifact.CodeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.store.CreateBucket(ctx, tc.in)
			wantS3(t, err, tc.want)
		})
	}
	t.Run("List", func(t *testing.T) {
		if _, err := f.store.CreateBucket(ctx, artifact.CreateBucketInput{Name: "other-account", Account: "999988887777"}); err != nil {
			t.Fatal(err)
		}
		bs, err := f.store.ListBuckets(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range bs {
			names = append(names, b.Name)
		}
		if strings.Join(names, ",") != "acme-models,models,"+artifact.DefaultArtifactBucket {
			t.Fatalf("buckets = %v", names)
		}
	})
}

func TestStore_DeleteBucket(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.putObject(t, "k", acmeKey, []byte("x"))
	wantS3(t, f.store.DeleteBucket(ctx, bucket), artifact.CodeBucketNotEmpty)
	if err := f.store.DeleteObject(ctx, bucket, "k"); err != nil {
		t.Fatal(err)
	}
	u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "big", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	wantS3(t, f.store.DeleteBucket(ctx, bucket), artifact.CodeBucketNotEmpty)
	if err := f.store.AbortMultipartUpload(ctx, bucket, "big", u.UploadID); err != nil {
		t.Fatal(err)
	}
	if err := f.store.DeleteBucket(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	wantS3(t, f.store.DeleteBucket(ctx, bucket), artifact.CodeNoSuchBucket)
	_, err = f.store.GetBucket(ctx, bucket)
	wantS3(t, err, artifact.CodeNoSuchBucket)
	wantS3(t, f.store.DeleteBucket(ctx, artifact.DefaultArtifactBucket), artifact.CodeInvalidArgument)
}

func TestStore_BucketConfig(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	t.Run("Policy", func(t *testing.T) {
		_, err := f.store.GetBucketPolicy(ctx, bucket)
		wantS3(t, err, artifact.CodeNoSuchBucketPolicy)
		doc := `{"Version":"2012-10-17","Statement":[]}`
		if err := f.store.PutBucketPolicy(ctx, bucket, doc); err != nil {
			t.Fatal(err)
		}
		if got, err := f.store.GetBucketPolicy(ctx, bucket); err != nil || got != doc {
			t.Fatalf("policy = %q, %v", got, err)
		}
		for _, bad := range []string{"", "[]", "null", "{", `"x"`, "{" + strings.Repeat(" ", 21<<10) + "}"} {
			wantS3(t, f.store.PutBucketPolicy(ctx, bucket, bad), artifact.CodeMalformedPolicy)
		}
		if err := f.store.DeleteBucketPolicy(ctx, bucket); err != nil {
			t.Fatal(err)
		}
		_, err = f.store.GetBucketPolicy(ctx, bucket)
		wantS3(t, err, artifact.CodeNoSuchBucketPolicy)
		wantS3(t, f.store.PutBucketPolicy(ctx, "missing", doc), artifact.CodeNoSuchBucket)
	})
	t.Run("Encryption", func(t *testing.T) {
		_, err := f.store.GetBucketEncryption(ctx, bucket)
		wantS3(t, err, artifact.CodeNoEncryptionConfig)
		key := artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}
		if err := f.store.PutBucketEncryption(ctx, bucket, key); err != nil {
			t.Fatal(err)
		}
		if got, err := f.store.GetBucketEncryption(ctx, bucket); err != nil || got != key {
			t.Fatalf("encryption = %+v, %v", got, err)
		}
		b, _ := f.store.GetBucket(ctx, bucket)
		if k, err := artifact.ChooseKey(artifact.KeyChoice{Bucket: b, CallerTenant: "acme"}); err != nil || k != key {
			t.Fatalf("chosen key = %+v, %v; want the bucket default", k, err)
		}
		wantS3(t, f.store.PutBucketEncryption(ctx, bucket, artifact.KeyRef{}), artifact.CodeInvalidArgument)
		if err := f.store.DeleteBucketEncryption(ctx, bucket); err != nil {
			t.Fatal(err)
		}
		_, err = f.store.GetBucketEncryption(ctx, bucket)
		wantS3(t, err, artifact.CodeNoEncryptionConfig)
	})
	t.Run("Tagging", func(t *testing.T) {
		_, err := f.store.GetBucketTagging(ctx, bucket)
		wantS3(t, err, artifact.CodeNoSuchTagSet)
		if err := f.store.PutBucketTagging(ctx, bucket, []artifact.Tag{{Key: "TenantID", Value: "acme"}}); err != nil {
			t.Fatal(err)
		}
		if tags, err := f.store.GetBucketTagging(ctx, bucket); err != nil || len(tags) != 1 || tags[0].Value != "acme" {
			t.Fatalf("tags = %v, %v", tags, err)
		}
		wantS3(t, f.store.PutBucketTagging(ctx, bucket, make([]artifact.Tag, 51)), artifact.CodeInvalidTag)
		if err := f.store.DeleteBucketTagging(ctx, bucket); err != nil {
			t.Fatal(err)
		}
		_, err = f.store.GetBucketTagging(ctx, bucket)
		wantS3(t, err, artifact.CodeNoSuchTagSet)
	})
}

func TestChooseKey(t *testing.T) {
	explicit := artifact.KeyRef{Tenant: "globex", KeyID: "arn:aws:kms:us-east-1:111122223333:key/1234"}
	bucketKey := artifact.KeyRef{Tenant: "acme", KeyID: "alias/acme-models"}
	platformBucket := &artifact.Bucket{Name: "shared"}
	tenantBucket := &artifact.Bucket{Name: "acme-models", Tenant: "acme"}
	withDefault := &artifact.Bucket{Name: "enc", Encryption: &bucketKey}
	cases := []struct {
		name string
		in   artifact.KeyChoice
		want artifact.KeyRef
	}{
		{"ExplicitWins", artifact.KeyChoice{Requested: explicit, Bucket: withDefault, CallerTenant: "acme"}, explicit},
		{"BucketDefault", artifact.KeyChoice{Bucket: withDefault, CallerTenant: "initech"}, bucketKey},
		{"CallerTenantDefault", artifact.KeyChoice{Bucket: platformBucket, CallerTenant: "initech"}, artifact.KeyRef{Tenant: "initech", KeyID: artifact.DefaultKeyAlias}},
		{"PlatformInTenantBucket", artifact.KeyChoice{Bucket: tenantBucket}, artifact.KeyRef{Tenant: "acme", KeyID: artifact.DefaultKeyAlias}},
		{"PlatformInPlatformBucket", artifact.KeyChoice{Bucket: platformBucket}, artifact.KeyRef{Tenant: artifact.PlatformTenant, KeyID: artifact.DefaultKeyAlias}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := artifact.ChooseKey(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("ChooseKey = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
	t.Run("ErrRequestedWithoutTenant", func(t *testing.T) {
		if _, err := artifact.ChooseKey(artifact.KeyChoice{Requested: artifact.KeyRef{KeyID: "k"}}); err == nil {
			t.Fatal("a key without its owner was accepted")
		}
	})
}

// A platform caller writing into a platform bucket gets the platform key,
// created on first use under the reserved tenant "platform".
func TestStore_PlatformKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	b, err := f.store.GetBucket(ctx, bucket)
	if err != nil {
		t.Fatal(err)
	}
	key, err := artifact.ChooseKey(artifact.KeyChoice{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	o := f.putObject(t, "platform-model", key, []byte("platform bytes"))
	if o.Tenant != artifact.PlatformTenant {
		t.Fatalf("owner = %q, want %q", o.Tenant, artifact.PlatformTenant)
	}
	md, err := f.keys.DescribeKey(ctx, artifact.PlatformTenant, artifact.DefaultKeyAlias)
	if err != nil || md.Arn != o.KeyARN {
		t.Fatalf("platform key = %+v, %v; object under %s", md, err, o.KeyARN)
	}
	o2 := f.putObject(t, "platform-model-2", key, []byte("again"))
	if o2.KeyARN != o.KeyARN {
		t.Fatal("a second platform key was created")
	}
	if got, err := f.getObject(t, "platform-model", nil); err != nil || string(got) != "platform bytes" {
		t.Fatalf("read %q, %v", got, err)
	}
}
