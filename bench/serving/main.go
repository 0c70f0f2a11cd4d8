// Command serving-bench measures the pool, in one run:
//
//   - Cold start: a pool's first request for a model (open and decrypt
//     the tenant's encrypted artifact, stream it into a real worker
//     process's private directory, load it, answer one row) beside
//     decrypting and parsing the same artifact alone and parsing it alone.
//     The target is cold start <= 1.5x decrypt+parse.
//
//   - The real pool: 10,000 tenants' small models and a scanner tenant's
//     1,000, each encrypted under its tenant's key (keys and object index
//     in SQLite, bodies in files), a real multi-model worker whose cache
//     holds 5% of the tenants' models, and concurrent clients replaying a
//     Zipf-distributed trace through pool.Invoke: the hit rate beside an
//     ideal LRU of the same trace, p50/p99 latency, loads per second; then
//     the same trace with the scanner reading its 1,000 models on a third
//     of all requests: the other tenants' hit rate and p99 must stay within
//     10% of the run without the scan.
//
//   - Cache: the same traces over 1,000,000 requests through the pool's
//     cache alone (serving/cache, instantaneous loads) and an ideal LRU.
//
//   - Density (-density): BenchmarkServe_PoolDensity (cmd/tenantml), 10,000
//     pool tenants registered and invoked through a real server: the
//     gateway's bytes per registered model, the pool worker's memory.
//
//     go run ./bench/serving -density   # everything (about 20 minutes on 2 cores)
//     go run ./bench/serving            # without the density run
//     go run ./bench/serving -coldstart=false -pool=false   # the cache simulation only (no processes)
//
// The cold start and the real pool build cmd/tenantml (run it from the
// repository) and start workers through the local supervisor, as root or
// not.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/xgboost"
	"github.com/tenantml/tenantml/runtime/xgboost/xgboosttest"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/cache"
	"github.com/tenantml/tenantml/serving/cache/cachesim"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/serving/pool"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "serving-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	coldstart := flag.Bool("coldstart", true, "measure cold start with real worker processes")
	trees := flag.Int("trees", 2000, "trees of depth 7 in the cold-start model (2000: about 10 MB)")
	runs := flag.Int("runs", 5, "timed runs of each cold-start kind (the median is reported)")
	requests := flag.Int("requests", 1000000, "tenant requests in the cache simulation's trace")
	realPool := flag.Bool("pool", true, "replay the trace through the real pool: real worker processes, encrypted artifacts in SQLite and files")
	poolRequests := flag.Int("pool-requests", 100000, "tenant requests of the real pool's trace")
	clients := flag.Int("clients", 4, "concurrent clients replaying the real pool's trace")
	residency := flag.Duration("min-residency", 100*time.Millisecond, "the pool's MinResidency in the real pool's runs")
	density := flag.Bool("density", false, "also run BenchmarkServe_PoolDensity (cmd/tenantml): 10,000 pool tenants registered in a real server, its memory per registered model")
	flag.Parse()
	var bin string
	if *coldstart || *realPool {
		root, err := benchDir()
		if err != nil {
			return err
		}
		defer os.RemoveAll(root)
		if bin, err = buildWorker(root); err != nil {
			return err
		}
		if *coldstart {
			if err := coldStart(root, bin, *trees, *runs); err != nil {
				return err
			}
		}
		if *realPool {
			if err := poolTrace(root, bin, poolConfig{requests: *poolRequests, clients: *clients, minResidency: *residency}); err != nil {
				return err
			}
		}
	}
	if err := cacheTrace(*requests); err != nil {
		return err
	}
	if *density {
		return runDensity()
	}
	return nil
}

// benchDir makes the run's directory, on /dev/shm when there is one (the
// workers' directories are there too), readable by workers that run as
// other users.
func benchDir() (string, error) {
	base := os.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	root, err := os.MkdirTemp(base, "serving-bench-")
	if err != nil {
		return "", err
	}
	return root, os.Chmod(root, 0o755)
}

// buildWorker builds cmd/tenantml into root (run from the repository).
func buildWorker(root string) (string, error) {
	bin := filepath.Join(root, "tenantml")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tenantml").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build (run from the repository root): %v\n%s", err, out)
	}
	return bin, nil
}

// runDensity runs the server's density benchmark and prints its figures.
func runDensity() error {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "BenchmarkServe_PoolDensity", "-benchtime", "1x", "./cmd/tenantml")
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	fmt.Println("density: go test -run '^$' -bench BenchmarkServe_PoolDensity -benchtime 1x ./cmd/tenantml")
	return cmd.Run()
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

func timeRuns(runs int, f func(i int) error) (time.Duration, error) {
	var ds []time.Duration
	for i := range runs {
		start := time.Now()
		if err := f(i); err != nil {
			return 0, err
		}
		ds = append(ds, time.Since(start))
	}
	return median(ds), nil
}

func coldStart(root, bin string, trees, runs int) error {
	ctx := context.Background()
	plain := xgboosttest.JSON(trees, 7, 32, 1)
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
	store := artifact.New(artifact.Config{URL: "file://" + filepath.Join(root, "blobs") + "?no_tmp_dir=true", Keys: svc, Index: artifacttest.NewMemIndex()})
	if err := store.Open(ctx); err != nil {
		return err
	}
	defer store.Close(ctx)
	if _, err := store.Put(ctx, "acme", "model/model.json", "v1", bytes.NewReader(plain)); err != nil {
		return err
	}
	open := serving.OpenerFunc(func(ctx context.Context) (io.ReadCloser, error) {
		rc, _, err := store.Get(ctx, "acme", "model/model.json", "v1")
		return rc, err
	})
	reg := runtime.NewRegistry(xgboost.Format{})

	parse, err := timeRuns(runs, func(int) error {
		_, err := runtime.LoadArtifact(bytes.NewReader(plain), reg, runtime.Limits{})
		return err
	})
	if err != nil {
		return err
	}
	decrypt, err := timeRuns(runs, func(int) error {
		rc, err := open.Open(ctx)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = runtime.LoadArtifact(rc, reg, runtime.Limits{})
		return err
	})
	if err != nil {
		return err
	}

	sup := local.New(local.Config{Executable: bin})
	if err := sup.Open(ctx); err != nil {
		return err
	}
	defer sup.Close(context.Background())
	v, err := sup.Start(ctx, serving.VariantSpec{Endpoint: "pool", Variant: "AllTraffic", Mode: serving.ModeMulti, InstanceType: "ml.m5.large", InstanceCount: 1})
	if err != nil {
		return err
	}
	p := pool.New(pool.Config{Variant: v})
	if err := p.Open(ctx); err != nil {
		return err
	}
	defer p.Close(ctx)
	row := append(bytes.Repeat([]byte("0.5,"), 31), "0.5\n"...)
	var cold []time.Duration
	for i := range runs {
		model := fmt.Sprintf("m%d.json", i)
		target := pool.Target{Tenant: "acme", Model: model, Source: open, SizeHint: int64(len(plain))}
		start := time.Now()
		if _, err := p.Invoke(ctx, target, serving.Invocation{ContentType: "text/csv", Body: row}); err != nil {
			return err
		}
		cold = append(cold, time.Since(start))
		p.Remove("acme", model)
	}
	coldMed := median(cold)
	caps := sup.Capabilities()
	fmt.Printf("cold start of a %.1f MB model (%d trees), median of %d; worker as root=%v, netns=%v, cgroup=%q\n",
		float64(len(plain))/1e6, trees, runs, caps.Root, caps.NetworkNamespace, caps.Cgroup)
	fmt.Printf("  parse alone          %8.1f ms\n", ms(parse))
	fmt.Printf("  decrypt + parse      %8.1f ms\n", ms(decrypt))
	fmt.Printf("  pool cold start      %8.1f ms   %.2fx decrypt+parse (target <= 1.5x), %.2fx parse\n",
		ms(coldMed), float64(coldMed)/float64(decrypt), float64(coldMed)/float64(parse))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func cacheTrace(requests int) error {
	const tenants = 10000
	capacity := int64(tenants / 20 * 10) // 5% of the models, 10 bytes each
	warmup := requests / 10
	cfg := cache.Config[struct{}]{Capacity: capacity, MinResidency: 100 * time.Millisecond}
	plain := cachesim.Trace(cachesim.TraceConfig{Tenants: tenants, ZipfS: 1.1, Requests: requests, Seed: 1})
	scan := cachesim.Trace(cachesim.TraceConfig{Tenants: tenants, ZipfS: 1.1, Requests: requests, Seed: 1, ScanModels: 1000, ScanEvery: 2})
	start := time.Now()
	got, err := cachesim.Replay(plain, cfg, time.Millisecond, warmup)
	if err != nil {
		return err
	}
	replayTime := time.Since(start)
	lru := cachesim.LRU(plain, capacity, warmup)
	gotScan, err := cachesim.Replay(scan, cfg, time.Millisecond, warmup*3/2)
	if err != nil {
		return err
	}
	lruScan := cachesim.LRU(scan, capacity, warmup*3/2)
	fmt.Printf("cache: %d tenants, Zipf s=1.1, %d requests, cache of 5%% of the models, MinResidency 100 ms at 1 request/ms\n", tenants, requests)
	fmt.Printf("  hit rate              pool cache %.4f   ideal LRU %.4f   (%.3fx)   %.1f µs per request replayed\n",
		got.HitRate(), lru.HitRate(), got.HitRate()/lru.HitRate(), float64(replayTime.Microseconds())/float64(len(plain)))
	fmt.Printf("  with a tenant scanning 1,000 models on 1/3 of all requests:\n")
	fmt.Printf("  others' hit rate      pool cache %.4f (%.3fx of no scan)   plain LRU %.4f (%.3fx)\n",
		gotScan.OtherHitRate(), gotScan.OtherHitRate()/got.OtherHitRate(), lruScan.OtherHitRate(), lruScan.OtherHitRate()/lru.OtherHitRate())
	fmt.Printf("  scanner's requests    %d refused (throttled: its share is recycled, nobody else's)\n", gotScan.Refused)
	return nil
}
