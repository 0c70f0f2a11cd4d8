package autoscale

import (
	"fmt"
	"math"
	"time"
)

// Figures are a variant's figures over the scaler's last window.
type Figures struct {
	// Instances is the variant's instance count now.
	Instances int
	// HasData is set once the window is fully sampled; without data no
	// policy asks for a change.
	HasData bool
	// InvocationsPerMinute is the variant's invocation rate.
	InvocationsPerMinute float64
	// ModelLatencyMicros is the mean model latency of the window's
	// invocations (0 without invocations).
	ModelLatencyMicros float64
	// InFlight is the number of requests in flight at the last sample.
	InFlight float64
}

// Value returns the figure a policy's metric names.
func (f Figures) Value(metric string) float64 {
	per := func(x float64) float64 {
		if f.Instances < 1 {
			return x
		}
		return x / float64(f.Instances)
	}
	switch metric {
	case MetricInvocations:
		return f.InvocationsPerMinute
	case MetricModelLatency:
		return f.ModelLatencyMicros
	case MetricConcurrentRequestsPerInstance:
		return per(f.InFlight)
	default: // MetricInvocationsPerInstance, the predefined metric
		return per(f.InvocationsPerMinute)
	}
}

// History is when a target last scaled out and in (zero: never).
type History struct {
	LastScaleOut, LastScaleIn time.Time
}

// Decision is what Decide asks of a target.
type Decision struct {
	// Desired is the instance count the target should have.
	Desired int
	// Change is set when Desired differs from the current count.
	Change bool
	// Policy is the policy that decided ("" for a bound).
	Policy string
	// Cause explains the decision (the activity's Cause), or why nothing
	// changed.
	Cause string
}

// Decide is the target-tracking decision for target t with policies ps
// (t's own) given the variant's figures and scaling history, at now. It is
// pure: see the package contract for the rules.
func Decide(now time.Time, t *Target, ps []*Policy, fig Figures, h History) Decision {
	cur := fig.Instances
	switch {
	case cur < t.MinCapacity:
		return Decision{Desired: t.MinCapacity, Change: true, Cause: fmt.Sprintf("the instance count %d is below MinCapacity %d", cur, t.MinCapacity)}
	case cur > t.MaxCapacity:
		return Decision{Desired: t.MaxCapacity, Change: true, Cause: fmt.Sprintf("the instance count %d is above MaxCapacity %d", cur, t.MaxCapacity)}
	case len(ps) == 0:
		return Decision{Desired: cur, Cause: "no scaling policy"}
	case !fig.HasData:
		return Decision{Desired: cur, Cause: "insufficient data: the metric window is not yet sampled"}
	}
	want, by, cause := 0, (*Policy)(nil), ""
	var outCooldown, inCooldown time.Duration
	for _, p := range ps {
		c := &p.Config
		v := fig.Value(c.Metric())
		ask := int(math.Ceil(float64(cur)*v/c.TargetValue - 1e-9))
		if ask < cur && c.DisableScaleIn {
			ask = cur
		}
		outCooldown = max(outCooldown, time.Duration(c.ScaleOutCooldown)*time.Second)
		inCooldown = max(inCooldown, time.Duration(c.ScaleInCooldown)*time.Second)
		if by == nil || ask > want {
			want, by = ask, p
			cause = fmt.Sprintf("policy %s: %s is %.4g against a target of %.4g with %d instances", p.Name, c.Metric(), v, c.TargetValue, cur)
		}
	}
	want = min(max(want, t.MinCapacity), t.MaxCapacity)
	d := Decision{Desired: cur, Policy: by.Name}
	switch {
	case want > cur:
		if until := h.LastScaleOut.Add(outCooldown); !h.LastScaleOut.IsZero() && now.Before(until) {
			d.Cause = fmt.Sprintf("%s: scale-out to %d waits for the scale-out cooldown until %s", cause, want, until.UTC().Format(time.RFC3339))
			return d
		}
	case want < cur:
		if until := h.LastScaleIn.Add(inCooldown); !h.LastScaleIn.IsZero() && now.Before(until) {
			d.Cause = fmt.Sprintf("%s: scale-in to %d waits for the scale-in cooldown until %s", cause, want, until.UTC().Format(time.RFC3339))
			return d
		}
		if until := h.LastScaleOut.Add(outCooldown); !h.LastScaleOut.IsZero() && now.Before(until) {
			d.Cause = fmt.Sprintf("%s: scale-in to %d waits for the last scale-out's cooldown until %s", cause, want, until.UTC().Format(time.RFC3339))
			return d
		}
	default:
		d.Cause = cause
		return d
	}
	d.Desired, d.Change, d.Cause = want, true, fmt.Sprintf("%s: asked for %d", cause, want)
	return d
}
