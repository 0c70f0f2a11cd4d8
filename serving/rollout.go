package serving

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/alarm"
)

// RolloutStore persists each endpoint's current or last blue/green
// update. GetRollout of none is ENOTFOUND; PutRollout creates or replaces;
// DeleteRollout of none is not an error.
type RolloutStore interface {
	PutRollout(ctx context.Context, r *Rollout) error
	GetRollout(ctx context.Context, acct, endpoint string) (*Rollout, error)
	DeleteRollout(ctx context.Context, acct, endpoint string) error
}

// Shifter is the part of a Deployer that runs two fleets of one endpoint
// side by side: the gateway's fleet implements it.
type Shifter interface {
	// Stage starts d's variants beside the endpoint's live ones (the new
	// fleet) without routing a request to them; it returns once they are
	// ready, or with a reason fit for FailureReason (nothing left
	// running).
	Stage(ctx context.Context, d *Deployment) error
	// Shift routes the share (0 to 1) of the endpoint's requests to the
	// new fleet, from the next request on.
	Shift(acct, endpoint string, share float64) error
	// Promote makes the new fleet the endpoint's only one; the old one
	// stops once its requests in flight are answered.
	Promote(ctx context.Context, acct, endpoint string) error
	// Abort routes every request to the old fleet; the new one stops once
	// its requests in flight are answered.
	Abort(ctx context.Context, acct, endpoint string) error
	// Figures returns the new fleet's cumulative invocation figures by
	// variant name.
	Figures(acct, endpoint string) map[string]alarm.Figures
}

// Alarms is what a rollout needs of the alarm service.
type Alarms interface {
	// GetIn returns the alarm named name of account acct as a caller of
	// tenant caller sees it (another tenant's is ENOTFOUND).
	GetIn(ctx context.Context, acct, caller, name string) (*alarm.Alarm, error)
	// Record stores a changed state of the alarm (in its account).
	Record(ctx context.Context, a *alarm.Alarm, state alarm.StateValue, reason string) error
}

// Clock is the time rollouts bake by; tests inject one they advance.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// The rollout lifecycle events (service events in the audit log).
const (
	EventTrafficShifted    EventKind = "EndpointTrafficShifted"
	EventUpdateRolledBack  EventKind = "EndpointUpdateRolledBack"
	EventUpdateCompleted   EventKind = "EndpointUpdateCompleted"
	EventUpdateFailed      EventKind = "EndpointUpdateFailed"
	EventAlarmStateChanged EventKind = "AlarmStateChanged"
)

const (
	restartReason = "the server restarted during the blue/green update"
	timeoutReason = "the update exceeded MaximumExecutionTimeoutInSeconds"
)

// watched is one alarm a rollout evaluates: its definition, the new
// fleet's figures at its last period boundary, and its datapoints.
type watched struct {
	a      *alarm.Alarm
	last   alarm.Figures
	next   time.Time
	points []alarm.Datapoint
}

// figuresOf sums the new fleet's figures of the alarm's variant (every
// variant when it names none).
func (w *watched) figuresOf(all map[string]alarm.Figures) alarm.Figures {
	var f alarm.Figures
	v := w.a.Variant()
	for name, g := range all {
		if v == "" || strings.EqualFold(name, v) {
			f = f.Add(g)
		}
	}
	return f
}

// rolloutRun is one blue/green update running.
type rolloutRun struct {
	c        *Controller
	d        *Deployment
	r        *Rollout
	watch    []*watched
	deadline time.Time
}

// rolloutAlarms returns the alarms of a blue/green update: each must be
// an alarm of the endpoint's account, visible to the caller, of the
// endpoint's tenant, and watch the endpoint.
func (c *Controller) rolloutAlarms(ctx context.Context, callerTenant string, e *Endpoint, dc *DeploymentConfig) ([]*alarm.Alarm, error) {
	if dc.AutoRollbackConfiguration == nil {
		return nil, nil
	}
	var out []*alarm.Alarm
	for _, name := range dc.AutoRollbackConfiguration.Alarms {
		a, err := c.Alarms.GetIn(ctx, e.AccountID, callerTenant, name)
		if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
			return nil, validation("Could not find alarm %q.", truncateName(name))
		}
		if err != nil {
			return nil, err
		}
		if a.Tenant != e.Tenant {
			return nil, validation("alarm %s belongs to another tenant than endpoint %s", truncateName(name), e.Name)
		}
		if !strings.EqualFold(a.Endpoint(), e.Name) {
			return nil, validation("alarm %s watches endpoint %s: the alarms of an update must watch the endpoint updated, %s", truncateName(name), a.Endpoint(), e.Name)
		}
		out = append(out, a)
	}
	return out, nil
}

// run carries the update through; it returns when the update has
// completed, rolled back or failed, or when ctx is cancelled (the
// endpoint is being deleted).
func (u *rolloutRun) run(ctx context.Context) {
	c, r := u.c, u.r
	u.deadline = r.StartedAt.Add(time.Duration(r.Config.BlueGreenUpdatePolicy.MaximumExecutionTimeoutInSeconds) * time.Second)
	if err := c.Shifter.Stage(ctx, u.d); err != nil {
		if ctx.Err() != nil {
			return
		}
		u.end(ctx, RolloutFailed, "the new fleet failed to start: "+failureReason(err))
		return
	}
	p := r.Config.BlueGreenUpdatePolicy
	steps := p.Plan(instancesOf(u.d.Config))
	for i, s := range steps {
		if err := c.Shifter.Shift(r.AccountID, r.Endpoint, s.Share); err != nil {
			u.rollback(ctx, "shift traffic: "+failureReason(err))
			return
		}
		r.State, r.Step, r.Share = RolloutBaking, i, s.Share
		u.save(ctx)
		c.event(EventTrafficShifted, r, "the new fleet takes "+pct(s.Share)+" of requests")
		if i == 0 {
			// The alarms judge the new fleet from its first request on:
			// whatever state an earlier evaluation left, none of its
			// datapoints is known yet.
			now := c.clock().Now()
			for _, w := range u.watch {
				w.last = w.figuresOf(c.Shifter.Figures(r.AccountID, r.Endpoint))
				w.next = now.Add(time.Duration(w.a.Period) * time.Second)
				u.record(ctx, w, alarm.StateInsufficientData, "Insufficient Data: the blue/green update of endpoint "+r.Endpoint+" started; no datapoint of its new fleet yet.")
			}
		}
		if reason, ok := u.bake(ctx, c.clock().Now().Add(s.Bake)); !ok {
			if ctx.Err() == nil {
				u.rollback(ctx, reason)
			}
			return
		}
	}
	// Every request goes to the new fleet and the bakes passed: the
	// endpoint is the new config's; the old fleet waits out
	// TerminationWaitInSeconds, then stops.
	r.State = RolloutTerminating
	u.save(ctx)
	c.setEndpoint(ctx, r.AccountID, r.Endpoint, func(e *Endpoint) { e.EndpointConfigName = r.To })
	select {
	case <-ctx.Done():
		return
	case <-c.clock().After(time.Duration(p.TerminationWaitInSeconds) * time.Second):
	}
	if err := c.Shifter.Promote(ctx, r.AccountID, r.Endpoint); err != nil {
		c.logError("stop the old fleet", r.Endpoint, err)
	}
	u.end(ctx, RolloutCompleted, "")
}

// bake waits until end, evaluating the alarms at each of their period
// boundaries; it returns false with the reason when one goes into ALARM
// or the update's deadline passes.
func (u *rolloutRun) bake(ctx context.Context, end time.Time) (string, bool) {
	c, r := u.c, u.r
	for {
		now := c.clock().Now()
		if !now.Before(u.deadline) {
			return timeoutReason, false
		}
		for _, w := range u.watch {
			if now.Before(w.next) {
				continue
			}
			cur := w.figuresOf(c.Shifter.Figures(r.AccountID, r.Endpoint))
			w.points = append(w.points, w.a.Datapoint(cur.Sub(w.last)))
			if len(w.points) > w.a.EvaluationPeriods {
				w.points = w.points[1:]
			}
			w.last = cur
			for !now.Before(w.next) {
				w.next = w.next.Add(time.Duration(w.a.Period) * time.Second)
			}
			state, why := w.a.Evaluate(w.a.State, w.points)
			u.record(ctx, w, state, why)
			if state == alarm.StateAlarm {
				return fmt.Sprintf("Alarm %s went into ALARM while the update baked: %s", w.a.Name, why), false
			}
		}
		if !now.Before(end) {
			return "", true
		}
		next := end
		if u.deadline.Before(next) {
			next = u.deadline
		}
		for _, w := range u.watch {
			if w.next.Before(next) {
				next = w.next
			}
		}
		select {
		case <-ctx.Done():
			return "", false
		case <-c.clock().After(next.Sub(now)):
		}
	}
}

// record stores an alarm's new state, when it changed, and publishes the
// change.
func (u *rolloutRun) record(ctx context.Context, w *watched, state alarm.StateValue, why string) {
	if state == w.a.State {
		return
	}
	if err := u.c.Alarms.Record(context.WithoutCancel(ctx), w.a, state, why); err != nil {
		u.c.logError("record alarm state", u.r.Endpoint, err)
		w.a.State, w.a.StateReason = state, why
	}
	u.c.event(EventAlarmStateChanged, u.r, fmt.Sprintf("alarm %s: %s", w.a.Name, state))
}

// rollback sends every request back to the old fleet and records why.
func (u *rolloutRun) rollback(ctx context.Context, reason string) {
	if err := u.c.Shifter.Abort(ctx, u.r.AccountID, u.r.Endpoint); err != nil {
		u.c.logError("roll back", u.r.Endpoint, err)
	}
	u.end(ctx, RolloutRolledBack, reason)
}

// end records the rollout's end and the endpoint's: InService, on the new
// config when completed, else on the old one with the reason as its
// FailureReason, as SageMaker reports an automatic rollback.
func (u *rolloutRun) end(ctx context.Context, state RolloutState, reason string) {
	c, r := u.c, u.r
	r.State, r.Reason = state, reason
	if state != RolloutCompleted {
		r.Share = 0
	}
	u.save(ctx)
	c.setEndpoint(ctx, r.AccountID, r.Endpoint, func(e *Endpoint) {
		e.Status, e.FailureReason = StatusInService, ""
		switch state {
		case RolloutCompleted:
			e.EndpointConfigName = r.To
		case RolloutRolledBack:
			e.EndpointConfigName = r.From
			e.FailureReason = fmt.Sprintf("The update to endpoint config %s was rolled back to %s: %s", r.To, r.From, reason)
		default:
			e.EndpointConfigName = r.From
			e.FailureReason = fmt.Sprintf("The update to endpoint config %s failed; the endpoint still serves %s: %s", r.To, r.From, reason)
		}
	})
	kind := map[RolloutState]EventKind{RolloutCompleted: EventUpdateCompleted, RolloutRolledBack: EventUpdateRolledBack, RolloutFailed: EventUpdateFailed}[state]
	c.event(kind, r, reason)
}

func (u *rolloutRun) save(ctx context.Context) {
	u.r.UpdatedAt = u.c.clock().Now().UTC()
	if err := u.c.Rollouts.PutRollout(context.WithoutCancel(ctx), u.r); err != nil {
		u.c.logError("record the update", u.r.Endpoint, err)
	}
}

// setEndpoint changes the stored endpoint with fn, retrying a version
// conflict with the fresh row; an endpoint being deleted is left alone.
func (c *Controller) setEndpoint(ctx context.Context, acct, name string, fn func(*Endpoint)) {
	ctx = context.WithoutCancel(ctx)
	for range 5 {
		cur, err := c.Store.GetEndpoint(ctx, acct, name)
		if err != nil {
			if tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				c.logError("read endpoint", name, err)
			}
			return
		}
		if cur.Status == StatusDeleting {
			return
		}
		fn(cur)
		cur.LastModifiedAt = c.now()
		err = c.Store.UpdateEndpoint(ctx, cur)
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			continue
		}
		if err != nil {
			c.logError("record endpoint", name, err)
		}
		return
	}
}

// event publishes a rollout's lifecycle event.
func (c *Controller) event(kind EventKind, r *Rollout, reason string) {
	if c.Events == nil {
		return
	}
	c.Events.Publish(Event{Time: c.clock().Now().UTC(), Kind: kind, Endpoint: r.Endpoint, Tenant: r.Tenant, Reason: reason})
}

func (c *Controller) clock() Clock {
	if c.Clock != nil {
		return c.Clock
	}
	return realClock{}
}

// instancesOf is the new fleet's instance count.
func instancesOf(ec *EndpointConfig) int {
	n := 0
	for _, v := range ec.ProductionVariants {
		n += v.InitialInstanceCount
	}
	return n
}
