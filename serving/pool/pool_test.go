package pool_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/serving/pool"
)

// TestPool_PredictionsEqualXGBoost loads each xgboost-trained model as a
// pool tenant's TargetModel into two real pool workers and requires every
// answer, CSV and JSON, to equal xgboost's; a second round is all hits.
func TestPool_PredictionsEqualXGBoost(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	f := newFixture(t, 2, local.Config{}, "", pool.Config{})
	sources := map[string]*source{}
	for _, c := range cases {
		sources[c.Name] = newSource(filepath.Join(dir, c.Artifact))
	}
	for round := range 2 {
		for _, c := range cases {
			target := pool.Target{Tenant: "t-" + c.Name, Model: "t-" + c.Name + ".tar.gz", Source: sources[c.Name]}
			if err := invokeCSV(t, f.pool, target, dir, c); err != nil {
				t.Errorf("round %d, %s (csv): %v", round, c.Name, err)
			}
			resp, err := f.pool.Invoke(context.Background(), target, serving.Invocation{
				ContentType: "application/json", Accept: "application/json", Body: readFile(t, dir, c.RowsJSON),
			})
			if err != nil {
				t.Fatalf("%s (json): %v", c.Name, err)
			}
			got, err := servingtest.ParseJSONScores(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if err := servingtest.Compare(got, c.Predictions); err != nil {
				t.Errorf("round %d, %s (json): %v", round, c.Name, err)
			}
		}
	}
	for name, s := range sources {
		if n := s.opens.Load(); n != 1 {
			t.Errorf("%s opened %d times, want 1", name, n)
		}
	}
	st := f.pool.Stats()
	if st.Loads != uint64(len(cases)) || st.Misses != uint64(len(cases)) || st.Hits != uint64(3*len(cases)) {
		t.Errorf("stats %+v, want %d loads and misses, %d hits", st, len(cases), 3*len(cases))
	}
	m := f.metrics
	if m.hits != 3*len(cases) || m.misses != len(cases) || len(m.waits) != len(cases) ||
		len(m.downloads) != len(cases) || len(m.loadings) != len(cases) || m.count != len(cases) {
		t.Errorf("metrics: %d hits, %d misses, %d waits, %d downloads, %d loadings, count %d",
			m.hits, m.misses, len(m.waits), len(m.downloads), len(m.loadings), m.count)
	}
	if n := f.rec.Count(func(e serving.Event) bool { return e.Kind == serving.EventModelLoaded }); n != len(cases) {
		t.Errorf("%d ModelLoaded events, want %d", n, len(cases))
	}
}

// TestPool_ConcurrentTenants: 100 concurrent clients across 10 pool
// tenants (each tenant's TargetModel one of the trained models) each get
// their own model's answers; every model is loaded once.
func TestPool_ConcurrentTenants(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	f := newFixture(t, 2, local.Config{}, "", pool.Config{})
	type tenant struct {
		target pool.Target
		c      servingtest.XGBCase
		src    *source
	}
	var tenants []tenant
	for i := range 10 {
		c := cases[i%len(cases)]
		src := newSource(filepath.Join(dir, c.Artifact))
		name := fmt.Sprintf("tenant%02d", i)
		tenants = append(tenants, tenant{pool.Target{Tenant: name, Model: name + ".tar.gz", Source: src}, c, src})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for client := range 100 {
		tn := tenants[client%len(tenants)]
		wg.Go(func() {
			for range 3 {
				if err := invokeCSV(t, f.pool, tn.target, dir, tn.c); err != nil {
					errs <- fmt.Errorf("client %d (%s): %w", client, tn.target.Tenant, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, tn := range tenants {
		if n := tn.src.opens.Load(); n != 1 {
			t.Errorf("%s's model opened %d times, want 1", tn.target.Tenant, n)
		}
	}
}

// TestPool_Singleflight: concurrent first requests cause one load, none is
// answered before the model is loaded, and waiters beyond MaxWaiters are
// refused at once with ErrModelNotReady instead of queueing.
func TestPool_Singleflight(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	c := cases[0]
	f := newFixture(t, 1, local.Config{}, "", pool.Config{MaxWaiters: 8})
	src := newSource(filepath.Join(dir, c.Artifact))
	src.gate = make(chan struct{})
	target := pool.Target{Tenant: "acme", Model: "acme.tar.gz", Source: src}
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for range 8 {
		wg.Go(func() { results <- invokeCSV(t, f.pool, target, dir, c) })
	}
	<-src.opened
	// Once all 8 wait, a 9th is refused at once.
	deadline := time.Now().Add(10 * time.Second)
	for f.pool.Stats().Waiting < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v: the 8 requests do not all wait", f.pool.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	_, err := f.pool.Invoke(context.Background(), target, serving.Invocation{Body: readFile(t, dir, c.RowsCSV)})
	if !errors.Is(err, serving.ErrModelNotReady) {
		t.Fatalf("request beyond MaxWaiters: %v, want ErrModelNotReady", err)
	}
	close(src.gate)
	wg.Wait()
	close(results)
	for err := range results {
		if err != nil {
			t.Errorf("waiter: %v", err)
		}
	}
	if n := src.opens.Load(); n != 1 {
		t.Errorf("opened %d times, want 1", n)
	}
}

// TestPool_WorkerCrash: a pool worker killed with SIGKILL restarts; the
// pool notices, reloads the model on the next request and answers right.
func TestPool_WorkerCrash(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	c := cases[1]
	f := newFixture(t, 1, local.Config{}, "", pool.Config{})
	src := newSource(filepath.Join(dir, c.Artifact))
	target := pool.Target{Tenant: "acme", Model: "acme.tar.gz", Source: src}
	if err := invokeCSV(t, f.pool, target, dir, c); err != nil {
		t.Fatal(err)
	}
	id := f.variant.Instances()[0].ID()
	ready := f.rec.Wait(t, 10*time.Second, "WorkerReady", func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerReady && e.Instance == id
	})
	if err := syscall.Kill(ready.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	f.rec.Wait(t, 20*time.Second, "WorkerReady after the crash", func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerReady && e.Instance == id && e.PID != ready.PID
	})
	if err := invokeCSV(t, f.pool, target, dir, c); err != nil {
		t.Fatalf("after the crash: %v", err)
	}
	if n := src.opens.Load(); n != 2 {
		t.Errorf("opened %d times, want 2 (a reload after the crash)", n)
	}
}

// TestPool_Eviction: a cache holding less than two models evicts the least
// recently used one for each new tenant, keeps its bytes within capacity,
// reports every unload, and reloads an evicted model on demand.
func TestPool_Eviction(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	probe := newFixture(t, 1, local.Config{}, "", pool.Config{})
	sizes := map[string]int64{}
	var largest int64
	for _, c := range cases {
		before := probe.pool.Stats().Bytes
		if err := invokeCSV(t, probe.pool, pool.Target{Tenant: "p", Model: c.Name, Source: newSource(filepath.Join(dir, c.Artifact))}, dir, c); err != nil {
			t.Fatal(err)
		}
		sizes[c.Name] = probe.pool.Stats().Bytes - before
		largest = max(largest, sizes[c.Name])
	}
	capacity := largest + largest/2
	clk := servingtest.NewClock()
	f := newFixture(t, 1, local.Config{}, "", pool.Config{CacheBytes: capacity, Now: clk.Now})
	targets := map[string]pool.Target{}
	for _, c := range cases {
		targets[c.Name] = pool.Target{Tenant: "t-" + c.Name, Model: "m.tar.gz", Source: newSource(filepath.Join(dir, c.Artifact))}
	}
	for round := range 2 {
		for _, c := range cases {
			clk.Advance(2 * time.Second) // past MinResidency, so each load may evict
			if err := invokeCSV(t, f.pool, targets[c.Name], dir, c); err != nil {
				t.Fatalf("round %d, %s: %v", round, c.Name, err)
			}
			if st := f.pool.Stats(); st.Bytes > capacity {
				t.Errorf("cache holds %d bytes, capacity %d", st.Bytes, capacity)
			}
		}
	}
	st := f.pool.Stats()
	if st.Evictions == 0 || st.Loads <= uint64(len(cases)) {
		t.Errorf("stats %+v: want evictions and reloads", st)
	}
	unloads := f.rec.Count(func(e serving.Event) bool { return e.Kind == serving.EventModelUnloaded && e.Reason == "evicted" })
	if unloads != int(st.Evictions) || len(f.metrics.unloadings) != unloads {
		t.Errorf("%d eviction events, %d unloading times, %d evictions", unloads, len(f.metrics.unloadings), st.Evictions)
	}
	if f.metrics.count != st.Models {
		t.Errorf("LoadedModelCount %d, cache holds %d", f.metrics.count, st.Models)
	}
	// RemoveTenant unloads a tenant's models.
	f.pool.RemoveTenant("t-" + cases[len(cases)-1].Name)
	if got := f.rec.Count(func(e serving.Event) bool { return e.Kind == serving.EventModelUnloaded && e.Reason == "removed" }); got != 1 {
		t.Errorf("%d removed events, want 1", got)
	}
}

// TestPool_UserModelServer runs the scikit-learn example server as the
// pool's multi-model image: two tenants' models loaded through POST
// /models, each answering as scikit-learn does.
func TestPool_UserModelServer(t *testing.T) {
	dir := t.TempDir()
	servingtest.RunPython(t, "examples/sklearn-server/train.py", dir)
	script, err := servingtest.CopyScript(env.Public, "examples/sklearn-server/server.py")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, 1, local.Config{Images: map[string]local.Image{
		"sklearn": {Command: []string{servingtest.Python, script}, Unpack: true},
	}}, "sklearn", pool.Config{})
	for _, tenant := range []string{"acme", "globex"} {
		target := pool.Target{Tenant: tenant, Model: tenant + ".tar.gz", Source: newSource(filepath.Join(dir, "model.tar.gz"))}
		resp, err := f.pool.Invoke(context.Background(), target, serving.Invocation{ContentType: "text/csv", Body: readFile(t, dir, "rows.csv")})
		if err != nil {
			t.Fatalf("%s: %v", tenant, err)
		}
		got, err := servingtest.ParseCSV(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := servingtest.Compare(got, expected(t, dir)); err != nil {
			t.Errorf("%s: %v", tenant, err)
		}
	}
	if st := f.pool.Stats(); st.Models != 2 {
		t.Errorf("%d models loaded, want 2", st.Models)
	}
}

// TestPool_IdleSweep: a model unused for IdleTimeout is unloaded by Sweep
// and loaded again by its next request.
func TestPool_IdleSweep(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	c := cases[0]
	clk := servingtest.NewClock()
	f := newFixture(t, 1, local.Config{}, "", pool.Config{IdleTimeout: time.Minute, Now: clk.Now})
	src := newSource(filepath.Join(dir, c.Artifact))
	target := pool.Target{Tenant: "acme", Model: "acme.tar.gz", Source: src}
	if err := invokeCSV(t, f.pool, target, dir, c); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Second)
	if n := f.pool.Sweep(); n != 0 {
		t.Fatalf("Sweep unloaded %d models used 59 s ago", n)
	}
	clk.Advance(time.Second)
	if n := f.pool.Sweep(); n != 1 {
		t.Fatalf("Sweep unloaded %d, want 1", n)
	}
	f.rec.Wait(t, time.Second, "ModelUnloaded idle", func(e serving.Event) bool {
		return e.Kind == serving.EventModelUnloaded && e.Reason == "idle" && e.Tenant == "acme" && e.Model == "acme.tar.gz"
	})
	if err := invokeCSV(t, f.pool, target, dir, c); err != nil {
		t.Fatal(err)
	}
	if n := src.opens.Load(); n != 2 {
		t.Errorf("opened %d times, want 2", n)
	}
}

func expected(t *testing.T, dir string) []*float64 {
	t.Helper()
	var want []float64
	if err := json.Unmarshal(readFile(t, dir, "expected.json"), &want); err != nil {
		t.Fatal(err)
	}
	out := make([]*float64, len(want))
	for i := range want {
		out[i] = &want[i]
	}
	return out
}
