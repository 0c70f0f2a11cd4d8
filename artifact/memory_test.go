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

// TestStore_BoundedMemory moves a 2 GiB artifact through Put and Get and
// asserts that the heap never grows by 16 MiB or more.
func TestStore_BoundedMemory(t *testing.T) {
	const size = 2 << 30
	const limit = 16 << 20
	ctx := context.Background()
	// Temporary files next to the final ones: /dev/shm and os.TempDir
	// may be different file systems.
	f := newFixtureAt(t, ramDir(t), "?no_tmp_dir=true")
	probe := newHeapProbe()
	gen := newGenReader(t, size, probe)
	info, err := f.store.Put(ctx, "acme", "big/model.tar.gz", "1", gen)
	if err != nil {
		t.Fatal(err)
	}
	want := hex.EncodeToString(gen.h.Sum(nil))
	if info.Size != size || info.SHA256 != want {
		t.Fatalf("stored %d bytes %s, generated %d %s", info.Size, info.SHA256, int64(size), want)
	}
	putPeak := probe.peak

	probe = newHeapProbe()
	rc, _, err := f.store.Get(ctx, "acme", "big/model.tar.gz", "1")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, err := rc.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		probe.maybeSample(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != size || hex.EncodeToString(h.Sum(nil)) != want {
		t.Fatalf("read back %d bytes that differ from what was stored", n)
	}
	t.Logf("peak heap above baseline: put %.1f MiB, get %.1f MiB", float64(putPeak)/(1<<20), float64(probe.peak)/(1<<20))
	if putPeak >= limit || probe.peak >= limit {
		t.Fatalf("peak heap: put %d, get %d bytes; limit %d", putPeak, probe.peak, limit)
	}
}
