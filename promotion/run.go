package promotion

import (
	"context"
	"time"
)

// Pipeline is a stored pipeline: its spec and where it lives.
type Pipeline struct {
	// AccountID is the account the pipeline was applied in: its group is
	// that account's.
	AccountID string
	Spec      Spec
	// AppliedBy is the ARN of the principal that last applied it.
	AppliedBy string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Name returns the pipeline's name.
func (p *Pipeline) Name() string { return p.Spec.Name }

// Tenant returns the pipeline's tenant.
func (p *Pipeline) Tenant() string { return p.Spec.Tenant }

// State is where a run is in its state machine.
type State string

// States of a run, in order; Succeeded and Failed are terminal.
const (
	// DeployingStaging: the version is being deployed to the staging
	// endpoint as the staging deployment role.
	DeployingStaging State = "DeployingStaging"
	// SmokeTesting: the staging endpoint is being invoked with the smoke
	// test's payload.
	SmokeTesting State = "SmokeTesting"
	// AwaitingApproval: staging passed; the run waits for Approve.
	AwaitingApproval State = "AwaitingApproval"
	// DeployingProduction: the version is being deployed to production.
	DeployingProduction State = "DeployingProduction"
	// Succeeded: production serves the version.
	Succeeded State = "Succeeded"
	// Failed: a step failed; Reason says which and why.
	Failed State = "Failed"
)

// Terminal reports whether a run in s is finished.
func (s State) Terminal() bool { return s == Succeeded || s == Failed }

// Run is one promotion of one package version through a pipeline.
type Run struct {
	AccountID string
	Pipeline  string
	// ID is unique in the pipeline (a random hex string).
	ID     string
	Tenant string
	// PackageARN is the approved version; Version its number.
	PackageARN string
	Version    int
	State      State
	// Reason explains a Failed run (the failed step and its error).
	Reason string
	// ApprovedBy is the ARN of the principal that approved production.
	ApprovedBy string
	// History lists the transitions, oldest first.
	History   []Transition
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Transition is one step of a run's history.
type Transition struct {
	Time   time.Time `json:"time"`
	State  State     `json:"state"`
	Reason string    `json:"reason,omitempty"`
}

// RunFilter selects runs.
type RunFilter struct {
	// AccountID and Pipeline, when set, select one pipeline's runs.
	AccountID, Pipeline string
	// Active selects the runs that are neither terminal nor awaiting
	// approval: the ones a restarted runner resumes.
	Active bool
}

// Store is the pipelines' durable state. Errors are tenantml errors:
// ENOTFOUND for a missing pipeline or run, ECONFLICT for a run ID taken.
type Store interface {
	// PutPipeline creates or replaces the pipeline (AccountID, Name); a
	// pipeline of another tenant under that name is ECONFLICT.
	PutPipeline(ctx context.Context, p *Pipeline) error
	GetPipeline(ctx context.Context, acct, name string) (*Pipeline, error)
	// PipelinesForGroup lists the account's pipelines of a group.
	PipelinesForGroup(ctx context.Context, acct, group string) ([]*Pipeline, error)
	CreateRun(ctx context.Context, r *Run) error
	GetRun(ctx context.Context, acct, pipeline, id string) (*Run, error)
	// UpdateRun applies fn to the stored run and stores the result in one
	// transaction; an error from fn is returned and nothing is stored.
	UpdateRun(ctx context.Context, acct, pipeline, id string, fn func(*Run) error) (*Run, error)
	// ListRuns lists runs, newest first.
	ListRuns(ctx context.Context, f RunFilter) ([]*Run, error)
}
