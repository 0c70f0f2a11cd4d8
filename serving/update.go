package serving

import (
	"context"
	"fmt"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authz"
)

// UpdateInput is UpdateEndpoint's input.
type UpdateInput struct {
	Endpoint string
	Config   string
	// Deployment, when set, makes the update a blue/green one with
	// traffic shifting and automatic rollback.
	Deployment *DeploymentConfig
	// RetainDeploymentConfig reuses the endpoint's last DeploymentConfig
	// when Deployment is nil.
	RetainDeploymentConfig bool
}

// UpdateEndpointDeployment moves an InService (or Failed) endpoint to a new
// endpoint config. Without a DeploymentConfig the new workers start and
// replace the old ones at once (the old ones serve until then). With one,
// the update is blue/green: the new fleet starts beside the old one,
// traffic moves to it step by step as the policy says, the alarms of its
// AutoRollbackConfiguration are evaluated while each step bakes, and an
// alarm in ALARM (or the execution timeout) sends every request back to
// the old fleet and ends the update rolled back. The endpoint is Updating
// throughout, InService at the end.
func (c *Scoped) UpdateEndpointDeployment(ctx context.Context, callerTenant string, in UpdateInput) (*Endpoint, error) {
	e, err := c.DescribeEndpoint(ctx, callerTenant, in.Endpoint)
	if err != nil {
		return nil, err
	}
	if e.Status != StatusInService && e.Status != StatusFailed {
		return nil, validation("Cannot update endpoint %q while it is %s.", e.ARN, e.Status)
	}
	d, err := c.deployment(ctx, callerTenant, in.Config)
	if err != nil {
		return nil, err
	}
	if d.Config.Tenant != "" && d.Config.Tenant != e.Tenant {
		return nil, validation("endpoint config %s belongs to another tenant than endpoint %s", d.Config.Name, e.Name)
	}
	dc := in.Deployment
	if dc == nil && in.RetainDeploymentConfig {
		if last, err := c.LastRollout(ctx, callerTenant, e.Name); err == nil {
			cp := last.Config
			dc = &cp
		}
	}
	var run *rolloutRun
	if dc != nil {
		if c.Shifter == nil || c.Rollouts == nil || c.Alarms == nil {
			return nil, validation("this server runs no blue/green updates")
		}
		if err := dc.Validate(instancesOf(d.Config)); err != nil {
			return nil, err
		}
		alarms, err := c.rolloutAlarms(ctx, callerTenant, e, dc)
		if err != nil {
			return nil, err
		}
		if e.Status != StatusInService {
			return nil, validation("Cannot update endpoint %q with a DeploymentConfig while it is %s: a blue/green update needs the old fleet serving.", e.ARN, e.Status)
		}
		if strings.EqualFold(d.Config.Name, e.EndpointConfigName) {
			return nil, validation("Cannot update endpoint %q: it already runs endpoint config %s.", e.ARN, d.Config.Name)
		}
		now := c.clock().Now().UTC()
		r := &Rollout{AccountID: c.acct, Endpoint: e.Name, Tenant: e.Tenant, Config: *dc, From: e.EndpointConfigName, To: d.Config.Name,
			State: RolloutStarting, StartedAt: now, UpdatedAt: now}
		run = &rolloutRun{c: c.Controller, r: r}
		for _, a := range alarms {
			run.watch = append(run.watch, &watched{a: a})
		}
		if err := c.Rollouts.PutRollout(ctx, r); err != nil {
			return nil, fmt.Errorf("record the update: %w", err)
		}
	}
	n := authz.NetworkOf(ctx)
	e.Status, e.LastModifiedAt, e.SourceVPCE, e.SourceVPC = StatusUpdating, c.now(), n.VPCEndpoint, n.VPC
	if err := c.Store.UpdateEndpoint(ctx, e); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			return nil, validation("Cannot update endpoint %q: it changed concurrently; retry.", e.ARN)
		}
		return nil, err
	}
	d.Endpoint, d.Network = e, n
	if run == nil {
		c.deploy(d)
		return e, nil
	}
	run.d = d
	c.startRollout(run)
	return e, nil
}

// startRollout runs a blue/green update in the background, as deploy runs
// a deployment: WaitEndpoint waits for it, DeleteEndpoint stops it.
func (c *Scoped) startRollout(u *rolloutRun) {
	c.wg.Add(1)
	done := make(chan struct{})
	name := pendingKey(c.acct, u.r.Endpoint)
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	if c.pending == nil {
		c.pending = map[string]chan struct{}{}
	}
	if c.cancels == nil {
		c.cancels = map[string]context.CancelFunc{}
	}
	c.pending[name], c.cancels[name] = done, cancel
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer func() {
			c.mu.Lock()
			if c.pending[name] == done {
				delete(c.pending, name)
				delete(c.cancels, name)
			}
			c.mu.Unlock()
			cancel()
			close(done)
		}()
		u.run(ctx)
	}()
}

// stopRollout stops the endpoint's rollout in progress, if any (the
// endpoint is being deleted: Undeploy stops both fleets).
func (c *Scoped) stopRollout(name string) {
	c.mu.Lock()
	cancel := c.cancels[pendingKey(c.acct, name)]
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// LastRollout returns the endpoint's current or last blue/green update,
// ENOTFOUND when it has had none (or the caller may not see it).
func (c *Scoped) LastRollout(ctx context.Context, callerTenant, endpoint string) (*Rollout, error) {
	if c.Rollouts == nil {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "no update")
	}
	r, err := c.Rollouts.GetRollout(ctx, c.acct, endpoint)
	if err == nil && !visible(callerTenant, r.Tenant) {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "no update")
	}
	return r, err
}

// resumeRollout settles, at start, the blue/green update e was in when
// the server stopped: the fleets were in memory, so the update cannot
// continue. One that had passed its bakes (Terminating: e already names
// the new config) completes; any other rolls back to the old config, the
// reason in the endpoint's FailureReason. e is updated for Resume to
// deploy.
func (c *Scoped) resumeRollout(ctx context.Context, e *Endpoint) {
	if c.Rollouts == nil {
		return
	}
	r, err := c.Rollouts.GetRollout(ctx, c.acct, e.Name)
	if err != nil || r.State.Done() {
		return
	}
	u := &rolloutRun{c: c.Controller, r: r}
	if r.State == RolloutTerminating {
		r.State = RolloutCompleted
		e.EndpointConfigName, e.FailureReason = r.To, ""
	} else {
		r.State, r.Reason, r.Share = RolloutRolledBack, restartReason, 0
		e.EndpointConfigName = r.From
		e.FailureReason = fmt.Sprintf("The update to endpoint config %s was rolled back to %s: %s", r.To, r.From, restartReason)
	}
	u.save(ctx)
	e.Status = StatusUpdating
	c.event(map[RolloutState]EventKind{RolloutCompleted: EventUpdateCompleted, RolloutRolledBack: EventUpdateRolledBack}[r.State], r, r.Reason)
	if err := c.Store.UpdateEndpoint(ctx, e); err != nil {
		c.logError("settle the interrupted update", e.Name, err)
	}
}

// UpdateEndpointDeployment is In(AccountID).UpdateEndpointDeployment.
func (c *Controller) UpdateEndpointDeployment(ctx context.Context, callerTenant string, in UpdateInput) (*Endpoint, error) {
	return c.In(c.AccountID).UpdateEndpointDeployment(ctx, callerTenant, in)
}

// LastRollout is In(AccountID).LastRollout.
func (c *Controller) LastRollout(ctx context.Context, callerTenant, endpoint string) (*Rollout, error) {
	return c.In(c.AccountID).LastRollout(ctx, callerTenant, endpoint)
}
