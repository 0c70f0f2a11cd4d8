package artifact

import (
	"context"
	"time"
)

// Index persists the object store's metadata: buckets, objects, multipart
// uploads and their parts. Bodies live in the blob bucket; the index row
// is the commit point of every write (a body no row references is an
// orphan that Sweep deletes). Adapters: store/sqlite and store/postgres;
// artifacttest.Run is the conformance suite and artifacttest.NewMemIndex an
// in-memory index for tests.
//
// Each record's Doc is opaque to the index (JSON written by this package:
// wrapped data key, key ARN, body IDs, user metadata, tags, ...); the other
// fields are the columns the index filters and sorts on.
//
// Scoping. Buckets are named globally and owned by an account; objects,
// uploads and parts belong to their bucket and carry the tenant that owns
// their KMS key. Per-bucket methods see only that bucket's rows; the
// tenant methods (ListTenantObjects, ListTenantUploads, Usage) see only
// that tenant's rows; ListStaleUploads is the one operator-wide read.
// Every method taking a bucket, account or tenant fails with
// tenantml.EINVALID when it is empty.
//
// Errors: a missing row is tenantml.ENOTFOUND; a name taken, a revision
// mismatch or a non-empty bucket is tenantml.ECONFLICT. Keys and names
// compare bytewise (UTF-8 byte order, as S3 lists). Returned records are
// copies the caller may modify. Times are kept at microsecond precision.
type Index interface {
	// CreateBucket inserts a bucket with Revision 1; ECONFLICT when a
	// bucket of that name exists (in any account).
	CreateBucket(ctx context.Context, b *BucketRecord) error
	// GetBucket returns the bucket.
	GetBucket(ctx context.Context, name string) (*BucketRecord, error)
	// ListBuckets returns the account's buckets sorted by name.
	ListBuckets(ctx context.Context, account string) ([]*BucketRecord, error)
	// UpdateBucket replaces the bucket's Doc if its revision is
	// b.Revision, and returns the new revision.
	UpdateBucket(ctx context.Context, b *BucketRecord) (int64, error)
	// DeleteBucket deletes an empty bucket; ECONFLICT when it still holds
	// objects or multipart uploads.
	DeleteBucket(ctx context.Context, name string) error

	// GetObject returns the object (bucket, key).
	GetObject(ctx context.Context, bucket, key string) (*ObjectRecord, error)
	// PutObject creates or replaces the object (bucket, key), setting its
	// Revision, and returns the record it replaced (nil if none). Created
	// is kept from the replaced record. ENOTFOUND when the bucket does not
	// exist.
	PutObject(ctx context.Context, o *ObjectRecord) (prev *ObjectRecord, err error)
	// UpdateObject replaces the object's Doc if its revision is
	// o.Revision (nothing else changes) and returns the new revision.
	UpdateObject(ctx context.Context, o *ObjectRecord) (int64, error)
	// DeleteObject deletes the object and returns it; with a non-zero
	// revision, only if that is the stored one (else ECONFLICT).
	DeleteObject(ctx context.Context, bucket, key string, revision int64) (*ObjectRecord, error)
	// ListObjects returns, without their Doc, up to f.Limit objects of the
	// bucket whose key is greater than f.After and starts with f.Prefix,
	// sorted by key. An adapter must not scan past the prefix's range.
	ListObjects(ctx context.Context, bucket string, f ObjectFilter) ([]*ObjectRecord, error)

	// CreateUpload inserts a multipart upload; ENOTFOUND when the bucket
	// does not exist, ECONFLICT when the ID is taken.
	CreateUpload(ctx context.Context, u *UploadRecord) error
	// GetUpload returns the upload (bucket, uploadID).
	GetUpload(ctx context.Context, bucket, uploadID string) (*UploadRecord, error)
	// ListUploads returns up to f.Limit uploads of the bucket whose key
	// starts with f.Prefix and whose (key, upload ID) sorts after
	// (f.AfterKey, f.AfterID), sorted that way.
	ListUploads(ctx context.Context, bucket string, f UploadFilter) ([]*UploadRecord, error)
	// PutPart creates or replaces part (bucket, uploadID, number) and
	// returns the part it replaced (nil if none); ENOTFOUND when the upload
	// does not exist (completed or aborted meanwhile).
	PutPart(ctx context.Context, p *PartRecord) (prev *PartRecord, err error)
	// ListParts returns up to limit parts numbered above after, by number.
	ListParts(ctx context.Context, bucket, uploadID string, after, limit int) ([]*PartRecord, error)
	// CompleteUpload, in one transaction, checks that every part in use
	// is stored with that Body (else ECONFLICT), deletes the upload and
	// all its parts, and creates or replaces the object o as PutObject
	// does. It returns the replaced object and every deleted part row.
	CompleteUpload(ctx context.Context, bucket, uploadID string, o *ObjectRecord, use []PartRef) (prev *ObjectRecord, parts []*PartRecord, err error)
	// DeleteUpload deletes the upload and its parts and returns the parts.
	DeleteUpload(ctx context.Context, bucket, uploadID string) ([]*PartRecord, error)

	// ListTenantObjects returns, with their Doc, up to limit objects owned
	// by tenant whose (bucket, key) sorts after after, sorted that way.
	ListTenantObjects(ctx context.Context, tenant string, after ObjectRef, limit int) ([]*ObjectRecord, error)
	// ListTenantUploads returns every upload owned by tenant with the
	// body IDs of its parts.
	ListTenantUploads(ctx context.Context, tenant string) ([]*UploadRecord, []*PartRecord, error)
	// Usage sums what tenant stores: objects, their plaintext bytes, and
	// parts of uploads in progress.
	Usage(ctx context.Context, tenant string) (Usage, error)

	// ListStaleUploads returns up to limit uploads (of every bucket and
	// tenant) initiated before before, oldest first. Operator-only: the
	// abandoned-upload sweep.
	ListStaleUploads(ctx context.Context, before time.Time, limit int) ([]*UploadRecord, error)
}

// BucketRecord is a bucket as the index stores it.
type BucketRecord struct {
	Name    string
	Account string // owning account (12 digits)
	// Tenant is the tenant of the principal that created the bucket, ""
	// for a platform bucket.
	Tenant   string
	Created  time.Time
	Doc      []byte // policy, default encryption, tags
	Revision int64
}

// ObjectRecord is an object as the index stores it.
type ObjectRecord struct {
	Bucket string
	Key    string
	// Tenant owns the KMS key that wraps the object's data key, and so the
	// object.
	Tenant       string
	Size         int64 // plaintext bytes
	ETag         string
	Created      time.Time // first written under this key (kept on replace)
	LastModified time.Time // this content's commit time
	Doc          []byte    // manifest: data key, bodies, metadata, tags
	Revision     int64
}

// ObjectRef names an object.
type ObjectRef struct {
	Bucket string
	Key    string
}

// ObjectFilter selects objects in a bucket.
type ObjectFilter struct {
	Prefix string
	After  string // exclusive
	Limit  int    // at least 1
}

// UploadRecord is a multipart upload in progress.
type UploadRecord struct {
	Bucket    string
	Key       string
	UploadID  string
	Tenant    string // owner of the upload's KMS key
	Initiated time.Time
	Doc       []byte // wrapped data key, content type, metadata, tags
}

// UploadFilter selects multipart uploads in a bucket.
type UploadFilter struct {
	Prefix   string
	AfterKey string // exclusive with AfterID
	AfterID  string // "": every upload of keys after AfterKey
	Limit    int
}

// PartRecord is one uploaded part.
type PartRecord struct {
	Bucket       string
	UploadID     string
	Number       int
	Tenant       string
	Size         int64 // plaintext bytes
	ETag         string
	Body         string // body ID: unique per write
	LastModified time.Time
	Doc          []byte // ciphertext size, digests
}

// PartRef names the body a completed part must still have.
type PartRef struct {
	Number int
	Body   string
}

// Usage is what one tenant stores.
type Usage struct {
	Objects     int64 // committed objects
	Bytes       int64 // their plaintext bytes
	Parts       int64 // parts of multipart uploads in progress
	PartBytes   int64 // their plaintext bytes
	StoredBytes int64 // Bytes + PartBytes: what a storage quota counts
}
