package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/audit/alert"
	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/observe"
	"github.com/tenantml/tenantml/tenant"
	"github.com/tenantml/tenantml/tracing"
)

// meteringConfig is the configuration of metering, per-tenant metrics and
// tracing (docs/metering.md, docs/observability.md).
type meteringConfig struct {
	// MeterInterval is how often usage is metered and sampled.
	MeterInterval time.Duration
	// PriceSheet is the price sheet file; "" means <data-dir>/prices.json
	// when it exists, else no prices.
	PriceSheet string
	// OTLPEndpoint is the OTLP/HTTP collector; "" turns tracing off.
	OTLPEndpoint string
	// TraceSampleRatio is the share of requests traced.
	TraceSampleRatio float64
}

// priceSheetFile is the price sheet's default name in the data directory.
const priceSheetFile = "prices.json"

func meteringSettings() []setting {
	return []setting{
		{name: "meter-interval", def: "10s", help: "how often usage is metered from the audit log and the levels (pool memory, workers, storage) sampled",
			set: func(c *config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d < 10*time.Millisecond || d > 5*time.Minute {
					return fmt.Errorf("meter-interval %q is not a duration from 10ms to 5m", v)
				}
				c.MeterInterval = d
				return nil
			}, get: func(c *config) string { return c.MeterInterval.String() }},
		stringSetting("price-sheet", "", "price sheet (JSON, docs/metering.md) pricing usage reports; empty reads <data-dir>/prices.json when it exists", func(c *config) *string { return &c.PriceSheet }),
		stringSetting("otlp-endpoint", "", "OpenTelemetry collector's OTLP/HTTP URL (http://host:4318) that receives traces; empty turns tracing off", func(c *config) *string { return &c.OTLPEndpoint }),
		{name: "trace-sample-ratio", def: "1", help: "share of requests traced when otlp-endpoint is set, 0 to 1",
			set: func(c *config, v string) error {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil || f < 0 || f > 1 {
					return fmt.Errorf("trace-sample-ratio %q is not a number from 0 to 1", v)
				}
				c.TraceSampleRatio = f
				return nil
			}, get: func(c *config) string { return strconv.FormatFloat(c.TraceSampleRatio, 'g', -1, 64) }},
	}
}

// observeParts is what serve opens for metering and observability.
type observeParts struct {
	traces   *tracing.Provider
	tracker  *observe.Tracker
	prom     *invocationMetrics
	meter    *metering.Meter
	samplers []*periodicSampler
	// anomalies counts raised anomalies by signal.
	anomalies *prometheus.CounterVec

	sampleFailures atomic.Uint64
	// roundMu serialises meterOnce (the loop's rounds, and tests').
	roundMu sync.Mutex
	stop    context.CancelFunc
	done    chan struct{}
}

// openObserve starts tracing and the per-tenant tracker with its anomaly
// detector. It runs before the audit log opens: the tracker observes it.
func (s *server) openObserve(ctx context.Context) error {
	traces, err := tracing.Open(ctx, tracing.Config{Endpoint: s.cfg.OTLPEndpoint, SampleRatio: s.cfg.TraceSampleRatio, Version: version})
	if err != nil {
		return err
	}
	s.obs.traces = traces
	s.obs.anomalies = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tenantml_tenant_anomalies_total",
		Help: "Anomalies raised: a tenant's request or error rate far from its own baseline (by signal, never by tenant)."}, []string{"signal"})
	for _, sig := range []observe.Signal{observe.RequestSpike, observe.RequestDrop, observe.ErrorSpike} {
		s.obs.anomalies.WithLabelValues(string(sig)) // exported at 0 from the start
	}
	det := &observe.Detector{Raise: s.raiseAnomaly}
	s.obs.tracker = observe.NewTracker(s.now, det)
	s.obs.prom = newInvocationMetrics()
	return nil
}

// raiseAnomaly sends an anomaly through the audit alert webhook, recorded
// in the tenant's trail; without a webhook it is logged and counted.
func (s *server) raiseAnomaly(a observe.Anomaly) {
	s.obs.anomalies.WithLabelValues(string(a.Signal)).Inc()
	if s.alerts == nil {
		s.log.Warn("tenant anomaly (no alert webhook configured)", "tenantId", a.TenantID, "signal", a.Signal, "observed", a.Observed, "baseline", a.Baseline)
		return
	}
	s.alerts.Raise(alert.Alert{Rule: "tenant-anomaly", Kind: alert.AnomalousRate, TenantID: a.TenantID, Count: int(a.Observed), Window: time.Minute.String(), Message: a.Message()})
}

// observers fans the audit log's events out to several observers.
type observers []audit.Observer

func (o observers) ObserveEvent(ev audit.Event) {
	for _, x := range o {
		x.ObserveEvent(ev)
	}
}

func (o observers) ObserveFailure(err error) {
	for _, x := range o {
		x.ObserveFailure(err)
	}
}

// auditSource names this server's audit log as a usage source: every
// server has its own log, told apart by its checkpoint key.
func auditSource(l *audit.Log) string {
	v := l.Verifier()
	return fmt.Sprintf("audit/%s+%08x", v.Name(), v.KeyHash())
}

// registerMetering starts the meter and the samplers and adds the usage
// and tenant metrics APIs and their Prometheus metrics.
func (s *server) registerMetering(srv *api.Server, p *api.Pipeline, reg prometheus.Registerer) error {
	if _, err := s.priceSheet(); err != nil {
		return err
	}
	usage := s.store.Usage()
	s.obs.meter = &metering.Meter{Store: usage, Events: s.audit, Source: auditSource(s.audit)}
	node := auditSource(s.audit)[len("audit/"):]
	fleetGauge := func(pick func(u fleetUsage) map[string]int64) metering.Gauge {
		return func(context.Context) (map[string]int64, error) { return pick(s.fleetUsage()), nil }
	}
	every := s.cfg.MeterInterval
	// Stored bytes change slowly and cost a query per tenant to read:
	// sampled at most once a minute.
	storageEvery := max(every, storageSampleInterval)
	s.obs.samplers = []*periodicSampler{
		{every: every, Sampler: &metering.Sampler{Store: usage, Source: "sample/" + string(metering.ModelMemory) + "/" + node, Dimension: metering.ModelMemory,
			Per: 1, MaxGap: 3 * every, Now: s.now, Gauge: fleetGauge(func(u fleetUsage) map[string]int64 { return u.PoolBytes })}},
		{every: every, Sampler: &metering.Sampler{Store: usage, Source: "sample/" + string(metering.WorkerSeconds) + "/" + node, Dimension: metering.WorkerSeconds,
			Per: 1000, MaxGap: 3 * every, Now: s.now, Gauge: fleetGauge(func(u fleetUsage) map[string]int64 { return u.Workers })}},
		// Stored bytes are shared by every server: one source for all.
		{every: storageEvery, Sampler: &metering.Sampler{Store: usage, Source: "sample/" + string(metering.StorageByteHours), Dimension: metering.StorageByteHours,
			Per: 1, MaxGap: 3 * storageEvery, Now: s.now, Gauge: s.storedBytes}},
	}
	(&manage.Usage{Tenants: s.store.Tenants(), Records: usage, Prices: s.priceSheet, Pipeline: p, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		Sync: func(ctx context.Context) error { _, err := s.obs.meter.Sync(ctx); return err }}).Register(srv)
	(&manage.Metrics{Tenants: s.store.Tenants(), Tracker: s.obs.tracker, Pipeline: p, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
	if err := s.registerObserveMetrics(reg); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.obs.stop, s.obs.done = cancel, make(chan struct{})
	go s.meterLoop(ctx)
	return nil
}

// storageSampleInterval is the shortest interval between two samples of
// the stored bytes.
const storageSampleInterval = time.Minute

// periodicSampler is a sampler and how often it samples (the meter loop
// runs every meter-interval; it is the only caller).
type periodicSampler struct {
	*metering.Sampler
	every time.Duration
	last  time.Time
}

// fleetUsage is serving's per-tenant levels.
type fleetUsage struct{ Workers, PoolBytes map[string]int64 }

func (s *server) fleetUsage() fleetUsage {
	if s.sp.fleet == nil {
		return fleetUsage{}
	}
	u := s.sp.fleet.Usage()
	return fleetUsage{Workers: u.Workers, PoolBytes: u.PoolBytes}
}

// storedBytes is every tenant's stored bytes (objects and parts).
func (s *server) storedBytes(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	f := tenant.Filter{Limit: 1000}
	for {
		ts, next, err := s.store.Tenants().ListTenants(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			u, err := s.kp.artifacts.Usage(ctx, t.ID)
			if err != nil {
				return nil, fmt.Errorf("stored bytes of %s: %w", t.ID, err)
			}
			out[t.ID] = u.StoredBytes
		}
		if next == "" {
			return out, nil
		}
		f.After = next
	}
}

// meterLoop meters and samples every meter-interval and closes the
// trackers' minutes, until ctx ends.
func (s *server) meterLoop(ctx context.Context) {
	defer close(s.obs.done)
	t := time.NewTicker(s.cfg.MeterInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.meterOnce(ctx)
		}
	}
}

// meterOnce runs one round: meter the log, sample the levels, close the
// tracker's minutes. Failures are logged and retried next round: the
// watermarks make a retry exact.
func (s *server) meterOnce(ctx context.Context) {
	s.obs.roundMu.Lock()
	defer s.obs.roundMu.Unlock()
	if _, err := s.obs.meter.Sync(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("metering the audit log failed; retrying next round", "error", err)
	}
	now := s.now()
	for _, sm := range s.obs.samplers {
		if !sm.last.IsZero() && now.Sub(sm.last) < sm.every {
			continue
		}
		sm.last = now
		if err := sm.Sample(ctx); err != nil && !metering.ErrConflict(err) && ctx.Err() == nil {
			s.obs.sampleFailures.Add(1)
			s.log.Warn("sampling usage failed; retrying next round", "source", sm.Source, "error", err)
		}
	}
	s.obs.tracker.Tick()
}

// closeMetering stops the loop, meters what the log holds and flushes the
// traces.
func (s *server) closeMetering(ctx context.Context) error {
	var errs []error
	if s.obs.stop != nil {
		s.obs.stop()
		<-s.obs.done
		s.obs.stop = nil
		if _, err := s.obs.meter.Sync(ctx); err != nil {
			errs = append(errs, fmt.Errorf("final metering: %w", err))
		}
	}
	if s.obs.traces != nil {
		errs = append(errs, s.obs.traces.Shutdown(ctx))
		s.obs.traces = nil
	}
	return errors.Join(errs...)
}

// priceSheet reads the price sheet: the price-sheet file, else
// <data-dir>/prices.json when it exists, else no prices.
func (s *server) priceSheet() (*metering.PriceSheet, error) {
	path := s.cfg.PriceSheet
	if path == "" {
		path = filepath.Join(s.cfg.DataDir, priceSheetFile)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && s.cfg.PriceSheet == "" {
		return metering.DefaultPriceSheet(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read price sheet: %w", err)
	}
	ps, err := metering.ParsePriceSheet(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// registerObserveMetrics exposes the meter's, the tracker's and the
// invocations' metrics. None carries a tenant label: a tenant's figures
// are read through the tenant-scoped API only.
func (s *server) registerObserveMetrics(reg prometheus.Registerer) error {
	m := s.obs.meter
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tenantml_usage_events_metered_total", Help: "Audit events this server metered into usage records."},
			func() float64 { return float64(m.Stats().Events) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tenantml_usage_meter_commits_total", Help: "Usage transactions (records and watermark together) the meter committed."},
			func() float64 { return float64(m.Stats().Commits) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tenantml_usage_meter_lag_events", Help: "Audit events not yet metered (log size minus the meter's watermark)."},
			func() float64 { return float64(max(s.audit.Size()-m.Stats().Watermark, 0)) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tenantml_usage_sample_failures_total", Help: "Usage samples (pool memory, workers, storage) that failed and were retried."},
			func() float64 { return float64(s.obs.sampleFailures.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tenantml_tracked_tenants", Help: "Tenants with requests in the last hour on this server (the per-tenant metrics API's)."},
			func() float64 { return float64(s.obs.tracker.Tenants()) }),
		s.obs.anomalies, s.obs.prom.invocations, s.obs.prom.latency,
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// invocationMetrics counts invocations from the audit events, by outcome
// only.
type invocationMetrics struct {
	invocations *prometheus.CounterVec
	latency     prometheus.Histogram
}

func newInvocationMetrics() *invocationMetrics {
	m := &invocationMetrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tenantml_invocation_outcomes_total",
			Help: "InvokeEndpoint requests allowed by the policies, by outcome (success, error, throttled)."}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "tenantml_invocation_duration_seconds",
			Help: "Latency of allowed InvokeEndpoint requests, as audited.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
	}
	for _, o := range []string{"success", "error", "throttled"} {
		m.invocations.WithLabelValues(o) // exported at 0 from the start
	}
	return m
}

// ObserveEvent implements audit.Observer.
func (m *invocationMetrics) ObserveEvent(ev audit.Event) {
	if ev.EventType != audit.TypeAPICall || ev.EventName != metering.InvokeEventName || ev.Decision.Effect != audit.Allowed {
		return
	}
	outcome := "success"
	switch {
	case observe.Throttled(ev.ErrorCode):
		outcome = "throttled"
	case ev.ErrorCode != "":
		outcome = "error"
	}
	m.invocations.WithLabelValues(outcome).Inc()
	m.latency.Observe(float64(ev.LatencyMs) / 1000)
}

// ObserveFailure implements audit.Observer.
func (m *invocationMetrics) ObserveFailure(error) {}
