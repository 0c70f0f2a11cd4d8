package artifact_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchSize is the artifact size of the read benchmarks (512 MiB, as in
// bench/artifact).
const benchSize = 512 << 20

// BenchmarkStore_Get reads a 512 MiB encrypted artifact (decrypt + SHA-256
// verification); compare its MB/s with BenchmarkStore_GetPlainFile, which
// reads the same number of bytes from a plain file in the same directory.
func BenchmarkStore_Get(b *testing.B) {
	f := newFixtureAt(b, ramDir(b), "?no_tmp_dir=true")
	data := randBytes(b, 4<<20)
	r := io.LimitReader(repeatReader(data), benchSize)
	if _, err := f.store.Put(context.Background(), "acme", "bench/model.tar.gz", "1", r); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		rc, _, err := f.store.Get(context.Background(), "acme", "bench/model.tar.gz", "1")
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, rc, buf); err != nil || n != benchSize {
			b.Fatalf("read %d, %v", n, err)
		}
		rc.Close()
	}
}

// BenchmarkStore_GetPlainFile is the plain-file baseline of
// BenchmarkStore_Get.
func BenchmarkStore_GetPlainFile(b *testing.B) {
	dir := ramDir(b)
	p := filepath.Join(dir, "plain.bin")
	data := randBytes(b, 4<<20)
	w, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(w, io.LimitReader(repeatReader(data), benchSize)); err != nil {
		b.Fatal(err)
	}
	w.Close()
	buf := make([]byte, 256<<10)
	b.SetBytes(benchSize)
	for b.Loop() {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{f}, buf); err != nil || n != benchSize {
			b.Fatalf("read %d, %v", n, err)
		}
		f.Close()
	}
}

type repeating struct {
	data []byte
	off  int
}

func repeatReader(data []byte) io.Reader { return &repeating{data: data} }

func (r *repeating) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}

var _ = bytes.MinRead
