package artifact

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Object describes a stored object.
type Object struct {
	Bucket string
	Key    string
	// Tenant owns the KMS key wrapping the object's data key, and so the
	// object: what tenant erasure shreds and rotation rewraps.
	Tenant string
	Size   int64 // plaintext bytes
	// ETag is S3's, unquoted: the hex MD5 of the plaintext for a single
	// PUT or copy, "<hex MD5 of the parts' MD5s>-<parts>" for a multipart
	// upload.
	ETag string
	// SHA256 is the hex SHA-256 of the plaintext; "" for a multipart
	// object (each part's is recorded and bound instead).
	SHA256       string
	ContentType  string
	Metadata     map[string]string // user metadata (x-amz-meta-*), lowercase keys
	Tags         []Tag
	Created      time.Time // the key's first write (kept when replaced)
	LastModified time.Time
	KeyARN       string // KMS key wrapping the data key
	KeyVersion   int    // its version
	Parts        int    // number of parts; 0 for a single PUT or copy
}

// ObjectInfo is one entry of a listing.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
	Tenant       string // owner
}

func objectOf(r *ObjectRecord, d *objectDoc) *Object {
	o := &Object{
		Bucket: r.Bucket, Key: r.Key, Tenant: r.Tenant, Size: r.Size, ETag: r.ETag,
		ContentType: d.ContentType, Metadata: maps.Clone(d.Metadata), Tags: slices.Clone(d.Tags),
		Created: r.Created, LastModified: r.LastModified, KeyARN: d.KeyARN, KeyVersion: d.KeyVersion,
	}
	if d.Multipart {
		o.Parts = len(d.Bodies)
	} else {
		o.SHA256 = d.SHA256
	}
	return o
}

// loadObject reads an object's record and manifest, checking that the
// manifest agrees with the record's columns. Missing objects, and keys
// that cannot exist, are NoSuchKey; a missing bucket is NoSuchBucket.
func (s *Store) loadObject(ctx context.Context, bucket, key string) (*ObjectRecord, *objectDoc, error) {
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return nil, nil, err
	}
	if ValidateKey(key) != nil {
		return nil, nil, errNoSuchKey()
	}
	r, err := s.cfg.Index.GetObject(ctx, bucket, key)
	if isNotFound(err) {
		return nil, nil, errNoSuchKey()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get object: %w", err)
	}
	d, err := checkRecord(r)
	if err != nil {
		return nil, nil, err
	}
	return r, d, nil
}

// checkRecord decodes a record's manifest and checks it against the
// record's columns.
func checkRecord(r *ObjectRecord) (*objectDoc, error) {
	d, err := decodeObjectDoc(r.Doc)
	if err != nil {
		return nil, err
	}
	if d.size() != r.Size {
		return nil, fmt.Errorf("%w: manifest size %d differs from the index's %d", ErrIntegrity, d.size(), r.Size)
	}
	return d, nil
}

// HeadObject returns the object's description without reading its body.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (*Object, error) {
	r, d, err := s.loadObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return objectOf(r, d), nil
}

// GetObjectTagging returns the object's tags (possibly none).
func (s *Store) GetObjectTagging(ctx context.Context, bucket, key string) ([]Tag, error) {
	o, err := s.HeadObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	return o.Tags, nil
}

// PutObjectTagging replaces the object's tags (at most 10). The object's
// content and LastModified do not change.
func (s *Store) PutObjectTagging(ctx context.Context, bucket, key string, tags []Tag) error {
	tags, err := validateTags(tags, MaxObjectTags)
	if err != nil {
		return err
	}
	return s.updateObject(ctx, bucket, key, func(_ *ObjectRecord, d *objectDoc) error {
		d.Tags = tags
		return nil
	})
}

// DeleteObjectTagging removes the object's tags.
func (s *Store) DeleteObjectTagging(ctx context.Context, bucket, key string) error {
	return s.PutObjectTagging(ctx, bucket, key, nil)
}

// updateObject applies fn to an object's manifest and stores it at the
// record's revision, retrying a lost race.
func (s *Store) updateObject(ctx context.Context, bucket, key string, fn func(*ObjectRecord, *objectDoc) error) error {
	for range 5 {
		r, d, err := s.loadObject(ctx, bucket, key)
		if err != nil {
			return err
		}
		if err := fn(r, d); err != nil {
			return err
		}
		r.Doc = mustJSON(d)
		_, err = s.cfg.Index.UpdateObject(ctx, r)
		switch {
		case err == nil:
			return nil
		case isNotFound(err):
			return errNoSuchKey()
		case !isConflict(err):
			return fmt.Errorf("update object: %w", err)
		}
	}
	return s3Err(CodeConflict, "A conflicting conditional operation is currently in progress against this resource. Please try again.")
}

// multipartETag is S3's ETag of a multipart object: the MD5 of the
// concatenated binary part MD5s, a hyphen and the part count.
func multipartETag(md5s [][]byte) string {
	return md5Hex(concat(md5s)) + "-" + strconv.Itoa(len(md5s))
}

func concat(bs [][]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}
