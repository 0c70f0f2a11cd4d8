package pool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/cache"
	"github.com/tenantml/tenantml/serving/fair"
	"github.com/tenantml/tenantml/tracing"
)

// Config configures a Pool. Zero fields take the defaults New documents.
type Config struct {
	// Variant is the started multi-model variant whose workers the pool
	// fills. Required.
	Variant serving.Variant
	// CacheBytes is what each worker's models may hold; default
	// CacheFraction of the variant's instance memory.
	CacheBytes int64
	// CacheFraction is the default share of instance memory for models;
	// default 0.6 (the worker refuses loads beyond 0.75; the rest is the
	// worker's own heap and the transient memory of parsing).
	CacheFraction float64
	// InstanceTypes sizes the variant's instance type; default
	// serving.DefaultInstanceTypes().
	InstanceTypes serving.InstanceTypes
	// Weight is a tenant's share weight (e.g. from its tier) in the cache
	// and in fair scheduling; default 1. Called under locks: it must be
	// quick and do no I/O.
	Weight func(tenant string) float64
	// Limits caps a tenant's loaded models and their bytes in each
	// worker's cache (cache.Config.Limit; negative: no cap); default none.
	// Called under the cache's lock: quick, no I/O.
	Limits func(tenant string) (models int, bytes int64)
	// Fair configures each worker's fair scheduler (serving/fair): a
	// Capacity of 0 means 4 seats per vCPU of the instance type; its
	// Weight is Weight. SeatBytes is the model bytes one row costs one
	// seat for (a request costs rows × model bytes / SeatBytes seats);
	// default 4 MiB.
	Fair      fair.Config
	SeatBytes int64
	// MinResidency protects a freshly loaded model from eviction; default
	// 1 s.
	MinResidency time.Duration
	// IdleTimeout unloads models unused this long; default 30 min.
	IdleTimeout time.Duration
	// SweepInterval is how often idle models are looked for; default 1 min.
	SweepInterval time.Duration
	// MaxWaiters caps the requests waiting for one model, MaxLoads the
	// concurrent loads per worker; defaults 256 and 4.
	MaxWaiters int
	MaxLoads   int
	// LoadTimeout bounds one model's delivery and load; default 2 min.
	LoadTimeout time.Duration
	// DefaultEstimate sizes a model never loaded before when the Target
	// has no SizeHint; default 16 MiB.
	DefaultEstimate int64
	// Metrics and Events receive figures and model events; default none.
	Metrics serving.Metrics
	Events  serving.Events
	// Logger receives operational logs.
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Tracer traces queueing for a model, its load and the prediction;
	// default none.
	Tracer trace.Tracer
}

// Target is a request's model, resolved and authorized by the gateway.
type Target struct {
	// Tenant owns the model.
	Tenant string
	// Model is the TargetModel, relative to the endpoint's prefix.
	Model string
	// Source opens the model's plaintext.
	Source serving.Opener
	// SizeHint estimates the model's memory on its first load (e.g. the
	// artifact's size); 0 means unknown.
	SizeHint int64
}

func (t Target) validate() error {
	if t.Tenant == "" || t.Model == "" || t.Source == nil {
		return fmt.Errorf("%w: target needs a tenant, a model and a source", serving.ErrInvalidSpec)
	}
	return nil
}

// loaded is what a worker holds for a cache entry.
type loaded struct {
	name        string
	incarnation uint64
}

// shard is one worker and its cache.
type shard struct {
	p     *Pool
	inst  serving.Instance
	cache *cache.Cache[loaded]
	fair  *fair.Scheduler
	seen  atomic.Uint64 // the incarnation the cache describes
	count int           // this shard's loaded models, under the cache lock
}

// Pool serves a multi-model variant. It is safe for concurrent use.
type Pool struct {
	cfg     Config
	shards  []*shard
	sources sync.Map // cache.Key -> serving.Opener

	countMu sync.Mutex // orders LoadedModelCount reports
	total   int

	stop chan struct{}
	wg   sync.WaitGroup
}

// New returns a Pool with cfg's defaults filled in; call Open before use.
func New(cfg Config) *Pool {
	if cfg.CacheFraction == 0 {
		cfg.CacheFraction = 0.6
	}
	if cfg.InstanceTypes == nil {
		cfg.InstanceTypes = serving.DefaultInstanceTypes()
	}
	if cfg.MinResidency == 0 {
		cfg.MinResidency = time.Second
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = time.Minute
	}
	if cfg.DefaultEstimate == 0 {
		cfg.DefaultEstimate = 16 << 20
	}
	if cfg.Metrics == nil {
		cfg.Metrics = serving.NopMetrics{}
	}
	if cfg.Events == nil {
		cfg.Events = serving.NopEvents{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SeatBytes <= 0 {
		cfg.SeatBytes = 4 << 20
	}
	if cfg.Tracer == nil {
		cfg.Tracer = noop.NewTracerProvider().Tracer("")
	}
	return &Pool{cfg: cfg, stop: make(chan struct{})}
}

// Open sizes the caches from the variant and starts the idle sweeper.
func (p *Pool) Open(context.Context) error {
	v := p.cfg.Variant
	if v == nil {
		return errors.New("open pool: no variant")
	}
	spec := v.Spec()
	if spec.Mode != serving.ModeMulti {
		return fmt.Errorf("open pool: variant %s is not multi-model", spec.ID())
	}
	it, err := p.cfg.InstanceTypes.Lookup(spec.InstanceType)
	if err != nil {
		return fmt.Errorf("open pool: %w", err)
	}
	capacity := p.cfg.CacheBytes
	if capacity == 0 {
		capacity = int64(float64(it.MemoryBytes) * p.cfg.CacheFraction)
	}
	fc := p.cfg.Fair
	if fc.Capacity == 0 {
		fc.Capacity = 4 * max(it.VCPU, 1)
	}
	fc.Weight = p.cfg.Weight
	for _, inst := range v.Instances() {
		sh := &shard{p: p, inst: inst, fair: fair.New(fc)}
		sh.seen.Store(inst.Incarnation())
		sh.cache = cache.New(cache.Config[loaded]{
			Capacity:        capacity,
			Load:            sh.load,
			Unload:          sh.unload,
			Weight:          p.cfg.Weight,
			Limit:           p.cfg.Limits,
			MinResidency:    p.cfg.MinResidency,
			IdleTimeout:     p.cfg.IdleTimeout,
			DefaultEstimate: p.cfg.DefaultEstimate,
			MaxWaiters:      p.cfg.MaxWaiters,
			MaxLoads:        p.cfg.MaxLoads,
			LoadTimeout:     p.cfg.LoadTimeout,
			Now:             p.cfg.Now,
			Observer:        (*observer)(sh),
		})
		p.shards = append(p.shards, sh)
	}
	if len(p.shards) == 0 {
		return fmt.Errorf("open pool: variant %s has no instances", spec.ID())
	}
	p.wg.Go(p.sweeper)
	return nil
}

// Close stops the sweeper and refuses further invocations. The workers
// (and the models in them) go when the variant is stopped.
func (p *Pool) Close(context.Context) error {
	select {
	case <-p.stop:
		return nil
	default:
	}
	close(p.stop)
	p.wg.Wait()
	for _, sh := range p.shards {
		sh.cache.Close()
	}
	return nil
}

func (p *Pool) sweeper() {
	t := time.NewTicker(p.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.Sweep()
		}
	}
}

// Sweep unloads the models idle for Config.IdleTimeout now and returns how
// many it unloaded.
func (p *Pool) Sweep() int {
	n := 0
	for _, sh := range p.shards {
		sh.checkIncarnation()
		n += sh.cache.Sweep()
	}
	return n
}

// modelName is the opaque name of a tenant's model inside a worker.
func modelName(k cache.Key) string {
	sum := sha256.Sum256([]byte(k.Tenant + "\x00" + k.Model))
	return "m-" + hex.EncodeToString(sum[:16])
}

// route picks the model's worker by rendezvous hashing.
func (p *Pool) route(k cache.Key) *shard {
	var best *shard
	var bestScore uint64
	for _, sh := range p.shards {
		h := fnv.New64a()
		h.Write([]byte(k.Tenant))
		h.Write([]byte{0})
		h.Write([]byte(k.Model))
		h.Write([]byte{0})
		h.Write([]byte(sh.inst.ID()))
		if s := h.Sum64(); best == nil || s > bestScore {
			best, bestScore = sh, s
		}
	}
	return best
}

// Invoke invokes the target's model, loading it first if its worker does
// not hold it; see the package contract.
func (p *Pool) Invoke(ctx context.Context, t Target, inv serving.Invocation) (*serving.Response, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	k := cache.Key{Tenant: t.Tenant, Model: t.Model}
	p.sources.Store(k, t.Source)
	sh := p.route(k)
	for attempt := 0; ; attempt++ {
		sh.checkIncarnation()
		qctx, span := p.cfg.Tracer.Start(ctx, tracing.SpanQueue, trace.WithAttributes(tracing.TenantID.String(t.Tenant), tracing.Model.String(t.Model)))
		h, err := sh.cache.Acquire(qctx, k, t.SizeHint)
		span.End()
		if err != nil {
			return nil, mapErr(err)
		}
		v := h.Value()
		if v.incarnation != sh.inst.Incarnation() {
			// The worker was replaced after the load: the model is gone.
			sh.cache.Invalidate(h)
			h.Release()
			if attempt == 0 {
				continue
			}
			return nil, fmt.Errorf("%w: worker restarting", serving.ErrModelNotReady)
		}
		inv.Model, inv.TargetModel = v.name, t.Model
		done, err := sh.fair.Acquire(ctx, t.Tenant, p.seats(inv, h.Bytes()))
		if err != nil {
			h.Release()
			if errors.Is(err, fair.ErrRejected) {
				return nil, fmt.Errorf("%w: %w", serving.ErrThrottled, err)
			}
			return nil, err
		}
		pctx, span := p.cfg.Tracer.Start(ctx, tracing.SpanPredict, trace.WithAttributes(tracing.TenantID.String(t.Tenant), tracing.Model.String(t.Model)))
		sent := time.Now()
		resp, err := sh.inst.Invoke(pctx, inv)
		done()
		span.End()
		if resp != nil {
			resp.Latency = time.Since(sent)
		}
		var me *serving.ModelError
		if errors.As(err, &me) && me.Status == 404 && attempt == 0 {
			// The worker does not hold it (restarted between checks).
			sh.cache.Invalidate(h)
			h.Release()
			continue
		}
		h.Release()
		return resp, err
	}
}

// Load loads the target's model on its worker if it is not loaded, as its
// first invocation would (the same admission, fairness and refusals), and
// returns once it is loaded; it is not an invocation, so ModelCacheHit
// does not count it.
func (p *Pool) Load(ctx context.Context, t Target) error {
	if err := t.validate(); err != nil {
		return err
	}
	k := cache.Key{Tenant: t.Tenant, Model: t.Model}
	p.sources.Store(k, t.Source)
	sh := p.route(k)
	sh.checkIncarnation()
	return mapErr(sh.cache.Preload(ctx, k, t.SizeHint))
}

// Status returns the state of a tenant's model on its worker.
func (p *Pool) Status(tenant, model string) cache.Status {
	k := cache.Key{Tenant: tenant, Model: model}
	sh := p.route(k)
	sh.checkIncarnation()
	return sh.cache.Status(k)
}

// Entries lists the models the workers hold, load or unload.
func (p *Pool) Entries() []cache.Entry {
	var out []cache.Entry
	for _, sh := range p.shards {
		sh.checkIncarnation()
		out = append(out, sh.cache.Entries()...)
	}
	return out
}

// mapErr turns the cache's refusals into serving's errors.
func mapErr(err error) error {
	switch {
	case errors.Is(err, cache.ErrNotReady):
		return fmt.Errorf("%w: %w", serving.ErrModelNotReady, err)
	case errors.Is(err, cache.ErrThrottled), errors.Is(err, cache.ErrQuota):
		return fmt.Errorf("%w: %w", serving.ErrThrottled, err)
	case errors.Is(err, cache.ErrTooLarge):
		return fmt.Errorf("%w: %w", serving.ErrModelTooLarge, err)
	case errors.Is(err, cache.ErrClosed):
		return fmt.Errorf("%w: %w", serving.ErrStopped, err)
	}
	return err
}

// Remove unloads a tenant's model (now, or once its invocations in flight
// finish).
func (p *Pool) Remove(tenant, model string) {
	k := cache.Key{Tenant: tenant, Model: model}
	p.route(k).cache.Remove(k)
	p.sources.Delete(k)
}

// RemoveTenant unloads every model of tenant (offboarding, erasure).
func (p *Pool) RemoveTenant(tenant string) {
	for _, sh := range p.shards {
		sh.cache.RemoveTenant(tenant)
	}
	p.sources.Range(func(k, _ any) bool {
		if k.(cache.Key).Tenant == tenant {
			p.sources.Delete(k)
		}
		return true
	})
}

// Stats sums the workers' cache figures.
func (p *Pool) Stats() cache.Stats {
	var s cache.Stats
	for _, sh := range p.shards {
		c := sh.cache.Stats()
		s.Hits += c.Hits
		s.Misses += c.Misses
		s.Loads += c.Loads
		s.LoadFailures += c.LoadFailures
		s.Evictions += c.Evictions
		s.IdleUnloads += c.IdleUnloads
		s.Removals += c.Removals
		s.NotReady += c.NotReady
		s.Throttled += c.Throttled
		s.Models += c.Models
		s.Bytes += c.Bytes
		s.Reserved += c.Reserved
		s.Unloading += c.Unloading
		s.Loading += c.Loading
		s.Waiting += c.Waiting
	}
	return s
}

// checkIncarnation forgets the shard's models when its worker was replaced.
func (sh *shard) checkIncarnation() {
	cur := sh.inst.Incarnation()
	if old := sh.seen.Load(); old != cur && sh.seen.CompareAndSwap(old, cur) {
		sh.p.cfg.Logger.Info("pool worker replaced: its models are forgotten", "instance", sh.inst.ID())
		sh.cache.Purge()
	}
}

func (sh *shard) publish(e serving.Event) {
	spec := sh.p.cfg.Variant.Spec()
	e.Time = sh.p.cfg.Now()
	e.Endpoint, e.Variant, e.Instance = spec.Endpoint, spec.Variant, sh.inst.ID()
	sh.p.cfg.Events.Publish(e)
}

// load delivers and loads a model into the shard's worker.
func (sh *shard) load(ctx context.Context, k cache.Key) (loaded, int64, error) {
	v := loaded{name: modelName(k)}
	src, ok := sh.p.sources.Load(k)
	if !ok {
		return v, 0, fmt.Errorf("%w: no source for the model", serving.ErrModelNotReady)
	}
	ctx, span := sh.p.cfg.Tracer.Start(ctx, tracing.SpanModelLoad, trace.WithAttributes(tracing.TenantID.String(k.Tenant), tracing.Model.String(k.Model)))
	defer span.End()
	st, err := sh.loadOnce(ctx, v.name, src.(serving.Opener))
	var me *serving.ModelError
	if errors.As(err, &me) && me.Status == 409 {
		// A copy from an earlier attempt is in the worker: replace it.
		if err = sh.inst.UnloadModel(ctx, v.name); err == nil {
			st, err = sh.loadOnce(ctx, v.name, src.(serving.Opener))
		}
	}
	m := sh.p.cfg.Metrics
	if err != nil {
		sh.publish(serving.Event{Kind: serving.EventModelLoadFailed, Tenant: k.Tenant, Model: k.Model, Reason: reason(err)})
		return v, 0, fmt.Errorf("load model: %w", err)
	}
	m.ModelDownloadingTime(st.DeliveryTime)
	m.ModelLoadingTime(st.LoadTime)
	v.incarnation = sh.inst.Incarnation()
	sh.publish(serving.Event{Kind: serving.EventModelLoaded, Tenant: k.Tenant, Model: k.Model, Duration: st.DeliveryTime + st.LoadTime})
	return v, st.MemoryBytes, nil
}

func (sh *shard) loadOnce(ctx context.Context, name string, src serving.Opener) (serving.ModelStatus, error) {
	rc, err := src.Open(ctx)
	if err != nil {
		return serving.ModelStatus{}, fmt.Errorf("open model: %w", err)
	}
	defer rc.Close()
	return sh.inst.LoadModel(ctx, name, rc)
}

// reason is an event's short reason for a failed load.
func reason(err error) string {
	var me *serving.ModelError
	switch {
	case errors.As(err, &me):
		return fmt.Sprintf("worker answered %d: %s", me.Status, me.Message)
	case errors.Is(err, serving.ErrUnavailable):
		return "worker unavailable"
	case errors.Is(err, serving.ErrModelTooLarge):
		return "model too large"
	}
	return "load failed"
}

// unload unloads a model from the shard's worker.
func (sh *shard) unload(ctx context.Context, k cache.Key, v loaded, why cache.Reason) {
	start := time.Now()
	err := sh.inst.UnloadModel(ctx, v.name)
	d := time.Since(start)
	sh.p.cfg.Metrics.ModelUnloadingTime(d)
	if err != nil {
		sh.p.cfg.Logger.Warn("unload model", "instance", sh.inst.ID(), "error", err)
	}
	sh.publish(serving.Event{Kind: serving.EventModelUnloaded, Tenant: k.Tenant, Model: k.Model, Reason: string(why), Duration: d})
}

// observer forwards a shard cache's figures to the pool's metrics.
type observer shard

func (o *observer) Hit(hit bool)           { o.p.cfg.Metrics.ModelCacheHit(hit) }
func (o *observer) Waited(d time.Duration) { o.p.cfg.Metrics.ModelLoadingWaitTime(d) }
func (o *observer) Count(n int) {
	delta := n - o.count
	o.count = n
	o.p.countMu.Lock()
	defer o.p.countMu.Unlock()
	o.p.total += delta
	o.p.cfg.Metrics.LoadedModelCount(o.p.total)
}

// seats estimates an invocation's cost for the fair scheduler: its rows
// (CSV lines, or JSON rows) times the model's size in memory (which grows
// with its trees and their nodes), in units of SeatBytes.
func (p *Pool) seats(inv serving.Invocation, modelBytes int64) int {
	rows := int64(Rows(inv.ContentType, inv.Body))
	cost := (rows*max(modelBytes, 1) + p.cfg.SeatBytes - 1) / p.cfg.SeatBytes
	return int(min(cost, 1<<20))
}

// Rows counts a request's rows without parsing it: lines of CSV (a last
// line without newline counts), and for JSON the inner arrays of
// {"instances": [[...], ...]} or [[...], ...] (one row when there are
// none).
func Rows(contentType string, body []byte) int {
	if strings.HasPrefix(contentType, "application/json") {
		n := bytes.Count(body, []byte("[")) - 1
		return max(n, 1)
	}
	n := bytes.Count(body, []byte("\n"))
	if len(body) > 0 && body[len(body)-1] != '\n' {
		n++
	}
	return max(n, 1)
}

// TenantBytes returns the bytes each tenant's models hold in the pool's
// workers (loaded and loading), for metering.
func (p *Pool) TenantBytes() map[string]int64 {
	out := map[string]int64{}
	for _, sh := range p.shards {
		for t, n := range sh.cache.Usages() {
			out[t] += n
		}
	}
	return out
}
