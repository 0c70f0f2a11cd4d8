package serving

import (
	"fmt"
	"time"
)

// The traffic routing types of a blue/green update.
const (
	RoutingAllAtOnce = "ALL_AT_ONCE"
	RoutingCanary    = "CANARY"
	RoutingLinear    = "LINEAR"
)

// The capacity size types.
const (
	CapacityInstanceCount = "INSTANCE_COUNT"
	CapacityPercent       = "CAPACITY_PERCENT"
)

// Limits of a deployment config, as SageMaker's.
const (
	MaxWaitIntervalSeconds    = 3600
	MaxTerminationWaitSeconds = 3600
	MinExecutionTimeout       = 600
	MaxExecutionTimeout       = 28800
	MaxRollbackAlarms         = 10
)

// CapacitySize is SageMaker's CapacitySize: a part of the new fleet, as an
// instance count or a percentage of its instances.
type CapacitySize struct {
	Type  string
	Value int
}

// TrafficRoutingConfiguration says how traffic moves from the old fleet
// to the new one: all at once, a canary then the rest, or linear steps,
// with WaitIntervalInSeconds of baking after each shift.
type TrafficRoutingConfiguration struct {
	Type                  string
	WaitIntervalInSeconds int
	CanarySize            *CapacitySize
	LinearStepSize        *CapacitySize
}

// BlueGreenUpdatePolicy is SageMaker's BlueGreenUpdatePolicy.
type BlueGreenUpdatePolicy struct {
	TrafficRoutingConfiguration TrafficRoutingConfiguration
	// TerminationWaitInSeconds is how long the old fleet stays up once
	// every request goes to the new one and the last bake passed.
	TerminationWaitInSeconds int
	// MaximumExecutionTimeoutInSeconds bounds the whole update; past it,
	// the update rolls back. 0 means the maximum.
	MaximumExecutionTimeoutInSeconds int
}

// AutoRollbackConfiguration names the alarms whose ALARM state, while the
// update bakes, rolls it back.
type AutoRollbackConfiguration struct {
	Alarms []string
}

// DeploymentConfig is UpdateEndpoint's DeploymentConfig.
type DeploymentConfig struct {
	BlueGreenUpdatePolicy     *BlueGreenUpdatePolicy
	AutoRollbackConfiguration *AutoRollbackConfiguration
}

// Validate checks the config for an update to a new fleet of
// newInstances instances, as SageMaker does, and fills defaults.
func (dc *DeploymentConfig) Validate(newInstances int) error {
	p := dc.BlueGreenUpdatePolicy
	if p == nil {
		return validation("DeploymentConfig needs a BlueGreenUpdatePolicy (tenantml has no RollingUpdatePolicy)")
	}
	t := &p.TrafficRoutingConfiguration
	if t.WaitIntervalInSeconds < 0 || t.WaitIntervalInSeconds > MaxWaitIntervalSeconds {
		return validation("WaitIntervalInSeconds must be 0 to %d", MaxWaitIntervalSeconds)
	}
	if p.TerminationWaitInSeconds < 0 || p.TerminationWaitInSeconds > MaxTerminationWaitSeconds {
		return validation("TerminationWaitInSeconds must be 0 to %d", MaxTerminationWaitSeconds)
	}
	if p.MaximumExecutionTimeoutInSeconds == 0 {
		p.MaximumExecutionTimeoutInSeconds = MaxExecutionTimeout
	}
	if p.MaximumExecutionTimeoutInSeconds < MinExecutionTimeout || p.MaximumExecutionTimeoutInSeconds > MaxExecutionTimeout {
		return validation("MaximumExecutionTimeoutInSeconds must be %d to %d", MinExecutionTimeout, MaxExecutionTimeout)
	}
	switch t.Type {
	case RoutingAllAtOnce:
		if t.CanarySize != nil || t.LinearStepSize != nil {
			return validation("an ALL_AT_ONCE traffic routing configuration takes neither CanarySize nor LinearStepSize")
		}
	case RoutingCanary:
		if t.LinearStepSize != nil {
			return validation("a CANARY traffic routing configuration takes CanarySize, not LinearStepSize")
		}
		if err := checkSize("CanarySize", t.CanarySize, newInstances, 1); err != nil {
			return err
		}
	case RoutingLinear:
		if t.CanarySize != nil {
			return validation("a LINEAR traffic routing configuration takes LinearStepSize, not CanarySize")
		}
		if err := checkSize("LinearStepSize", t.LinearStepSize, newInstances, 10); err != nil {
			return err
		}
	default:
		return validation("TrafficRoutingConfiguration.Type must be ALL_AT_ONCE, CANARY or LINEAR")
	}
	if r := dc.AutoRollbackConfiguration; r != nil {
		if len(r.Alarms) == 0 || len(r.Alarms) > MaxRollbackAlarms {
			return validation("AutoRollbackConfiguration.Alarms must name 1 to %d alarms", MaxRollbackAlarms)
		}
		for _, a := range r.Alarms {
			if a == "" || len(a) > 255 {
				return validation("an AlarmName must be 1 to 255 characters")
			}
		}
	}
	return nil
}

// checkSize checks a canary or linear step: at least minPercent and at
// most half of the new fleet.
func checkSize(field string, s *CapacitySize, newInstances, minPercent int) error {
	if s == nil {
		return validation("%s is required", field)
	}
	switch s.Type {
	case CapacityPercent:
		if s.Value < minPercent || s.Value > 50 {
			return validation("%s of type CAPACITY_PERCENT must be %d to 50", field, minPercent)
		}
	case CapacityInstanceCount:
		if s.Value < 1 || 2*s.Value > newInstances || 100*s.Value < minPercent*newInstances {
			return validation("%s of type INSTANCE_COUNT must be at least 1 and at most half of the new fleet's %d instances", field, newInstances)
		}
	default:
		return validation("%s.Type must be INSTANCE_COUNT or CAPACITY_PERCENT", field)
	}
	return nil
}

// share is the part of traffic a capacity size routes.
func (s *CapacitySize) share(newInstances int) float64 {
	if s.Type == CapacityInstanceCount {
		return float64(s.Value) / float64(newInstances)
	}
	return float64(s.Value) / 100
}

// Step is one traffic shift of a blue/green update: the share of requests
// the new fleet takes from then on, and how long the update bakes (its
// alarms watched) before the next step.
type Step struct {
	Share float64
	Bake  time.Duration
}

// Plan returns the traffic shifts of a validated policy for a new fleet
// of newInstances instances: ALL_AT_ONCE one step to 100%; CANARY the
// canary, then 100%; LINEAR one step per LinearStepSize up to 100%. Every
// step bakes WaitIntervalInSeconds.
func (p *BlueGreenUpdatePolicy) Plan(newInstances int) []Step {
	t := p.TrafficRoutingConfiguration
	bake := time.Duration(t.WaitIntervalInSeconds) * time.Second
	switch t.Type {
	case RoutingCanary:
		return []Step{{Share: t.CanarySize.share(newInstances), Bake: bake}, {Share: 1, Bake: bake}}
	case RoutingLinear:
		step := t.LinearStepSize.share(newInstances)
		var out []Step
		for i := 1; float64(i)*step < 1-1e-9; i++ {
			out = append(out, Step{Share: float64(i) * step, Bake: bake})
		}
		return append(out, Step{Share: 1, Bake: bake})
	}
	return []Step{{Share: 1, Bake: bake}}
}

// RolloutState is where a blue/green update is.
type RolloutState string

// The rollout states.
const (
	// RolloutStarting: the new fleet is starting; the old one serves.
	RolloutStarting RolloutState = "Starting"
	// RolloutBaking: traffic is split by the current step's share and
	// the alarms are watched.
	RolloutBaking RolloutState = "Baking"
	// RolloutTerminating: the new fleet takes every request; the old
	// one waits TerminationWaitInSeconds before it stops.
	RolloutTerminating RolloutState = "Terminating"
	// RolloutCompleted: the new fleet is the endpoint.
	RolloutCompleted RolloutState = "Completed"
	// RolloutRolledBack: every request went back to the old fleet; the
	// new one stopped. Reason says why.
	RolloutRolledBack RolloutState = "RolledBack"
	// RolloutFailed: the new fleet never served (it failed to start);
	// the old one kept serving.
	RolloutFailed RolloutState = "Failed"
)

// Done reports whether the rollout has ended.
func (s RolloutState) Done() bool {
	return s == RolloutCompleted || s == RolloutRolledBack || s == RolloutFailed
}

// Rollout is an endpoint's blue/green update, in progress or the last
// one, as persisted: it survives a restart (see Controller.Resume).
type Rollout struct {
	AccountID string
	Endpoint  string
	Tenant    string
	Config    DeploymentConfig
	// From and To are the old and new endpoint config names.
	From, To string
	State    RolloutState
	// Step is the current step of the policy's Plan; Share the share of
	// requests the new fleet takes.
	Step  int
	Share float64
	// Reason explains a rollback or a failure.
	Reason    string
	StartedAt time.Time
	UpdatedAt time.Time
}

func pct(share float64) string { return fmt.Sprintf("%g%%", share*100) }
