package artifact

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/tink-crypto/tink-go/v2/streamingaead/subtle"
)

// testSegment is a small ciphertext segment size, so that tests cover many
// segments with little data; the format is the same at any size.
const testSegment = 128

// tinkSeal encrypts pt with Tink's own writer, as Put does.
func tinkSeal(t testing.TB, dek, ad, pt []byte, segment int) []byte {
	t.Helper()
	c, err := subtle.NewAESGCMHKDF(dek, "SHA256", dekSize, segment, 0)
	if err != nil {
		t.Fatal(err)
	}
	var ct bytes.Buffer
	w, err := c.NewEncryptingWriter(&ct, ad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return ct.Bytes()
}

// tinkOpen decrypts ct with Tink's own reader.
func tinkOpen(dek, ad, ct []byte, segment int) ([]byte, error) {
	c, err := subtle.NewAESGCMHKDF(dek, "SHA256", dekSize, segment, 0)
	if err != nil {
		return nil, err
	}
	r, err := c.NewDecryptingReader(bytes.NewReader(ct), ad)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// source is how a test body is presented to the reader.
type source int

const (
	streamed source = iota // sequential reads (an S3 body)
	random                 // io.ReaderAt (pread)
	mapped                 // in memory (a mapped file)
)

func (s source) String() string { return [...]string{"streamed", "random", "mapped"}[s] }

// bodyOf presents ct as src would, recording Close.
func bodyOf(ct []byte, src source, rec *closeRecorder) body {
	b := body{close: rec.Close}
	switch src {
	case streamed:
		rec.Reader = bytes.NewReader(ct)
		b.r = rec
	case random:
		b.at = bytes.NewReader(ct)
	case mapped:
		b.mapped = ct
	}
	return b
}

// open decrypts ct recorded with plaintext size through a decryptingReader
// over src and returns what it served and its final error.
func open(t testing.TB, dek, ad, ct []byte, size int64, segment int, src source, opts decryptOptions) ([]byte, error) {
	t.Helper()
	rec := &closeRecorder{}
	lay := layout{segment: segment, size: size}
	r, err := newDecryptingReader(bodyOf(ct, src, rec), dek, ad, lay, lay.full(), opts)
	if err != nil {
		if !rec.closed {
			t.Fatal("a failed open did not release the body")
		}
		return nil, err
	}
	got, err := io.ReadAll(r)
	if err2 := r.Close(); err2 != nil || !rec.closed {
		t.Fatalf("Close = %v, body closed %v", err2, rec.closed)
	}
	return got, err
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecryptingReader_MatchesTink decrypts Tink's ciphertexts at every
// segment boundary, with 1 to 3 workers, with and without rehashing and
// through Read and WriteTo, and compares with Tink's reader and the
// layout's predicted ciphertext size.
func TestDecryptingReader_MatchesTink(t *testing.T) {
	dek := randomBytes(t, dekSize)
	ad := bodyAD("acme", "models", "churn/model.bin", "3")
	lay := layout{segment: testSegment}
	first, next := int(lay.firstPlain()), int(lay.plain())
	sizes := []int{0, 1, first - 1, first, first + 1, first + next - 1, first + next, first + next + 1, first + 5*next, first + 7*next + 3}
	for _, size := range sizes {
		pt := randomBytes(t, size)
		ct := tinkSeal(t, dek, ad, pt, testSegment)
		l := layout{segment: testSegment, size: int64(size)}
		if got := l.ciphertextSize(); got != int64(len(ct)) {
			t.Fatalf("size %d: layout predicts %d ciphertext bytes, Tink wrote %d", size, got, len(ct))
		}
		ref, err := tinkOpen(dek, ad, ct, testSegment)
		if err != nil || !bytes.Equal(ref, pt) {
			t.Fatalf("size %d: Tink's reader: %v", size, err)
		}
		for _, workers := range []int{1, 2, 3} {
			for _, rehash := range []bool{false, true} {
				sum := sha256.Sum256(pt)
				opts := decryptOptions{workers: workers, rehash: rehash, want: sum[:]}
				for _, src := range []source{streamed, random, mapped} {
					got, err := open(t, dek, ad, ct, int64(size), testSegment, src, opts)
					if err != nil || !bytes.Equal(got, pt) {
						t.Fatalf("size %d workers %d rehash %v %s: %d bytes, %v", size, workers, rehash, src, len(got), err)
					}
				}
				r, err := newDecryptingReader(body{r: iotest.HalfReader(bytes.NewReader(ct))}, dek, ad, l, l.full(), opts)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				if n, err := io.Copy(&out, r); err != nil || n != int64(size) || !bytes.Equal(out.Bytes(), pt) {
					t.Fatalf("size %d: WriteTo = %d, %v", size, n, err)
				}
				r.Close()
			}
		}
	}
}

// TestDecryptingReader_Tampered changes the ciphertext, its context or its
// recorded size in every way that matters: each read fails with
// ErrIntegrity, and what was served before the failure is a prefix of the
// plaintext made of whole, authenticated segments.
func TestDecryptingReader_Tampered(t *testing.T) {
	dek := randomBytes(t, dekSize)
	ad := bodyAD("acme", "models", "churn/model.bin", "3")
	lay := layout{segment: testSegment}
	size := int(lay.firstPlain() + 4*lay.plain() + 10) // 6 segments
	pt := randomBytes(t, size)
	good := tinkSeal(t, dek, ad, pt, testSegment)
	seg := func(i int) (int, int) { // ciphertext bounds of segment i
		if i == 0 {
			return headerSize, testSegment
		}
		return i * testSegment, min((i+1)*testSegment, len(good))
	}
	flip := func(at int) func([]byte) []byte {
		return func(b []byte) []byte { b[at] ^= 0x01; return b }
	}
	s1, e1 := seg(1)
	s2, e2 := seg(2)
	s5, _ := seg(5)
	cases := []struct {
		name  string
		ct    func([]byte) []byte
		dek   []byte
		ad    []byte
		delta int64 // added to the recorded size
	}{
		{name: "HeaderLengthByte", ct: flip(0)},
		{name: "Salt", ct: flip(5)},
		{name: "NoncePrefix", ct: flip(headerSize - 1)},
		{name: "FirstSegmentBody", ct: flip(headerSize + 3)},
		{name: "MiddleSegmentTag", ct: flip(e2 - 1)},
		{name: "LastSegment", ct: flip(len(good) - 20)},
		{name: "TruncatedInHeader", ct: func(b []byte) []byte { return b[:headerSize-3] }},
		{name: "TruncatedAtSegmentBoundary", ct: func(b []byte) []byte { return b[:s5] }},
		{name: "TruncatedAtBoundaryAndSizeLowered", ct: func(b []byte) []byte { return b[:s5] }, delta: -int64(len(good) - s5 - tagSize)},
		{name: "TruncatedInsideSegment", ct: func(b []byte) []byte { return b[:s2+7] }},
		{name: "ExtendedByOneByte", ct: func(b []byte) []byte { return append(b, 0) }},
		{name: "ExtendedBySegment", ct: func(b []byte) []byte { return append(b, b[s1:e1]...) }},
		{name: "SegmentsSwapped", ct: func(b []byte) []byte {
			one := append([]byte(nil), b[s1:e1]...)
			copy(b[s1:e1], b[s2:e2])
			copy(b[s2:e2], one)
			return b
		}},
		{name: "SegmentDropped", ct: func(b []byte) []byte { return append(b[:s1:s1], b[e1:]...) }},
		{name: "SegmentDuplicated", ct: func(b []byte) []byte { return append(b[:e1:e1], b[s1:]...) }},
		{name: "OtherAssociatedData", ad: bodyAD("globex", "models", "churn/model.bin", "3")},
		{name: "OtherVersion", ad: bodyAD("acme", "models", "churn/model.bin", "4")},
		{name: "OtherKey", dek: randomBytes(t, dekSize)},
		{name: "RecordedSizeLarger", delta: 1},
		{name: "RecordedSizeSmaller", delta: -1},
		{name: "RecordedSizeSegmentLarger", delta: lay.plain()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct := append([]byte(nil), good...)
			if tc.ct != nil {
				ct = tc.ct(ct)
			}
			k, a := dek, ad
			if tc.dek != nil {
				k = tc.dek
			}
			if tc.ad != nil {
				a = tc.ad
			}
			for _, workers := range []int{1, 3} {
				for _, src := range []source{streamed, random, mapped} {
					got, err := open(t, k, a, ct, int64(size)+tc.delta, testSegment, src, decryptOptions{workers: workers})
					if !errors.Is(err, ErrIntegrity) {
						t.Fatalf("workers %d %s: err = %v, want ErrIntegrity", workers, src, err)
					}
					if !bytes.HasPrefix(pt, got) {
						t.Fatalf("workers %d %s: served %d bytes that are not the plaintext", workers, src, len(got))
					}
					if n := len(got); n != 0 && n != int(lay.firstPlain()) && (n-int(lay.firstPlain()))%int(lay.plain()) != 0 {
						t.Fatalf("workers %d %s: served %d bytes, not whole segments", workers, src, n)
					}
				}
			}
		})
	}
}

// TestDecryptingReader_Rehash checks the optional end-of-stream digest: all
// bytes are served, then a wrong digest fails instead of io.EOF, stickily.
func TestDecryptingReader_Rehash(t *testing.T) {
	dek := randomBytes(t, dekSize)
	ad := bodyAD("acme", "models", "m/f", "1")
	pt := randomBytes(t, 9*testSegment)
	ct := tinkSeal(t, dek, ad, pt, testSegment)
	bad := sha256.Sum256([]byte("other"))
	lay := layout{segment: testSegment, size: int64(len(pt))}
	r, err := newDecryptingReader(body{r: bytes.NewReader(ct)}, dek, ad, lay, lay.full(),
		decryptOptions{workers: 2, rehash: true, want: bad[:]})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if !errors.Is(err, ErrIntegrity) || !bytes.Equal(got, pt) {
		t.Fatalf("read %d bytes, err %v; want every byte then ErrIntegrity", len(got), err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("error is not sticky: %v", err)
	}
}

// TestDecryptingReader_BodyError tells an I/O failure of the body from an
// integrity failure.
func TestDecryptingReader_BodyError(t *testing.T) {
	dek := randomBytes(t, dekSize)
	ad := bodyAD("acme", "models", "m/f", "1")
	pt := randomBytes(t, 9*testSegment)
	ct := tinkSeal(t, dek, ad, pt, testSegment)
	src := body{r: io.MultiReader(bytes.NewReader(ct[:3*testSegment+5]), iotest.ErrReader(errors.New("connection reset")))}
	lay := layout{segment: testSegment, size: int64(len(pt))}
	r, err := newDecryptingReader(src, dek, ad, lay, lay.full(), decryptOptions{workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err == nil || errors.Is(err, ErrIntegrity) {
		t.Fatalf("err = %v, want an I/O error, not an integrity error", err)
	}
	if !bytes.HasPrefix(pt, got) {
		t.Fatal("served bytes that are not the plaintext")
	}
}

// TestDecryptingReader_CloseEarly closes a reader mid-stream: Close returns
// only when its goroutines have stopped, closes the body, and reads after
// it fail.
func TestDecryptingReader_CloseEarly(t *testing.T) {
	dek := randomBytes(t, dekSize)
	ad := bodyAD("acme", "models", "m/f", "1")
	pt := randomBytes(t, 200*testSegment)
	ct := tinkSeal(t, dek, ad, pt, testSegment)
	for _, rehash := range []bool{false, true} {
		rec := &closeRecorder{}
		lay := layout{segment: testSegment, size: int64(len(pt))}
		r, err := newDecryptingReader(bodyOf(ct, streamed, rec), dek, ad, lay, lay.full(), decryptOptions{workers: 3, rehash: rehash})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(r, make([]byte, 5*testSegment)); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil || !rec.closed {
			t.Fatalf("Close = %v, body closed %v", err, rec.closed)
		}
		stacks := make([]byte, 1<<20)
		stacks = stacks[:runtime.Stack(stacks, true)]
		if bytes.Contains(stacks, []byte("(*decryptingReader)")) {
			t.Fatalf("rehash %v: pipeline goroutines still running after Close:\n%s", rehash, stacks)
		}
		if _, err := r.Read(make([]byte, 1)); err == nil || err == io.EOF {
			t.Fatalf("read after Close: %v", err)
		}
	}
}

// TestLayout_Check refuses sizes the format cannot express.
func TestLayout_Check(t *testing.T) {
	cases := []struct {
		name string
		lay  layout
		ok   bool
	}{
		{"Empty", layout{segment: segmentSize, size: 0}, true},
		{"TwoGiB", layout{segment: segmentSize, size: 2 << 30}, true},
		{"Negative", layout{segment: segmentSize, size: -1}, false},
		{"SegmentTooSmall", layout{segment: headerSize + tagSize, size: 1}, false},
		{"TooManySegments", layout{segment: testSegment, size: (testSegment - tagSize) * (1 << 32)}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.lay.check(); (err == nil) != tc.ok {
				t.Fatalf("check = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// FuzzDecryptingReader mutates a ciphertext (flip, cut, extend) and its
// recorded size: the reader returns exactly the plaintext or an error,
// never other bytes, and succeeds only where Tink's reader does.
func FuzzDecryptingReader(f *testing.F) {
	dek := bytes.Repeat([]byte{7}, dekSize)
	ad := bodyAD("acme", "models", "m/f", "1")
	pt := bytes.Repeat([]byte("tenantml"), 80)
	good := tinkSeal(f, dek, ad, pt, testSegment)
	f.Add(uint16(0), byte(0), uint16(0), []byte(nil), int16(0))
	f.Add(uint16(200), byte(1), uint16(0), []byte(nil), int16(0))
	f.Add(uint16(0), byte(0), uint16(100), []byte(nil), int16(0))
	f.Add(uint16(0), byte(0), uint16(0), []byte{1, 2, 3}, int16(3))
	f.Add(uint16(0), byte(0), uint16(0), []byte(nil), int16(-1))
	f.Fuzz(func(t *testing.T, at uint16, xor byte, cut uint16, extra []byte, delta int16) {
		ct := append([]byte(nil), good...)
		ct[int(at)%len(ct)] ^= xor
		ct = ct[:len(ct)-int(cut)%len(ct)]
		ct = append(ct, extra...)
		size := int64(len(pt)) + int64(delta)
		got, err := open(t, dek, ad, ct, size, testSegment, source(at%3), decryptOptions{workers: 2})
		if err != nil {
			if !bytes.HasPrefix(pt, got) {
				t.Fatalf("served %d bytes that are not the plaintext before %v", len(got), err)
			}
			return
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("succeeded with %d bytes that are not the plaintext", len(got))
		}
		if ref, err := tinkOpen(dek, ad, ct, testSegment); err != nil || !bytes.Equal(ref, got) {
			t.Fatalf("accepted a ciphertext Tink's reader refuses: %v", err)
		}
	})
}

// windowBody presents ct to a reader of win as the store does: a stream
// starts at the window's first segment (the header given apart), random
// and mapped sources see the whole body.
func windowBody(ct []byte, lay layout, win window, src source) body {
	if src != streamed || win.first == 0 {
		return bodyOf(ct, src, &closeRecorder{})
	}
	start := lay.offset(win.first)
	if start > int64(len(ct)) {
		start = int64(len(ct))
	}
	return body{r: bytes.NewReader(ct[start:]), header: ct[:min(headerSize, len(ct))]}
}

// TestDecryptingReader_Window reads every kind of byte range — inside a
// segment, across boundaries, the first and last bytes, the whole — from
// each source and compares with the plaintext.
func TestDecryptingReader_Window(t *testing.T) {
	dek := randomBytes(t, dekSize)
	ad := bodyAD("acme", "models", "m/f", "1")
	lay := layout{segment: testSegment}
	first, next := lay.firstPlain(), lay.plain()
	size := first + 5*next + 9
	pt := randomBytes(t, int(size))
	ct := tinkSeal(t, dek, ad, pt, testSegment)
	lay.size = size
	var ranges [][2]int64 // off, n
	for _, off := range []int64{0, 1, first - 1, first, first + 1, first + next - 1, first + 2*next, size - next, size - 1} {
		for _, n := range []int64{1, 2, next - 1, next, next + 1, 3 * next, size} {
			if off+n <= size {
				ranges = append(ranges, [2]int64{off, n})
			}
		}
		ranges = append(ranges, [2]int64{off, size - off})
	}
	for _, r := range ranges {
		for _, src := range []source{streamed, random, mapped} {
			win := lay.window(r[0], r[1])
			dr, err := newDecryptingReader(windowBody(ct, lay, win, src), dek, ad, lay, win, decryptOptions{workers: 2})
			if err != nil {
				t.Fatalf("range %v %s: %v", r, src, err)
			}
			got, err := io.ReadAll(dr)
			dr.Close()
			if err != nil || !bytes.Equal(got, pt[r[0]:r[0]+r[1]]) {
				t.Fatalf("range %v %s (segments %d..%d): %d bytes, %v", r, src, win.first, win.last, len(got), err)
			}
		}
	}
	t.Run("ErrTamperedSegmentInWindow", func(t *testing.T) {
		bad := bytes.Clone(ct)
		bad[lay.offset(2)+3] ^= 1
		for _, src := range []source{streamed, random, mapped} {
			win := lay.window(first+next+5, 2*next)
			dr, err := newDecryptingReader(windowBody(bad, lay, win, src), dek, ad, lay, win, decryptOptions{workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(dr)
			dr.Close()
			if !errors.Is(err, ErrIntegrity) || !bytes.HasPrefix(pt[first+next+5:], got) {
				t.Fatalf("%s: %d bytes, %v; want a prefix then ErrIntegrity", src, len(got), err)
			}
		}
	})
	t.Run("TamperedSegmentOutsideWindow", func(t *testing.T) {
		bad := bytes.Clone(ct)
		bad[len(bad)-3] ^= 1
		win := lay.window(0, first+next)
		for _, src := range []source{streamed, random, mapped} {
			dr, err := newDecryptingReader(windowBody(bad, lay, win, src), dek, ad, lay, win, decryptOptions{workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(dr)
			dr.Close()
			if err != nil || !bytes.Equal(got, pt[:first+next]) {
				t.Fatalf("%s: %d bytes, %v", src, len(got), err)
			}
		}
	})
	t.Run("ErrWindowOutOfLayout", func(t *testing.T) {
		_, err := newDecryptingReader(body{mapped: ct}, dek, ad, lay, window{first: 0, last: lay.segments()}, decryptOptions{workers: 1})
		if err == nil {
			t.Fatal("a window past the last segment was accepted")
		}
	})
}

// FuzzDecryptingReader_Window reads fuzzed windows of a fuzzed-mutated
// ciphertext: whatever it serves is exactly the plaintext of the window,
// up to an error.
func FuzzDecryptingReader_Window(f *testing.F) {
	dek := bytes.Repeat([]byte{9}, dekSize)
	ad := bodyAD("acme", "models", "m/f", "1")
	pt := bytes.Repeat([]byte("0123456789abcdef"), 60)
	good := tinkSeal(f, dek, ad, pt, testSegment)
	f.Add(uint16(0), uint16(len(pt)), uint16(0), byte(0), uint8(0))
	f.Add(uint16(100), uint16(300), uint16(500), byte(4), uint8(1))
	f.Add(uint16(959), uint16(1), uint16(0), byte(0), uint8(2))
	f.Fuzz(func(t *testing.T, off, n, at uint16, xor byte, src uint8) {
		size := int64(len(pt))
		o, k := int64(off)%size, int64(n)%size+1
		if o+k > size {
			k = size - o
		}
		ct := bytes.Clone(good)
		ct[int(at)%len(ct)] ^= xor
		lay := layout{segment: testSegment, size: size}
		win := lay.window(o, k)
		dr, err := newDecryptingReader(windowBody(ct, lay, win, source(src%3)), dek, ad, lay, win, decryptOptions{workers: 2})
		if err != nil {
			return
		}
		defer dr.Close()
		got, err := io.ReadAll(dr)
		if !bytes.HasPrefix(pt[o:o+k], got) || (err == nil && int64(len(got)) != k) {
			t.Fatalf("window %d+%d: served %d bytes that are not the plaintext (err %v)", o, k, len(got), err)
		}
		if err == nil && xor != 0 && !bytes.Equal(ct, good) && win.first == 0 && win.last == lay.segments()-1 {
			if _, terr := tinkOpen(dek, ad, ct, testSegment); terr != nil {
				t.Fatalf("accepted a whole ciphertext Tink's reader refuses")
			}
		}
	})
}
