package serving

import (
	"context"
	"fmt"
	"sync"

	"github.com/tenantml/tenantml"
)

// ResourceQuota caps the models and endpoints a tenant holds. The
// Controller asks it before creating a tenant's model or endpoint and
// counts what the tenant holds in its Store; cmd/tenantml adapts the quota
// service to it (serving never imports quota). Platform resources (no
// tenant) are not capped.
type ResourceQuota interface {
	// ResourceLimit returns how many resources of kind tenant may hold;
	// limited is false when it may hold any number.
	ResourceLimit(ctx context.Context, tenant string, kind ResourceKind) (limit int64, limited bool, err error)
}

// ErrResourceLimit is the answer to a create beyond a tenant's limit:
// SageMaker's ResourceLimitExceeded (400), kind ETOOMANYREQUESTS, without
// Retry-After (deleting helps, waiting does not).
func ErrResourceLimit(kind ResourceKind, limit, held int64) error {
	what := map[ResourceKind]string{KindModel: "models", KindEndpoint: "endpoints", KindEndpointConfig: "endpoint configs"}[kind]
	return &tenantml.Error{Code: tenantml.ETOOMANYREQUESTS, AWSCode: "ResourceLimitExceeded",
		Message: fmt.Sprintf("The tenant-level service limit 'Number of %s' is %d, with current utilization of %d and a request delta of 1.", what, limit, held)}
}

// quotaGate serializes a Controller's quota-checked creates so that, on
// one gateway, a count and the create it admits are not interleaved with
// another create's.
type quotaGate struct{ mu sync.Mutex }

// checkQuota counts tenant's resources of kind in the account (up to its limit) and
// refuses one more beyond the limit. Call it with c.quota.mu held.
func (c *Scoped) checkQuota(ctx context.Context, tenant string, kind ResourceKind) error {
	if c.Quota == nil || tenant == "" {
		return nil
	}
	limit, limited, err := c.Quota.ResourceLimit(ctx, tenant, kind)
	if err != nil {
		return fmt.Errorf("resource limit: %w", err)
	}
	if !limited {
		return nil
	}
	held, err := c.countUpTo(ctx, tenant, kind, limit)
	if err != nil {
		return err
	}
	if held >= limit {
		return ErrResourceLimit(kind, limit, held)
	}
	return nil
}

// countUpTo counts tenant's resources of kind, stopping once it reached
// limit.
func (c *Scoped) countUpTo(ctx context.Context, tenant string, kind ResourceKind, limit int64) (int64, error) {
	var held int64
	f := ListFilter{Tenant: tenant, Limit: 100}
	for {
		var n int
		var next string
		var err error
		switch kind {
		case KindModel:
			var ms []*Model
			ms, next, err = c.Store.ListModels(ctx, c.acct, f)
			n = len(ms)
		case KindEndpoint:
			var es []*Endpoint
			es, next, err = c.Store.ListEndpoints(ctx, c.acct, f)
			n = len(es)
		default:
			var ecs []*EndpointConfig
			ecs, next, err = c.Store.ListEndpointConfigs(ctx, c.acct, f)
			n = len(ecs)
		}
		if err != nil {
			return 0, fmt.Errorf("count %ss: %w", kind, err)
		}
		held += int64(n)
		if next == "" || held >= limit {
			return held, nil
		}
		f.After = next
	}
}
