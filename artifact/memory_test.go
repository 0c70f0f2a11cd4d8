package artifact_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"io"
	"runtime"
	"testing"

	"github.com/tenantml/tenantml/artifact"
)

// genReader generates n pseudo-random bytes (a random block with a running
// counter stamped in), hashing what it produced and sampling the heap.
type genReader struct {
	n, off int64
	block  []byte
	h      hash.Hash
	heap   *heapProbe
}

func newGenReader(t testing.TB, n int64, heap *heapProbe) *genReader {
	return &genReader{n: n, block: randBytes(t, 64<<10), h: sha256.New(), heap: heap}
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n-g.off {
		p = p[:g.n-g.off]
	}
	w := 0
	for w < len(p) {
		i := int((g.off + int64(w)) % int64(len(g.block)))
		if i == 0 {
			binary.BigEndian.PutUint64(g.block, uint64(g.off+int64(w)))
		}
		w += copy(p[w:], g.block[i:])
	}
	g.h.Write(p)
	g.off += int64(w)
	g.heap.maybeSample(g.off)
	return w, nil
}

// heapProbe records the peak heap in use above a baseline, sampling every
// 32 MiB of stream.
type heapProbe struct {
	base, peak uint64
	next       int64
}

func newHeapProbe() *heapProbe {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &heapProbe{base: ms.HeapAlloc}
}

func (h *heapProbe) maybeSample(pos int64) {
	if pos < h.next {
		return
	}
	h.next = pos + 32<<20
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > h.base && ms.HeapAlloc-h.base > h.peak {
		h.peak = ms.HeapAlloc - h.base
	}
}

// drainHashed reads r to EOF, hashing and sampling the heap.
func drainHashed(t *testing.T, r io.Reader, probe *heapProbe) (int64, string) {
	t.Helper()
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		probe.maybeSample(n)
		if err == io.EOF {
			return n, hex.EncodeToString(h.Sum(nil))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestStore_BoundedMemory moves a 2 GiB object through a single PUT, a
// multipart upload (32 parts of 64 MiB) and reads of both (whole, and a
// range across parts), and asserts that the heap never grows by 16 MiB or
// more.
func TestStore_BoundedMemory(t *testing.T) {
	const size = 2 << 30
	const partSize = 64 << 20
	const limit = 16 << 20
	ctx := context.Background()
	f := newFixtureAt(t, ramDir(t), "")
	peaks := map[string]uint64{}

	probe := newHeapProbe()
	gen := newGenReader(t, size, probe)
	o, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: bucket, Key: "single", Encryption: acmeKey, Checks: artifact.NoChecks}, gen)
	if err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(gen.h.Sum(nil))
	if o.Size != size || o.SHA256 != want {
		t.Fatalf("stored %d bytes %s, generated %d %s", o.Size, o.SHA256, int64(size), want)
	}
	peaks["put"] = probe.peak

	probe = newHeapProbe()
	u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "multi", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	gen = newGenReader(t, size, probe)
	var parts []artifact.CompletedPart
	for n := 1; n <= size/partSize; n++ {
		p, err := f.store.UploadPart(ctx, artifact.UploadPartInput{Bucket: bucket, Key: "multi", UploadID: u.UploadID, PartNumber: n,
			Checks: artifact.Checks{ContentLength: partSize}}, io.LimitReader(gen, partSize))
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, artifact.CompletedPart{Number: n, ETag: p.ETag})
	}
	if _, err := f.store.CompleteMultipartUpload(ctx, bucket, "multi", u.UploadID, parts); err != nil {
		t.Fatal(err)
	}
	wantMulti := hex.EncodeToString(gen.h.Sum(nil))
	peaks["multipart upload"] = probe.peak

	for name, key := range map[string]string{"get": "single", "get multipart": "multi"} {
		probe = newHeapProbe()
		or, err := f.store.GetObject(ctx, bucket, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, got := drainHashed(t, or, probe)
		or.Close()
		if n != size || (key == "single" && got != want) || (key == "multi" && got != wantMulti) {
			t.Fatalf("%s: read back %d bytes that differ from what was stored", name, n)
		}
		peaks[name] = probe.peak
	}
	probe = newHeapProbe()
	or, err := f.store.GetObject(ctx, bucket, "multi", &artifact.Range{Start: partSize - 1, End: size - partSize})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := drainHashed(t, or, probe); n != size-2*partSize+2 {
		t.Fatalf("range read %d bytes", n)
	}
	or.Close()
	peaks["get multipart range"] = probe.peak

	for name, p := range peaks {
		t.Logf("peak heap above baseline, %s: %.1f MiB", name, float64(p)/(1<<20))
		if p >= limit {
			t.Errorf("%s: peak heap grew by %d bytes; limit %d", name, p, limit)
		}
	}
}
