package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/autoscaling"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/autoscale"
	"github.com/tenantml/tenantml/serving/fleet"
)

// autoscaleConfig configures the autoscaler (docs/autoscaling.md).
type autoscaleConfig struct {
	// AutoscaleInterval is how often target-tracking policies are
	// evaluated.
	AutoscaleInterval time.Duration
	// AutoscaleWindow is the span of the figures a decision reads.
	AutoscaleWindow time.Duration
}

func autoscaleSettings() []setting {
	duration := func(name, def, help string, lo, hi time.Duration, field func(c *config) *time.Duration) setting {
		return setting{name: name, def: def, help: help,
			set: func(c *config, v string) error {
				d, err := time.ParseDuration(v)
				if err != nil || d < lo || d > hi {
					return fmt.Errorf("%s %q is not a duration from %s to %s", name, v, lo, hi)
				}
				*field(c) = d
				return nil
			}, get: func(c *config) string { return field(c).String() }}
	}
	return []setting{
		duration("autoscale-interval", "10s", "how often the autoscaler evaluates the target-tracking scaling policies of registered variants", 10*time.Millisecond, 10*time.Minute,
			func(c *config) *time.Duration { return &c.AutoscaleInterval }),
		duration("autoscale-window", "1m", "the span of invocation figures an autoscaling decision reads (invocations per minute are averaged over it)", 10*time.Millisecond, time.Hour,
			func(c *config) *time.Duration { return &c.AutoscaleWindow }),
	}
}

// autoscaleParts is what serve opens for autoscaling.
type autoscaleParts struct {
	scaler *autoscale.Scaler
	stop   context.CancelFunc
	done   chan struct{}
}

// openAutoscale builds the scaler over the fleet and starts its loop.
func (s *server) openAutoscale() {
	s.as.scaler = &autoscale.Scaler{Store: s.store.Autoscaling(), Fleet: fleetScaling{s.sp.fleet}, AccountID: s.cfg.AccountID,
		Window: s.cfg.AutoscaleWindow, Now: s.now, Events: s.scalingEvent, Log: s.log}
	ctx, cancel := context.WithCancel(context.Background())
	s.as.stop, s.as.done = cancel, make(chan struct{})
	go func() {
		defer close(s.as.done)
		s.as.scaler.Run(ctx, s.cfg.AutoscaleInterval)
	}()
}

// registerAutoscale adds Application Auto Scaling to router.
func (s *server) registerAutoscale(router *api.AWSRouter, awsPipeline *api.Pipeline) {
	(&autoscaling.Surface{Controller: s.sp.controller, Store: s.store.Autoscaling(), Pipeline: awsPipeline, Now: s.now}).Register(router)
}

// closeAutoscale stops the loop (a change in progress finishes first).
func (s *server) closeAutoscale() {
	if s.as.stop != nil {
		s.as.stop()
		<-s.as.done
		s.as.stop = nil
	}
}

// instanceCounts reports a live endpoint's current and desired instance
// counts by variant, for DescribeEndpoint.
func (s *server) instanceCounts(account, endpoint string) map[string][2]int {
	vc, ok := s.sp.fleet.VariantCounts(account, endpoint)
	if !ok {
		return nil
	}
	out := make(map[string][2]int, len(vc))
	for _, v := range vc {
		out[v.Variant] = [2]int{v.Instances, v.Desired}
	}
	return out
}

// scalingEvent records a scaling activity in the audit log, as a service
// event of the tenant whose variant it scaled.
func (s *server) scalingEvent(e autoscale.Event) {
	a := e.Activity
	ev := audit.Event{EventTime: a.EndTime, EventType: audit.TypeServiceEvent, TenantID: a.TenantID, EventSource: "application-autoscaling.amazonaws.com",
		EventName: "ScalingActivity", UserIdentity: audit.UserIdentity{Type: "Service", PrincipalID: "tenantml-autoscaler"},
		AdditionalEventData: map[string]string{"activityId": a.ID, "resourceId": a.ResourceID.String(), "scalableDimension": autoscale.Dimension,
			"fromInstanceCount": strconv.Itoa(a.From), "toInstanceCount": strconv.Itoa(a.To), "statusCode": a.StatusCode, "cause": a.Cause}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if s.audit == nil {
		return
	}
	if _, err := s.audit.Append(ctx, ev); err != nil {
		s.log.Error("audit scaling activity", "activityId", a.ID, "error", err)
	}
}

// fleetScaling adapts the fleet to the scaler.
type fleetScaling struct{ f *fleet.Fleet }

func (x fleetScaling) VariantState(account, endpoint, variant string) (autoscale.VariantState, bool) {
	st, ok := x.f.VariantState(account, endpoint, variant)
	return autoscale.VariantState{Tenant: st.Tenant, Instances: st.Instances, Invocations: st.Invocations, ModelLatency: st.ModelLatency, InFlight: st.InFlight}, ok
}

func (x fleetScaling) SetInstanceCount(ctx context.Context, account, endpoint, variant string, n int) error {
	return x.f.SetInstanceCount(ctx, account, endpoint, variant, n)
}
