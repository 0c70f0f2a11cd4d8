package pool_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/serving/cache"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/serving/pool"
)

// TestPool_LoadStatusEntries loads a model into a real pool worker without
// invoking it (the repository extension's load): it is listed and loaded,
// the load counted neither as hit nor miss, its first invocation a hit
// measured by the pool, and Remove takes it out of the worker.
func TestPool_LoadStatusEntries(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	c := cases[0]
	f := newFixture(t, 2, local.Config{}, "", pool.Config{})
	src := newSource(filepath.Join(dir, c.Artifact))
	target := pool.Target{Tenant: "acme", Model: "acme.tar.gz", Source: src}
	if got := f.pool.Status("acme", "acme.tar.gz"); got != cache.Absent {
		t.Fatalf("before: %v", got)
	}
	if err := f.pool.Load(context.Background(), target); err != nil {
		t.Fatal(err)
	}
	if got := f.pool.Status("acme", "acme.tar.gz"); got != cache.Loaded {
		t.Fatalf("after Load: %v", got)
	}
	if e := f.pool.Entries(); len(e) != 1 || e[0].Key != (cache.Key{Tenant: "acme", Model: "acme.tar.gz"}) || e[0].Status != cache.Loaded || e[0].Bytes <= 0 {
		t.Fatalf("entries %+v", e)
	}
	if st := f.pool.Stats(); st.Loads != 1 || st.Hits != 0 || st.Misses != 0 || f.metrics.hits+f.metrics.misses != 0 {
		t.Fatalf("a load counted as an invocation: %+v", st)
	}
	if err := invokeCSV(t, f.pool, target, dir, c); err != nil {
		t.Fatal(err)
	}
	if st := f.pool.Stats(); st.Loads != 1 || st.Hits != 1 || src.opens.Load() != 1 {
		t.Fatalf("the first invocation after Load: %+v, %d opens", st, src.opens.Load())
	}
	f.pool.Remove("acme", "acme.tar.gz")
	if got := f.pool.Status("acme", "acme.tar.gz"); got != cache.Absent {
		t.Fatalf("after Remove: %v", got)
	}
	if e := f.pool.Entries(); len(e) != 0 {
		t.Fatalf("entries after Remove: %+v", e)
	}
}
