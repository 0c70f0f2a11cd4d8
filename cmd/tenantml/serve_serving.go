package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/cloudwatch"
	"github.com/tenantml/tenantml/api/gateway"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/api/runtime"
	"github.com/tenantml/tenantml/api/sagemaker"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn/oidc"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/fleet"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/serving/onboard"
	"github.com/tenantml/tenantml/serving/pool"
)

// servingParts is what serve_serving adds to the server: the worker
// supervisor, the fleet of deployed endpoints, the control plane and the
// onboarding deployer.
type servingParts struct {
	alarms     *alarm.Service
	supervisor *lazySupervisor
	fleet      *fleet.Fleet
	controller *serving.Controller
	// registry is the model registry; objects and engine resolve and
	// authorize the objects its packages pin.
	registry *registry.Service
	objects  *fleet.ObjectSource
	engine   *authz.Engine
	deployer *onboard.Deployer
	metrics  *servingMetrics
}

// imagesFile is the registered model servers, in the data directory.
const imagesFile = "images.json"

// loadImages reads the registered images (tenantml image register).
func loadImages(dataDir string) (map[string]local.Image, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, imagesFile))
	if errors.Is(err, os.ErrNotExist) {
		return map[string]local.Image{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read images: %w", err)
	}
	var m map[string]local.Image
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", imagesFile, err)
	}
	return m, nil
}

// imageChecker accepts the native runtime's image names and the
// registered images, and the instance types of the backend's table.
type imageChecker struct {
	images map[string]local.Image
	types  serving.InstanceTypes
}

func (c imageChecker) CheckImage(image string) error {
	if fleet.NativeImage(image) {
		return nil
	}
	if _, ok := c.images[image]; ok {
		return nil
	}
	return tenantml.Errorf(tenantml.EINVALID, "not a registered image: use tenantml/xgboost, a SageMaker XGBoost image, or an image the operator registered with `tenantml image register`")
}

func (c imageChecker) CheckInstanceType(name string) error {
	_, err := c.types.Lookup(name)
	return err
}

// openServing starts the worker supervisor, the fleet and the control
// plane, and redeploys the endpoints that were serving.
func (s *server) openServing(ctx context.Context, engine *authz.Engine, reg prometheus.Registerer) error {
	images, err := loadImages(s.cfg.DataDir)
	if err != nil {
		return err
	}
	exe := s.cfg.WorkerExecutable
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find the tenantml binary for workers: %w", err)
		}
	}
	events := serving.EventsFunc(s.servingEvent)
	types := serving.DefaultInstanceTypes()
	s.sp.supervisor = &lazySupervisor{cfg: local.Config{Executable: exe, Images: images, InstanceTypes: types, RunDir: s.cfg.WorkerRunDir, Events: events, Logger: s.log, Now: s.now}}
	metrics, err := newServingMetrics(reg)
	if err != nil {
		return err
	}
	s.sp.metrics = metrics
	src := &fleet.ObjectSource{AccountID: s.cfg.AccountID, Objects: s.kp.artifacts, Keys: s.kp.keys, Identity: s.store.Identity(), Authz: engine, Policies: engine}
	s.sp.fleet = fleet.New(fleet.Config{Backend: s.sp.supervisor, Source: src, Logger: s.log, Now: s.now, Tracer: s.obs.traces.Tracer(),
		Pool: pool.Config{Metrics: metrics, Events: events, Logger: s.log, CacheBytes: s.cfg.PoolCacheBytes, Tracer: s.obs.traces.Tracer(),
			Weight: quotaLimits{s.quotas()}.Weight, Limits: quotaLimits{s.quotas()}.PoolLimits}})
	s.sp.alarms = &alarm.Service{Store: s.store.Alarms(), AccountID: s.cfg.AccountID, Region: s.cfg.Region, CheckName: serving.CheckTenantName, Now: s.now}
	s.sp.controller = &serving.Controller{Store: s.store.Serving(), Deployer: s.sp.fleet, Checker: imageChecker{images: images, types: types}, Quota: quotaLimits{s.quotas()},
		Region: s.cfg.Region, AccountID: s.cfg.AccountID, Log: s.log, Now: s.now, Accounts: s.furtherAccounts,
		Shifter: s.sp.fleet, Rollouts: s.store.Rollouts(), Alarms: s.sp.alarms, Events: events}
	s.sp.deployer = &onboard.Deployer{AccountID: s.cfg.AccountID, Region: s.cfg.Region, Identity: s.store.Identity(), Objects: s.kp.artifacts,
		Controller: s.sp.controller, Evictor: s.sp.fleet, Tenants: s.store.Tenants(), Bucket: s.cfg.ModelBucket, KeyAlias: artifact.DefaultKeyAlias, Now: s.now,
		KeyARN: func(ctx context.Context, t, alias string) (string, error) {
			m, err := s.kp.keys.DescribeKey(ctx, t, alias)
			return m.Arn, err
		}}
	s.sp.registry = &registry.Service{Store: s.store.Registry(), Region: s.cfg.Region, AccountID: s.cfg.AccountID, Now: s.now,
		Images: imageChecker{images: images, types: types}}
	s.sp.objects, s.sp.engine = src, engine
	return s.sp.controller.Resume(ctx)
}

// registerServing adds the control plane (SageMaker.* on router), the
// data plane (InvokeEndpoint, the Open Inference Protocol) and the tenant
// gateway.
func (s *server) registerServing(srv *api.Server, router *api.AWSRouter, awsPipeline, managePipeline *api.Pipeline) {
	meter := &runtime.Meter{Metrics: s.sp.metrics}
	(&sagemaker.Surface{Controller: s.sp.controller, Pipeline: awsPipeline, Roles: roleResources{s.store.Identity(), s.cfg.AccountID},
		Instances: s.instanceCounts, Registry: s.sp.registry, Policies: s.sp.engine, ModelData: s.sp.objects}).Register(router)
	(&cloudwatch.Surface{Alarms: s.sp.alarms, Pipeline: awsPipeline, Protocol: cloudwatch.Protocol()}).Register(router)
	(&runtime.Surface{Data: s.sp.fleet, Pipeline: awsPipeline, Region: s.cfg.Region, AccountID: s.cfg.AccountID, Meter: meter}).Register(srv)
	s.registerOIP(srv, awsPipeline, meter)
	(&manage.Models{Tenants: s.store.Tenants(), Deployer: s.sp.deployer, Pipeline: streamingPipeline(managePipeline), Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		MaxModelBytes: s.cfg.MaxArtifactBytes}).Register(srv)
	(&gateway.Gateway{IssuerURL: s.cfg.GatewayIssuer, AccountID: s.cfg.AccountID, Region: s.cfg.Region, Identity: s.store.Identity(), Tenants: s.store.Tenants(),
		Data: s.sp.fleet, Pipeline: awsPipeline, Verifiers: &oidc.Cache{Options: oidc.Options{Now: s.now, Logger: s.log}}, Now: s.now, Meter: meter}).Register(srv)
}

// closeServing stops every worker.
func (s *server) closeServing(ctx context.Context) error {
	var errs []error
	if s.sp.controller != nil {
		s.sp.controller.Wait()
	}
	if s.sp.fleet != nil {
		errs = append(errs, s.sp.fleet.Close(ctx))
	}
	if s.sp.supervisor != nil {
		errs = append(errs, s.sp.supervisor.close(ctx))
	}
	return errors.Join(errs...)
}

// servingEvent records a worker or model lifecycle event in the audit log
// as a service event of the tenant it concerns.
func (s *server) servingEvent(e serving.Event) {
	ev := audit.Event{EventTime: e.Time, EventType: audit.TypeServiceEvent, TenantID: e.Tenant, EventSource: "sagemaker.amazonaws.com",
		EventName: string(e.Kind), UserIdentity: audit.UserIdentity{Type: "Service", PrincipalID: "tenantml-supervisor"},
		AdditionalEventData: map[string]string{"endpoint": e.Endpoint, "variant": e.Variant, "instance": e.Instance}}
	if e.Model != "" {
		ev.AdditionalEventData["targetModel"] = e.Model
	}
	if e.Reason != "" {
		ev.AdditionalEventData["reason"] = e.Reason
	}
	if e.PID != 0 {
		ev.AdditionalEventData["pid"] = strconv.Itoa(e.PID)
	}
	if e.Duration > 0 {
		ev.AdditionalEventData["durationMs"] = strconv.FormatInt(e.Duration.Milliseconds(), 10)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.audit == nil {
		return
	}
	if _, err := s.audit.Append(ctx, ev); err != nil {
		s.log.Error("audit serving event", "kind", e.Kind, "error", err)
	}
}

// lazySupervisor opens the worker supervisor on the first deployment: its
// probes (the sandbox helper, namespaces, cgroups) start processes, which
// a server that serves no model need not pay for at start. A failed open
// is retried by the next deployment.
type lazySupervisor struct {
	cfg local.Config

	mu      sync.Mutex
	sup     *local.Supervisor
	copyDir string // a world-readable copy of the executable, removed on close
}

var _ serving.Backend = (*lazySupervisor)(nil)

// Start implements serving.Backend.
func (l *lazySupervisor) Start(ctx context.Context, spec serving.VariantSpec) (serving.Variant, error) {
	l.mu.Lock()
	if l.sup == nil {
		if err := l.open(ctx); err != nil {
			l.mu.Unlock()
			return nil, fmt.Errorf("%w: workers cannot start on this machine: %v", serving.ErrStartFailed, err)
		}
	}
	sup := l.sup
	l.mu.Unlock()
	return sup.Start(ctx, spec)
}

// open starts the supervisor. Workers run as users of their own when the
// server runs as root, so they must be able to execute the binary: one in
// a directory they cannot reach (go run's build cache, a private
// directory) is copied, once, into a directory they may traverse.
func (l *lazySupervisor) open(ctx context.Context) error {
	cfg := l.cfg
	if os.Geteuid() == 0 && !othersMayExecute(cfg.Executable) {
		dir, err := os.MkdirTemp("", "tenantml-worker-bin-")
		if err != nil {
			return err
		}
		bin := filepath.Join(dir, "tenantml")
		err = copyFile(cfg.Executable, bin, 0o755)
		if err == nil {
			err = os.Chmod(dir, 0o755)
		}
		if err != nil {
			os.RemoveAll(dir)
			return fmt.Errorf("copy the worker binary: %w", err)
		}
		cfg.Executable, l.copyDir = bin, dir
	}
	sup := local.New(cfg)
	if err := sup.Open(ctx); err != nil {
		if l.copyDir != "" {
			os.RemoveAll(l.copyDir)
			l.copyDir = ""
		}
		return err
	}
	l.sup = sup
	return nil
}

// othersMayExecute reports whether users other than the owner can reach
// and execute path: every directory on the way searchable, the file
// executable, by others.
func othersMayExecute(path string) bool {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&0o001 == 0 {
		return false
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		di, err := os.Stat(dir)
		if err != nil || di.Mode().Perm()&0o001 == 0 {
			return false
		}
		if dir == filepath.Dir(dir) {
			return true
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func (l *lazySupervisor) close(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var err error
	if l.sup != nil {
		err = l.sup.Close(ctx)
	}
	if l.copyDir != "" {
		err = errors.Join(err, os.RemoveAll(l.copyDir))
	}
	return err
}

// roleResources resolves execution roles for iam:PassRole: the role's
// tenant and tags, or its ARN alone (not found) when it does not exist.
type roleResources struct {
	ids     identity.Service
	account string
}

func (r roleResources) RoleResource(req *http.Request, roleARN string) (authz.Resource, bool, error) {
	acct := r.account
	if a := arn.AccountOf(roleARN); a != "" {
		acct = a // the controller refuses a role of another account than the caller's
	}
	role, err := r.ids.GetRole(req.Context(), acct, authz.RoleName(roleARN))
	switch code := tenantml.ErrorCode(err); {
	case code == tenantml.ENOTFOUND || code == tenantml.EINVALID:
		return authz.Resource{ARN: roleARN}, false, nil
	case err != nil:
		return authz.Resource{}, false, fmt.Errorf("look up execution role: %w", err)
	case role.ARN != roleARN:
		return authz.Resource{ARN: roleARN}, false, nil // another path: not this role
	}
	return authz.Resource{ARN: role.ARN, Tenant: role.TenantID, Tags: role.Tags}, true, nil
}

// servingMetrics exposes the multi-model figures and the per-endpoint
// invocation figures with the managed cloud's names. They carry no tenant,
// model or endpoint label: a tenant's activity is not visible in metrics.
// The invocation figures' one dimension is the endpoint's mode
// (SingleModel, MultiModel) in place of the managed cloud's EndpointName,
// whose values are tenants' names.
type servingMetrics struct {
	waiting, downloading, loading, unloading prometheus.Histogram
	hits                                     *prometheus.CounterVec
	loaded                                   prometheus.Gauge
	invocations                              *prometheus.CounterVec
	invocationErrors                         *prometheus.CounterVec
	modelLatency, overheadLatency            *prometheus.HistogramVec
}

func newServingMetrics(reg prometheus.Registerer) (*servingMetrics, error) {
	h := func(name, help string) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)})
	}
	m := &servingMetrics{
		waiting:     h("tenantml_model_loading_wait_seconds", "ModelLoadingWaitTime: how long invocations waited for their model to be delivered and loaded."),
		downloading: h("tenantml_model_downloading_seconds", "ModelDownloadingTime: time to deliver a model's plaintext to a worker (decryption included)."),
		loading:     h("tenantml_model_loading_seconds", "ModelLoadingTime: time a worker took to load a delivered model."),
		unloading:   h("tenantml_model_unloading_seconds", "ModelUnloadingTime: time to unload a model."),
		hits:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tenantml_model_cache_requests_total", Help: "ModelCacheHit: pool invocations by whether the model was loaded (hit) or not (miss)."}, []string{"result"}),
		loaded:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "tenantml_loaded_model_count", Help: "LoadedModelCount: models the pool workers hold."}),
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tenantml_invocations_total",
			Help: "Invocations: requests that reached a live endpoint (InvokeEndpoint, Open Inference Protocol inference, the tenant gateway), by the endpoint's mode."}, []string{"mode"}),
		invocationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tenantml_invocation_errors_total",
			Help: "Invocation4XXErrors and Invocation5XXErrors: invocations of a live endpoint answered with a 4xx or 5xx status, by the endpoint's mode."}, []string{"mode", "class"}),
		modelLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tenantml_model_latency_seconds",
			Help: "ModelLatency: time the worker took to answer a successful invocation, from sending the request to reading the response, by the endpoint's mode.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"mode"}),
		overheadLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "tenantml_overhead_latency_seconds",
			Help: "OverheadLatency: time the gateway added to a successful invocation (from receiving it to answering, less ModelLatency), by the endpoint's mode.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)}, []string{"mode"}),
	}
	m.hits.WithLabelValues("hit") // exported at 0 from the start, like the others
	m.hits.WithLabelValues("miss")
	for _, c := range []prometheus.Collector{m.waiting, m.downloading, m.loading, m.unloading, m.hits, m.loaded, m.invocations, m.invocationErrors, m.modelLatency, m.overheadLatency} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register serving metrics: %w", err)
		}
	}
	return m, nil
}

func (m *servingMetrics) ModelLoadingWaitTime(d time.Duration) { m.waiting.Observe(d.Seconds()) }
func (m *servingMetrics) ModelDownloadingTime(d time.Duration) { m.downloading.Observe(d.Seconds()) }
func (m *servingMetrics) ModelLoadingTime(d time.Duration)     { m.loading.Observe(d.Seconds()) }
func (m *servingMetrics) ModelUnloadingTime(d time.Duration)   { m.unloading.Observe(d.Seconds()) }
func (m *servingMetrics) LoadedModelCount(n int)               { m.loaded.Set(float64(n)) }

func (m *servingMetrics) ModelCacheHit(hit bool) {
	if hit {
		m.hits.WithLabelValues("hit").Inc()
		return
	}
	m.hits.WithLabelValues("miss").Inc()
}

// Invocation implements serving.InvocationMetrics.
func (m *servingMetrics) Invocation(mode serving.Mode, status int, model, overhead time.Duration) {
	label := string(mode)
	if mode != serving.ModeMulti {
		label = string(serving.ModeSingle) // the label has two values, whatever a caller passes
	}
	m.invocations.WithLabelValues(label).Inc()
	switch {
	case status >= 500:
		m.invocationErrors.WithLabelValues(label, "5xx").Inc()
	case status >= 400:
		m.invocationErrors.WithLabelValues(label, "4xx").Inc()
	case status == http.StatusOK:
		m.modelLatency.WithLabelValues(label).Observe(model.Seconds())
		m.overheadLatency.WithLabelValues(label).Observe(overhead.Seconds())
	}
}
