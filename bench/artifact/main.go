// Command artifact-bench compares, in one run, the throughput of reading an
// encrypted artifact through artifact.Store (unwrap the data key, parallel
// AES256_GCM_HKDF_1MB decryption with every segment authenticated) with
// reading the same bytes as a plain file the same way (Read into a 256 KiB
// buffer), and reports both in MB/s, their ratio and the peak heap growth
// during the encrypted read. It also reports io.Copy (which uses the
// reader's WriteTo and skips one copy), a single decryption worker,
// Config.NoMmap (segments read with pread into buffers, as before the
// body was memory-mapped) and Config.RehashOnRead (SHA-256 recomputed on
// read).
//
//	go run ./bench/artifact -size 256 -runs 7 [-cpuprofile cpu.prof]
//
// See README.md for figures and how to read them. Files go to -dir (default: /dev/shm when present, so that both reads come
// from memory and the comparison measures the code, not the disk).
package main

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
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
	workers := flag.Int("workers", 0, "decryption workers of the default store (0: the store's default, one per core up to 4)")
	cold := flag.Bool("cold", false, "evict both files from the page cache before every read, so both come from the disk")
	cpuprofile := flag.String("cpuprofile", "", "after the timed runs, write a CPU profile of -runs more default encrypted reads to this file")
	traceFile := flag.String("trace", "", "after the timed runs, write an execution trace of -runs more default encrypted reads to this file (go tool trace -pprof=sched FILE: where goroutines waited for a core)")
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
	index := artifacttest.NewMemIndex()
	open := func(cfg artifact.Config) (*artifact.Store, error) {
		cfg.URL, cfg.Keys, cfg.Index = "file://"+filepath.Join(root, "blobs"), svc, index
		s := artifact.New(cfg)
		return s, s.Open(ctx)
	}
	store, err := open(artifact.Config{DecryptWorkers: *workers})
	if err != nil {
		return err
	}
	defer store.Close(ctx)
	rehash, err := open(artifact.Config{RehashOnRead: true})
	if err != nil {
		return err
	}
	defer rehash.Close(ctx)
	sequential, err := open(artifact.Config{DecryptWorkers: 1})
	if err != nil {
		return err
	}
	defer sequential.Close(ctx)
	pread, err := open(artifact.Config{DecryptWorkers: *workers, NoMmap: true})
	if err != nil {
		return err
	}
	defer pread.Close(ctx)
	if _, err := store.CreateBucket(ctx, artifact.CreateBucketInput{Name: "bench", Account: svc.Account()}); err != nil {
		return err
	}
	f, err := os.Open(plainPath)
	if err != nil {
		return err
	}
	_, err = store.PutObject(ctx, artifact.PutObjectInput{Bucket: "bench", Key: "model.tar.gz",
		Encryption: artifact.KeyRef{Tenant: "acme", KeyID: artifact.DefaultKeyAlias}, Checks: artifact.NoChecks}, f)
	f.Close()
	if err != nil {
		return err
	}

	bodies, err := filepath.Glob(filepath.Join(root, "blobs", "tenants", "acme", "bodies", "bench", "[0-9a-f]*[0-9a-f]"))
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
		base := heapInuse()
		f, err := os.Open(plainPath)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		return drain(f, buf, base)
	}
	read := func(s *artifact.Store, writeTo bool) func() (int64, uint64, error) {
		return func() (int64, uint64, error) {
			if *cold {
				if err := evict(bodies[0]); err != nil {
					return 0, 0, err
				}
			}
			base := heapInuse() // before GetObject, which allocates the segment buffers
			rc, err := s.GetObject(ctx, "bench", "model.tar.gz", nil)
			if err != nil {
				return 0, 0, err
			}
			defer rc.Close()
			if writeTo {
				return copyAll(rc, base)
			}
			return drain(rc, buf, base)
		}
	}
	kinds := []struct {
		name string
		fn   func() (int64, uint64, error)
		mbs  []float64
		cpu  []float64 // process CPU seconds (user+sys) per GB read
	}{
		{name: "plain file read", fn: plain},
		{name: "encrypted store read (default)", fn: read(store, false)},
		{name: "encrypted, io.Copy (WriteTo)", fn: read(store, true)},
		{name: "encrypted, 1 decrypt worker", fn: read(sequential, false)},
		{name: "encrypted, pread (NoMmap)", fn: read(pread, false)},
		{name: "encrypted, RehashOnRead", fn: read(rehash, false)},
	}
	var peak uint64
	for i := 0; i < *runs; i++ {
		// Interleave the kinds so that machine load hits them alike.
		for k := range kinds {
			runtime.GC() // every read starts from a collected heap, untimed
			cpu0 := cpuTime()
			start := time.Now()
			n, p, err := kinds[k].fn()
			if err != nil {
				return fmt.Errorf("%s: %w", kinds[k].name, err)
			}
			el := time.Since(start)
			if n != size {
				return fmt.Errorf("%s: read %d bytes, want %d", kinds[k].name, n, size)
			}
			kinds[k].mbs = append(kinds[k].mbs, float64(n)/1e6/el.Seconds())
			kinds[k].cpu = append(kinds[k].cpu, (cpuTime()-cpu0).Seconds()/(float64(n)/1e9))
			if k > 0 && p > peak {
				peak = p
			}
		}
	}
	cache := "page cache (warm)"
	if *cold {
		cache = "disk (page cache evicted before each read)"
	}
	fmt.Printf("artifact read, %d MiB from %s, %s, median of %d runs, GOMAXPROCS=%d\n", *sizeMiB, root, cache, *runs, runtime.GOMAXPROCS(0))
	base, baseCPU := median(kinds[0].mbs), median(kinds[0].cpu)
	for _, k := range kinds {
		m, c := median(k.mbs), median(k.cpu)
		var paired []float64 // this read's MB/s over the plain read's of the same run
		for i := range k.mbs {
			paired = append(paired, k.mbs[i]/kinds[0].mbs[i])
		}
		fmt.Printf("  %-32s %8.1f MB/s  ratio %.2f (run by run %.2f)   CPU %.3f s/GB (plain/this %.2f)\n", k.name+":", m, m/base, median(paired), c, baseCPU/c)
	}
	fmt.Printf("  (ratio: of the medians; run by run: median over the runs of this read's MB/s over the plain read's just before it, less sensitive to load that comes and goes)\n")
	fmt.Printf("  (CPU s/GB is user+system time of the process per GB read: what a read costs, whatever else runs on the machine)\n")
	ceiling := gcmCeiling()
	fmt.Printf("  AES-256-GCM alone, all %d cores, in memory: %8.1f MB/s  ratio %.2f (no encrypted read can beat this)\n", runtime.GOMAXPROCS(0), ceiling, ceiling/base)
	fmt.Printf("  target: default encrypted read >= 0.70 of the plain file read\n")
	fmt.Printf("  peak heap growth during encrypted reads: %.1f MiB\n", float64(peak)/(1<<20))
	if *cpuprofile != "" {
		if err := record(*cpuprofile, pprof.StartCPUProfile, pprof.StopCPUProfile, *runs, kinds[1].fn); err != nil {
			return err
		}
		fmt.Printf("  CPU profile of %d default encrypted reads: %s (go tool pprof -top %s)\n", *runs, *cpuprofile, *cpuprofile)
	}
	if *traceFile != "" {
		if err := record(*traceFile, trace.Start, trace.Stop, *runs, kinds[1].fn); err != nil {
			return err
		}
		fmt.Printf("  execution trace of %d default encrypted reads: %s (go tool trace -pprof=sched %s > sched.pprof; go tool pprof -top sched.pprof)\n", *runs, *traceFile, *traceFile)
	}
	return nil
}

// record writes what start..stop records (a CPU profile, an execution
// trace) of n calls of read to path.
func record(path string, start func(io.Writer) error, stop func(), n int, read func() (int64, uint64, error)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := start(f); err != nil {
		return err
	}
	for range n {
		if _, _, err := read(); err != nil {
			stop()
			return err
		}
	}
	stop()
	return f.Close()
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

// drain reads r to EOF and returns the bytes read and the peak growth of
// the heap in use over base, sampled every 32 MiB. The heap is read through
// runtime/metrics, not runtime.ReadMemStats: ReadMemStats stops the world,
// which waits for every decryption worker to leave its AES-GCM call (up
// to a segment's worth of work, while the other cores idle), so the probe
// itself slowed the parallel reads it measured.
func drain(r io.Reader, buf []byte, base uint64) (int64, uint64, error) {
	var peak uint64
	var n, next int64
	for {
		k, err := r.Read(buf)
		n += int64(k)
		if n >= next {
			next = n + 32<<20
			if h := heapInuse(); h > base && h-base > peak {
				peak = h - base
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

// heapInuse is runtime.MemStats.HeapInuse, read without stopping the
// world.
func heapInuse() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64() + s[1].Value.Uint64()
}

// gcmCeiling measures, for about half a second, how fast crypto/cipher's
// AES-256-GCM opens 1 MiB segments in memory on every core at once: the
// upper bound of any encrypted read on this machine.
func gcmCeiling() float64 {
	key := make([]byte, 32)
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	nonce := make([]byte, aead.NonceSize())
	ct := aead.Seal(nil, nonce, make([]byte, 1<<20), nil)
	cores := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var total int64
	start := time.Now()
	for range cores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(ct))
			var n int64
			for time.Since(start) < 500*time.Millisecond {
				if _, err := aead.Open(buf[:0], nonce, ct, nil); err != nil {
					panic(err)
				}
				n += 1 << 20
			}
			mu.Lock()
			total += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return float64(total) / 1e6 / time.Since(start).Seconds()
}

// copyAll drains r with io.Copy (so through its WriteTo) and returns the
// bytes and the heap growth over base at the end.
func copyAll(r io.Reader, base uint64) (int64, uint64, error) {
	n, err := io.Copy(io.Discard, r)
	var grew uint64
	if h := heapInuse(); h > base {
		grew = h - base
	}
	return n, grew, err
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}
