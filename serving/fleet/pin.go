package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
)

// checkPin enforces a model's pinned digest (a model created from a model
// package): the object must be byte for byte what the package recorded.
// When the store records the object's SHA-256 (and authenticates it on
// every read), the recorded one is compared before anything starts;
// otherwise (a multipart object) the returned opener hashes the plaintext
// as it streams and fails the read at its end on a mismatch, so a worker
// never starts on other bytes. A model without a pin gets its opener
// back unchanged.
func checkPin(m *serving.Model, model Model) (serving.Opener, error) {
	ct := m.PrimaryContainer
	if ct.ModelDataSHA256 == "" {
		return model.Opener, nil
	}
	mismatch := func(got string, size int64) error {
		return tenantml.Errorf(tenantml.EINVALID, "digest mismatch: the object is %d bytes with SHA-256 %s, but model package %s pinned %d bytes with SHA-256 %s (the object changed after the package was registered)",
			size, got, ct.ModelPackageName, ct.ModelDataSize, ct.ModelDataSHA256)
	}
	if model.SHA256 != "" {
		if model.SHA256 != ct.ModelDataSHA256 || model.Size != ct.ModelDataSize {
			return nil, mismatch(model.SHA256, model.Size)
		}
		return model.Opener, nil
	}
	if model.Size != ct.ModelDataSize {
		return nil, mismatch("(not recorded)", model.Size)
	}
	inner := model.Opener
	return serving.OpenerFunc(func(ctx context.Context) (io.ReadCloser, error) {
		r, err := inner.Open(ctx)
		if err != nil {
			return nil, err
		}
		return &pinnedReader{r: r, h: sha256.New(), want: ct.ModelDataSHA256, mismatch: mismatch}, nil
	}), nil
}

// pinnedReader hashes what it reads and turns the end of the stream into
// an error when the digest differs from the pinned one.
type pinnedReader struct {
	r        io.ReadCloser
	h        hash.Hash
	n        int64
	want     string
	mismatch func(string, int64) error
}

func (p *pinnedReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.h.Write(b[:n])
	p.n += int64(n)
	if err == io.EOF {
		if got := hex.EncodeToString(p.h.Sum(nil)); got != p.want {
			return n, p.mismatch(got, p.n)
		}
	}
	return n, err
}

func (p *pinnedReader) Close() error { return p.r.Close() }
