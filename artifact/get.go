package artifact

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/tenantml/tenantml/keys"
)

// Range is a byte range of an object, as in an HTTP Range header: bytes
// Start through End inclusive (End < 0: through the last byte), or, when
// Suffix > 0, the last Suffix bytes.
type Range struct {
	Start, End int64
	Suffix     int64
}

// resolve returns the range's offset and length in an object of size
// bytes; InvalidRange when it selects nothing.
func (g Range) resolve(size int64) (int64, int64, error) {
	bad := s3Err(CodeInvalidRange, "The requested range is not satisfiable")
	switch {
	case g.Suffix > 0:
		n := min(g.Suffix, size)
		if n == 0 {
			return 0, 0, bad
		}
		return size - n, n, nil
	case g.Start < 0 || g.Start >= size || (g.End >= 0 && g.End < g.Start):
		return 0, 0, bad
	case g.End < 0 || g.End >= size:
		return g.Start, size - g.Start, nil
	default:
		return g.Start, g.End - g.Start + 1, nil
	}
}

// ObjectReader streams an object's plaintext. Read it to io.EOF before
// trusting the bytes: an integrity failure replaces io.EOF with an error
// wrapping ErrIntegrity. Close it even after an error.
type ObjectReader struct {
	io.ReadCloser
	Object *Object
	// Offset and Length are the bytes served: the whole object, or the
	// requested range (then Ranged is set, for a 206 and Content-Range).
	Offset, Length int64
	Ranged         bool
}

// GetObject opens the object for reading, all of it or rng. Only the
// segments the range covers are read and decrypted, in parallel; every one
// is authenticated before a byte of it is served.
func (s *Store) GetObject(ctx context.Context, bucket, key string, rng *Range) (*ObjectReader, error) {
	for attempt := 0; ; attempt++ {
		or, err := s.getObject(ctx, bucket, key, rng)
		// A body deleted between reading the index and opening it belongs
		// to an object replaced meanwhile: read the new one.
		if errors.Is(err, errBodyMissing) && attempt < 2 {
			continue
		}
		return or, err
	}
}

func (s *Store) getObject(ctx context.Context, bucket, key string, rng *Range) (*ObjectReader, error) {
	r, d, err := s.loadObject(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	off, n := int64(0), r.Size
	if rng != nil {
		if off, n, err = rng.resolve(r.Size); err != nil {
			return nil, err
		}
	}
	dk, err := s.cfg.Keys.Decrypt(ctx, r.Tenant, keys.DecryptInput{
		CiphertextBlob: d.WrappedKey, EncryptionContext: commitContext(r.Tenant, r.Bucket, r.Key, d)})
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	mr := &multiReader{s: s, ctx: ctx, rec: r, doc: d, dek: dk.Plaintext, off: off, left: n}
	if s.cfg.RehashOnRead && rng == nil && !d.Multipart {
		mr.want, _ = hex.DecodeString(d.SHA256)
	}
	if err := mr.next(); err != nil {
		mr.Close()
		return nil, err
	}
	return &ObjectReader{ReadCloser: mr, Object: objectOf(r, d), Offset: off, Length: n, Ranged: rng != nil}, nil
}

// multiReader serves a byte range of an object body after body, opening
// each body's decrypting reader only when the previous one is drained, so
// at most one body's pipeline (a few segment buffers) is in memory.
type multiReader struct {
	s    *Store
	ctx  context.Context
	rec  *ObjectRecord
	doc  *objectDoc
	dek  []byte
	want []byte // SHA-256 to recheck (RehashOnRead), else nil
	pool bufferPool

	i    int   // next body
	off  int64 // plaintext offset of the next byte, object-wide
	base int64 // plaintext offset of body i
	left int64 // bytes still to serve
	cur  *decryptingReader
	err  error
}

// next opens the body holding offset off, or ends the stream.
func (m *multiReader) next() error {
	if m.cur != nil {
		err := m.cur.Close()
		m.cur = nil
		if err != nil {
			return fmt.Errorf("close body: %w", err)
		}
	}
	for m.i < len(m.doc.Bodies) {
		b := m.doc.Bodies[m.i]
		// An empty object still has one body, whose single (empty) segment
		// must authenticate.
		if m.off < m.base+b.Size || (m.rec.Size == 0 && m.i == 0) {
			break
		}
		m.base += b.Size
		m.i++
	}
	if m.i >= len(m.doc.Bodies) || (m.left == 0 && m.rec.Size != 0) {
		return io.EOF
	}
	b := m.doc.Bodies[m.i]
	lay := layout{segment: segmentSize, size: b.Size}
	win := lay.full()
	if local, n := m.off-m.base, min(m.left, b.Size-(m.off-m.base)); n > 0 && (local != 0 || n != b.Size) {
		win = lay.window(local, n)
	}
	src, err := m.s.openBody(m.ctx, bodyPath(m.rec.Tenant, m.rec.Bucket, b.ID), lay, win)
	if err != nil {
		return err
	}
	opts := decryptOptions{workers: m.s.decryptWorkers(), rehash: m.want != nil, want: m.want, pool: &m.pool}
	dr, err := newDecryptingReader(src, m.dek, bodyAD(m.rec.Tenant, m.rec.Bucket, m.rec.Key, b.ID), lay, win, opts)
	if err != nil {
		return err
	}
	m.cur = dr
	m.base += b.Size
	m.off += win.length
	m.left -= win.length
	m.i++
	return nil
}

func (m *multiReader) Read(p []byte) (int, error) {
	for m.err == nil {
		if m.cur == nil {
			m.err = io.EOF
			break
		}
		n, err := m.cur.Read(p)
		if err == io.EOF {
			m.err = m.next()
			if n > 0 {
				return n, nil
			}
			continue
		}
		if err != nil {
			m.err = err
		}
		return n, err
	}
	return 0, m.err
}

// WriteTo hands each body's plaintext to w without an extra copy.
func (m *multiReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for m.err == nil && m.cur != nil {
		n, err := m.cur.WriteTo(w)
		total += n
		if err != nil {
			m.err = err
			return total, err
		}
		m.err = m.next()
	}
	if m.err == io.EOF || m.err == nil {
		return total, nil
	}
	return total, m.err
}

// Close releases the current body and wipes the data key.
func (m *multiReader) Close() error {
	clear(m.dek)
	if m.err == nil {
		m.err = errReaderClosed
	}
	if m.cur != nil {
		err := m.cur.Close()
		m.cur = nil
		return err
	}
	return nil
}

// openBody opens the blob at path for decrypting win: a file is mapped
// (or read with pread); an S3 body is streamed from the window's first
// segment, with its header fetched first when that is not segment 0.
func (s *Store) openBody(ctx context.Context, path string, lay layout, win window) (body, error) {
	start, length := int64(0), int64(-1)
	if win.first > 0 {
		start = lay.offset(win.first)
	}
	if win.last < lay.segments()-1 { // else to the end, so the reader sees where the body ends
		length = lay.offset(win.last) + int64(lay.plainLen(win.last)+tagSize) - start
	}
	var file *os.File
	br, err := s.bucket.NewRangeReader(ctx, path, start, length, &blob.ReaderOptions{BeforeRead: func(as func(any) bool) error {
		as(&file)
		return nil
	}})
	if err != nil {
		return body{}, bodyOpenErr(err)
	}
	if file != nil {
		if !s.cfg.NoMmap {
			if m, unmap := mapFile(file); m != nil {
				br.Close() // the mapping outlives the file
				return body{mapped: m, close: unmap}, nil
			}
		}
		return body{at: file, close: br.Close}, nil
	}
	if start == 0 {
		return body{r: br, close: br.Close}, nil
	}
	hdr, err := s.bucket.NewRangeReader(ctx, path, 0, headerSize, nil)
	if err != nil {
		br.Close()
		return body{}, bodyOpenErr(err)
	}
	h, err := io.ReadAll(hdr)
	hdr.Close()
	if err != nil {
		br.Close()
		return body{}, fmt.Errorf("read body header: %w", err)
	}
	return body{r: br, header: h, close: br.Close}, nil
}

// bodyOpenErr maps a missing body to an integrity error: the index names
// it, so it was deleted or lost under the object.
func bodyOpenErr(err error) error {
	if gcerrors.Code(err) == gcerrors.NotFound {
		return fmt.Errorf("%w: %w", errBodyMissing, err)
	}
	return fmt.Errorf("open body: %w", err)
}

// decryptWorkers is Config.DecryptWorkers or defaultDecryptWorkers.
func (s *Store) decryptWorkers() int {
	if s.cfg.DecryptWorkers > 0 {
		return s.cfg.DecryptWorkers
	}
	return defaultDecryptWorkers()
}

// errBodyMissing reports a body the index names but the blob store does
// not have: replaced or deleted under the reader, or lost.
var errBodyMissing = fmt.Errorf("%w: body missing", ErrIntegrity)
