package artifact

// Reading a body: parallel decryption of Tink's AES-GCM-HKDF streaming
// format, of the whole body or of the segments a byte range needs.
//
// Why this is written here and not left to Tink: Tink Go's decrypting
// reader opens one segment at a time on the caller's goroutine, copies
// every byte twice and can only start at the beginning, which caps a read
// at one core's AES-GCM speed and makes a range read decrypt everything
// before it. Segments are independent, so they can be opened on several
// cores at once and a range needs only its own; Tink offers no API for
// either. The format is Tink's published one
// (developers.google.com/tink/streaming-aead/aes_gcm_hkdf_streaming):
//
//	header   = length byte (40) || salt (32) || nonce prefix (7)
//	key      = HKDF-SHA256(data key, salt, associated data), 32 bytes
//	segment i = AES-GCM(key, nonce = prefix || uint32be(i) || last, plaintext)
//
// with 1 MiB ciphertext segments, the first one shortened by the header,
// and last = 1 only on the final segment, which is what detects truncation
// and extension. Encryption stays Tink's (PutObject uses its writer); this
// file only reads, with Tink's HKDF and crypto/cipher's AES-GCM, and the
// tests check it against Tink's own reader at every segment boundary and
// under fuzzed mutations: it returns exactly the plaintext Tink returns, or
// an error, never other bytes.
//
// Where the time goes (see docs/keys.md, "Performance", and
// bench/artifact/README.md): a plain read copies page cache to the caller
// once; this reader must run AES-GCM over every byte as well. When the
// body is a file, it is memory-mapped and the workers decrypt straight
// from the page cache into their segment buffers (no pread copy); the
// reader then copies plaintext to the caller (Read) or hands it over
// without a copy (WriteTo). What decides whether the cores are all busy
// is the hand-over between goroutines: a goroutine woken while every core
// is decrypting waits for one, so the pipeline has no goroutine between
// the workers and the reader (each hand-over is one channel token), and a
// reader whose next segment is not ready opens the next unclaimed one
// itself rather than sleep.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"runtime"
	"runtime/debug"
	"sync"

	tinksubtle "github.com/tink-crypto/tink-go/v2/subtle"
)

// Format constants of Tink's AES-GCM-HKDF streaming AEAD with a 32-byte key.
const (
	saltSize        = dekSize
	noncePrefixSize = 7
	nonceSize       = 12
	tagSize         = 16
	headerSize      = 1 + saltSize + noncePrefixSize
)

// maxDecryptWorkers bounds the goroutines decrypting one read, the
// reader included (and so its memory: two segments each).
const maxDecryptWorkers = 4

// defaultDecryptWorkers is one worker per available core but one, from 1
// to maxDecryptWorkers−1: the reader decrypts too whenever it would
// otherwise wait, and with a worker on every core a reader woken by a
// worker would wait for a core (on two cores one worker and the reader
// read faster than two workers and the reader: bench/artifact/README.md).
func defaultDecryptWorkers() int {
	return max(1, min(runtime.GOMAXPROCS(0), maxDecryptWorkers)-1)
}

// ErrIntegrity reports a body whose bytes do not authenticate: a tampered
// or truncated body, a manifest that does not match it, or a plaintext
// whose size or SHA-256 differs from the recorded one. Test with
// errors.Is.
var ErrIntegrity = errors.New("object integrity check failed")

// layout is the segment geometry of one ciphertext: given the plaintext
// size (authenticated through the data key's encryption context) it fixes
// how many segments there are, where each one ends and which one is last.
type layout struct {
	segment int   // ciphertext segment size
	size    int64 // plaintext size
}

// firstPlain and plain are the plaintext capacities of the first and the
// other segments.
func (l layout) firstPlain() int64 { return int64(l.segment - tagSize - headerSize) }
func (l layout) plain() int64      { return int64(l.segment - tagSize) }

// segments is the number of segments; an empty plaintext has one (a tag).
func (l layout) segments() int64 {
	if l.size <= l.firstPlain() {
		return 1
	}
	return 1 + (l.size-l.firstPlain()+l.plain()-1)/l.plain()
}

// plainLen is the plaintext length of segment i.
func (l layout) plainLen(i int64) int {
	if i == 0 {
		return int(min(l.size, l.firstPlain()))
	}
	return int(min(l.plain(), l.size-l.firstPlain()-(i-1)*l.plain()))
}

// plainOffset is where segment i's plaintext starts.
func (l layout) plainOffset(i int64) int64 {
	if i == 0 {
		return 0
	}
	return l.firstPlain() + (i-1)*l.plain()
}

// segmentOf is the segment holding plaintext offset p (0 ≤ p < size).
func (l layout) segmentOf(p int64) int64 {
	if p < l.firstPlain() {
		return 0
	}
	return 1 + (p-l.firstPlain())/l.plain()
}

// offset is where segment i's ciphertext starts.
func (l layout) offset(i int64) int64 {
	if i == 0 {
		return headerSize
	}
	return i * int64(l.segment)
}

// ciphertextSize is the size of the whole body.
func (l layout) ciphertextSize() int64 {
	return headerSize + l.size + tagSize*l.segments()
}

// check refuses geometries the format cannot express.
func (l layout) check() error {
	if l.size < 0 || l.firstPlain() <= 0 {
		return fmt.Errorf("invalid layout: size %d, segment %d", l.size, l.segment)
	}
	if l.segments() >= math.MaxUint32 {
		return fmt.Errorf("plaintext of %d bytes needs more segments than the format allows", l.size)
	}
	return nil
}

// window is the part of a body one read serves: segments first..last and,
// of their plaintext, length bytes starting skip bytes into the first.
type window struct {
	first, last int64
	skip        int64
	length      int64
}

// full is the window of the whole plaintext.
func (l layout) full() window {
	return window{first: 0, last: l.segments() - 1, length: l.size}
}

// window is the window of plaintext bytes [off, off+n); n > 0 and
// off+n ≤ size.
func (l layout) window(off, n int64) window {
	first := l.segmentOf(off)
	return window{first: first, last: l.segmentOf(off + n - 1), skip: off - l.plainOffset(first), length: n}
}

// body is where a decryptingReader reads ciphertext from, best first:
// the whole body mapped in memory, random access, or a stream.
type body struct {
	mapped []byte      // the whole body (mmap of a file), or nil
	at     io.ReaderAt // random access, or nil
	// r is the stream when there is neither: it starts at the window's
	// first segment, or at the header when header is nil.
	r io.Reader
	// header is the body's header when r starts after it.
	header []byte
	// close releases what the body holds (file, mapping, connection).
	close func() error
}

// decryptOptions tune a decryptingReader.
type decryptOptions struct {
	workers int    // decryption goroutines, at least 1
	rehash  bool   // also recompute the plaintext's SHA-256 (full windows only)
	want    []byte // the SHA-256 to compare with when rehashing
	// pool, if set, lends segment buffers and gets them back at Close, so
	// that readers opened one after another (the parts of an object)
	// reuse one set of buffers.
	pool *bufferPool
}

// bufferPool holds segment buffers between the readers of one object.
// It is not safe for concurrent use: one reader at a time borrows.
type bufferPool struct{ free [][]byte }

// get returns a buffer of size bytes, reused if one is free.
func (p *bufferPool) get(size int64) []byte {
	if p != nil {
		for len(p.free) > 0 {
			b := p.free[len(p.free)-1]
			p.free = p.free[:len(p.free)-1]
			if int64(cap(b)) >= size {
				return b[:size]
			}
		}
	}
	return make([]byte, size)
}

// slot is one segment buffer of the pipeline's ring. Segment i of the
// window uses slot (i-first) mod depth, so slots are filled and served in
// segment order. Two single-token channels hand a slot back and forth:
// free holds a token while the slot may be filled (the reader, or the
// hasher, is done with its previous segment), ready holds one once a
// worker (or the reader, see await) has set plain or err. Whoever holds the token owns the slot's
// fields.
type slot struct {
	buf   []byte
	free  chan struct{}
	ready chan struct{}
	index int64
	ct    []byte // ciphertext: in buf, or in the mapping
	plain []byte // authenticated plaintext, in buf
	err   error
}

// decryptingReader serves the plaintext of a window of a body. Workers —
// and the reader, whenever its next segment is not ready — claim the
// window's segments in order, each into the next slot of a fixed ring
// once the reader has freed it, read it when the body is a stream (under
// the claim lock, so the stream is consumed in order), and open it; Read
// hands the slots out in order. There is no other
// goroutine between the reader and the workers: every hand-over is one
// channel token, so the pipeline does not stall on a goroutine the
// scheduler has not run yet. Memory is bounded by the ring. A segment
// that does not authenticate is never served; the stream ends with io.EOF
// only when every segment of the window has authenticated, the window's
// bytes were all served and — if the window reaches the body's end — the
// body ended exactly where the layout says. Errors are sticky. Read,
// WriteTo and Close must not be called concurrently (as with any
// io.Reader).
type decryptingReader struct {
	src    body
	aead   cipher.AEAD
	prefix []byte
	lay    layout
	win    window
	opts   decryptOptions

	slots []*slot
	done  chan struct{}  // closed by Close
	wg    sync.WaitGroup // workers and hasher

	// turn is the claim lock, a one-token channel rather than a
	// sync.Mutex: a worker holds it while it waits for its slot, long
	// enough to put a Mutex into starvation mode, whose Unlock yields
	// the unlocking worker's processor on every hand-over.
	turn    chan struct{}
	claim   int64 // next segment a worker takes (holding turn)
	stopped bool  // a streamed body failed: claim no further (holding turn)

	hashq chan *slot  // to the hasher, in order; nil without rehash
	sum   chan []byte // the hasher's digest

	cur    *slot
	serve  int64 // next segment to serve
	pos    int   // next byte of cur.plain to serve
	end    int   // end of cur.plain's served part
	n      int64
	err    error
	closed bool
}

// newDecryptingReader reads the body's header, derives the segment key
// from dek and ad, and starts the pipeline over win. dek is not retained.
// The reader owns src: Close releases it, also when this fails.
func newDecryptingReader(src body, dek, ad []byte, lay layout, win window, opts decryptOptions) (_ *decryptingReader, err error) {
	defer func() {
		if err != nil && src.close != nil {
			_ = src.close()
		}
	}()
	if err := lay.check(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrIntegrity, err)
	}
	if win.first < 0 || win.first > win.last || win.last >= lay.segments() {
		return nil, fmt.Errorf("invalid window %d..%d of %d segments", win.first, win.last, lay.segments())
	}
	hdr, err := src.readHeader()
	if err != nil {
		return nil, err
	}
	if hdr[0] != headerSize {
		return nil, fmt.Errorf("%w: header length byte is %d, want %d", ErrIntegrity, hdr[0], headerSize)
	}
	key, err := tinksubtle.ComputeHKDF("SHA256", dek, hdr[1:1+saltSize], ad, dekSize)
	if err != nil {
		return nil, fmt.Errorf("derive segment key: %w", err)
	}
	block, err := aes.NewCipher(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("segment cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("segment cipher: %w", err)
	}
	count := win.last - win.first + 1
	workers := int(min(int64(max(1, opts.workers)), count))
	depth := int(min(int64(2*workers+2), count))
	bufSize := min(int64(lay.segment), lay.ciphertextSize())
	r := &decryptingReader{
		src: src, aead: aead, prefix: append([]byte(nil), hdr[1+saltSize:]...), lay: lay, win: win, opts: opts,
		slots: make([]*slot, depth),
		done:  make(chan struct{}),
		turn:  make(chan struct{}, 1),
		claim: win.first,
		serve: win.first,
	}
	for i := range r.slots {
		s := &slot{buf: opts.pool.get(bufSize), free: make(chan struct{}, 1), ready: make(chan struct{}, 1)}
		s.free <- struct{}{}
		r.slots[i] = s
	}
	r.wg.Add(workers)
	if opts.rehash {
		r.hashq = make(chan *slot, depth)
		r.sum = make(chan []byte, 1)
		r.wg.Add(1)
		go r.hash(r.hashq, sha256.New())
	}
	for range workers {
		go r.work()
	}
	return r, nil
}

// readHeader returns the body's header.
func (b *body) readHeader() (_ []byte, err error) {
	if b.mapped != nil {
		// As in the workers: a mapped file truncated under us faults.
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%w: body changed while it was read: %v", ErrIntegrity, p)
			}
		}()
	}
	hdr := make([]byte, headerSize)
	switch {
	case b.header != nil:
		if len(b.header) != headerSize {
			return nil, fmt.Errorf("%w: body ends inside the header", ErrIntegrity)
		}
		copy(hdr, b.header)
		return hdr, nil
	case b.mapped != nil:
		if len(b.mapped) < headerSize {
			return nil, fmt.Errorf("%w: body ends inside the header", ErrIntegrity)
		}
		copy(hdr, b.mapped)
		return hdr, nil
	case b.at != nil:
		return hdr, readFullAt(b.at, hdr, 0, "header")
	default:
		return hdr, readFull(b.r, hdr, "header")
	}
}

// readFull reads len(p) bytes of the body. An early end is an integrity
// failure (the body is shorter than its layout); anything else is I/O.
func readFull(body io.Reader, p []byte, what string) error {
	_, err := io.ReadFull(body, p)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: body ends inside the %s", ErrIntegrity, what)
	default:
		return fmt.Errorf("read body: %w", err)
	}
}

// readFullAt is readFull at offset off of a ReaderAt.
func readFullAt(at io.ReaderAt, p []byte, off int64, what string) error {
	n, err := at.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		return fmt.Errorf("%w: body ends inside the %s", ErrIntegrity, what)
	}
	return fmt.Errorf("read body: %w", err)
}

// random reports whether workers fetch their own segments.
func (r *decryptingReader) random() bool { return r.src.mapped != nil || r.src.at != nil }

// slotOf is the slot of segment i.
func (r *decryptingReader) slotOf(i int64) *slot {
	return r.slots[(i-r.win.first)%int64(len(r.slots))]
}

// work claims and opens segments until the window is exhausted, a
// streamed body fails or the reader is closed.
func (r *decryptingReader) work() {
	defer r.wg.Done()
	// A mapped file truncated under us faults on access: make that a
	// recoverable panic of this goroutine rather than a crash.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var nonce [nonceSize]byte
	copy(nonce[:], r.prefix)
	final := r.lay.segments() - 1
	for {
		s := r.take(final)
		if s == nil {
			return
		}
		if s.err == nil {
			s.err = r.open(s, final, &nonce)
		}
		s.ready <- struct{}{} // never blocks: the slot's ready token was taken before it was freed
	}
}

// take claims the next segment and waits for its slot; for a streamed
// body it also reads the segment's ciphertext, in order. It returns nil
// when there is nothing left to claim or the reader is closed.
func (r *decryptingReader) take(final int64) *slot {
	select {
	case r.turn <- struct{}{}:
	case <-r.done:
		return nil
	}
	defer func() { <-r.turn }()
	if r.stopped || r.claim > r.win.last {
		return nil
	}
	s := r.slotOf(r.claim)
	// Slots are freed in segment order, so waiting for this one while
	// holding turn delays no other worker: the next slot frees after it.
	select {
	case <-s.free:
	case <-r.done:
		return nil
	}
	return r.claimed(s, final)
}

// tryTake is take for the reader: it claims the next segment only if
// nobody holds turn and its slot is free, and never waits.
func (r *decryptingReader) tryTake(final int64) *slot {
	select {
	case r.turn <- struct{}{}:
	default:
		return nil
	}
	defer func() { <-r.turn }()
	if r.stopped || r.claim > r.win.last {
		return nil
	}
	s := r.slotOf(r.claim)
	select {
	case <-s.free:
	default:
		return nil
	}
	return r.claimed(s, final)
}

// claimed records that s now holds the next segment and, for a streamed
// body, reads its ciphertext. The caller holds turn and s's free token.
func (r *decryptingReader) claimed(s *slot, final int64) *slot {
	i := r.claim
	r.claim++
	s.index, s.ct, s.plain, s.err = i, nil, nil, nil
	if r.random() {
		return s
	}
	s.ct = s.buf[:r.lay.plainLen(i)+tagSize]
	s.err = readFull(r.src.r, s.ct, fmt.Sprintf("segment %d", i))
	if s.err == nil && i == final {
		s.err = r.checkEnd()
	}
	if s.err != nil {
		r.stopped = true
	}
	return s
}

// await returns once s is ready. Until then the reader, rather than
// sleep, opens the next unclaimed segment itself when its slot is free:
// on a machine whose cores are all busy decrypting, a woken reader may
// wait long for a core, and a reader that decrypts needs no wake-up.
func (r *decryptingReader) await(s *slot) {
	final := r.lay.segments() - 1
	for {
		select {
		case <-s.ready:
			return
		default:
		}
		h := r.tryTake(final)
		if h == nil {
			<-s.ready
			return
		}
		if h.err == nil {
			h.err = r.openHere(h, final)
		}
		h.ready <- struct{}{}
	}
}

// openHere is open on the reader's goroutine, which, like the workers,
// turns a fault on a mapping truncated under it into a recoverable panic.
func (r *decryptingReader) openHere(s *slot, final int64) error {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var nonce [nonceSize]byte
	copy(nonce[:], r.prefix)
	return r.open(s, final, &nonce)
}

// open fetches (with random access) and authenticates-and-decrypts s.
func (r *decryptingReader) open(s *slot, final int64, nonce *[nonceSize]byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.plain = nil
			err = fmt.Errorf("%w: body changed while it was read (segment %d): %v", ErrIntegrity, s.index, p)
		}
	}()
	if r.random() {
		if err := r.fetch(s, final); err != nil {
			return err
		}
	}
	binary.BigEndian.PutUint32(nonce[noncePrefixSize:], uint32(s.index))
	nonce[nonceSize-1] = 0
	if s.index == final {
		nonce[nonceSize-1] = 1
	}
	s.plain, err = r.aead.Open(s.buf[:0], nonce[:], s.ct, nil)
	if err != nil {
		s.plain = nil
		return fmt.Errorf("%w: segment %d does not authenticate", ErrIntegrity, s.index)
	}
	return nil
}

// fetch points s.ct at its ciphertext — in the mapping, or read into
// s.buf — and, for the final segment, checks that the body ends there.
func (r *decryptingReader) fetch(s *slot, final int64) error {
	n := int64(r.lay.plainLen(s.index) + tagSize)
	off := r.lay.offset(s.index)
	if m := r.src.mapped; m != nil {
		if off+n > int64(len(m)) {
			return fmt.Errorf("%w: body ends inside segment %d", ErrIntegrity, s.index)
		}
		s.ct = m[off : off+n : off+n]
	} else {
		s.ct = s.buf[:n]
		if err := readFullAt(r.src.at, s.ct, off, fmt.Sprintf("segment %d", s.index)); err != nil {
			return err
		}
	}
	if s.index == final {
		return r.checkEnd()
	}
	return nil
}

// checkEnd verifies that the body ends right after the last segment, so
// that an extended body fails before its last segment is served.
func (r *decryptingReader) checkEnd() error {
	end := r.lay.ciphertextSize()
	if r.src.mapped != nil {
		if int64(len(r.src.mapped)) > end {
			return fmt.Errorf("%w: body is longer than its recorded size", ErrIntegrity)
		}
		return nil
	}
	var one [1]byte
	var k int
	var err error
	if r.src.at != nil {
		k, err = r.src.at.ReadAt(one[:], end)
	} else {
		k, err = io.ReadFull(r.src.r, one[:])
	}
	switch {
	case k > 0:
		return fmt.Errorf("%w: body is longer than its recorded size", ErrIntegrity)
	case err != io.EOF:
		return fmt.Errorf("read body: %w", err)
	}
	return nil
}

// hash digests served segments in order and frees their slots.
func (r *decryptingReader) hash(q <-chan *slot, h hash.Hash) {
	defer r.wg.Done()
	for s := range q {
		h.Write(s.plain)
		s.free <- struct{}{}
	}
	r.sum <- h.Sum(nil)
}

var errReaderClosed = errors.New("object reader closed")

// Read serves plaintext in order.
func (r *decryptingReader) Read(p []byte) (int, error) {
	for r.cur == nil || r.pos == r.end {
		if r.err != nil {
			return 0, r.err
		}
		r.advance()
	}
	n := copy(p, r.cur.plain[r.pos:r.end])
	r.pos += n
	return n, nil
}

// WriteTo writes the plaintext to w without the intermediate copy Read
// makes; io.Copy uses it.
func (r *decryptingReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.cur != nil && r.pos < r.end {
			k, err := w.Write(r.cur.plain[r.pos:r.end])
			r.pos += k
			total += int64(k)
			if err != nil {
				return total, err
			}
			continue
		}
		if r.err == io.EOF {
			return total, nil
		}
		if r.err != nil {
			return total, r.err
		}
		r.advance()
	}
}

// advance frees the current segment's slot and waits for the next
// segment, or ends the stream.
func (r *decryptingReader) advance() {
	r.release(r.cur)
	r.cur, r.pos, r.end = nil, 0, 0
	if r.serve > r.win.last {
		r.finish()
		return
	}
	s := r.slotOf(r.serve)
	// Some worker (or await itself) has claimed or will claim r.serve:
	// its slot was freed when segment r.serve-depth was released, and a
	// worker stops early only after signalling the segment that failed,
	// which comes first.
	r.await(s)
	if s.err == nil && s.index != r.serve {
		s.err = fmt.Errorf("decrypt pipeline: slot holds segment %d, want %d", s.index, r.serve)
	}
	if s.err != nil {
		r.fail(s.err)
		return
	}
	if s.index == r.win.first {
		r.pos = int(min(r.win.skip, int64(len(s.plain))))
	}
	r.end = int(min(int64(len(s.plain)), int64(r.pos)+r.win.length-r.n))
	r.n += int64(r.end - r.pos)
	r.serve++
	r.cur = s
}

// release frees s's slot, through the hasher if rehashing.
func (r *decryptingReader) release(s *slot) {
	if s == nil {
		return
	}
	if r.hashq != nil {
		r.hashq <- s
		return
	}
	s.free <- struct{}{}
}

// finish decides between io.EOF and an integrity error once every segment
// of the window has been served.
func (r *decryptingReader) finish() {
	if r.n != r.win.length {
		r.fail(fmt.Errorf("%w: served %d bytes, the window holds %d", ErrIntegrity, r.n, r.win.length))
		return
	}
	if r.hashq != nil {
		close(r.hashq)
		r.hashq = nil
		if subtle.ConstantTimeCompare(<-r.sum, r.opts.want) != 1 {
			r.err = fmt.Errorf("%w: plaintext SHA-256 does not match the manifest", ErrIntegrity)
			return
		}
	}
	r.err = io.EOF
}

// fail makes err sticky and stops the hasher.
func (r *decryptingReader) fail(err error) {
	r.err = err
	if r.hashq != nil {
		close(r.hashq)
		r.hashq = nil
	}
}

// Close stops the pipeline, waits for its goroutines and releases the
// body.
func (r *decryptingReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	close(r.done)
	if r.err == nil {
		r.fail(errReaderClosed) // also stops the hasher
	}
	r.wg.Wait()
	r.cur = nil
	if r.opts.pool != nil {
		for _, s := range r.slots {
			r.opts.pool.free = append(r.opts.pool.free, s.buf)
		}
	}
	r.slots = nil
	if r.src.close != nil {
		return r.src.close()
	}
	return nil
}
