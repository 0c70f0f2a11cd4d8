package quota

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
)

// Class is the kind of request the admission stage decides on.
type Class int

// Classes of requests.
const (
	// Management is every API call but an invocation: IAM, STS, KMS, the
	// SageMaker control plane, the management API. Rated by the tenant's
	// management rate.
	Management Class = iota
	// Invocation is a model invocation: rated by the invocation rate and
	// capped by the concurrent invocations.
	Invocation
)

// ClassOf returns the class of an IAM action.
func ClassOf(action string) Class {
	if strings.HasPrefix(action, "sagemaker:InvokeEndpoint") {
		return Invocation
	}
	return Management
}

// Limits returns a tenant's effective limits; *Service implements it.
type LimitSource interface {
	Effective(ctx context.Context, tenant string) (*Effective, error)
}

// Admitter decides whether a tenant's request may proceed: its class's
// rate (through Rates), and for invocations the tenant's invocations in
// flight on this gateway. It is safe for concurrent use.
type Admitter struct {
	Limits LimitSource
	Rates  RateLimiter

	mu       sync.Mutex
	inflight map[string]int64
}

// RateKey is the limiter key of tenant's class: it names the tenant, so
// that no two tenants share state, and nothing else.
func RateKey(class Class, tenant string) string {
	if class == Invocation {
		return "inv:" + tenant
	}
	return "mgmt:" + tenant
}

// ConcurrencyRetry is the Retry-After of a request refused for the
// tenant's concurrency.
const ConcurrencyRetry = time.Second

// Admit decides one request of tenant ("" admits: the platform's own
// principals are not limited). It returns the release to call when the
// request is done, or an ETOOMANYREQUESTS error with RetryAfter.
func (a *Admitter) Admit(ctx context.Context, tenant string, class Class) (func(), error) {
	if tenant == "" {
		return func() {}, nil
	}
	e, err := a.Limits.Effective(ctx, tenant)
	if err != nil {
		return nil, &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "quotas are unavailable; the request was not completed", Err: err}
	}
	release := func() {}
	if class == Invocation {
		// Concurrency first: a request refused for it spends no rate.
		if release, err = a.enter(tenant, e); err != nil {
			return nil, err
		}
	}
	r := e.ManagementRate()
	if class == Invocation {
		r = e.InvocationRate()
	}
	if !r.Unlimited() {
		d, err := a.Rates.Allow(ctx, RateKey(class, tenant), r)
		if err == nil && !d.Allowed {
			err = Throttled(d.RetryAfter)
		}
		if err != nil {
			release()
			return nil, err
		}
	}
	return release, nil
}

// enter counts one more invocation of tenant in flight, within its limit.
func (a *Admitter) enter(tenant string, e *Effective) (func(), error) {
	limit, limited := Count(e.Limits.ConcurrentInvocations)
	a.mu.Lock()
	defer a.mu.Unlock()
	if limited && a.inflight[tenant] >= limit {
		return nil, Throttled(ConcurrencyRetry)
	}
	if a.inflight == nil {
		a.inflight = map[string]int64{}
	}
	a.inflight[tenant]++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.inflight[tenant]--; a.inflight[tenant] <= 0 {
				delete(a.inflight, tenant)
			}
		})
	}, nil
}

// InFlight returns tenant's admitted invocations not yet released.
func (a *Admitter) InFlight(tenant string) int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inflight[tenant]
}

// Throttled is the error of a request refused by a rate or concurrency
// limit: ETOOMANYREQUESTS, which each surface's dialect names
// (ThrottlingException, Throttling, SlowDown, 429), with Retry-After.
func Throttled(retryAfter time.Duration) error {
	if retryAfter <= 0 {
		retryAfter = time.Millisecond
	}
	return &tenantml.Error{Code: tenantml.ETOOMANYREQUESTS, Message: "Rate exceeded", RetryAfter: retryAfter}
}

// Exceeded is the error of a create or load refused because the tenant
// holds its limit of what (endpoints, models, stored bytes, ...):
// ETOOMANYREQUESTS with AWS's ResourceLimitExceeded code and no
// Retry-After (waiting does not help; deleting does).
func Exceeded(what string, limit int64) error {
	return &tenantml.Error{Code: tenantml.ETOOMANYREQUESTS, AWSCode: "ResourceLimitExceeded",
		Message: "The tenant's quota '" + what + "' is " + strconv.FormatInt(limit, 10) + ", and the request would exceed it."}
}
