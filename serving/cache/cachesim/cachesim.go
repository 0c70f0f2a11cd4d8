package cachesim

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tenantml/tenantml/serving/cache"
)

// ScanTenant is the tenant of the scanning requests.
const ScanTenant = "scanner"

// Request is one request of a trace.
type Request struct {
	Key  cache.Key
	Size int64
}

// TraceConfig describes a trace.
type TraceConfig struct {
	// Tenants is the number of tenants, one model each, drawn from a Zipf
	// distribution of exponent ZipfS (> 1).
	Tenants int
	ZipfS   float64
	// Requests is the number of the tenants' requests.
	Requests int
	// ScanModels and ScanEvery add the scanner: after every ScanEvery
	// tenant requests, one request for the scanner's next model, cycling
	// through ScanModels models. ScanEvery 0 means no scanner.
	ScanModels int
	ScanEvery  int
	// Size returns a model's size; nil means 10 bytes each.
	Size func(cache.Key) int64
	// Seed makes the trace reproducible.
	Seed uint64
}

// Trace generates the requests cfg describes.
func Trace(cfg TraceConfig) []Request {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed))
	z := rand.NewZipf(rng, cfg.ZipfS, 1, uint64(cfg.Tenants-1))
	size := cfg.Size
	if size == nil {
		size = func(cache.Key) int64 { return 10 }
	}
	var out []Request
	scan := 0
	for i := range cfg.Requests {
		k := cache.Key{Tenant: fmt.Sprintf("t%05d", z.Uint64()), Model: "model.tar.gz"}
		out = append(out, Request{k, size(k)})
		if cfg.ScanEvery > 0 && (i+1)%cfg.ScanEvery == 0 {
			sk := cache.Key{Tenant: ScanTenant, Model: fmt.Sprintf("m%04d.tar.gz", scan%cfg.ScanModels)}
			out = append(out, Request{sk, size(sk)})
			scan++
		}
	}
	return out
}

// Result counts a replay's outcomes after its warm-up.
type Result struct {
	Requests, Hits           int
	OtherRequests, OtherHits int
	Loads, Refused           int
}

// HitRate is Hits / Requests.
func (r Result) HitRate() float64 { return ratio(r.Hits, r.Requests) }

// OtherHitRate is the hit rate of every tenant but the scanner.
func (r Result) OtherHitRate() float64 { return ratio(r.OtherHits, r.OtherRequests) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func (r *Result) count(i, warmup int, k cache.Key, hit bool) {
	if i < warmup {
		return
	}
	r.Requests++
	other := k.Tenant != ScanTenant
	if other {
		r.OtherRequests++
	}
	if hit {
		r.Hits++
		if other {
			r.OtherHits++
		}
	}
}

// LRU replays trace through an ideal LRU holding at most capacity bytes,
// counting after the first warmup requests.
func LRU(trace []Request, capacity int64, warmup int) Result {
	var r Result
	l := list.New()
	at := map[cache.Key]*list.Element{}
	var used int64
	for i, q := range trace {
		if el, ok := at[q.Key]; ok {
			l.MoveToFront(el)
			r.count(i, warmup, q.Key, true)
			continue
		}
		r.count(i, warmup, q.Key, false)
		if q.Size > capacity {
			continue
		}
		r.Loads++
		for used+q.Size > capacity {
			back := l.Back()
			old := back.Value.(Request)
			used -= old.Size
			delete(at, old.Key)
			l.Remove(back)
		}
		at[q.Key] = l.PushFront(q)
		used += q.Size
	}
	return r
}

// Replay runs trace through a cache.Cache whose loads are instantaneous,
// advancing its clock by step per request. cfg's Capacity, MinResidency
// and Weight are used; Load, Unload and Now are the simulation's.
func Replay(trace []Request, cfg cache.Config[struct{}], step time.Duration, warmup int) (Result, error) {
	sizes := map[cache.Key]int64{}
	for _, q := range trace {
		sizes[q.Key] = q.Size
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var r Result
	cfg.Load = func(_ context.Context, k cache.Key) (struct{}, int64, error) { return struct{}{}, sizes[k], nil }
	cfg.Unload = func(context.Context, cache.Key, struct{}, cache.Reason) {}
	cfg.Now = func() time.Time { return now }
	c := cache.New(cfg)
	defer c.Close()
	var hits, loads uint64 // the cache's counters before this request
	for i, q := range trace {
		if i == warmup {
			loads = c.Stats().Loads
		}
		now = now.Add(step)
		h, err := c.Acquire(context.Background(), q.Key, q.Size)
		if err != nil {
			if !errors.Is(err, cache.ErrNotReady) && !errors.Is(err, cache.ErrThrottled) {
				return r, fmt.Errorf("request %d (%v): %w", i, q.Key, err)
			}
			if i >= warmup {
				r.Refused++
			}
			r.count(i, warmup, q.Key, false)
			continue
		}
		h.Release()
		s := c.Stats()
		r.count(i, warmup, q.Key, s.Hits > hits)
		hits = s.Hits
	}
	r.Loads = int(c.Stats().Loads - loads)
	return r, nil
}
