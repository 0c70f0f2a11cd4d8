// Package fleet runs deployed endpoints: it implements serving.Deployer
// and serving.DataPlane over a worker serving.Backend (local processes, or
// Kubernetes later) and the multi-model pool (serving/pool).
//
// A single-model variant is VariantSpec{Mode: ModeSingle} with its model's
// opener; a multi-model variant is a ModeMulti variant filled by a pool,
// whose TargetModels resolve, per request, to objects under the model's
// ModelDataUrl prefix. Models are opened through a ModelSource as the
// model's execution role may read them: a role without the permissions
// fails the deployment (or the invocation) with the reason.
//
// Deploy replaces an endpoint's variants without dropping requests: the new
// variants start and become ready, the endpoint switches to them
// atomically, and only then do the old ones stop, each draining its
// in-flight requests first.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/pool"
	"github.com/tenantml/tenantml/tracing"
)

// tracer is the fleet's tracer, a no-op one when none is set.
func (f *Fleet) tracer() trace.Tracer {
	if f.cfg.Tracer == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return f.cfg.Tracer
}

// Model is a model artifact a role may read.
type Model struct {
	// Opener opens its plaintext (decryption streams through it).
	Opener serving.Opener
	// Size is the plaintext's size in bytes.
	Size int64
	// Tenant owns the object: the tenant of the key that encrypts it.
	Tenant string
	// SHA256 is the hex SHA-256 of the plaintext as the object store
	// recorded (and authenticates) it; "" when it records none (a
	// multipart object).
	SHA256 string
}

// ModelSource opens model artifacts as an execution role may read them.
type ModelSource interface {
	// Object returns the object u names, checked now: the role must be
	// allowed s3:GetObject on it and kms:Decrypt on its key. A missing
	// object is ENOTFOUND; a refused role EFORBIDDEN with the reason.
	Object(ctx context.Context, roleARN string, u serving.S3URL) (Model, error)
}

// Config configures a Fleet.
type Config struct {
	Backend serving.Backend
	Source  ModelSource
	// Pool configures each multi-model variant's pool; Variant is set by
	// the fleet.
	Pool pool.Config
	// ModelTTL bounds how long a multi-model endpoint's resolved
	// TargetModel (opener, size, owner) is reused; default 30 s.
	ModelTTL time.Duration
	// MaxResolved bounds the resolved models kept per endpoint; default
	// 65,536.
	MaxResolved int
	Logger      *slog.Logger
	Now         func() time.Time
	// Tracer traces predictions of single-model variants (the pools trace
	// their own: Pool.Tracer); default none.
	Tracer trace.Tracer
}

// Fleet runs the deployed endpoints of one gateway.
type Fleet struct {
	cfg Config

	mu   sync.RWMutex
	live map[string]*endpoint // by account/lower(name)
	// scaleMu serialises SetInstanceCount.
	scaleMu sync.Mutex
}

var (
	_ serving.Deployer        = (*Fleet)(nil)
	_ serving.DataPlane       = (*Fleet)(nil)
	_ serving.ModelRepository = (*Fleet)(nil)
)

// New returns a Fleet with cfg's defaults.
func New(cfg Config) *Fleet {
	if cfg.ModelTTL == 0 {
		cfg.ModelTTL = 30 * time.Second
	}
	if cfg.MaxResolved == 0 {
		cfg.MaxResolved = 1 << 16
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Fleet{cfg: cfg, live: map[string]*endpoint{}}
}

// endpoint is a deployed endpoint: its live description and variants.
type endpoint struct {
	live     *serving.LiveEndpoint
	variants []*variant
	total    float64
	// roleARN reads the models of a multi-model endpoint.
	roleARN string

	mu       sync.Mutex
	resolved map[string]resolvedModel

	// green is the new fleet of a blue/green update in progress (see
	// shift.go); nil otherwise.
	green atomic.Pointer[green]
}

type variant struct {
	name   string
	weight float64
	single serving.Variant
	multi  *pool.Pool
	backer serving.Variant // the multi-model variant under the pool
	// stats are the variant's cumulative figures, carried over when its
	// instance count changes (scale.go).
	stats *variantStats
	figs  figures
}

type resolvedModel struct {
	m  Model
	at time.Time
}

func key(acct, name string) string { return acct + "/" + strings.ToLower(name) }

// Deploy implements serving.Deployer.
func (f *Fleet) Deploy(ctx context.Context, d *serving.Deployment) error {
	ep, err := f.build(ctx, d)
	if err != nil {
		return err
	}
	e := d.Endpoint
	f.mu.Lock()
	old := f.live[key(e.AccountID, e.Name)]
	f.live[key(e.AccountID, e.Name)] = ep
	f.mu.Unlock()
	if old != nil {
		f.stopEndpoint(ctx, old)
	}
	return nil
}

// build starts d's variants as a fleet of the endpoint, not yet routed
// to; on failure nothing is left running.
func (f *Fleet) build(ctx context.Context, d *serving.Deployment) (*endpoint, error) {
	e := d.Endpoint
	ep := &endpoint{resolved: map[string]resolvedModel{}}
	live := &serving.LiveEndpoint{AccountID: e.AccountID, Name: e.Name, ARN: e.ARN, Tenant: e.Tenant, Tags: e.Tags}
	for _, pv := range d.Config.ProductionVariants {
		m, ok := d.Models[pv.ModelName]
		if !ok {
			f.stop(ctx, ep.variants)
			return nil, fmt.Errorf("variant %s: model %s is missing", pv.VariantName, pv.ModelName)
		}
		v, err := f.start(ctx, e, pv, m, live, ep)
		if err != nil {
			f.stop(ctx, ep.variants)
			return nil, fmt.Errorf("variant %s: %w", pv.VariantName, err)
		}
		ep.variants = append(ep.variants, v)
		ep.total += v.weight
		live.Variants = append(live.Variants, serving.LiveVariant{Name: v.name, Weight: v.weight})
	}
	ep.live = live
	return ep, nil
}

// stopEndpoint stops an endpoint's fleets: a new fleet of an update in
// progress, then its own.
func (f *Fleet) stopEndpoint(ctx context.Context, ep *endpoint) {
	if g := ep.green.Swap(nil); g != nil {
		f.stop(ctx, g.ep.variants)
	}
	f.stop(ctx, ep.variants)
}

// start starts one production variant.
func (f *Fleet) start(ctx context.Context, e *serving.Endpoint, pv serving.ProductionVariant, m *serving.Model, live *serving.LiveEndpoint, ep *endpoint) (*variant, error) {
	u, err := serving.ParseS3URL(m.PrimaryContainer.ModelDataURL)
	if err != nil {
		return nil, err
	}
	spec := serving.VariantSpec{Endpoint: e.Name, Variant: pv.VariantName, Tenant: e.Tenant, Image: imageOf(m.PrimaryContainer.Image),
		InstanceType: pv.InstanceType, InstanceCount: pv.InitialInstanceCount}
	v := &variant{name: pv.VariantName, weight: pv.InitialVariantWeight, stats: &variantStats{}}
	if v.weight <= 0 {
		v.weight = 1
	}
	if m.PrimaryContainer.Mode == string(serving.ModeMulti) {
		spec.Mode = serving.ModeMulti
		backer, err := f.cfg.Backend.Start(ctx, spec)
		if err != nil {
			return nil, err
		}
		pc := f.cfg.Pool
		pc.Variant = backer
		p := pool.New(pc)
		if err := p.Open(ctx); err != nil {
			_ = backer.Stop(ctx)
			return nil, fmt.Errorf("open pool: %w", err)
		}
		live.Multi, live.Prefix, ep.roleARN = true, u, m.ExecutionRoleARN
		v.multi, v.backer = p, backer
		return v, nil
	}
	model, err := f.cfg.Source.Object(ctx, m.ExecutionRoleARN, u)
	if err != nil {
		return nil, fmt.Errorf("model %s: %s", m.PrimaryContainer.ModelDataURL, tenantml.ErrorMessage(err))
	}
	if e.Tenant != "" && model.Tenant != e.Tenant {
		// Another tenant's object (read by a platform role): the endpoint's
		// tenant reads the FailureReason, which must be a missing
		// object's.
		return nil, fmt.Errorf("model %s: %s", m.PrimaryContainer.ModelDataURL, tenantml.ErrorMessage(errNoObject(u)))
	}
	opener, err := checkPin(m, model)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", m.PrimaryContainer.ModelDataURL, err)
	}
	spec.Mode, spec.Model = serving.ModeSingle, opener
	sv, err := f.cfg.Backend.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	v.single = sv
	return v, nil
}

// imageOf maps the container image to the backend's image name: the
// native runtime for tenantml/xgboost and SageMaker's XGBoost images.
func imageOf(image string) string {
	if NativeImage(image) {
		return ""
	}
	return image
}

// NativeImage reports the image names the native XGBoost runtime serves:
// tenantml/xgboost[:tag] and SageMaker's XGBoost image URIs
// (<account>.dkr.ecr.<region>.amazonaws.com/sagemaker-xgboost:<version>).
func NativeImage(image string) bool {
	name, _, _ := strings.Cut(image, "@")
	repo := name
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		repo = name[:i]
	}
	return repo == "tenantml/xgboost" || repo == "xgboost" || strings.HasSuffix(repo, "/sagemaker-xgboost")
}

// stop stops variants, draining their in-flight requests.
func (f *Fleet) stop(ctx context.Context, vs []*variant) {
	for _, v := range vs {
		var err error
		if v.multi != nil {
			err = errors.Join(v.multi.Close(ctx), v.backer.Stop(ctx))
		} else if v.single != nil {
			err = v.single.Stop(ctx)
		}
		if err != nil {
			f.cfg.Logger.Error("stop variant", "variant", v.name, "error", err)
		}
	}
}

// Undeploy implements serving.Deployer.
func (f *Fleet) Undeploy(ctx context.Context, acct, name string) error {
	f.mu.Lock()
	ep := f.live[key(acct, name)]
	delete(f.live, key(acct, name))
	f.mu.Unlock()
	if ep != nil {
		f.stopEndpoint(ctx, ep)
	}
	return nil
}

// Close stops every endpoint.
func (f *Fleet) Close(ctx context.Context) error {
	f.mu.Lock()
	all := f.live
	f.live = map[string]*endpoint{}
	f.mu.Unlock()
	for _, ep := range all {
		f.stopEndpoint(ctx, ep)
	}
	return nil
}

// Endpoint implements serving.DataPlane.
func (f *Fleet) Endpoint(acct, name string) (*serving.LiveEndpoint, bool) {
	f.mu.RLock()
	ep, ok := f.live[key(acct, name)]
	f.mu.RUnlock()
	if !ok {
		return nil, false
	}
	return ep.live, true
}

func (f *Fleet) get(ep *serving.LiveEndpoint) (*endpoint, error) {
	f.mu.RLock()
	e, ok := f.live[key(ep.AccountID, ep.Name)]
	f.mu.RUnlock()
	if !ok {
		return nil, tenantml.AWSErrorf(tenantml.EUNAVAILABLE, "ServiceUnavailable", "endpoint %s is not serving", ep.Name)
	}
	return e, nil
}

// ResolveModel implements serving.DataPlane.
func (f *Fleet) ResolveModel(ctx context.Context, ep *serving.LiveEndpoint, targetModel string) (string, bool, error) {
	e, err := f.get(ep)
	if err != nil {
		return "", false, err
	}
	m, err := f.resolve(ctx, e, targetModel)
	switch tenantml.ErrorCode(err) {
	case "":
		return m.Tenant, true, nil
	case tenantml.ENOTFOUND:
		return "", false, nil
	}
	return "", false, err
}

// resolve returns a TargetModel's object under the endpoint's prefix, from
// the bounded cache when fresh.
func (f *Fleet) resolve(ctx context.Context, e *endpoint, targetModel string) (Model, error) {
	now := f.cfg.Now()
	e.mu.Lock()
	r, ok := e.resolved[targetModel]
	e.mu.Unlock()
	if ok && now.Sub(r.at) < f.cfg.ModelTTL {
		return r.m, nil
	}
	u := e.live.Prefix
	u.Key += targetModel
	m, err := f.cfg.Source.Object(ctx, e.roleARN, u)
	if err != nil {
		return Model{}, err
	}
	e.mu.Lock()
	if len(e.resolved) >= f.cfg.MaxResolved {
		e.resolved = map[string]resolvedModel{}
	}
	e.resolved[targetModel] = resolvedModel{m: m, at: now}
	e.mu.Unlock()
	return m, nil
}

// Invoke implements serving.DataPlane. During a blue/green update the
// request goes to the new fleet for its share of requests (the one that
// has TargetVariant, when one is named), else to the endpoint's.
func (f *Fleet) Invoke(ctx context.Context, ep *serving.LiveEndpoint, in *serving.InvokeInput) (*serving.InvokeOutput, error) {
	for attempt := 0; ; attempt++ {
		e, err := f.get(ep)
		if err != nil {
			return nil, err
		}
		target := e.route()
		if in.TargetVariant != "" && !target.has(in.TargetVariant) {
			if g := e.green.Load(); target == e && g != nil && g.ep.has(in.TargetVariant) {
				target = g.ep
			} else {
				target = e
			}
		}
		out, err := f.invoke(ctx, ep, target, in)
		if errors.Is(err, serving.ErrStopped) && attempt < 2 {
			// The fleet this request went to stopped before admitting it
			// (an update replaced it, promoted the new fleet or rolled it
			// back; a stopping variant drains only the requests it had
			// admitted): the fleet serving the endpoint now takes it, as
			// the request is idempotent.
			continue
		}
		return out, err
	}
}

// has reports whether the fleet has a variant of that name.
func (e *endpoint) has(name string) bool {
	for _, v := range e.variants {
		if strings.EqualFold(v.name, name) {
			return true
		}
	}
	return false
}

// modelError returns the worker's error in err's chain, nil if none.
func modelError(err error) *serving.ModelError {
	var me *serving.ModelError
	if errors.As(err, &me) {
		return me
	}
	return nil
}

// invoke sends in to one of e's variants.
func (f *Fleet) invoke(ctx context.Context, ep *serving.LiveEndpoint, e *endpoint, in *serving.InvokeInput) (_ *serving.InvokeOutput, err error) {
	v, err := e.pick(in.TargetVariant)
	if err != nil {
		return nil, err
	}
	inv := serving.Invocation{TargetModel: in.TargetModel, ContentType: in.ContentType, Accept: in.Accept, CustomAttributes: in.CustomAttributes, Body: in.Body}
	done := v.stats.begin()
	var resp *serving.Response
	defer func() { done(resp, err) }()
	if v.multi != nil {
		m, err := f.resolve(ctx, e, in.TargetModel)
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return nil, serving.ErrModelNotFound(ep.Name, in.TargetModel)
		}
		if err != nil {
			return nil, err
		}
		resp, err = v.multi.Invoke(ctx, pool.Target{Tenant: m.Tenant, Model: in.TargetModel, Source: m.Opener, SizeHint: m.Size}, inv)
		if err != nil {
			err = runtimeError(err)
			if !errors.Is(err, serving.ErrStopped) {
				v.observe(statusOf(err), 0)
			}
			return nil, err
		}
	} else {
		pctx, span := f.tracer().Start(ctx, tracing.SpanPredict, trace.WithAttributes(tracing.TenantID.String(ep.Tenant), tracing.Endpoint.String(ep.Name)))
		sent := time.Now()
		resp, err = v.single.Invoke(pctx, inv)
		span.End()
		if err != nil {
			err = runtimeError(err)
			if !errors.Is(err, serving.ErrStopped) {
				v.observe(statusOf(err), 0)
			}
			return nil, err
		}
		resp.Latency = time.Since(sent)
	}
	v.observe(http.StatusOK, resp.Latency)
	return &serving.InvokeOutput{Variant: v.name, ContentType: resp.ContentType, CustomAttributes: resp.CustomAttributes, Body: resp.Body,
		ModelLatency: resp.Latency}, nil
}

// pick chooses the variant: TargetVariant when named, else by weight.
func (e *endpoint) pick(target string) (*variant, error) {
	if target != "" {
		for _, v := range e.variants {
			if strings.EqualFold(v.name, target) {
				return v, nil
			}
		}
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "endpoint %s has no variant %q", e.live.Name, target)
	}
	if len(e.variants) == 1 || e.total <= 0 {
		return e.variants[0], nil
	}
	x := rand.Float64() * e.total
	for _, v := range e.variants {
		if x < v.weight {
			return v, nil
		}
		x -= v.weight
	}
	return e.variants[len(e.variants)-1], nil
}

// runtimeError gives the backend's and pool's errors SageMaker Runtime's
// codes.
func runtimeError(err error) error {
	var me *serving.ModelError
	switch {
	case errors.As(err, &me):
		return &tenantml.Error{Code: tenantml.EINVALID, AWSCode: "ModelError", Status: 424,
			Message: fmt.Sprintf("Received client error (%d) from model with message %q.", me.Status, me.Message), Err: err}
	case errors.Is(err, serving.ErrModelNotReady):
		return &tenantml.Error{Code: tenantml.ETOOMANYREQUESTS, AWSCode: "ModelNotReadyException", Status: 429, Message: "the model is loading; retry", RetryAfter: time.Second, Err: err}
	case errors.Is(err, serving.ErrThrottled):
		return &tenantml.Error{Code: tenantml.ETOOMANYREQUESTS, AWSCode: "ThrottlingException", Message: "too many requests for this model; retry", RetryAfter: time.Second, Err: err}
	case errors.Is(err, serving.ErrUnavailable), errors.Is(err, serving.ErrStopped):
		return &tenantml.Error{Code: tenantml.EUNAVAILABLE, AWSCode: "ServiceUnavailable", Message: "no worker is available; retry", Err: err}
	case errors.Is(err, serving.ErrModelTooLarge):
		return &tenantml.Error{Code: tenantml.EINVALID, AWSCode: "ValidationError", Message: "the model is too large for the endpoint's instances", Err: err}
	}
	return err
}

// RemoveTenant drops every model of tenant t from the pools and forgets
// their resolved objects, so that the next invocation loads the current
// object (after a redeployment) or finds none (after offboarding).
func (f *Fleet) RemoveTenant(t string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, blue := range f.live {
		fleets := []*endpoint{blue}
		if g := blue.green.Load(); g != nil {
			fleets = append(fleets, g.ep)
		}
		for _, ep := range fleets {
			ep.mu.Lock()
			ep.resolved = map[string]resolvedModel{}
			ep.mu.Unlock()
			for _, v := range ep.variants {
				if v.multi != nil {
					v.multi.RemoveTenant(t)
				}
			}
		}
	}
}

// Usage is what the fleet's deployed endpoints hold per tenant now, for
// metering.
type Usage struct {
	// Workers counts the dedicated (single-model) workers of each tenant's
	// endpoints, ready or restarting.
	Workers map[string]int64
	// PoolBytes is the memory each tenant's models hold in the pools.
	PoolBytes map[string]int64
}

// Usage returns the workers and pool memory each tenant holds now.
func (f *Fleet) Usage() Usage {
	u := Usage{Workers: map[string]int64{}, PoolBytes: map[string]int64{}}
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, blue := range f.live {
		fleets := []*endpoint{blue}
		if g := blue.green.Load(); g != nil {
			fleets = append(fleets, g.ep) // both fleets run during an update
		}
		for _, ep := range fleets {
			for _, v := range ep.variants {
				switch {
				case v.multi != nil:
					for t, n := range v.multi.TenantBytes() {
						u.PoolBytes[t] += n
					}
				case v.single != nil && ep.live.Tenant != "":
					u.Workers[ep.live.Tenant] += int64(len(v.single.Instances()))
				}
			}
		}
	}
	return u
}
