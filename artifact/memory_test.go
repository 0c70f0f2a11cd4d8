package artifact_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/tenantml/tenantml/artifact"
)

// genReader generates n pseudo-random bytes (a random block with a running
// counter stamped in) and hashes what it produced: a body of any size
// without a buffer of that size.
type genReader struct {
	n, off int64
	block  []byte
	h      hash.Hash
}

func newGenReader(t testing.TB, n int64) *genReader {
	return &genReader{n: n, block: randBytes(t, 64<<10), h: sha256.New()}
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
	return w, nil
}

// heapSample is the heap as runtime.MemStats counts it, read through
// runtime/metrics (which, unlike ReadMemStats, does not stop the world):
// inuse is HeapInuse (spans holding objects: what a body buffered in
// memory would raise), sys is HeapSys (address space the heap obtained
// from the OS; it grows only past the process's earlier peak, so a test
// that ran before can hide a growth of it, never a growth of inuse).
type heapSample struct{ inuse, sys uint64 }

// heapSampler reads the heap every millisecond on its own goroutine, so
// that the peak is seen wherever the allocation happens (the reader, the
// decryption workers, the hashers), and keeps the peak above the baseline
// taken after a GC at start.
type heapSampler struct {
	base, peak heapSample
	stop, done chan struct{}
}

// heapMetrics are the runtime/metrics classes that make up HeapInuse
// (objects + unused) and HeapSys (those + free + released).
var heapMetrics = [...]string{
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
}

func readHeap(s []metrics.Sample) heapSample {
	metrics.Read(s)
	v := func(i int) uint64 { return s[i].Value.Uint64() }
	inuse := v(0) + v(1)
	return heapSample{inuse: inuse, sys: inuse + v(2) + v(3)}
}

func startHeapSampler() *heapSampler {
	samples := make([]metrics.Sample, len(heapMetrics))
	for i, name := range heapMetrics {
		samples[i].Name = name
	}
	runtime.GC()
	h := &heapSampler{base: readHeap(samples), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			h.observe(readHeap(samples))
			select {
			case <-h.stop:
				h.observe(readHeap(samples)) // what is held when finish is called
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// observe raises the peaks to s's growth over the baseline.
func (h *heapSampler) observe(s heapSample) {
	h.peak.inuse = max(h.peak.inuse, s.inuse-min(s.inuse, h.base.inuse))
	h.peak.sys = max(h.peak.sys, s.sys-min(s.sys, h.base.sys))
}

// finish stops the sampler (after one last sample) and returns the peak
// growth of HeapInuse and HeapSys over the baseline.
func (h *heapSampler) finish() heapSample {
	close(h.stop)
	<-h.done
	return h.peak
}

// drainHashed reads r to EOF through Read into a 256 KiB buffer (as an
// HTTP handler copying to a connection does) and returns the bytes read
// and their SHA-256.
func drainHashed(t *testing.T, r io.Reader) (int64, string) {
	t.Helper()
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, err := r.Read(buf)
		h.Write(buf[:k])
		n += int64(k)
		if err == io.EOF {
			return n, hex.EncodeToString(h.Sum(nil))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// memoryTestSize is the object size of TestStore_BoundedMemory: 256 MiB,
// or TENANTML_MEMORY_MIB MiB (2048 for the 2 GiB of issue 13).
func memoryTestSize(t *testing.T) int64 {
	t.Helper()
	mib := int64(256)
	if v := os.Getenv("TENANTML_MEMORY_MIB"); v != "" {
		if _, err := fmt.Sscan(v, &mib); err != nil || mib < 32 {
			t.Fatalf("TENANTML_MEMORY_MIB=%q: want a number of MiB ≥ 32", v)
		}
	}
	return mib << 20
}

// TestStore_BoundedMemory moves one object through a single PUT, a
// multipart upload of 32 parts, whole reads of both and a range read
// across parts, and asserts that neither the heap in use nor the heap
// obtained from the OS (runtime.MemStats' HeapInuse and HeapSys, sampled
// every millisecond on another goroutine) ever grows by 16 MiB or more.
// The object is 256 MiB, so that the test is quick; the limit does not
// depend on it, and TENANTML_MEMORY_MIB=2048 runs the same assertions on
// 2 GiB (docs/objects.md, "Memory", has both runs' figures). The body
// comes from a generator, never a buffer of its size.
func TestStore_BoundedMemory(t *testing.T) {
	size := memoryTestSize(t)
	partSize := size / 32
	const limit = 16 << 20
	ctx := context.Background()
	f := newFixtureAt(t, ramDir(t), "")
	type phase struct {
		name string
		peak heapSample
	}
	var phases []phase

	probe := startHeapSampler()
	gen := newGenReader(t, size)
	o, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: bucket, Key: "single", Encryption: acmeKey, Checks: artifact.NoChecks}, gen)
	if err != nil {
		t.Fatal(err)
	}
	phases = append(phases, phase{"put", probe.finish()})
	want := hex.EncodeToString(gen.h.Sum(nil))
	if o.Size != size || o.SHA256 != want {
		t.Fatalf("stored %d bytes %s, generated %d %s", o.Size, o.SHA256, size, want)
	}

	probe = startHeapSampler()
	u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "multi", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	gen = newGenReader(t, size)
	var parts []artifact.CompletedPart
	for n := 1; int64(n) <= size/partSize; n++ {
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
	phases = append(phases, phase{"multipart upload", probe.finish()})
	wantMulti := hex.EncodeToString(gen.h.Sum(nil))

	for _, c := range []struct{ name, key, want string }{{"get", "single", want}, {"get multipart", "multi", wantMulti}} {
		probe = startHeapSampler()
		or, err := f.store.GetObject(ctx, bucket, c.key, nil)
		if err != nil {
			t.Fatal(err)
		}
		n, got := drainHashed(t, or)
		or.Close()
		phases = append(phases, phase{c.name, probe.finish()})
		if n != size || got != c.want {
			t.Fatalf("%s: read back %d bytes that differ from what was stored", c.name, n)
		}
	}

	probe = startHeapSampler()
	or, err := f.store.GetObject(ctx, bucket, "multi", &artifact.Range{Start: partSize - 1, End: size - partSize})
	if err != nil {
		t.Fatal(err)
	}
	n, _ := drainHashed(t, or)
	or.Close()
	phases = append(phases, phase{"get multipart range", probe.finish()})
	if n != size-2*partSize+2 {
		t.Fatalf("range read %d bytes", n)
	}

	for _, p := range phases {
		t.Logf("%d MiB, %s: peak growth HeapInuse %.1f MiB, HeapSys %.1f MiB", size>>20, p.name,
			float64(p.peak.inuse)/(1<<20), float64(p.peak.sys)/(1<<20))
		if p.peak.inuse >= limit || p.peak.sys >= limit {
			t.Errorf("%s: heap grew by %d bytes in use, %d from the OS; limit %d", p.name, p.peak.inuse, p.peak.sys, limit)
		}
	}
}

// TestHeapSampler_SeesGrowth checks the probe TestStore_BoundedMemory
// relies on: a store that buffered a body would show, because holding
// 32 MiB while the sampler runs makes HeapInuse grow by about that.
func TestHeapSampler_SeesGrowth(t *testing.T) {
	const size = 32 << 20
	probe := startHeapSampler()
	held := make([]byte, size)
	for i := range held {
		held[i] = byte(i)
	}
	peak := probe.finish()
	runtime.KeepAlive(held)
	if peak.inuse < size*15/16 {
		t.Fatalf("sampler saw HeapInuse grow by %d while %d bytes were held", peak.inuse, size)
	}
}
