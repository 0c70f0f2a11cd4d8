package artifact

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"testing"
)

// The stages of an encrypted read, measured alone on 64 MiB in memory, to
// explain BenchmarkStore_Get: AEAD decryption (Tink's sequential reader,
// the peer, and ours), the optional SHA-256 and a plain copy.
const stageSize = 64 << 20

// BenchmarkStage_DecryptTink decrypts with Tink's own streaming reader.
func BenchmarkStage_DecryptTink(b *testing.B) {
	dek := make([]byte, dekSize)
	rand.Read(dek)
	c, err := newStreamCipher(dek)
	if err != nil {
		b.Fatal(err)
	}
	pt := make([]byte, stageSize)
	var ct bytes.Buffer
	w, err := c.NewEncryptingWriter(&ct, bodyAD("t", "b", "k/f", "1"))
	if err != nil {
		b.Fatal(err)
	}
	w.Write(pt)
	w.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(stageSize)
	for b.Loop() {
		r, err := c.NewDecryptingReader(bytes.NewReader(ct.Bytes()), bodyAD("t", "b", "k/f", "1"))
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, r, buf); err != nil || n != stageSize {
			b.Fatalf("%d, %v", n, err)
		}
	}
}

func BenchmarkStage_SHA256(b *testing.B) {
	pt := make([]byte, stageSize)
	b.SetBytes(stageSize)
	for b.Loop() {
		h := sha256.New()
		h.Write(pt)
		h.Sum(nil)
	}
}

func BenchmarkStage_Copy(b *testing.B) {
	pt := make([]byte, stageSize)
	buf := make([]byte, 256<<10)
	b.SetBytes(stageSize)
	for b.Loop() {
		io.CopyBuffer(io.Discard, struct{ io.Reader }{bytes.NewReader(pt)}, buf)
	}
}

// BenchmarkStage_DecryptParallel decrypts the same ciphertext with the
// store's decryptingReader (its default workers and the reader, reading
// from memory as from a mapped file).
func BenchmarkStage_DecryptParallel(b *testing.B) {
	dek := make([]byte, dekSize)
	rand.Read(dek)
	ad := bodyAD("t", "b", "k/f", "1")
	ct := tinkSeal(b, dek, ad, make([]byte, stageSize), segmentSize)
	buf := make([]byte, 256<<10)
	b.SetBytes(stageSize)
	for b.Loop() {
		lay := layout{segment: segmentSize, size: stageSize}
		r, err := newDecryptingReader(body{mapped: ct}, dek, ad, lay, lay.full(),
			decryptOptions{workers: defaultDecryptWorkers()})
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil || n != stageSize {
			b.Fatalf("%d, %v", n, err)
		}
		r.Close()
	}
}
