package observe

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// Signal is what an anomaly is about.
type Signal string

// The signals.
const (
	// RequestSpike: far more requests than the tenant's baseline.
	RequestSpike Signal = "request-spike"
	// RequestDrop: far fewer requests than a busy tenant's baseline.
	RequestDrop Signal = "request-drop"
	// ErrorSpike: far more errors than the tenant's baseline.
	ErrorSpike Signal = "error-spike"
)

// Anomaly is one minute of a tenant far from its baseline.
type Anomaly struct {
	TenantID string
	Signal   Signal
	// Minute is the minute that was observed.
	Minute time.Time
	// Observed is the minute's count; Baseline and StdDev the moving
	// average and deviation it was compared with; Z the score.
	Observed         int64
	Baseline, StdDev float64
	Z                float64
}

// Message describes the anomaly in words (no other tenant's data).
func (a Anomaly) Message() string {
	return fmt.Sprintf("%s for tenant %s: %d in the minute from %s against a baseline of %.1f ± %.1f per minute (z = %.1f)",
		a.Signal, a.TenantID, a.Observed, a.Minute.Format(time.RFC3339), a.Baseline, a.StdDev, a.Z)
}

// Detector scores each tenant's minutes against an exponentially weighted
// moving average and variance of its own earlier minutes.
type Detector struct {
	// Alpha is the EWMA weight of a new minute; default 0.1 (a memory of
	// about ten minutes).
	Alpha float64
	// Threshold is the |z| that raises an anomaly; default 4.
	Threshold float64
	// Warmup is how many minutes a tenant's baseline needs before it is
	// trusted; default 15.
	Warmup int
	// MinCount is the least count a spike (or the baseline of a drop)
	// must reach: a handful of requests is never an anomaly; default 10.
	MinCount float64
	// Cooldown suppresses repeats of one tenant's signal; default 15
	// minutes.
	Cooldown time.Duration
	// Raise receives anomalies (outside the tracker's lock).
	Raise func(Anomaly)

	mu    sync.Mutex
	state map[string]*baseline
}

type baseline struct {
	req, errs ewma
	n         int
	last      map[Signal]time.Time
}

// ewma is a moving mean and variance.
type ewma struct{ mean, variance float64 }

func (e *ewma) update(alpha, x float64) {
	d := x - e.mean
	e.mean += alpha * d
	e.variance = (1 - alpha) * (e.variance + alpha*d*d)
}

// sd is the deviation the score divides by: at least the Poisson
// deviation of the mean and 1, so that a flat baseline is not infinitely
// sensitive.
func (e *ewma) sd() float64 { return math.Sqrt(max(e.variance, e.mean, 1)) }

func (d *Detector) defaults() (alpha, threshold float64, warmup int, minCount float64, cooldown time.Duration) {
	alpha, threshold, warmup, minCount, cooldown = d.Alpha, d.Threshold, d.Warmup, d.MinCount, d.Cooldown
	if alpha <= 0 || alpha >= 1 {
		alpha = 0.1
	}
	if threshold <= 0 {
		threshold = 4
	}
	if warmup <= 0 {
		warmup = 15
	}
	if minCount <= 0 {
		minCount = 10
	}
	if cooldown <= 0 {
		cooldown = 15 * time.Minute
	}
	return
}

// observe scores one closed minute of tenant and updates its baseline.
func (d *Detector) observe(tenant string, m time.Time, requests, errs int64) []Anomaly {
	alpha, threshold, warmup, minCount, cooldown := d.defaults()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state == nil {
		d.state = map[string]*baseline{}
	}
	b := d.state[tenant]
	if b == nil {
		b = &baseline{last: map[Signal]time.Time{}}
		d.state[tenant] = b
	}
	var out []Anomaly
	check := func(sig Signal, e *ewma, x float64, fire bool) {
		if !fire || b.n < warmup {
			return
		}
		if t, ok := b.last[sig]; ok && m.Sub(t) < cooldown {
			return
		}
		b.last[sig] = m
		out = append(out, Anomaly{TenantID: tenant, Signal: sig, Minute: m, Observed: int64(x), Baseline: e.mean, StdDev: e.sd(), Z: (x - e.mean) / e.sd()})
	}
	r, f := float64(requests), float64(errs)
	zr := (r - b.req.mean) / b.req.sd()
	ze := (f - b.errs.mean) / b.errs.sd()
	check(RequestSpike, &b.req, r, zr > threshold && r >= minCount)
	check(RequestDrop, &b.req, r, zr < -threshold && b.req.mean >= minCount)
	check(ErrorSpike, &b.errs, f, ze > threshold && f >= minCount)
	if b.n == 0 { // the first minute is the baseline's start
		b.req.mean, b.errs.mean = r, f
	} else {
		b.req.update(alpha, r)
		b.errs.update(alpha, f)
	}
	b.n++
	return out
}

// forget drops a tenant's baseline.
func (d *Detector) forget(tenant string) {
	d.mu.Lock()
	delete(d.state, tenant)
	d.mu.Unlock()
}
