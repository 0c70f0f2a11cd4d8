package promotion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
)

// Deployer makes a run's SageMaker calls in a target's account, as the
// target's deployment role.
type Deployer interface {
	// Deploy creates (or updates) the target's endpoint to serve the run's
	// package version and returns once the endpoint is InService with it;
	// env is "staging" or "production".
	Deploy(ctx context.Context, p *Pipeline, env string, t Target, r *Run) error
	// Invoke sends one request to the target's endpoint and returns the
	// answer's body.
	Invoke(ctx context.Context, p *Pipeline, t Target, r *Run, contentType string, payload []byte) ([]byte, error)
}

// ErrRolledBack is wrapped by a Deployer's error when a blue/green update
// rolled back (an alarm fired while baking): the run fails and its event is
// EventProductionRollback.
var ErrRolledBack = errors.New("the update rolled back")

// EventKind names a run's event.
type EventKind string

// Event kinds, one per transition (and the run's start).
const (
	EventRunStarted         EventKind = "PipelineRunStarted"
	EventStagingDeployed    EventKind = "PipelineStagingDeployed"
	EventSmokeTestPassed    EventKind = "PipelineSmokeTestPassed"
	EventApproved           EventKind = "PipelineApproved"
	EventProductionDeployed EventKind = "PipelineProductionDeployed"
	EventRunFailed          EventKind = "PipelineRunFailed"
	EventProductionRollback EventKind = "PipelineProductionRolledBack"
)

// Event is one step of a run, for the audit log and the webhook.
type Event struct {
	Time time.Time
	Kind EventKind
	// Run is the run after the step (a copy).
	Run Run
	// Spec is the pipeline's spec.
	Spec Spec
	// Env is the target the step acted on ("staging", "production", "").
	Env string
	// Reason explains a failure.
	Reason string
	// By is the ARN of the approver of an EventApproved.
	By string
}

// Events receives a run's events. Record must not block for long: the
// webhook delivers asynchronously.
type Events interface {
	Record(ctx context.Context, e Event)
}

// Runner drives runs through their states.
type Runner struct {
	Store    Store
	Deployer Deployer
	Events   Events
	Log      *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// NewID returns a new run ID; nil means 16 random hex digits.
	NewID func() string
	// Context, when set, is the context runs are driven in (a server
	// cancels it to stop them; they resume at the next start); nil means
	// the context of the call that started the run, without its
	// cancellation.
	Context context.Context
	// Go runs a run's steps in the background; nil means a goroutine.
	// Tests pass a function that runs them inline.
	Go func(func())

	mu      sync.Mutex
	driving map[string]bool
	wg      sync.WaitGroup
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runner) newID() string {
	if r.NewID != nil {
		return r.NewID()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Wait waits for the runs driven in the background to stop (after their
// context is cancelled, or at a state that waits).
func (r *Runner) Wait() { r.wg.Wait() }

// PackageApproved starts a run in every pipeline of the package's group
// and tenant (in acct): the registry calls it when a version becomes
// Approved.
func (r *Runner) PackageApproved(ctx context.Context, acct, tenantID, group, packageARN string, version int) error {
	ps, err := r.Store.PipelinesForGroup(ctx, acct, group)
	if err != nil {
		return fmt.Errorf("list pipelines: %w", err)
	}
	for _, p := range ps {
		if p.Tenant() != tenantID {
			continue // a pipeline never promotes another tenant's package
		}
		now := r.now()
		run := &Run{AccountID: acct, Pipeline: p.Name(), ID: r.newID(), Tenant: tenantID, PackageARN: packageARN, Version: version,
			State: DeployingStaging, CreatedAt: now, UpdatedAt: now, History: []Transition{{Time: now, State: DeployingStaging}}}
		if err := r.Store.CreateRun(ctx, run); err != nil {
			return fmt.Errorf("create run: %w", err)
		}
		r.emit(ctx, Event{Kind: EventRunStarted, Run: *run, Spec: p.Spec})
		r.start(ctx, acct, p.Name(), run.ID)
	}
	return nil
}

// Approve moves a run that awaits approval to production. A run in any
// other state is ECONFLICT.
func (r *Runner) Approve(ctx context.Context, acct, pipeline, id, by string) (*Run, error) {
	p, err := r.Store.GetPipeline(ctx, acct, pipeline)
	if err != nil {
		return nil, err
	}
	run, err := r.Store.UpdateRun(ctx, acct, pipeline, id, func(run *Run) error {
		if run.State != AwaitingApproval {
			return tenantml.AWSErrorf(tenantml.ECONFLICT, "ConflictException", "run %s of pipeline %s is %s, not %s", id, pipeline, run.State, AwaitingApproval)
		}
		r.transition(run, DeployingProduction, "")
		run.ApprovedBy = by
		return nil
	})
	if err != nil {
		return nil, err
	}
	r.emit(ctx, Event{Kind: EventApproved, Run: *run, Spec: p.Spec, Env: "production", By: by})
	r.start(ctx, acct, pipeline, id)
	return run, nil
}

// Resume restarts every active run from its persisted state: a server
// calls it once at start.
func (r *Runner) Resume(ctx context.Context) error {
	runs, err := r.Store.ListRuns(ctx, RunFilter{Active: true})
	if err != nil {
		return fmt.Errorf("list active runs: %w", err)
	}
	for _, run := range runs {
		r.log().Info("resume pipeline run", "pipeline", run.Pipeline, "run", run.ID, "state", run.State)
		r.start(ctx, run.AccountID, run.Pipeline, run.ID)
	}
	return nil
}

// start drives a run in the background unless it is already driven.
func (r *Runner) start(ctx context.Context, acct, pipeline, id string) {
	key := acct + "/" + pipeline + "/" + id
	r.mu.Lock()
	if r.driving == nil {
		r.driving = map[string]bool{}
	}
	if r.driving[key] {
		r.mu.Unlock()
		return
	}
	r.driving[key] = true
	r.mu.Unlock()
	if r.Context != nil {
		ctx = r.Context
	} else {
		ctx = context.WithoutCancel(ctx)
	}
	r.wg.Add(1)
	run := func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.driving, key)
			r.mu.Unlock()
		}()
		if err := r.Advance(ctx, acct, pipeline, id); err != nil {
			r.log().Error("pipeline run", "pipeline", pipeline, "run", id, "error", err)
		}
	}
	if r.Go != nil {
		r.Go(run)
		return
	}
	go run()
}

// Advance runs the run's steps from its persisted state until it waits
// for approval or finishes. Each step's outcome is persisted before the
// next starts.
func (r *Runner) Advance(ctx context.Context, acct, pipeline, id string) error {
	for {
		p, err := r.Store.GetPipeline(ctx, acct, pipeline)
		if err != nil {
			return fmt.Errorf("get pipeline: %w", err)
		}
		run, err := r.Store.GetRun(ctx, acct, pipeline, id)
		if err != nil {
			return fmt.Errorf("get run: %w", err)
		}
		var next State
		var kind EventKind
		var env string
		var stepErr error
		switch run.State {
		case DeployingStaging:
			env, next, kind = "staging", SmokeTesting, EventStagingDeployed
			stepErr = r.Deployer.Deploy(ctx, p, env, p.Spec.Staging, run)
		case SmokeTesting:
			env, next, kind = "staging", AwaitingApproval, EventSmokeTestPassed
			var out []byte
			out, stepErr = r.Deployer.Invoke(ctx, p, p.Spec.Staging, run, p.Spec.SmokeTest.ContentType, []byte(p.Spec.SmokeTest.Payload))
			if stepErr == nil {
				stepErr = p.Spec.SmokeTest.Check(out)
			}
		case DeployingProduction:
			env, next, kind = "production", Succeeded, EventProductionDeployed
			stepErr = r.Deployer.Deploy(ctx, p, env, p.Spec.Production, run)
		default:
			return nil // awaiting approval, or finished
		}
		if ctx.Err() != nil {
			return ctx.Err() // stopped (the server shuts down): resumed at start
		}
		from := run.State
		reason := ""
		if stepErr != nil {
			next, kind = Failed, EventRunFailed
			if errors.Is(stepErr, ErrRolledBack) {
				kind = EventProductionRollback
			}
			reason = fmt.Sprintf("%s: %s", from, message(stepErr))
		}
		run, err = r.Store.UpdateRun(ctx, acct, pipeline, id, func(run *Run) error {
			if run.State != from {
				return tenantml.Errorf(tenantml.ECONFLICT, "run %s moved from %s to %s meanwhile", id, from, run.State)
			}
			r.transition(run, next, reason)
			return nil
		})
		if err != nil {
			return fmt.Errorf("update run: %w", err)
		}
		r.emit(ctx, Event{Kind: kind, Run: *run, Spec: p.Spec, Env: env, Reason: reason})
	}
}

func (r *Runner) transition(run *Run, to State, reason string) {
	now := r.now()
	run.State, run.UpdatedAt = to, now
	if to == Failed {
		run.Reason = reason
	}
	run.History = append(run.History, Transition{Time: now, State: to, Reason: reason})
}

func (r *Runner) emit(ctx context.Context, e Event) {
	if r.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	r.Events.Record(ctx, e)
}

// message is a step error's text for the run's reason: a tenantml error's
// message (what its caller was told), else the error's text.
func message(err error) string {
	var te *tenantml.Error
	if errors.As(err, &te) && !errors.Is(err, ErrRolledBack) {
		return tenantml.ErrorMessage(err)
	}
	return err.Error()
}
