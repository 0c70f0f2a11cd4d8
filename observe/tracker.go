package observe

import (
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// Window is how far back figures are kept: 60 one-minute buckets.
const Window = time.Hour

const (
	minutes = int(Window / time.Minute)
	// Latency buckets: bucket i holds values up to firstBound×growth^i ms.
	firstBound = 0.5
	growth     = 1.25
	nBuckets   = 64
)

// bound is the upper bound in milliseconds of latency bucket i.
func bound(i int) float64 { return firstBound * math.Pow(growth, float64(i)) }

// bucketOf is the latency bucket of ms.
func bucketOf(ms float64) int {
	if ms <= firstBound {
		return 0
	}
	i := int(math.Ceil(math.Log(ms/firstBound) / math.Log(growth)))
	return min(max(i, 0), nBuckets-1)
}

// hist is a latency histogram.
type hist [nBuckets]uint32

// add adds o (nil for none) to h.
func (h *hist) add(o *hist) {
	if o == nil {
		return
	}
	for i := range h {
		h[i] += o[i]
	}
}

// minute is one minute of one tenant's figures.
type minute struct {
	at                            int64 // Unix minute; 0 = empty
	requests, errors, throttles   int64
	invocations, invocationErrors int64
	loads, loadFailures           int64
	// latency and loadTime are allocated for minutes that have any, so
	// that a tenant without invocations costs a few counters a minute.
	latency, loadTime *hist
}

// series is one tenant's last hour.
type series struct {
	ring [minutes]minute
	// closed is the last minute fed to the detector.
	closed int64
	// last is the latest minute with an event.
	last int64
}

// Throttled reports whether an error code is a throttle (a quota, a rate
// limit or a model not ready yet), whatever the surface.
func Throttled(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "SlowDown", "TooManyRequestsException", "TooManyRequests", "ModelNotReadyException":
		return true
	}
	return false
}

// Tracker keeps each tenant's figures. It implements audit.Observer.
type Tracker struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Detector, when set, is fed every closed minute of every tenant.
	Detector *Detector

	mu      sync.Mutex
	tenants map[string]*series
}

var _ audit.Observer = (*Tracker)(nil)

// NewTracker returns a tracker on clock now (time.Now when nil).
func NewTracker(now func() time.Time, d *Detector) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{Now: now, Detector: d, tenants: map[string]*series{}}
}

// ObserveFailure implements audit.Observer; failures are not a tenant's.
func (t *Tracker) ObserveFailure(error) {}

// ObserveEvent implements audit.Observer.
func (t *Tracker) ObserveEvent(ev audit.Event) {
	if ev.TenantID == "" || ev.EventType == audit.TypeAlert {
		return
	}
	now := t.Now()
	m := now.Unix() / 60
	t.mu.Lock()
	s := t.tenants[ev.TenantID]
	if s == nil {
		s = &series{closed: m - 1}
		t.tenants[ev.TenantID] = s
	}
	fire := t.close(ev.TenantID, s, m)
	b := s.at(m)
	s.last = m
	switch ev.EventType {
	case audit.TypeAPICall:
		b.requests++
		if ev.ErrorCode != "" {
			b.errors++
		}
		if Throttled(ev.ErrorCode) {
			b.throttles++
		}
		if ev.EventName == "InvokeEndpoint" && ev.Decision.Effect == audit.Allowed {
			b.invocations++
			if ev.ErrorCode != "" {
				b.invocationErrors++
			}
			if b.latency == nil {
				b.latency = &hist{}
			}
			b.latency[bucketOf(float64(ev.LatencyMs))]++
		}
	case audit.TypeServiceEvent:
		switch ev.EventName {
		case "ModelLoaded", "WorkerReady": // a pool load; a dedicated worker's start with its model
			b.loads++
			if ms, err := strconv.ParseFloat(ev.AdditionalEventData["durationMs"], 64); err == nil {
				if b.loadTime == nil {
					b.loadTime = &hist{}
				}
				b.loadTime[bucketOf(ms)]++
			}
		case "ModelLoadFailed":
			b.loadFailures++
		}
	}
	t.mu.Unlock()
	t.raise(fire)
}

// at returns the bucket of minute m, emptied if it held an older minute.
func (s *series) at(m int64) *minute {
	b := &s.ring[m%int64(minutes)]
	if b.at != m {
		*b = minute{at: m}
	}
	return b
}

// get returns minute m's bucket, or nil when it holds nothing of m.
func (s *series) get(m int64) *minute {
	b := &s.ring[m%int64(minutes)]
	if b.at != m {
		return nil
	}
	return b
}

// close feeds the detector every minute of s before m not yet fed (at
// most one window's worth: older ones are gone) and returns the anomalies.
func (t *Tracker) close(tenant string, s *series, m int64) []Anomaly {
	var out []Anomaly
	from := max(s.closed+1, m-int64(minutes))
	for c := from; c < m; c++ {
		if t.Detector != nil {
			var req, errs int64
			if b := s.get(c); b != nil {
				req, errs = b.requests, b.errors
			}
			out = append(out, t.Detector.observe(tenant, time.Unix(c*60, 0).UTC(), req, errs)...)
		}
	}
	if m-1 > s.closed {
		s.closed = m - 1
	}
	return out
}

func (t *Tracker) raise(as []Anomaly) {
	if t.Detector == nil || t.Detector.Raise == nil {
		return
	}
	for _, a := range as {
		t.Detector.Raise(a)
	}
}

// Tick closes the minutes that ended for every tenant (feeding the
// detector, so that a tenant that went quiet is noticed too) and forgets
// tenants idle for a whole window. Call it every minute or so.
func (t *Tracker) Tick() {
	m := t.Now().Unix() / 60
	var fire []Anomaly
	t.mu.Lock()
	for id, s := range t.tenants {
		fire = append(fire, t.close(id, s, m)...)
		if m-s.last > int64(minutes) {
			delete(t.tenants, id)
			if t.Detector != nil {
				t.Detector.forget(id)
			}
		}
	}
	t.mu.Unlock()
	t.raise(fire)
}

// Tenants returns how many tenants are tracked.
func (t *Tracker) Tenants() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tenants)
}

// Snapshot is a tenant's figures over a window ending now.
type Snapshot struct {
	TenantID string    `json:"tenantId"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	// Requests counts every API request of the tenant; Errors those
	// answered with an error; ErrorRate is Errors / Requests.
	Requests  int64   `json:"requests"`
	Errors    int64   `json:"errors"`
	ErrorRate float64 `json:"errorRate"`
	// Throttles counts requests refused by a quota or rate limit.
	Throttles int64 `json:"throttles"`
	// Invocations counts allowed InvokeEndpoint requests, InvocationErrors
	// those answered with an error.
	Invocations         int64   `json:"invocations"`
	InvocationErrors    int64   `json:"invocationErrors"`
	InvocationErrorRate float64 `json:"invocationErrorRate"`
	// LatencyMs are percentiles of the invocations' latency.
	LatencyMs Percentiles `json:"latencyMs"`
	// ModelLoads counts the tenant's model loads, ModelLoadFailures the
	// failed ones, and ModelLoadMs are percentiles of the load times.
	ModelLoads        int64       `json:"modelLoads"`
	ModelLoadFailures int64       `json:"modelLoadFailures"`
	ModelLoadMs       Percentiles `json:"modelLoadMs"`
	// PerMinute are the minutes of the window with any request.
	PerMinute []MinuteFigures `json:"perMinute"`
}

// Percentiles are latency estimates in milliseconds (0 without data).
type Percentiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// MinuteFigures are one minute's counts.
type MinuteFigures struct {
	Minute      time.Time `json:"minute"`
	Requests    int64     `json:"requests"`
	Errors      int64     `json:"errors"`
	Throttles   int64     `json:"throttles"`
	Invocations int64     `json:"invocations"`
}

// Snapshot returns tenant's figures over the last window (one minute to
// Window; the current minute included).
func (t *Tracker) Snapshot(tenant string, window time.Duration) Snapshot {
	window = min(max(window, time.Minute), Window)
	now := t.Now().UTC()
	m := now.Unix() / 60
	n := int64(window / time.Minute)
	out := Snapshot{TenantID: tenant, From: time.Unix((m-n+1)*60, 0).UTC(), To: now, PerMinute: []MinuteFigures{}}
	var lat, load hist
	t.mu.Lock()
	if s := t.tenants[tenant]; s != nil {
		for c := m - n + 1; c <= m; c++ {
			b := s.get(c)
			if b == nil {
				continue
			}
			out.Requests += b.requests
			out.Errors += b.errors
			out.Throttles += b.throttles
			out.Invocations += b.invocations
			out.InvocationErrors += b.invocationErrors
			out.ModelLoads += b.loads
			out.ModelLoadFailures += b.loadFailures
			lat.add(b.latency)
			load.add(b.loadTime)
			if b.requests > 0 || b.loads > 0 || b.loadFailures > 0 {
				out.PerMinute = append(out.PerMinute, MinuteFigures{Minute: time.Unix(c*60, 0).UTC(), Requests: b.requests, Errors: b.errors, Throttles: b.throttles, Invocations: b.invocations})
			}
		}
	}
	t.mu.Unlock()
	out.ErrorRate = ratio(out.Errors, out.Requests)
	out.InvocationErrorRate = ratio(out.InvocationErrors, out.Invocations)
	out.LatencyMs = percentiles(&lat)
	out.ModelLoadMs = percentiles(&load)
	return out
}

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func percentiles(h *hist) Percentiles {
	var total uint64
	for _, c := range h {
		total += uint64(c)
	}
	if total == 0 {
		return Percentiles{}
	}
	q := func(p float64) float64 {
		rank := uint64(math.Ceil(p * float64(total)))
		var seen uint64
		for i, c := range h {
			seen += uint64(c)
			if seen >= rank {
				return math.Round(bound(i)*1000) / 1000
			}
		}
		return bound(nBuckets - 1)
	}
	return Percentiles{P50: q(0.50), P90: q(0.90), P99: q(0.99)}
}
