package quota

import (
	"context"
	"sync"
	"time"
)

// RateLimiter decides requests against rates, by key. Local decides in
// process; quota/redisrate shares the decisions of every gateway through
// Redis.
type RateLimiter interface {
	// Allow decides one request of key against r.
	Allow(ctx context.Context, key string, r Rate) (Decision, error)
}

// Local is an in-process RateLimiter: GCRA state per key, kept only while
// it matters (a key whose theoretical arrival time has passed holds no
// state and is swept). It is safe for concurrent use.
type Local struct {
	// Now is the clock; default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	tat   map[string]time.Time
	swept time.Time
}

var _ RateLimiter = (*Local)(nil)

// NewLocal returns an in-process limiter on clock now (time.Now when nil).
func NewLocal(now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	return &Local{Now: now, tat: map[string]time.Time{}}
}

// sweepEvery is how often Allow drops the keys whose state has expired.
const sweepEvery = time.Minute

// Allow implements RateLimiter.
func (l *Local) Allow(_ context.Context, key string, r Rate) (Decision, error) {
	now := l.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.swept) >= sweepEvery {
		for k, t := range l.tat {
			if !t.After(now) {
				delete(l.tat, k)
			}
		}
		l.swept = now
	}
	d, tat := GCRA(r, l.tat[key], now, 1)
	if d.Allowed && !r.Unlimited() {
		l.tat[key] = tat
	}
	return d, nil
}

// Keys returns the number of keys holding state (for tests).
func (l *Local) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.tat)
}
