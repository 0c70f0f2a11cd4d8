package main

import (
	"context"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/quota"
	"github.com/tenantml/tenantml/quota/redisrate"
	"github.com/tenantml/tenantml/serving"
)

// quotaParts is what serve_quota adds to the server: the quota registry
// (tiers, overrides, effective limits), the rate limiter (in process, or
// Redis with --ratelimit) and the admission stage every pipeline runs.
type quotaParts struct {
	service  *quota.Service
	admitter *quota.Admitter
	redis    *redisrate.Limiter
}

// quotas returns the quota registry, created on first use (the artifact
// store, opened before the pipelines, asks it too).
func (s *server) quotas() *quota.Service {
	if s.qp.service == nil {
		s.qp.service = &quota.Service{Store: s.store.Quotas(), Tenants: s.store.Tenants(), Now: s.now}
	}
	return s.qp.service
}

// openQuotas builds the rate limiter and the admitter, and registers their
// metrics (no tenant label: figures per tenant are in the audit log).
func (s *server) openQuotas(reg prometheus.Registerer) error {
	var rates quota.RateLimiter = quota.NewLocal(s.now)
	if s.cfg.RateLimit != "" {
		mode, err := redisrate.ParseMode(s.cfg.RateLimitFailure)
		if err != nil {
			return err
		}
		l, err := redisrate.New(redisrate.Config{URL: s.cfg.RateLimit, Mode: mode, Logger: s.log, Now: s.now})
		if err != nil {
			return err
		}
		s.qp.redis, rates = l, l
		if err := l.Ping(context.Background()); err != nil {
			s.log.Warn("ratelimit redis unreachable at start; limits follow the failure mode until it answers", "mode", string(mode), "error", err)
		}
		stat := func(name, help string, v func(redisrate.Stats) float64) prometheus.Collector {
			return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, func() float64 { return v(l.Stats()) })
		}
		for _, c := range []prometheus.Collector{
			stat("tenantml_ratelimit_redis_up", "1 while the rate-limit Redis answers, 0 while limits follow the failure mode.", func(st redisrate.Stats) float64 {
				if st.Up {
					return 1
				}
				return 0
			}),
			stat("tenantml_ratelimit_redis_errors", "Failed calls to the rate-limit Redis since start.", func(st redisrate.Stats) float64 { return float64(st.Errors) }),
			stat("tenantml_ratelimit_fallback_decisions", "Rate decisions made without Redis (local or refused) since start.", func(st redisrate.Stats) float64 { return float64(st.Fallbacks) }),
		} {
			if err := reg.Register(c); err != nil {
				return fmt.Errorf("register ratelimit metrics: %w", err)
			}
		}
	}
	s.qp.admitter = &quota.Admitter{Limits: s.quotas(), Rates: rates}
	return nil
}

// registerQuotas adds the tier and tenant-quota routes.
func (s *server) registerQuotas(srv *api.Server, p *api.Pipeline) {
	(&manage.Quotas{Service: s.quotas(), Pipeline: p, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
}

// closeQuotas closes the Redis connections.
func (s *server) closeQuotas() error {
	if s.qp.redis != nil {
		return s.qp.redis.Close()
	}
	return nil
}

// admission is the pipeline's admission stage: the caller's tenant and
// the action's class (an invocation, or any other call) against the
// tenant's rates and concurrency. Platform principals are not limited.
type admission struct{ a *quota.Admitter }

func (a admission) Admit(ctx context.Context, ad *api.Admission) (func(), error) {
	return a.a.Admit(ctx, ad.Caller.TenantID, quota.ClassOf(ad.Action))
}

// quotaLimits adapts the quota registry to the seams of the domain
// packages: serving.ResourceQuota (models, endpoints), artifact.StorageQuota
// (stored bytes), and the pool's weights and loaded-model limits.
type quotaLimits struct{ svc *quota.Service }

var (
	_ serving.ResourceQuota = quotaLimits{}
	_ artifact.StorageQuota = quotaLimits{}
)

func (q quotaLimits) ResourceLimit(ctx context.Context, tenant string, kind serving.ResourceKind) (int64, bool, error) {
	e, err := q.svc.Effective(ctx, tenant)
	if err != nil {
		return 0, false, err
	}
	switch kind {
	case serving.KindModel:
		n, ok := quota.Count(e.Limits.Models)
		return n, ok, nil
	case serving.KindEndpoint:
		n, ok := quota.Count(e.Limits.Endpoints)
		return n, ok, nil
	}
	return 0, false, nil
}

func (q quotaLimits) CheckStored(ctx context.Context, tenant string, total int64) error {
	if tenant == artifact.PlatformTenant {
		return nil
	}
	e, err := q.svc.Effective(ctx, tenant)
	if err != nil {
		return err
	}
	if limit, ok := quota.Count(e.Limits.StoredBytes); ok && total > limit {
		return quota.Exceeded("storedBytes", limit)
	}
	return nil
}

// Weight is a tenant's fair-share weight, from the limits last read (the
// admission stage reads them on every invocation); 1 when none are.
func (q quotaLimits) Weight(tenant string) float64 {
	if e, ok := q.svc.Peek(tenant); ok {
		return e.WeightOf()
	}
	return 1
}

// PoolLimits are a tenant's loaded models and bytes, from the limits last
// read; none when none are.
func (q quotaLimits) PoolLimits(tenant string) (int, int64) {
	e, ok := q.svc.Peek(tenant)
	if !ok {
		return -1, -1
	}
	models, bytes := -1, int64(-1)
	if n, ok := quota.Count(e.Limits.LoadedModels); ok {
		models = int(n)
	}
	if n, ok := quota.Count(e.Limits.LoadedModelBytes); ok {
		bytes = n
	}
	return models, bytes
}
