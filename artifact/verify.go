package artifact

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
)

// Pipelining of the plaintext hash: decryption fills chunks, which are
// handed both to the caller and to a hashing goroutine, so that SHA-256 (the
// slowest stage) runs beside decryption instead of after it. A fixed pool of
// chunks bounds memory (hashChunks × hashChunkSize).
const (
	hashChunkSize = 1 << 20
	hashChunks    = 4
)

// verifyingReader serves decrypted plaintext and, at the end of the stream,
// checks its size and SHA-256 against the manifest, returning an error
// wrapping ErrIntegrity instead of io.EOF on mismatch. Errors are sticky.
// It is not safe for concurrent use (as with any io.Reader).
type verifyingReader struct {
	src  io.Reader // the AEAD's decrypting reader
	body io.Closer // the blob reader under src
	want []byte
	size int64

	n    int64  // plaintext bytes produced so far
	cur  []byte // chunk being served
	pos  int
	free chan []byte // chunks the hasher has finished with
	work chan []byte // chunks to hash; closed at the end of the stream
	sum  chan []byte // the hasher's final digest
	done bool        // work is closed
	hash bool        // verify the SHA-256 (else only the size)
	err  error
}

// newVerifyingReader returns the reader; with hash false it checks only
// the size at the end (Config.SkipDigestOnRead).
func newVerifyingReader(src io.Reader, body io.Closer, want []byte, size int64, hash bool) *verifyingReader {
	v := &verifyingReader{
		src: src, body: body, want: want, size: size, hash: hash,
		free: make(chan []byte, hashChunks),
		work: make(chan []byte, hashChunks),
		sum:  make(chan []byte, 1),
	}
	for range hashChunks {
		v.free <- make([]byte, hashChunkSize)
	}
	go func() {
		h := sha256.New()
		for b := range v.work {
			h.Write(b)
			v.free <- b[:cap(b)]
		}
		v.sum <- h.Sum(nil)
	}()
	return v
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.pos < len(v.cur) {
		n := copy(p, v.cur[v.pos:])
		v.pos += n
		return n, nil
	}
	if v.err != nil {
		return 0, v.err
	}
	// The current chunk is consumed: every chunk in free is one the
	// caller is done with and the hasher has finished. Without hashing,
	// the consumed chunk goes straight back.
	if !v.hash && cap(v.cur) > 0 {
		v.free <- v.cur[:cap(v.cur)]
	}
	v.cur = nil
	buf := <-v.free
	n, err := io.ReadFull(v.src, buf)
	buf = buf[:n]
	v.n += int64(n)
	switch {
	case n > 0 && v.hash:
		v.work <- buf
	case n == 0:
		v.free <- buf[:cap(buf)]
		buf = nil
	}
	v.cur, v.pos = buf, 0
	switch {
	case v.n > v.size:
		v.fail(fmt.Errorf("%w: plaintext longer than recorded %d bytes", ErrIntegrity, v.size))
		v.cur = nil
		return 0, v.err
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		v.finish()
	case err != nil:
		var be bodyError
		if errors.As(err, &be) {
			v.fail(fmt.Errorf("read artifact body: %w", be.err))
		} else {
			// The AEAD refused a segment: tampered or truncated.
			v.fail(fmt.Errorf("%w: %w", ErrIntegrity, err))
		}
		v.cur = nil // never serve bytes of a chunk that failed
		return 0, v.err
	}
	return v.Read(p)
}

// finish ends the stream: it collects the digest and decides between
// io.EOF and an integrity error.
func (v *verifyingReader) finish() {
	v.stopHasher()
	got := <-v.sum
	switch {
	case v.n != v.size:
		v.err = fmt.Errorf("%w: plaintext is %d bytes, recorded %d", ErrIntegrity, v.n, v.size)
	case v.hash && subtle.ConstantTimeCompare(got, v.want) != 1:
		v.err = fmt.Errorf("%w: plaintext SHA-256 does not match the manifest", ErrIntegrity)
	default:
		v.err = io.EOF
	}
}

func (v *verifyingReader) fail(err error) {
	v.stopHasher()
	v.err = err
}

func (v *verifyingReader) stopHasher() {
	if !v.done {
		v.done = true
		close(v.work)
	}
}

// Close stops the hasher and closes the body reader.
func (v *verifyingReader) Close() error {
	v.stopHasher()
	if v.err == nil {
		v.err = errors.New("artifact reader closed")
	}
	v.cur = nil
	return v.body.Close()
}
