package redisrate_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/quota"
	"github.com/tenantml/tenantml/quota/redisrate"
	"github.com/tenantml/tenantml/quota/redisrate/redistest"
)

type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// slow is a rate whose refill is negligible during the test: every
// decision is the burst's, so counts are exact whatever the real time.
var slow = quota.Rate{PerSecond: 1.0 / 3600, Burst: 5}

func allowed(t *testing.T, ls []*redisrate.Limiter, key string, n int) (ok int) {
	t.Helper()
	for i := range n {
		d, err := ls[i%len(ls)].Allow(context.Background(), key, slow)
		if err != nil {
			t.Fatalf("allow %d: %v", i, err)
		}
		if d.Allowed {
			ok++
		}
	}
	return ok
}

func newLimiter(t *testing.T, url string, mode redisrate.Mode, clk *clock) *redisrate.Limiter {
	t.Helper()
	l, err := redisrate.New(redisrate.Config{URL: url, Mode: mode, Now: clk.Now, Local: quota.NewLocal(clk.Now)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// TestLimiter_SharedAndFailover: two limiters (two gateways) share one
// burst through Redis; Redis is stopped mid-run (fail open: each decides
// locally; fail closed: refused) and restarted (shared again).
func TestLimiter_SharedAndFailover(t *testing.T) {
	srv := redistest.Start(t)
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newLimiter(t, srv.URL(), redisrate.FailOpen, clk)
	b := newLimiter(t, srv.URL(), redisrate.FailOpen, clk)
	closed := newLimiter(t, srv.URL(), redisrate.FailClosed, clk)
	both := []*redisrate.Limiter{a, b}

	t.Run("Shared", func(t *testing.T) {
		if got := allowed(t, both, "inv:acme", 12); got != 5 {
			t.Fatalf("allowed across two gateways = %d, want the one burst, 5", got)
		}
		if got := allowed(t, both, "inv:globex", 12); got != 5 {
			t.Fatalf("globex allowed = %d, want its own burst, 5", got)
		}
		d, err := closed.Allow(context.Background(), "inv:acme", slow)
		if err != nil || d.Allowed || d.RetryAfter < 3599*time.Second {
			t.Fatalf("a third gateway: %+v, %v; want refused with about an hour to wait", d, err)
		}
		if s := a.Stats(); !s.Up || s.Errors != 0 {
			t.Fatalf("stats = %+v", s)
		}
	})

	srv.Stop()

	t.Run("FailOpen", func(t *testing.T) {
		// Each gateway now decides alone: its own burst, not unlimited.
		if got := allowed(t, []*redisrate.Limiter{a}, "inv:acme", 8); got != 5 {
			t.Fatalf("gateway a alone allowed %d, want its local burst, 5", got)
		}
		if got := allowed(t, []*redisrate.Limiter{b}, "inv:acme", 8); got != 5 {
			t.Fatalf("gateway b alone allowed %d, want its local burst, 5", got)
		}
		s := a.Stats()
		if s.Up || s.Errors != 1 || s.Fallbacks != 8 {
			t.Fatalf("stats = %+v, want down after one failed call, every decision a fallback", s)
		}
	})

	t.Run("FailClosed", func(t *testing.T) {
		_, err := closed.Allow(context.Background(), "inv:acme", slow)
		e := tenantml.AsError(err)
		if e == nil || e.Code != tenantml.EUNAVAILABLE || e.RetryAfter != time.Second {
			t.Fatalf("closed while Redis is down: %v, want unavailable with Retry-After 1s", err)
		}
	})

	srv.Restart()

	t.Run("Recovered", func(t *testing.T) {
		// Within the retry interval Redis is not tried again.
		allowed(t, []*redisrate.Limiter{a}, "inv:initech", 1)
		if s := a.Stats(); s.Up || s.Errors != 1 {
			t.Fatalf("within the retry interval: %+v, want still down, no new call", s)
		}
		clk.t = clk.t.Add(time.Second)
		// The restarted Redis is empty: one fresh burst, shared again.
		if got := allowed(t, both, "inv:acme", 12); got != 5 {
			t.Fatalf("after the restart, allowed across two gateways = %d, want 5", got)
		}
		if s := a.Stats(); !s.Up {
			t.Fatalf("stats = %+v, want up", s)
		}
		d, err := closed.Allow(context.Background(), "inv:acme", slow)
		if err != nil || d.Allowed {
			t.Fatalf("fail-closed gateway after recovery: %+v, %v; want refused by the shared limit", d, err)
		}
	})
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"open", "closed"} {
		if m, err := redisrate.ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%s) = %v, %v", s, m, err)
		}
	}
	if _, err := redisrate.ParseMode("maybe"); err == nil {
		t.Error("ParseMode(maybe) succeeded")
	}
}

func TestLimit(t *testing.T) {
	l := redisrate.Limit(quota.Rate{PerSecond: 50, Burst: 100})
	if l.Rate != 1 || l.Burst != 100 || l.Period != 20*time.Millisecond {
		t.Fatalf("Limit = %+v", l)
	}
}
