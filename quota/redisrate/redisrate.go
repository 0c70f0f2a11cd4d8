// Package redisrate is the quota.RateLimiter that shares rate limits
// between gateway replicas through Redis: GCRA state per key in Redis,
// computed atomically by redis_rate's script on Redis's own clock, so
// every gateway decides against the same state.
//
// # When Redis is unreachable
//
// A call that fails (connection refused, timeout: Config.Timeout, 100 ms
// by default, and no retries) marks Redis down for Config.RetryInterval
// (1 s); while it is down no call is attempted, so requests pay no
// timeout, and the first request after the interval tries again. While
// Redis is down the limiter answers by its Mode:
//
//   - FailOpen (the default): the local limiter (quota.Local) decides, so
//     each gateway enforces every tenant's limits on its own: the rate a
//     tenant gets across N gateways is at most N times its limit, never
//     unlimited, and nothing that was admitted is refused because a cache
//     is down.
//   - FailClosed: every rated request is refused with EUNAVAILABLE
//     (ServiceUnavailable, 503) and Retry-After: limits are never exceeded,
//     at the price of refusing all tenants' rated traffic while Redis is
//     down.
//
// The keys are "tenantml:ratelimit:" (redis_rate's prefix "rate:" after
// it) + the quota key, which names one tenant's class and nothing else.
package redisrate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/quota"
)

// Mode is what the limiter does while Redis is unreachable.
type Mode string

// Failure modes.
const (
	FailOpen   Mode = "open"
	FailClosed Mode = "closed"
)

// ParseMode parses "open" or "closed".
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case FailOpen, FailClosed:
		return Mode(s), nil
	}
	return "", fmt.Errorf("ratelimit failure mode %q: want open or closed", s)
}

// Config configures a Limiter. Zero fields take the defaults documented.
type Config struct {
	// URL is redis://[:password@]host:port[/db] (or rediss:// for TLS).
	URL string
	// Mode is the failure mode; default FailOpen.
	Mode Mode
	// Local decides while Redis is down in FailOpen; default a
	// quota.Local on Now.
	Local quota.RateLimiter
	// Timeout bounds each call to Redis (dial, read, write); default
	// 100 ms.
	Timeout time.Duration
	// RetryInterval is how long Redis is left alone after a failure;
	// default 1 s.
	RetryInterval time.Duration
	// Prefix prefixes every key; default "tenantml:ratelimit:".
	Prefix string
	Logger *slog.Logger
	Now    func() time.Time
}

// Stats are the limiter's counters. They carry no tenant.
type Stats struct {
	// Up is whether Redis answered the last call.
	Up bool
	// Errors counts failed Redis calls; Fallbacks the decisions made
	// without Redis (by the local limiter or refused, per Mode).
	Errors, Fallbacks uint64
}

// Limiter is a quota.RateLimiter over Redis. It is safe for concurrent
// use.
type Limiter struct {
	cfg Config
	rdb *redis.Client
	lim *redis_rate.Limiter

	mu        sync.Mutex
	downUntil time.Time
	down      bool

	errors, fallbacks atomic.Uint64
}

var _ quota.RateLimiter = (*Limiter)(nil)

// New returns a Limiter for cfg; it does not connect until the first call.
func New(cfg Config) (*Limiter, error) {
	if cfg.Mode == "" {
		cfg.Mode = FailOpen
	}
	if _, err := ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Local == nil {
		cfg.Local = quota.NewLocal(cfg.Now)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 100 * time.Millisecond
	}
	if cfg.RetryInterval <= 0 {
		cfg.RetryInterval = time.Second
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "tenantml:ratelimit:"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opt, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ratelimit url: %w", err)
	}
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout
	opt.PoolTimeout = cfg.Timeout
	opt.MaxRetries = -1 // fail fast: the failure mode decides, not a retry loop
	opt.ContextTimeoutEnabled = true
	rdb := redis.NewClient(opt)
	return &Limiter{cfg: cfg, rdb: rdb, lim: redis_rate.NewLimiter(rdb)}, nil
}

// Close closes the connections to Redis.
func (l *Limiter) Close() error { return l.rdb.Close() }

// Stats returns the counters.
func (l *Limiter) Stats() Stats {
	l.mu.Lock()
	up := !l.down
	l.mu.Unlock()
	return Stats{Up: up, Errors: l.errors.Load(), Fallbacks: l.fallbacks.Load()}
}

// Ping reports whether Redis answers.
func (l *Limiter) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	return l.rdb.Ping(ctx).Err()
}

// Limit converts a rate to redis_rate's: one request per period of
// 1/PerSecond, Burst at once (the same GCRA as quota.GCRA).
func Limit(r quota.Rate) redis_rate.Limit {
	period := time.Duration(math.Round(float64(time.Second) / r.PerSecond))
	return redis_rate.Limit{Rate: 1, Burst: int(max(r.Burst, 1)), Period: max(period, time.Microsecond)}
}

// Allow implements quota.RateLimiter.
func (l *Limiter) Allow(ctx context.Context, key string, r quota.Rate) (quota.Decision, error) {
	if r.Unlimited() {
		return quota.Decision{Allowed: true, Remaining: math.MaxInt64}, nil
	}
	if l.skipping() {
		return l.fallback(ctx, key, r)
	}
	cctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	res, err := l.lim.Allow(cctx, l.cfg.Prefix+key, Limit(r))
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return quota.Decision{}, ctx.Err()
		}
		l.failed(err)
		return l.fallback(ctx, key, r)
	}
	l.recovered()
	d := quota.Decision{Allowed: res.Allowed > 0, Remaining: int64(res.Remaining)}
	if !d.Allowed {
		d.RetryAfter = max(res.RetryAfter, time.Millisecond)
	}
	return d, nil
}

// skipping reports whether Redis is marked down and its retry time has
// not come.
func (l *Limiter) skipping() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.down && l.cfg.Now().Before(l.downUntil)
}

func (l *Limiter) failed(err error) {
	l.errors.Add(1)
	l.mu.Lock()
	was := l.down
	l.down, l.downUntil = true, l.cfg.Now().Add(l.cfg.RetryInterval)
	l.mu.Unlock()
	if !was {
		l.cfg.Logger.Warn("redis rate limiter unreachable; deciding without it", "mode", string(l.cfg.Mode), "retryIn", l.cfg.RetryInterval.String(), "error", redactErr(err))
	}
}

func (l *Limiter) recovered() {
	l.mu.Lock()
	was := l.down
	l.down = false
	l.mu.Unlock()
	if was {
		l.cfg.Logger.Info("redis rate limiter reachable again; limits are shared")
	}
}

// fallback decides without Redis, by the failure mode.
func (l *Limiter) fallback(ctx context.Context, key string, r quota.Rate) (quota.Decision, error) {
	l.fallbacks.Add(1)
	if l.cfg.Mode == FailClosed {
		return quota.Decision{}, &tenantml.Error{Code: tenantml.EUNAVAILABLE, Message: "rate limits are unavailable; retry", RetryAfter: l.cfg.RetryInterval,
			Err: errors.New("redis unreachable (ratelimit failure mode closed)")}
	}
	return l.cfg.Local.Allow(ctx, key, r)
}

// redactErr keeps a Redis error's text out of reach of its URL's
// password: go-redis errors name the address, never the credentials, but
// a dial error is reduced to its kind all the same.
func redactErr(err error) string {
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return err.Error()
}
