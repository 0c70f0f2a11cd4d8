package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/serving"
)

// checkPin enforces a model's pinned digest (a model created from a model
// package): what a worker loads must be byte for byte what the package
// recorded. The object's description is compared first, for a clear
// failure before any worker starts; then every open of the model checks
// the version it actually opened (the object may be replaced between the
// two): a single-PUT object's recorded SHA-256 (which every read
// authenticates), or, for a multipart object, which records none, the
// SHA-256 of its plaintext, hashed in full before the model is handed
// over and re-checked against the object reopened for delivery. A model
// without a pin gets its opener back unchanged.
func checkPin(m *serving.Model, model Model) (serving.Opener, error) {
	ct := m.PrimaryContainer
	if ct.ModelDataSHA256 == "" {
		return model.Opener, nil
	}
	p := pinned{sha: ct.ModelDataSHA256, size: ct.ModelDataSize, pkg: ct.ModelPackageName}
	if model.SHA256 != "" && (model.SHA256 != p.sha || model.Size != p.size) {
		return nil, p.mismatch(model.SHA256, model.Size)
	}
	if model.Size != p.size {
		return nil, p.mismatch("(not recorded)", model.Size)
	}
	inner := model.Opener
	return serving.OpenerFunc(func(ctx context.Context) (io.ReadCloser, error) { return p.open(ctx, inner) }), nil
}

// pinned is a model package's pin.
type pinned struct {
	sha  string
	size int64
	pkg  string
}

func (p pinned) mismatch(got string, size int64) error {
	return tenantml.Errorf(tenantml.EINVALID, "digest mismatch: the object is %d bytes with SHA-256 %s, but model package %s pinned %d bytes with SHA-256 %s (the object changed after the package was registered)",
		size, got, p.pkg, p.size, p.sha)
}

// open opens the model and checks the version it opened.
func (p pinned) open(ctx context.Context, inner serving.Opener) (io.ReadCloser, error) {
	rc, err := inner.Open(ctx)
	if err != nil {
		return nil, err
	}
	or, ok := rc.(*artifact.ObjectReader)
	if !ok || or.Object == nil {
		// A source that describes no version: verify as it streams.
		return &pinnedReader{r: rc, h: sha256.New(), p: p}, nil
	}
	obj := or.Object
	if obj.SHA256 != "" {
		if obj.SHA256 != p.sha || obj.Size != p.size {
			_ = rc.Close()
			return nil, p.mismatch(obj.SHA256, obj.Size)
		}
		return rc, nil
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	_ = rc.Close()
	if err != nil {
		return nil, fmt.Errorf("verify model digest: %w", err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != p.sha || n != p.size {
		return nil, p.mismatch(got, n)
	}
	again, err := inner.Open(ctx)
	if err != nil {
		return nil, err
	}
	if ar, ok := again.(*artifact.ObjectReader); !ok || ar.Object == nil || ar.Object.ETag != obj.ETag || !ar.Object.LastModified.Equal(obj.LastModified) || ar.Object.Size != obj.Size {
		_ = again.Close()
		return nil, tenantml.Errorf(tenantml.EUNAVAILABLE, "the model's object changed while its digest was verified")
	}
	return again, nil
}

// pinnedReader hashes what it reads and turns the end of the stream into
// an error when the digest differs from the pin.
type pinnedReader struct {
	r io.ReadCloser
	h hash.Hash
	n int64
	p pinned
}

func (r *pinnedReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.h.Write(b[:n])
	r.n += int64(n)
	if err == io.EOF {
		if got := hex.EncodeToString(r.h.Sum(nil)); got != r.p.sha || r.n != r.p.size {
			return n, r.p.mismatch(got, r.n)
		}
	}
	return n, err
}

func (r *pinnedReader) Close() error { return r.r.Close() }
