package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml/audit"
	rt "github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/xgboost"
	"github.com/tenantml/tenantml/runtime/xgboost/xgboosttest"
	"github.com/tenantml/tenantml/serving"
)

// densityTenants is how many pool tenants BenchmarkServe_PoolDensity
// registers; TENANTML_DENSITY_TENANTS overrides it.
const densityTenants = 10000

// BenchmarkServe_PoolDensity registers pool tenants' small models (one
// object each under the pool endpoint's prefix, each tenant created and
// its model deployed through the management API) in a real server with a
// pool cache of 5% of them, invokes every one through InvokeEndpoint, and
// measures the server's live heap (after a GC) at 1/4, 1/2 and all of the
// tenants, registered and then invoked: the bytes each registered model
// costs the gateway, and the pool worker's resident memory beside the
// configured cache.
//
//	go test -run '^$' -bench PoolDensity -benchtime 1x ./cmd/tenantml
//
// TENANTML_DENSITY_TENANTS changes the tenants' count (default 10,000);
// TENANTML_DENSITY_HEAPPROFILE=FILE writes the server's live heap profile
// at the end (go tool pprof -sample_index=inuse_space FILE).
func BenchmarkServe_PoolDensity(b *testing.B) {
	n := densityTenants
	if s := os.Getenv("TENANTML_DENSITY_TENANTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 8 {
			b.Fatalf("TENANTML_DENSITY_TENANTS=%q", s)
		}
		n = v
	}
	profile := os.Getenv("TENANTML_DENSITY_HEAPPROFILE")
	if profile != "" {
		runtime.MemProfileRate = 512
	}
	model := xgboosttest.JSON(20, 4, 8, 1)
	loaded, err := rt.LoadArtifact(bytes.NewReader(model), rt.NewRegistry(xgboost.Format{}), rt.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	modelBytes := loaded.Info().MemoryBytes
	cacheBytes := int64(n/20) * modelBytes
	env := maps.Clone(servingEnv(b))
	env["TENANTML_LOG_LEVEL"] = "warn"
	env["TENANTML_POOL_CACHE_BYTES"] = strconv.FormatInt(cacheBytes, 10)
	ts := startServerClock(b, env, time.Now)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	d := &density{b: b, ts: ts, hc: hc, model: model}
	row := []byte("0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5\n")

	// The first tenant creates the pool endpoint and starts its worker;
	// its first invocation opens the pool. The baseline is after it.
	d.register(0, 1)
	d.invoke(0, 1, row)
	base := liveHeap()
	rss0, err := d.poolWorkerRSS()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	var (
		lines              []string
		prevUpTo           int
		prevReg, prevInv   uint64
		marginReg, marginI float64
	)
	for _, upTo := range []int{n / 4, n / 2, n} {
		from := d.registered
		d.register(from, upTo)
		reg := liveHeap()
		d.invoke(from, upTo, row)
		inv := liveHeap()
		lines = append(lines, fmt.Sprintf("%6d tenants: heap %6.1f MB registered (%+5.0f B/model over the first), %6.1f MB after invoking each (%+5.0f B/model)",
			upTo, mb(reg), perModel(reg, base, upTo-1), mb(inv), perModel(inv, base, upTo-1)))
		if prevUpTo > 0 {
			marginReg, marginI = perModel(reg, prevReg, upTo-prevUpTo), perModel(inv, prevInv, upTo-prevUpTo)
		}
		prevUpTo, prevReg, prevInv = upTo, reg, inv
	}
	rss, err := d.poolWorkerRSS()
	if err != nil {
		b.Fatal(err)
	}
	if profile != "" {
		writeHeapProfile(b, profile)
	}
	b.ReportMetric(marginReg, "B/registered-model")
	b.ReportMetric(marginI, "B/invoked-model")
	b.ReportMetric(float64(rss-rss0)/float64(cacheBytes), "worker-RSS-growth/cache")
	fmt.Printf("pool density: %d tenants' models (%d bytes each in the worker), cache %.1f MB (5%%), registered and invoked in %v\n",
		n, modelBytes, mb(uint64(cacheBytes)), time.Since(start).Round(time.Second))
	fmt.Printf("  gateway live heap: %.1f MB with one tenant\n", mb(base))
	for _, l := range lines {
		fmt.Println("  " + l)
	}
	fmt.Printf("  marginal, from %d to %d tenants: %.0f B per registered model, %.0f B per registered and invoked model\n", n/2, n, marginReg, marginI)
	fmt.Printf("  pool worker resident: %.1f MB with one model, %.1f MB at the end: grew %.2fx the cache of %.1f MB\n",
		mb(uint64(rss0)), mb(uint64(rss)), float64(rss-rss0)/float64(cacheBytes), mb(uint64(cacheBytes)))
}

// perModel is (now - then) / n bytes, signed.
func perModel(now, then uint64, n int) float64 { return (float64(now) - float64(then)) / float64(n) }

// writeHeapProfile writes the live heap's profile to path.
func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// density drives the benchmark's server.
type density struct {
	b          *testing.B
	ts         *testServer
	hc         *http.Client
	model      []byte
	registered int
}

func tenantName(i int) string { return fmt.Sprintf("d%05d", i) }

func mb(n uint64) float64 { return float64(n) / 1e6 }

// liveHeap is the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// parallel runs f(i) for i in [from, to) on 8 goroutines.
func (d *density) parallel(from, to int, f func(i int) error) {
	d.b.Helper()
	next := make(chan int)
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					once.Do(func() { first = err })
				}
			}
		})
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if first != nil {
		d.b.Fatal(first)
	}
}

// manage sends a management API request as root.
func (d *density) manage(method, path string, body []byte) error {
	req, err := http.NewRequest(method, d.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth(rootKeyID, rootSecret)
	resp, err := d.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	return nil
}

// register creates pool tenants [from, to) and deploys their model.
func (d *density) register(from, to int) {
	d.parallel(from, to, func(i int) error {
		t := tenantName(i)
		body, _ := json.Marshal(map[string]string{"id": t, "isolation": "pool"})
		if err := d.manage("POST", "/api/v1/tenants", body); err != nil {
			return err
		}
		return d.manage("POST", "/api/v1/tenants/"+t+"/models", d.model)
	})
	d.registered = to
}

// invoke invokes the models of tenants [from, to) once each through
// InvokeEndpoint, as the operator.
func (d *density) invoke(from, to int, row []byte) {
	creds := aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}
	sum := sha256.Sum256(row)
	d.parallel(from, to, func(i int) error {
		for {
			req, err := http.NewRequest("POST", d.ts.URL+"/endpoints/"+serving.PoolEndpointName+"/invocations", bytes.NewReader(row))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("X-Amzn-SageMaker-Target-Model", serving.PoolModelKey(tenantName(i)))
			if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sagemaker", "us-east-1", time.Now()); err != nil {
				return err
			}
			resp, err := d.hc.Do(req)
			if err != nil {
				return err
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				return nil
			case resp.StatusCode == http.StatusTooManyRequests || strings.Contains(string(out), "Throttling"):
				time.Sleep(10 * time.Millisecond) // refused while the cache is pinned: the client's retry
			default:
				return fmt.Errorf("invoke %s: %d %s", tenantName(i), resp.StatusCode, out)
			}
		}
	})
}

// poolWorkerRSS is the resident memory of the pool endpoint's worker, found
// by the PID its WorkerReady event records.
func (d *density) poolWorkerRSS() (int64, error) {
	page, err := d.ts.audit.Lookup(context.Background(), audit.Filter{AllTenants: true, EventName: string(serving.EventWorkerReady), Limit: 1000})
	if err != nil {
		return 0, err
	}
	for _, ev := range page.Events {
		if ev.AdditionalEventData["endpoint"] != serving.PoolEndpointName {
			continue
		}
		status, err := os.ReadFile("/proc/" + ev.AdditionalEventData["pid"] + "/status")
		if err != nil {
			return 0, err
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb << 10, err
			}
		}
	}
	return 0, fmt.Errorf("no pool worker found in the audit log")
}
