package fleet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/serving"
)

var _ serving.Shifter = (*Fleet)(nil)

// green is the new fleet of an endpoint in a blue/green update: its
// variants, and the share of requests routed to it.
type green struct {
	ep    *endpoint
	share float64
}

// figures are a variant's invocation figures (alarm.Figures), kept in
// memory per fleet for the rollouts' alarms: they never reach the shared
// metrics registry, which has no per-endpoint label.
type figures struct {
	mu sync.Mutex
	f  alarm.Figures
}

func (v *variant) observe(status int, latency time.Duration) {
	v.figs.mu.Lock()
	v.figs.f.Observe(status, latency)
	v.figs.mu.Unlock()
}

// Stage implements serving.Shifter: it starts d's variants as the
// endpoint's new fleet, taking no request yet.
func (f *Fleet) Stage(ctx context.Context, d *serving.Deployment) error {
	f.mu.RLock()
	blue := f.live[key(d.Endpoint.AccountID, d.Endpoint.Name)]
	f.mu.RUnlock()
	if blue == nil {
		return fmt.Errorf("endpoint %s is not serving: a blue/green update needs its old fleet", d.Endpoint.Name)
	}
	ep, err := f.build(ctx, d)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.live[key(d.Endpoint.AccountID, d.Endpoint.Name)] != blue || blue.green.Load() != nil {
		go f.stop(context.WithoutCancel(ctx), ep.variants)
		return fmt.Errorf("endpoint %s changed while its new fleet started", d.Endpoint.Name)
	}
	blue.green.Store(&green{ep: ep})
	return nil
}

// Shift implements serving.Shifter.
func (f *Fleet) Shift(acct, name string, share float64) error {
	if share < 0 || share > 1 {
		return fmt.Errorf("share %g is not between 0 and 1", share)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	blue := f.live[key(acct, name)]
	if blue == nil || blue.green.Load() == nil {
		return fmt.Errorf("endpoint %s has no new fleet", name)
	}
	blue.green.Store(&green{ep: blue.green.Load().ep, share: share})
	return nil
}

// Promote implements serving.Shifter: the new fleet becomes the endpoint;
// the old one drains and stops.
func (f *Fleet) Promote(ctx context.Context, acct, name string) error {
	f.mu.Lock()
	blue := f.live[key(acct, name)]
	if blue == nil || blue.green.Load() == nil {
		f.mu.Unlock()
		return fmt.Errorf("endpoint %s has no new fleet", name)
	}
	g := blue.green.Load()
	f.live[key(acct, name)] = g.ep
	blue.green.Store(nil)
	f.mu.Unlock()
	f.stop(ctx, blue.variants)
	return nil
}

// Abort implements serving.Shifter: every request goes back to the old
// fleet; the new one drains and stops.
func (f *Fleet) Abort(ctx context.Context, acct, name string) error {
	f.mu.Lock()
	blue := f.live[key(acct, name)]
	if blue == nil || blue.green.Load() == nil {
		f.mu.Unlock()
		return fmt.Errorf("endpoint %s has no new fleet", name)
	}
	g := blue.green.Load()
	blue.green.Store(nil)
	f.mu.Unlock()
	f.stop(ctx, g.ep.variants)
	return nil
}

// Figures implements serving.Shifter.
func (f *Fleet) Figures(acct, name string) map[string]alarm.Figures {
	f.mu.RLock()
	blue := f.live[key(acct, name)]
	f.mu.RUnlock()
	out := map[string]alarm.Figures{}
	if blue == nil {
		return out
	}
	g := blue.green.Load()
	if g == nil {
		return out
	}
	for _, v := range g.ep.variants {
		v.figs.mu.Lock()
		out[v.name] = v.figs.f
		v.figs.mu.Unlock()
	}
	return out
}

// route picks the fleet a request goes to: the new one for its share of
// requests during a blue/green update, else the endpoint's.
func (e *endpoint) route() *endpoint {
	g := e.green.Load()
	if g == nil || g.share <= 0 {
		return e
	}
	if g.share >= 1 || rand.Float64() < g.share {
		return g.ep
	}
	return e
}

// statusOf is the HTTP status class an invocation's outcome counts as in
// the figures: the worker's own status for a model error, as SageMaker's
// Invocation4XXErrors and Invocation5XXErrors count them.
func statusOf(err error) int {
	if err == nil {
		return 200
	}
	if me := modelError(err); me != nil {
		return me.Status
	}
	return tenantml.StatusOf(tenantml.ErrorCode(err))
}
