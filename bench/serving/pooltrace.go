package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/xgboost"
	"github.com/tenantml/tenantml/runtime/xgboost/xgboosttest"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/cache"
	"github.com/tenantml/tenantml/serving/cache/cachesim"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/serving/pool"
	"github.com/tenantml/tenantml/store/sqlite"
)

// poolConfig sizes the real pool's runs.
type poolConfig struct {
	requests     int
	clients      int
	minResidency time.Duration
}

const (
	poolTenants    = 10000
	poolScanModels = 1000
	// The small model every tenant deploys: 20 trees of depth 4 over 8
	// features (about 40 KB of JSON).
	smallTrees, smallDepth, smallFeatures = 20, 4, 8
)

// poolTrace replays the cache simulation's trace through the real pool:
// 10,000 tenants' models and the scanner's 1,000, each encrypted under its
// tenant's key (keys and object index in SQLite, bodies in files), a real
// multi-model worker process whose cache holds 5% of the tenants' models,
// and clients invoking concurrently. The ideal LRU replays the same trace
// in the same run.
func poolTrace(root, bin string, cfg poolConfig) error {
	ctx := context.Background()
	env, err := newPoolEnv(ctx, root)
	if err != nil {
		return err
	}
	defer env.close()
	sup := local.New(local.Config{Executable: bin, RunDir: root})
	if err := sup.Open(ctx); err != nil {
		return err
	}
	defer sup.Close(context.Background())

	capacity := int64(poolTenants/20) * env.modelBytes
	sizes := func(cache.Key) int64 { return env.modelBytes }
	plain := cachesim.Trace(cachesim.TraceConfig{Tenants: poolTenants, ZipfS: 1.1, Requests: cfg.requests, Seed: 1, Size: sizes})
	scan := cachesim.Trace(cachesim.TraceConfig{Tenants: poolTenants, ZipfS: 1.1, Requests: cfg.requests, Seed: 1, Size: sizes,
		ScanModels: poolScanModels, ScanEvery: 2})
	warmup := cfg.requests / 5
	fmt.Printf("real pool: %d tenants' models and %d of the scanner, each %d bytes in the worker (%d in its artifact), cache %d bytes (5%% of the tenants' models), %d clients, MinResidency %v\n",
		poolTenants, poolScanModels, env.modelBytes, len(env.model), capacity, cfg.clients, cfg.minResidency)
	base, err := env.replay(ctx, sup, plain, capacity, cfg, warmup)
	if err != nil {
		return err
	}
	lru := cachesim.LRU(plain, capacity, warmup)
	withScan, err := env.replay(ctx, sup, scan, capacity, cfg, warmup*3/2)
	if err != nil {
		return err
	}
	lruScan := cachesim.LRU(scan, capacity, warmup*3/2)
	fmt.Printf("  %d requests (the first %d warm the cache)\n", cfg.requests, warmup)
	fmt.Printf("  hit rate              pool %.4f   ideal LRU of the same trace %.4f   (%.3fx)\n", base.hitRate(false), lru.HitRate(), base.hitRate(false)/lru.HitRate())
	fmt.Printf("  latency               p50 %.2f ms   p99 %.2f ms   (hits p50 %.2f ms, misses p50 %.2f ms)\n",
		ms(base.quantile(0.5, false)), ms(base.quantile(0.99, false)), ms(base.hitQuantile(0.5, true)), ms(base.hitQuantile(0.5, false)))
	fmt.Printf("  throughput            %.0f requests/s, %.0f loads/s, %d refused\n", base.rate(), base.loadsPerSecond(), base.refused)
	fmt.Printf("  with one tenant scanning its %d models on 1/3 of all requests:\n", poolScanModels)
	fmt.Printf("  others' hit rate      pool %.4f (%.3fx of no scan)   plain LRU %.4f (%.3fx)\n",
		withScan.hitRate(true), withScan.hitRate(true)/base.hitRate(true), lruScan.OtherHitRate(), lruScan.OtherHitRate()/lru.OtherHitRate())
	fmt.Printf("  others' latency       p50 %.2f ms (%.3fx)   p99 %.2f ms (%.3fx of no scan)\n",
		ms(withScan.quantile(0.5, true)), float64(withScan.quantile(0.5, true))/float64(base.quantile(0.5, true)),
		ms(withScan.quantile(0.99, true)), float64(withScan.quantile(0.99, true))/float64(base.quantile(0.99, true)))
	fmt.Printf("  scanner               %d requests, hit rate %.4f, %d refused; %.0f loads/s in all\n",
		withScan.scanRequests, withScan.scanHitRate(), withScan.scanRefused, withScan.loadsPerSecond())
	return nil
}

// poolEnv is the encrypted object store the models are read from.
type poolEnv struct {
	db         *sqlite.DB
	store      *artifact.Store
	model      []byte
	modelBytes int64 // what the worker reports for it
}

func newPoolEnv(ctx context.Context, root string) (*poolEnv, error) {
	db, err := sqlite.Open(ctx, filepath.Join(root, "meta.db"))
	if err != nil {
		return nil, err
	}
	env := &poolEnv{db: db, model: xgboosttest.JSON(smallTrees, smallDepth, smallFeatures, 1)}
	m, err := runtime.LoadArtifact(bytes.NewReader(env.model), runtime.NewRegistry(xgboost.Format{}), runtime.Limits{})
	if err != nil {
		return nil, err
	}
	env.modelBytes = m.Info().MemoryBytes
	kek, err := keys.OpenLocalKEK(filepath.Join(root, "pool.key"), rand.Reader)
	if err != nil {
		return nil, err
	}
	ks, err := keys.New(keys.Config{Store: db.Keys(), KEK: kek})
	if err != nil {
		return nil, err
	}
	env.store = artifact.New(artifact.Config{URL: "file://" + filepath.Join(root, "pool-blobs") + "?no_tmp_dir=true", Keys: ks, Index: db.Objects()})
	if err := env.store.Open(ctx); err != nil {
		return nil, err
	}
	start := time.Now()
	type object struct{ tenant, key string }
	work := make(chan object)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for o := range work {
				if _, err := ks.EnsureKey(ctx, o.tenant, artifact.DefaultKeyAlias, "bench"); err != nil {
					errs <- err
					return
				}
				if _, err := env.store.Put(ctx, o.tenant, o.key, "v1", bytes.NewReader(env.model)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range poolTenants {
		work <- object{fmt.Sprintf("t%05d", i), "model/model.json"}
	}
	for i := range poolScanModels {
		work <- object{cachesim.ScanTenant, fmt.Sprintf("m%04d/model.json", i)}
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("register models: %w", err)
	}
	fmt.Printf("registered %d encrypted models of %d tenants in %v\n", poolTenants+poolScanModels, poolTenants+1, time.Since(start).Round(time.Millisecond))
	return env, nil
}

func (e *poolEnv) close() {
	_ = e.store.Close(context.Background())
	_ = e.db.Close()
}

// target is a trace key's model: the tenant's object, opened (and
// decrypted) on each load.
func (e *poolEnv) target(k cache.Key) pool.Target {
	key := "model/model.json"
	if k.Tenant == cachesim.ScanTenant {
		key = k.Model[:len("m0000")] + "/model.json"
	}
	tenant := k.Tenant
	return pool.Target{Tenant: tenant, Model: k.Model, SizeHint: e.modelBytes, Source: serving.OpenerFunc(func(ctx context.Context) (io.ReadCloser, error) {
		rc, _, err := e.store.Get(ctx, tenant, key, "v1")
		return rc, err
	})}
}

// outcome is one request of a replay.
type outcome struct {
	latency time.Duration
	hit     bool
	refused bool
	scanner bool
}

// replayResult is a replay after its warm-up.
type replayResult struct {
	outcomes                  []outcome
	elapsed                   time.Duration
	loads                     uint64
	refused                   int
	scanRequests, scanRefused int
}

// replay runs trace through a fresh pool on a fresh worker with cfg.clients
// concurrent clients, each taking the trace's next request.
func (e *poolEnv) replay(ctx context.Context, sup *local.Supervisor, trace []cachesim.Request, capacity int64, cfg poolConfig, warmup int) (*replayResult, error) {
	v, err := sup.Start(ctx, serving.VariantSpec{Endpoint: "pool-endpoint", Variant: "AllTraffic", Mode: serving.ModeMulti, InstanceType: "ml.m5.large", InstanceCount: 1})
	if err != nil {
		return nil, err
	}
	defer v.Stop(context.Background())
	p := pool.New(pool.Config{Variant: v, CacheBytes: capacity, MinResidency: cfg.minResidency, MaxWaiters: 1024})
	if err := p.Open(ctx); err != nil {
		return nil, err
	}
	defer p.Close(context.Background())
	row := bytes.TrimSuffix(bytes.Repeat([]byte("0.5,"), smallFeatures), []byte(","))
	out := make([]outcome, len(trace))
	var (
		next      atomic.Int64
		warmStart time.Time
		warmLoads uint64
		once      sync.Once
		firstErr  error
		errMu     sync.Mutex
		wg        sync.WaitGroup
	)
	for range cfg.clients {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(trace) {
					return
				}
				if i == warmup {
					once.Do(func() { warmStart, warmLoads = time.Now(), p.Stats().Loads })
				}
				q := trace[i]
				t := e.target(q.Key)
				hit := p.Status(t.Tenant, t.Model) == cache.Loaded
				start := time.Now()
				_, err := p.Invoke(ctx, t, serving.Invocation{ContentType: "text/csv", Body: row})
				o := outcome{latency: time.Since(start), hit: hit, scanner: q.Key.Tenant == cachesim.ScanTenant}
				switch {
				case errors.Is(err, serving.ErrModelNotReady), errors.Is(err, serving.ErrThrottled):
					o.refused, o.hit = true, false
				case err != nil:
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("request %d (%s): %w", i, q.Key.Tenant, err)
					}
					errMu.Unlock()
					return
				}
				out[i] = o
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	r := &replayResult{outcomes: out[warmup:], elapsed: time.Since(warmStart), loads: p.Stats().Loads - warmLoads}
	for _, o := range r.outcomes {
		if o.refused {
			r.refused++
		}
		if o.scanner {
			r.scanRequests++
			if o.refused {
				r.scanRefused++
			}
		}
	}
	return r, nil
}

// hitRate is the share of hits, of the other tenants' requests when
// others is set, else of all.
func (r *replayResult) hitRate(others bool) float64 {
	n, hits := 0, 0
	for _, o := range r.outcomes {
		if others && o.scanner {
			continue
		}
		n++
		if o.hit {
			hits++
		}
	}
	return float64(hits) / float64(max(n, 1))
}

func (r *replayResult) scanHitRate() float64 {
	hits := 0
	for _, o := range r.outcomes {
		if o.scanner && o.hit {
			hits++
		}
	}
	return float64(hits) / float64(max(r.scanRequests, 1))
}

// quantile of the latencies, of the other tenants' requests when others
// is set (refusals included: they are answers too).
func (r *replayResult) quantile(q float64, others bool) time.Duration {
	var ds []time.Duration
	for _, o := range r.outcomes {
		if !others || !o.scanner {
			ds = append(ds, o.latency)
		}
	}
	return pick(ds, q)
}

// hitQuantile is a quantile of the hits' (or misses') latencies.
func (r *replayResult) hitQuantile(q float64, hit bool) time.Duration {
	var ds []time.Duration
	for _, o := range r.outcomes {
		if o.hit == hit && !o.refused {
			ds = append(ds, o.latency)
		}
	}
	return pick(ds, q)
}

func pick(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

func (r *replayResult) rate() float64 { return float64(len(r.outcomes)) / r.elapsed.Seconds() }

func (r *replayResult) loadsPerSecond() float64 { return float64(r.loads) / r.elapsed.Seconds() }
