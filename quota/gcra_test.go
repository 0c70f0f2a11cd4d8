package quota_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/quota"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) Now() time.Time          { return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func TestGCRA_Burst(t *testing.T) {
	clk := newClock()
	l := quota.NewLocal(clk.Now)
	r := quota.Rate{PerSecond: 10, Burst: 5}
	ctx := context.Background()
	allowed := 0
	for range 20 {
		d, err := l.Allow(ctx, "k", r)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			allowed++
		}
	}
	if allowed != 5 {
		t.Fatalf("allowed at once = %d, want the burst, 5", allowed)
	}
	d, _ := l.Allow(ctx, "k", r)
	if d.Allowed || d.RetryAfter != 100*time.Millisecond {
		t.Fatalf("after the burst: %+v, want refused with RetryAfter 100ms", d)
	}
	clk.Advance(99 * time.Millisecond)
	if d, _ := l.Allow(ctx, "k", r); d.Allowed || d.RetryAfter != time.Millisecond {
		t.Fatalf("at 99ms: %+v, want refused, 1ms to go", d)
	}
	clk.Advance(time.Millisecond)
	if d, _ := l.Allow(ctx, "k", r); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("at 100ms: %+v, want allowed with nothing left", d)
	}
	if d, _ := l.Allow(ctx, "other", r); !d.Allowed || d.Remaining != 4 {
		t.Fatalf("another key: %+v, want its own burst (4 left)", d)
	}
}

func TestGCRA_SustainedRate(t *testing.T) {
	clk := newClock()
	l := quota.NewLocal(clk.Now)
	r := quota.Rate{PerSecond: 20, Burst: 10}
	ctx := context.Background()
	// Offer 100 requests per second (one per 10 ms) for 10 s: the limiter
	// allows the burst plus 20 per second, exactly.
	allowed := 0
	for range 1000 {
		if d, _ := l.Allow(ctx, "k", r); d.Allowed {
			allowed++
		}
		clk.Advance(10 * time.Millisecond)
	}
	if want := 10 + 20*10 - 1; allowed < want || allowed > want+1 {
		t.Fatalf("allowed in 10 s = %d, want %d±1 (burst + rate × time)", allowed, want)
	}
}

func TestGCRA_FractionalRate(t *testing.T) {
	clk := newClock()
	l := quota.NewLocal(clk.Now)
	r := quota.Rate{PerSecond: 0.5, Burst: 1}
	ctx := context.Background()
	if d, _ := l.Allow(ctx, "k", r); !d.Allowed {
		t.Fatal("first request refused")
	}
	d, _ := l.Allow(ctx, "k", r)
	if d.Allowed || d.RetryAfter != 2*time.Second {
		t.Fatalf("second: %+v, want refused for 2s", d)
	}
	clk.Advance(2 * time.Second)
	if d, _ := l.Allow(ctx, "k", r); !d.Allowed {
		t.Fatal("after 2s: refused")
	}
}

func TestLocal_SweepsIdleKeys(t *testing.T) {
	clk := newClock()
	l := quota.NewLocal(clk.Now)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c"} {
		_, _ = l.Allow(ctx, k, quota.Rate{PerSecond: 1, Burst: 1})
	}
	clk.Advance(2 * time.Minute)
	_, _ = l.Allow(ctx, "d", quota.Rate{PerSecond: 1, Burst: 1})
	if got := l.Keys(); got != 1 {
		t.Fatalf("keys after idle sweep = %d, want 1", got)
	}
}

// staticLimits gives every tenant the same effective limits.
type staticLimits map[string]*quota.Effective

func (s staticLimits) Effective(_ context.Context, t string) (*quota.Effective, error) {
	if e, ok := s[t]; ok {
		return e, nil
	}
	return nil, tenantml.Errorf(tenantml.EINTERNAL, "no limits for %s", t)
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

func TestAdmitter_Admit(t *testing.T) {
	clk := newClock()
	lim := staticLimits{
		"acme": {Limits: quota.Limits{InvocationsPerSecond: f64(2), InvocationBurst: i64(3), ConcurrentInvocations: i64(2),
			ManagementPerSecond: f64(1), ManagementBurst: i64(2)}},
		"globex": {Limits: quota.Limits{}},
	}
	a := &quota.Admitter{Limits: lim, Rates: quota.NewLocal(clk.Now)}
	ctx := context.Background()

	t.Run("InvocationRate", func(t *testing.T) {
		var got []string
		for range 5 {
			rel, err := a.Admit(ctx, "acme", quota.Invocation)
			if err != nil {
				got = append(got, tenantml.ErrorCode(err))
				continue
			}
			got = append(got, "ok")
			rel()
		}
		want := []string{"ok", "ok", "ok", tenantml.ETOOMANYREQUESTS, tenantml.ETOOMANYREQUESTS}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("decisions = %v, want %v", got, want)
			}
		}
		_, err := a.Admit(ctx, "acme", quota.Invocation)
		if e := tenantml.AsError(err); e.RetryAfter != 500*time.Millisecond {
			t.Fatalf("RetryAfter = %v, want 500ms", e.RetryAfter)
		}
		clk.Advance(500 * time.Millisecond)
		rel, err := a.Admit(ctx, "acme", quota.Invocation)
		if err != nil {
			t.Fatalf("after 500ms: %v", err)
		}
		rel()
	})

	t.Run("Concurrency", func(t *testing.T) {
		clk.Advance(time.Hour)
		r1, err1 := a.Admit(ctx, "acme", quota.Invocation)
		r2, err2 := a.Admit(ctx, "acme", quota.Invocation)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		_, err := a.Admit(ctx, "acme", quota.Invocation)
		if e := tenantml.AsError(err); e == nil || e.Code != tenantml.ETOOMANYREQUESTS || e.RetryAfter != quota.ConcurrencyRetry {
			t.Fatalf("third in flight: %v, want throttled with Retry-After 1s", err)
		}
		r1()
		r1() // a second release does nothing
		if got := a.InFlight("acme"); got != 1 {
			t.Fatalf("in flight = %d, want 1", got)
		}
		r3, err := a.Admit(ctx, "acme", quota.Invocation)
		if err != nil {
			t.Fatalf("after a release: %v", err)
		}
		r2()
		r3()
		if got := a.InFlight("acme"); got != 0 {
			t.Fatalf("in flight = %d, want 0", got)
		}
	})

	t.Run("ManagementSeparate", func(t *testing.T) {
		clk.Advance(time.Hour)
		for i := range 2 {
			if _, err := a.Admit(ctx, "acme", quota.Management); err != nil {
				t.Fatalf("management %d: %v", i, err)
			}
		}
		if _, err := a.Admit(ctx, "acme", quota.Management); tenantml.ErrorCode(err) != tenantml.ETOOMANYREQUESTS {
			t.Fatalf("third management call: %v, want throttled", err)
		}
		rel, err := a.Admit(ctx, "acme", quota.Invocation)
		if err != nil {
			t.Fatalf("invocation after management throttled: %v", err)
		}
		rel()
	})

	t.Run("Unlimited", func(t *testing.T) {
		for range 1000 {
			rel, err := a.Admit(ctx, "globex", quota.Invocation)
			if err != nil {
				t.Fatal(err)
			}
			rel()
		}
	})

	t.Run("Platform", func(t *testing.T) {
		rel, err := a.Admit(ctx, "", quota.Invocation)
		if err != nil {
			t.Fatal(err)
		}
		rel()
	})

	t.Run("ErrLimitsUnavailable", func(t *testing.T) {
		_, err := a.Admit(ctx, "nobody", quota.Invocation)
		if tenantml.ErrorCode(err) != tenantml.EUNAVAILABLE {
			t.Fatalf("err = %v, want unavailable (fail closed)", err)
		}
	})
}

func TestClassOf(t *testing.T) {
	for action, want := range map[string]quota.Class{
		"sagemaker:InvokeEndpoint": quota.Invocation, "sagemaker:CreateEndpoint": quota.Management,
		"tenantml:GetTenant": quota.Management, "sts:AssumeRole": quota.Management,
	} {
		if got := quota.ClassOf(action); got != want {
			t.Errorf("ClassOf(%s) = %v, want %v", action, got, want)
		}
	}
}
