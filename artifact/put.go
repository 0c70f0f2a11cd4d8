package artifact

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/blob"

	"github.com/tenantml/tenantml/keys"
)

// PutObjectInput is PutObject's request.
type PutObjectInput struct {
	Bucket string
	Key    string
	// Encryption is the KMS key wrapping the new data key and its owning
	// tenant, who owns the object (see ChooseKey). Required.
	Encryption  KeyRef
	ContentType string
	Metadata    map[string]string
	Tags        []Tag
	Checks
}

// Checks are the optional checks on a body: whatever is declared must
// match the bytes received, or nothing is stored.
type Checks struct {
	// ContentLength is the declared size; negative when unknown. A body
	// that ends early is IncompleteBody; one that runs past it,
	// InvalidArgument.
	ContentLength int64
	// ContentMD5 is the Content-MD5 header (base64 of the MD5):
	// malformed is InvalidDigest, a mismatch BadDigest.
	ContentMD5 string
	// SHA256 is the hex SHA-256 declared (x-amz-content-sha256): a
	// mismatch is XAmzContentSHA256Mismatch.
	SHA256 string
	// MaxSize, if positive, is the largest body accepted: a longer one is
	// EntityTooLarge (the surface's limit: 5 GiB for an S3 PUT).
	MaxSize int64
}

// NoChecks declares nothing about a body.
var NoChecks = Checks{ContentLength: -1}

func (c Checks) md5() ([]byte, error) {
	if c.ContentMD5 == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(c.ContentMD5)
	if err != nil || len(b) != md5.Size {
		return nil, s3Err(CodeInvalidDigest, "The Content-MD5 you specified is not valid.")
	}
	return b, nil
}

func (c Checks) validate() error {
	if _, err := c.md5(); err != nil {
		return err
	}
	if c.SHA256 != "" && !hex256.MatchString(strings.ToLower(c.SHA256)) {
		return s3Err(CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a hex SHA-256.")
	}
	if c.MaxSize > 0 && c.ContentLength > c.MaxSize {
		return s3Err(CodeEntityTooLarge, "Your proposed upload exceeds the maximum allowed size")
	}
	return nil
}

// verify compares what was received with what was declared.
func (c Checks) verify(w *written) error {
	if c.ContentLength >= 0 && w.size < c.ContentLength {
		return s3Err(CodeIncompleteBody, "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	if c.ContentLength >= 0 && w.size > c.ContentLength {
		return s3Err(CodeInvalidArgument, "The body is longer than its Content-Length.")
	}
	if want, _ := c.md5(); want != nil && hex.EncodeToString(want) != w.md5 {
		return s3Err(CodeBadDigest, "The Content-MD5 you specified did not match what we received.")
	}
	if c.SHA256 != "" && !strings.EqualFold(c.SHA256, w.sha256) {
		return s3Err(CodeSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return nil
}

// PutObject stores the object (in.Bucket, in.Key) read from body,
// encrypted under a fresh data key wrapped by in.Encryption's key,
// replacing any object of that key. Nothing is visible, and nothing is
// left behind, unless the whole body was stored and passed its checks.
func (s *Store) PutObject(ctx context.Context, in PutObjectInput, body io.Reader) (*Object, error) {
	tags, err := s.checkNew(ctx, in.Bucket, in.Key, in.Encryption, in.ContentType, in.Metadata, in.Tags)
	if err != nil {
		return nil, err
	}
	if err := in.Checks.validate(); err != nil {
		return nil, err
	}
	tenant, bucket, key := in.Encryption.Tenant, in.Bucket, in.Key
	replaced := s.replacedSize(ctx, tenant, bucket, key)
	if err := s.checkStored(ctx, tenant, in.Checks.ContentLength, replaced); err != nil {
		return nil, err
	}
	id, err := s.newID()
	if err != nil {
		return nil, err
	}
	dk, err := s.generateDataKey(ctx, in.Encryption, writeContext(tenant, bucket, key, id))
	if err != nil {
		return nil, err
	}
	w, err := s.writeBody(ctx, tenant, bucket, key, id, dk.Plaintext, body, in.MaxSize)
	clear(dk.Plaintext)
	if err != nil {
		return nil, err
	}
	path := bodyPath(tenant, bucket, id)
	if err := in.Checks.verify(w); err != nil {
		s.deleteQuietly(ctx, path)
		return nil, err
	}
	if err := s.checkStored(ctx, tenant, w.size, replaced); err != nil {
		s.deleteQuietly(ctx, path)
		return nil, err
	}
	d := &objectDoc{
		Format: formatV2, Algorithm: algorithm, ObjectID: id, SHA256: w.sha256,
		Bodies:      []bodyRef{w.ref(id, 0)},
		ContentType: in.ContentType, Metadata: in.Metadata, Tags: tags,
	}
	o, err := s.commit(ctx, bucket, key, tenant, dk.CiphertextBlob, dk.KeyID, writeContext(tenant, bucket, key, id), d, w.md5,
		func(r *ObjectRecord) (*ObjectRecord, error) { return s.indexObject(ctx, r) })
	if err != nil {
		s.deleteQuietly(ctx, path)
		return nil, err
	}
	return o, nil
}

// checkNew checks that the bucket exists and validates what a new object
// or upload carries; it returns the tags sorted.
func (s *Store) checkNew(ctx context.Context, bucket, key string, enc KeyRef, contentType string, md map[string]string, tags []Tag) ([]Tag, error) {
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return nil, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if err := enc.validate(); err != nil {
		return nil, err
	}
	if len(contentType) > MaxContentTypeLen || strings.ContainsAny(contentType, "\r\n\x00") {
		return nil, s3Err(CodeInvalidArgument, "Content-Type is not a valid header value.")
	}
	if err := validateMetadata(md); err != nil {
		return nil, err
	}
	return validateTags(tags, MaxObjectTags)
}

// generateDataKey makes a data key under enc with context ec, creating the
// platform's default key on first use.
func (s *Store) generateDataKey(ctx context.Context, enc KeyRef, ec map[string]string) (*keys.GenerateDataKeyOutput, error) {
	in := keys.GenerateDataKeyInput{KeyID: enc.KeyID, EncryptionContext: ec, KeySpec: keys.DataKeySpecAES256}
	dk, err := s.cfg.Keys.GenerateDataKey(ctx, enc.Tenant, in)
	if keys.ExceptionOf(err) == keys.ExcNotFound && enc.isPlatformDefault() {
		if _, err := s.cfg.Keys.EnsureKey(ctx, PlatformTenant, DefaultKeyAlias, "tenantml platform object key"); err != nil {
			return nil, fmt.Errorf("create platform key: %w", err)
		}
		dk, err = s.cfg.Keys.GenerateDataKey(ctx, enc.Tenant, in)
	}
	if err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	return dk, nil
}

// commit binds the object's size and digest into its data key's context
// (ReEncrypt of the wrapped key from its write context wctx), makes the
// object visible with index, and deletes the bodies of the object it
// replaced.
func (s *Store) commit(ctx context.Context, bucket, key, tenant string, wrappedKey []byte, keyARN string, wctx map[string]string,
	d *objectDoc, etag string, index func(*ObjectRecord) (*ObjectRecord, error)) (*Object, error) {
	wrapped, err := s.cfg.Keys.ReEncrypt(ctx, tenant, keys.ReEncryptInput{
		CiphertextBlob: wrappedKey, SourceEncryptionContext: wctx,
		DestinationKeyID: keyARN, DestinationEncryptionContext: commitContext(tenant, bucket, key, d),
	})
	if err != nil {
		return nil, fmt.Errorf("commit data key: %w", err)
	}
	d.WrappedKey, d.KeyARN, d.KeyVersion = wrapped.CiphertextBlob, wrapped.KeyID, wrapped.KeyVersion
	now := s.now()
	r := &ObjectRecord{Bucket: bucket, Key: key, Tenant: tenant, Size: d.size(), ETag: etag,
		Created: now, LastModified: now, Doc: mustJSON(d)}
	prev, err := index(r)
	if err != nil {
		return nil, err
	}
	s.deleteBodies(ctx, prev)
	return objectOf(r, d), nil
}

// indexObject creates or replaces the object in the index.
func (s *Store) indexObject(ctx context.Context, r *ObjectRecord) (*ObjectRecord, error) {
	prev, err := s.cfg.Index.PutObject(ctx, r)
	if isNotFound(err) {
		return nil, errNoSuchBucket() // deleted while the body was uploaded
	}
	if err != nil {
		return nil, fmt.Errorf("index object: %w", err)
	}
	return prev, nil
}

// deleteBodies deletes a replaced or deleted object's bodies, best-effort:
// what fails here is an orphan for Sweep.
func (s *Store) deleteBodies(ctx context.Context, r *ObjectRecord) {
	if r == nil {
		return
	}
	d, err := decodeObjectDoc(r.Doc)
	if err != nil {
		return
	}
	for _, b := range d.Bodies {
		s.deleteQuietly(ctx, bodyPath(r.Tenant, r.Bucket, b.ID))
	}
}

// written is what writeBody stored.
type written struct {
	size, ctSize int64
	sha256, md5  string
}

func (w *written) ref(id string, part int) bodyRef {
	return bodyRef{ID: id, Part: part, Size: w.size, CiphertextSize: w.ctSize, SHA256: w.sha256, MD5: w.md5}
}

// errTooLarge marks a body that ran past its limit.
var errTooLarge = errors.New("body exceeds its limit")

// writeBody streams r through Tink's encrypting writer (data key dek,
// associated data binding tenant, bucket, key and id) into the body blob,
// hashing the plaintext, and aborts the blob write on any failure.
func (s *Store) writeBody(ctx context.Context, tenant, bucket, key, id string, dek []byte, r io.Reader, maxSize int64) (*written, error) {
	cipher, err := newStreamCipher(dek)
	if err != nil {
		return nil, fmt.Errorf("stream cipher: %w", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw, err := s.bucket.NewWriter(wctx, bodyPath(tenant, bucket, id), &blob.WriterOptions{
		ContentType:    "application/octet-stream",
		BufferSize:     s.cfg.S3PartSize,
		MaxConcurrency: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("create body: %w", err)
	}
	abort := func(err error) (*written, error) {
		cancel() // a cancelled context makes Close discard the write
		_ = bw.Close()
		return nil, err
	}
	cw := &countingWriter{w: bw}
	ew, err := cipher.NewEncryptingWriter(cw, bodyAD(tenant, bucket, key, id))
	if err != nil {
		return abort(fmt.Errorf("encrypt body: %w", err))
	}
	if maxSize > 0 {
		r = &limitReader{r: r, left: maxSize}
	}
	h := newDigester()
	n, err := h.copy(ew, r)
	h.close()
	switch {
	case errors.Is(err, errTooLarge):
		return abort(s3Err(CodeEntityTooLarge, "Your proposed upload exceeds the maximum allowed size"))
	case err != nil:
		return abort(fmt.Errorf("upload body: %w", err))
	}
	if err := ew.Close(); err != nil {
		return abort(fmt.Errorf("encrypt body: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return abort(fmt.Errorf("upload body: %w", err))
	}
	if err := bw.Close(); err != nil {
		return nil, fmt.Errorf("store body: %w", err)
	}
	sha, md := h.sums()
	return &written{size: n, ctSize: cw.n, sha256: sha, md5: md}, nil
}

func (s *Store) deleteQuietly(ctx context.Context, path string) {
	_ = s.bucket.Delete(context.WithoutCancel(ctx), path)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// limitReader fails with errTooLarge once more than left bytes were read.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}

func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}
