package artifact_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/artifact"
)

// benchSize is the artifact size of the read benchmarks (512 MiB, as in
// bench/artifact).
const benchSize = 512 << 20

// BenchmarkStore_Get reads a 512 MiB encrypted artifact through Read
// (parallel AEAD decryption, no re-hash: the default); compare its MB/s
// with BenchmarkStore_GetPlainFile, which reads the same number of bytes
// from a plain file in the same directory the same way.
func BenchmarkStore_Get(b *testing.B) { benchGet(b, false) }

// BenchmarkStore_GetRehash is BenchmarkStore_Get with Config.RehashOnRead.
func BenchmarkStore_GetRehash(b *testing.B) { benchGet(b, true) }

func benchGet(b *testing.B, rehash bool) {
	f := newFixtureAt(b, ramDir(b), "", func(c *artifact.Config) { c.RehashOnRead = rehash })
	data := randBytes(b, 4<<20)
	r := io.LimitReader(repeatReader(data), benchSize)
	if _, err := f.store.PutObject(context.Background(), artifact.PutObjectInput{Bucket: bucket, Key: "bench/model.tar.gz",
		Encryption: acmeKey, Checks: artifact.NoChecks}, r); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 256<<10)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	for b.Loop() {
		rc, err := f.store.GetObject(context.Background(), bucket, "bench/model.tar.gz", nil)
		if err != nil {
			b.Fatal(err)
		}
		// Hide WriteTo so that both benchmarks copy into buf.
		if n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{rc}, buf); err != nil || n != benchSize {
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
