package artifact

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// digestSlots and digestBuf size the digester's ring: 4 × 256 KiB.
const (
	digestSlots = 4
	digestBuf   = 256 << 10
)

// digester copies a body to its encrypting writer while computing the
// plaintext's SHA-256 and MD5 (S3's ETag) on two other goroutines, so an
// upload costs the slowest of encryption, SHA-256 and MD5 rather than
// their sum. A ring of buffers bounds memory: a buffer is reused once the
// writer and both hashes are done with it.
type digester struct {
	sha, md hash.Hash
	slots   [digestSlots]digestSlot
	shaq    chan *digestSlot
	mdq     chan *digestSlot
	done    chan struct{}
}

type digestSlot struct {
	buf  []byte
	n    int
	free chan struct{} // one token per hash done with buf
	used bool
}

func newDigester() *digester {
	d := &digester{sha: sha256.New(), md: md5.New(),
		shaq: make(chan *digestSlot, digestSlots), mdq: make(chan *digestSlot, digestSlots), done: make(chan struct{}, 2)}
	for i := range d.slots {
		d.slots[i] = digestSlot{buf: make([]byte, digestBuf), free: make(chan struct{}, 2)}
	}
	go d.hash(d.sha, d.shaq)
	go d.hash(d.md, d.mdq)
	return d
}

func (d *digester) hash(h hash.Hash, q <-chan *digestSlot) {
	for s := range q {
		h.Write(s.buf[:s.n])
		s.free <- struct{}{}
	}
	d.done <- struct{}{}
}

// copy reads r to EOF into w, hashing what it read, and returns the number
// of bytes copied.
func (d *digester) copy(w io.Writer, r io.Reader) (int64, error) {
	var total int64
	for i := 0; ; i = (i + 1) % digestSlots {
		s := &d.slots[i]
		if s.used {
			<-s.free
			<-s.free
		}
		n, rerr := fill(r, s.buf)
		if n > 0 {
			s.n, s.used = n, true
			d.shaq <- s
			d.mdq <- s
			if _, err := w.Write(s.buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// fill reads into p until it is full, r ends (io.EOF) or fails.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// close stops the hashers and waits for them; call it once, after copy.
func (d *digester) close() {
	close(d.shaq)
	close(d.mdq)
	<-d.done
	<-d.done
}

// sums returns the hex SHA-256 and MD5 of what copy read; only after
// close.
func (d *digester) sums() (sha string, md string) {
	return hex.EncodeToString(d.sha.Sum(nil)), hex.EncodeToString(d.md.Sum(nil))
}
