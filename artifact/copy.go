package artifact

import (
	"context"
	"fmt"
	"maps"
	"slices"
)

// MaxDeleteObjects is the most keys one DeleteObjects request names.
const MaxDeleteObjects = 1000

// CopyObjectInput is CopyObject's request.
type CopyObjectInput struct {
	SourceBucket string
	SourceKey    string
	// CheckSource, if set, is called with the source object before a byte
	// of it is decrypted (and after its data key is unwrapped): the
	// surface authorizes reading it (kms:Decrypt on its key) here, so a
	// source replaced between a HeadObject and the copy is still checked.
	// An error aborts the copy and is returned as is.
	CheckSource func(*Object) error
	// Destination: Bucket, Key and Encryption (the destination's key and
	// owner, possibly another tenant's) are required. Unless
	// ReplaceMetadata, the content type and user metadata are the
	// source's; unless ReplaceTags, so are the tags.
	PutObjectInput
	ReplaceMetadata bool
	ReplaceTags     bool
}

// CopyObject copies an object server-side: the source's plaintext is
// streamed (decrypted, authenticated) into a new body encrypted under the
// destination's key and a fresh data key, with bounded memory. The copy's
// ETag is the MD5 of its plaintext.
func (s *Store) CopyObject(ctx context.Context, in CopyObjectInput) (*Object, error) {
	src, err := s.GetObject(ctx, in.SourceBucket, in.SourceKey, nil)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if in.CheckSource != nil {
		if err := in.CheckSource(src.Object); err != nil {
			return nil, err
		}
	}
	put := in.PutObjectInput
	if !in.ReplaceMetadata {
		put.ContentType, put.Metadata = src.Object.ContentType, maps.Clone(src.Object.Metadata)
	}
	if !in.ReplaceTags {
		put.Tags = slices.Clone(src.Object.Tags)
	}
	put.Checks = Checks{ContentLength: src.Object.Size}
	o, err := s.PutObject(ctx, put, src)
	if err != nil {
		if isIntegrity(err) {
			return nil, fmt.Errorf("copy source: %w", err)
		}
		return nil, err
	}
	return o, nil
}

// DeleteObject deletes an object and its bodies. A missing object is
// NoSuchKey (S3 answers 204 all the same; that is the surface's choice).
func (s *Store) DeleteObject(ctx context.Context, bucket, key string) error {
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return err
	}
	if ValidateKey(key) != nil {
		return errNoSuchKey()
	}
	r, err := s.cfg.Index.DeleteObject(ctx, bucket, key, 0)
	if isNotFound(err) {
		return errNoSuchKey()
	}
	if err != nil {
		return fmt.Errorf("delete object: %w", err)
	}
	s.deleteBodies(ctx, r)
	return nil
}

// DeleteResult is the outcome of one key of DeleteObjects: Err is nil, a
// NoSuchKey error (S3 reports it deleted) or the failure.
type DeleteResult struct {
	Key string
	Err error
}

// DeleteObjects deletes up to MaxDeleteObjects keys of a bucket, each on
// its own; the results are in the request's order.
func (s *Store) DeleteObjects(ctx context.Context, bucket string, keys []string) ([]DeleteResult, error) {
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return nil, err
	}
	if len(keys) == 0 || len(keys) > MaxDeleteObjects {
		return nil, s3Err(CodeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema")
	}
	out := make([]DeleteResult, len(keys))
	for i, k := range keys {
		out[i] = DeleteResult{Key: k, Err: s.DeleteObject(ctx, bucket, k)}
	}
	return out, nil
}
