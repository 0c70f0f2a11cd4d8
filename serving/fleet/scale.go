package fleet

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/pool"
)

// variantStats are a variant's cumulative invocation figures, which the
// autoscaler samples (VariantState).
type variantStats struct {
	invocations atomic.Uint64
	latencyNs   atomic.Int64
	inflight    atomic.Int64
	// desired is the instance count a change in progress moves to (0:
	// none).
	desired atomic.Int64
}

// begin counts a request in flight; the returned function ends it. A
// request refused by a stopping variant is not counted: the variant that
// replaced it takes it and counts it.
func (s *variantStats) begin() func(*serving.Response, error) {
	s.inflight.Add(1)
	return func(resp *serving.Response, err error) {
		s.inflight.Add(-1)
		if errors.Is(err, serving.ErrStopped) {
			return
		}
		s.invocations.Add(1)
		if resp != nil {
			s.latencyNs.Add(int64(resp.Latency))
		}
	}
}

// VariantCount is a live variant's instance count.
type VariantCount struct {
	Variant string
	// Instances is the variant's worker count.
	Instances int
	// Desired is the count a change in progress moves it to (Instances
	// when none is).
	Desired int
}

// VariantCounts returns the instance count of each variant of the
// endpoint, in the endpoint's order; false when it is not deployed here.
func (f *Fleet) VariantCounts(acct, name string) ([]VariantCount, bool) {
	f.mu.RLock()
	ep, ok := f.live[key(acct, name)]
	f.mu.RUnlock()
	if !ok {
		return nil, false
	}
	out := make([]VariantCount, 0, len(ep.variants))
	for _, v := range ep.variants {
		n := v.instances()
		d := n
		if x := v.stats.desired.Load(); x > 0 {
			d = int(x)
		}
		out = append(out, VariantCount{Variant: v.name, Instances: n, Desired: d})
	}
	return out, true
}

// VariantState is a live variant's figures for the autoscaler.
type VariantState struct {
	// Tenant owns the endpoint ("" for the platform's).
	Tenant    string
	Instances int
	// Invocations and ModelLatency are cumulative since the variant was
	// deployed (they survive changes of its instance count).
	Invocations  uint64
	ModelLatency time.Duration
	InFlight     int64
}

// VariantState returns the variant's figures; false when the endpoint or
// the variant is not live.
func (f *Fleet) VariantState(acct, endpoint, variant string) (VariantState, bool) {
	f.mu.RLock()
	ep, ok := f.live[key(acct, endpoint)]
	f.mu.RUnlock()
	if !ok {
		return VariantState{}, false
	}
	v := ep.variant(variant)
	if v == nil {
		return VariantState{}, false
	}
	return VariantState{Tenant: ep.live.Tenant, Instances: v.instances(), Invocations: v.stats.invocations.Load(),
		ModelLatency: time.Duration(v.stats.latencyNs.Load()), InFlight: v.stats.inflight.Load()}, true
}

func (v *variant) instances() int {
	if v.multi != nil {
		return len(v.backer.Instances())
	}
	return len(v.single.Instances())
}

func (e *endpoint) variant(name string) *variant {
	for _, v := range e.variants {
		if strings.EqualFold(v.name, name) {
			return v
		}
	}
	return nil
}

// SetInstanceCount changes a live variant's instance count to n without
// dropping a request, as Deploy replaces variants: a variant of n workers
// (a single-model one with the same model; a pool with the same
// configuration) starts and becomes ready while the old one serves, the
// endpoint switches to it atomically, and the old one then drains what
// it admitted and stops. A request refused by the old variant as it
// stops goes to the new one (Invoke). Changes are serialised; an endpoint
// redeployed meanwhile keeps its new variants (ECONFLICT).
func (f *Fleet) SetInstanceCount(ctx context.Context, acct, name, variantName string, n int) error {
	if n < 1 {
		return tenantml.Errorf(tenantml.EINVALID, "instance count %d, want at least 1", n)
	}
	f.scaleMu.Lock()
	defer f.scaleMu.Unlock()
	k := key(acct, name)
	f.mu.RLock()
	ep, ok := f.live[k]
	f.mu.RUnlock()
	if !ok {
		return tenantml.Errorf(tenantml.ENOTFOUND, "endpoint %s is not serving", name)
	}
	old := ep.variant(variantName)
	if old == nil {
		return tenantml.Errorf(tenantml.ENOTFOUND, "endpoint %s has no variant %s", name, variantName)
	}
	if old.instances() == n {
		return nil
	}
	if ep.green.Load() != nil {
		return tenantml.Errorf(tenantml.ECONFLICT, "endpoint %s is being updated: its instance count changes after the update", name)
	}
	old.stats.desired.Store(int64(n))
	defer old.stats.desired.Store(0)
	nv := &variant{name: old.name, weight: old.weight, stats: old.stats}
	if old.multi != nil {
		spec := old.backer.Spec()
		spec.InstanceCount = n
		backer, err := f.cfg.Backend.Start(ctx, spec)
		if err != nil {
			return fmt.Errorf("start %d workers: %w", n, err)
		}
		pc := f.cfg.Pool
		pc.Variant = backer
		p := pool.New(pc)
		if err := p.Open(ctx); err != nil {
			_ = backer.Stop(ctx)
			return fmt.Errorf("open pool: %w", err)
		}
		nv.multi, nv.backer = p, backer
	} else {
		spec := old.single.Spec()
		spec.InstanceCount = n
		sv, err := f.cfg.Backend.Start(ctx, spec)
		if err != nil {
			return fmt.Errorf("start %d workers: %w", n, err)
		}
		nv.single = sv
	}
	next := &endpoint{live: ep.live, total: ep.total, roleARN: ep.roleARN, resolved: map[string]resolvedModel{}}
	for _, v := range ep.variants {
		if v == old {
			v = nv
		}
		next.variants = append(next.variants, v)
	}
	f.mu.Lock()
	if f.live[k] != ep || ep.green.Load() != nil {
		// Redeployed, or a blue/green update staged its new fleet beside
		// this one meanwhile: the update owns the endpoint until it ends
		// (the scaler tries again on its next tick).
		f.mu.Unlock()
		f.stop(context.WithoutCancel(ctx), []*variant{nv})
		return tenantml.Errorf(tenantml.ECONFLICT, "endpoint %s was redeployed or is being updated while its instance count changed", name)
	}
	f.live[k] = next
	f.mu.Unlock()
	f.stop(context.WithoutCancel(ctx), []*variant{old})
	return nil
}
