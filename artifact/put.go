package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"gocloud.dev/blob"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// PutOptions are optional checks on an upload.
type PutOptions struct {
	// ExpectedSize, if positive, is the plaintext size the client declared
	// (its Content-Length): a shorter or longer stream is rejected.
	ExpectedSize int64
	// ExpectedSHA256, if set, is the hex SHA-256 the client declared.
	ExpectedSHA256 string
}

// copyBufSize is the plaintext copy buffer: a quarter of a segment.
const copyBufSize = 256 << 10

// Put stores the artifact (tenant, key, version) read from r, encrypted
// under a fresh data key, replacing any existing one. Nothing is visible
// until the whole stream has been stored: if r fails or ctx is cancelled,
// no artifact (and no new body) remains.
func (s *Store) Put(ctx context.Context, tenant, key, version string, r io.Reader) (*Info, error) {
	return s.PutWith(ctx, tenant, key, version, r, PutOptions{})
}

// PutWith is Put with checks on the stream's declared size and digest.
func (s *Store) PutWith(ctx context.Context, tenant, key, version string, r io.Reader, opts PutOptions) (*Info, error) {
	rf, err := s.ref(tenant, key, version)
	if err != nil {
		return nil, err
	}
	uploadID, err := s.newUploadID()
	if err != nil {
		return nil, err
	}
	dk, err := s.cfg.Keys.GenerateDataKey(ctx, tenant, keys.GenerateDataKeyInput{
		KeyID: s.cfg.KeyID, EncryptionContext: rf.encryptionContext(), KeySpec: keys.DataKeySpecAES256,
	})
	if err != nil {
		return nil, fmt.Errorf("generate data key: %w", err)
	}
	cipher, err := newStreamCipher(dk.Plaintext)
	clear(dk.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("stream cipher: %w", err)
	}

	body := rf.bodyDir() + uploadID
	size, ctSize, digest, err := s.writeBody(ctx, body, r, func(w io.Writer) (io.WriteCloser, error) {
		return cipher.NewEncryptingWriter(w, streamAD(rf.tenant, rf.key, rf.version))
	})
	if err != nil {
		return nil, err
	}
	if err := checkExpected(opts, size, digest); err != nil {
		s.deleteQuietly(ctx, body)
		return nil, err
	}

	// Commit the size and digest into the data key's encryption context.
	wrapped, err := s.cfg.Keys.ReEncrypt(ctx, tenant, keys.ReEncryptInput{
		CiphertextBlob: dk.CiphertextBlob, SourceEncryptionContext: rf.encryptionContext(),
		DestinationKeyID: dk.KeyID, DestinationEncryptionContext: rf.commitContext(size, digest),
	})
	if err != nil {
		s.deleteQuietly(ctx, body)
		return nil, fmt.Errorf("commit data key: %w", err)
	}
	m := &manifest{
		Format: formatV1, Tenant: rf.tenant, Key: rf.key, Version: rf.version, UploadID: uploadID,
		Body: body, Algorithm: algorithm, WrappedKey: wrapped.CiphertextBlob, KeyARN: wrapped.KeyID,
		KeyVersion: wrapped.KeyVersion, Size: size, CiphertextSize: ctSize, SHA256: digest,
		Created: s.cfg.Now().UTC(),
	}
	old, _ := s.readManifest(ctx, rf)
	if err := s.writeManifest(ctx, rf, m); err != nil {
		s.deleteQuietly(ctx, body)
		return nil, err
	}
	if old != nil && old.Body != body {
		s.deleteQuietly(ctx, old.Body)
	}
	// A concurrent upload may have committed after us: then our body is
	// unreachable and ours to delete.
	if cur, err := s.readManifest(ctx, rf); err == nil && cur.UploadID != uploadID {
		s.deleteQuietly(ctx, body)
	}
	return m.info(), nil
}

// writeBody streams r through the encrypting writer made by enc into the
// blob at path, and returns the plaintext size, ciphertext size and
// plaintext SHA-256. On any failure the blob write is aborted.
func (s *Store) writeBody(ctx context.Context, path string, r io.Reader, enc func(io.Writer) (io.WriteCloser, error)) (int64, int64, string, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bw, err := s.bucket.NewWriter(wctx, path, &blob.WriterOptions{
		ContentType:    "application/octet-stream",
		BufferSize:     s.cfg.S3PartSize,
		MaxConcurrency: 1,
	})
	if err != nil {
		return 0, 0, "", fmt.Errorf("create artifact body: %w", err)
	}
	abort := func(err error) (int64, int64, string, error) {
		cancel() // a cancelled context makes Close discard the write
		_ = bw.Close()
		return 0, 0, "", err
	}
	cw := &countingWriter{w: bw}
	ew, err := enc(cw)
	if err != nil {
		return abort(fmt.Errorf("encrypt artifact: %w", err))
	}
	h := sha256.New()
	buf := make([]byte, copyBufSize)
	n, err := io.CopyBuffer(ew, io.TeeReader(r, h), buf)
	if err != nil {
		return abort(fmt.Errorf("upload artifact: %w", err))
	}
	if err := ew.Close(); err != nil {
		return abort(fmt.Errorf("encrypt artifact: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return abort(fmt.Errorf("upload artifact: %w", err))
	}
	if err := bw.Close(); err != nil {
		return 0, 0, "", fmt.Errorf("store artifact body: %w", err)
	}
	return n, cw.n, hex.EncodeToString(h.Sum(nil)), nil
}

func checkExpected(opts PutOptions, size int64, digest string) error {
	if opts.ExpectedSize > 0 && size != opts.ExpectedSize {
		return tenantml.Errorf(tenantml.EINVALID, "artifact upload truncated or overlong: got %d bytes, declared %d", size, opts.ExpectedSize)
	}
	if opts.ExpectedSHA256 != "" && digest != opts.ExpectedSHA256 {
		return tenantml.Errorf(tenantml.EINVALID, "artifact upload does not match its declared SHA-256")
	}
	return nil
}

func (s *Store) writeManifest(ctx context.Context, rf ref, m *manifest) error {
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := s.bucket.WriteAll(ctx, rf.manifestPath(), data, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
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
