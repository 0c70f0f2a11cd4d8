// Command artifact-bench compares, in one run, the throughput of reading an
// encrypted artifact through artifact.Store (unwrap the data key, stream
// AES256_GCM_HKDF_1MB decryption, SHA-256 verification) with reading the
// same bytes as a plain file, and reports both in MB/s, their ratio and the
// peak heap growth during the encrypted read.
//
//	go run ./bench/artifact -size 512 -runs 5
//
// Files go to -dir (default: /dev/shm when present, so that both reads come
// from memory and the comparison measures the code, not the disk).
package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "artifact-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	sizeMiB := flag.Int("size", 512, "artifact size in MiB")
	runs := flag.Int("runs", 5, "timed reads of each kind (the median is reported)")
	dir := flag.String("dir", "", "scratch directory (default /dev/shm, or the temp dir with -cold)")
	cold := flag.Bool("cold", false, "evict both files from the page cache before every read, so both come from the disk")
	flag.Parse()
	if *cold && *dir == "" {
		*dir = os.TempDir()
	}
	ctx := context.Background()

	root, err := scratch(*dir)
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	size := int64(*sizeMiB) << 20

	// The plain file.
	plainPath := filepath.Join(root, "plain.bin")
	if err := writeRandom(plainPath, size); err != nil {
		return err
	}

	// The same bytes, encrypted, through the store.
	kek, err := keys.OpenLocalKEK(filepath.Join(root, "master.key"), rand.Reader)
	if err != nil {
		return err
	}
	svc, err := keys.New(keys.Config{Store: keystest.NewMemStore(), KEK: kek})
	if err != nil {
		return err
	}
	if _, err := svc.EnsureKey(ctx, "acme", artifact.DefaultKeyAlias, "bench"); err != nil {
		return err
	}
	store := artifact.New(artifact.Config{URL: "file://" + filepath.Join(root, "blobs") + "?no_tmp_dir=true", Keys: svc})
	if err := store.Open(ctx); err != nil {
		return err
	}
	defer store.Close(ctx)
	fast := artifact.New(artifact.Config{URL: "file://" + filepath.Join(root, "blobs") + "?no_tmp_dir=true", Keys: svc, SkipDigestOnRead: true})
	if err := fast.Open(ctx); err != nil {
		return err
	}
	defer fast.Close(ctx)
	f, err := os.Open(plainPath)
	if err != nil {
		return err
	}
	_, err = store.Put(ctx, "acme", "bench/model.tar.gz", "1", f)
	f.Close()
	if err != nil {
		return err
	}

	bodies, err := filepath.Glob(filepath.Join(root, "blobs", "tenants", "acme", "blobs", "bench", "1", "model.tar.gz", "[0-9a-f]*[0-9a-f]"))
	if err != nil || len(bodies) != 1 {
		return fmt.Errorf("find the encrypted body: %v %v", bodies, err)
	}
	buf := make([]byte, 256<<10)
	plain := func() (int64, uint64, error) {
		if *cold {
			if err := evict(plainPath); err != nil {
				return 0, 0, err
			}
		}
		f, err := os.Open(plainPath)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		return drain(f, buf)
	}
	read := func(s *artifact.Store) func() (int64, uint64, error) {
		return func() (int64, uint64, error) {
			if *cold {
				if err := evict(bodies[0]); err != nil {
					return 0, 0, err
				}
			}
			rc, _, err := s.Get(ctx, "acme", "bench/model.tar.gz", "1")
			if err != nil {
				return 0, 0, err
			}
			defer rc.Close()
			return drain(rc, buf)
		}
	}
	encrypted, encryptedFast := read(store), read(fast)

	var plainMBs, encMBs, fastMBs []float64
	var peak uint64
	for i := 0; i < *runs; i++ {
		// Interleave the two kinds so that machine load hits both alike.
		for _, k := range []struct {
			fn  func() (int64, uint64, error)
			out *[]float64
		}{{plain, &plainMBs}, {encrypted, &encMBs}, {encryptedFast, &fastMBs}} {
			start := time.Now()
			n, p, err := k.fn()
			if err != nil {
				return err
			}
			el := time.Since(start)
			if n != size {
				return fmt.Errorf("read %d bytes, want %d", n, size)
			}
			*k.out = append(*k.out, float64(n)/1e6/el.Seconds())
			if k.out != &plainMBs && p > peak {
				peak = p
			}
		}
	}
	p, e, fe := median(plainMBs), median(encMBs), median(fastMBs)
	cache := "page cache (warm)"
	if *cold {
		cache = "disk (page cache evicted before each read)"
	}
	fmt.Printf("artifact read, %d MiB from %s, %s, median of %d runs, GOMAXPROCS=%d\n", *sizeMiB, root, cache, *runs, runtime.GOMAXPROCS(0))
	fmt.Printf("  plain file read:      %8.1f MB/s\n", p)
	fmt.Printf("  encrypted store read: %8.1f MB/s  (decrypt + SHA-256 verify)\n", e)
	fmt.Printf("  encrypted, SkipDigestOnRead: %8.1f MB/s  (decrypt; digest authenticated via the data key context)\n", fe)
	fmt.Printf("  ratio encrypted/plain: %.2f (target >= 0.70); with SkipDigestOnRead: %.2f\n", e/p, fe/p)
	fmt.Printf("  peak heap growth during encrypted read: %.1f MiB\n", float64(peak)/(1<<20))
	return nil
}

// evict syncs path and drops its pages from the page cache.
func evict(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}

func scratch(dir string) (string, error) {
	if dir == "" {
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			dir = "/dev/shm"
		}
	}
	return os.MkdirTemp(dir, "tenantml-artifact-bench-")
}

func writeRandom(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	block := make([]byte, 4<<20)
	if _, err := rand.Read(block); err != nil {
		return err
	}
	for w := int64(0); w < size; {
		n := min(int64(len(block)), size-w)
		block[0]++ // vary the blocks a little
		if _, err := f.Write(block[:n]); err != nil {
			return err
		}
		w += n
	}
	return f.Close()
}

// drain reads r to EOF and returns the bytes read and the peak heap growth,
// sampled every 32 MiB.
func drain(r io.Reader, buf []byte) (int64, uint64, error) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, uint64(0)
	var n, next int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if n >= next {
			next = n + 32<<20
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
		}
		if err == io.EOF {
			return n, peak, nil
		}
		if err != nil {
			return n, peak, err
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
