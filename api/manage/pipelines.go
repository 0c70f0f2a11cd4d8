package manage

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/promotion"
)

// Pipelines serves the promotion pipelines of the caller's account:
//
//	POST /api/v1/pipelines                                tenantml:ApplyPipeline
//	GET  /api/v1/pipelines/{name}                         tenantml:GetPipelineStatus
//	POST /api/v1/pipelines/{name}/runs/{id}/approve       tenantml:ApprovePipeline
//
// A pipeline's resource is arn:aws:tenantml:<region>:<account>:pipeline/
// <name>, owned by the spec's tenant: a tenant principal applies, reads
// and approves only its tenant's pipelines, and another tenant's answers
// exactly as a missing one. Applying also needs sts:AssumeRole on both
// deployment roles (their trust policies and the caller's policies, as the
// IAM engine decides): the runner acts as those roles, so only a principal
// that could act as them may name them.
type Pipelines struct {
	Store    promotion.Store
	Runner   *promotion.Runner
	Identity identity.Service
	// Policies parses trust policies; *authz.Engine implements it.
	Policies  authz.Parser
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// PipelineStatus is the body of GET /api/v1/pipelines/{name} and of an
// apply's answer.
type PipelineStatus struct {
	Name      string         `json:"name"`
	AccountID string         `json:"accountId"`
	Spec      promotion.Spec `json:"spec"`
	AppliedBy string         `json:"appliedBy,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	UpdatedAt time.Time      `json:"updatedAt"`
	Runs      []RunStatus    `json:"runs"`
}

// RunStatus is one run in a PipelineStatus.
type RunStatus struct {
	ID         string                 `json:"id"`
	PackageARN string                 `json:"modelPackageArn"`
	Version    int                    `json:"version"`
	State      promotion.State        `json:"state"`
	Reason     string                 `json:"reason,omitempty"`
	ApprovedBy string                 `json:"approvedBy,omitempty"`
	History    []promotion.Transition `json:"history"`
	CreatedAt  time.Time              `json:"createdAt"`
	UpdatedAt  time.Time              `json:"updatedAt"`
}

// Register adds the pipeline routes to srv.
func (h *Pipelines) Register(srv *api.Server) {
	p := h.Pipeline
	srv.Handle("POST /api/v1/pipelines", p.Handler(api.Op{Action: "tenantml:ApplyPipeline", Target: h.applyTarget, Handle: h.apply}))
	srv.Handle("GET /api/v1/pipelines/{name}", p.Handler(api.Op{Action: "tenantml:GetPipelineStatus", Target: h.pipelineTarget, Handle: h.status}))
	srv.Handle("POST /api/v1/pipelines/{name}/runs/{id}/approve", p.Handler(api.Op{Action: "tenantml:ApprovePipeline", Target: h.pipelineTarget, Handle: h.approve}))
}

func (h *Pipelines) arn(acct, name string) string {
	return arn.New("tenantml", h.Region, acct, "pipeline/"+name).String()
}

func account(c *authn.Principal, primary string) string {
	if c != nil && c.Account != "" {
		return c.Account
	}
	return primary
}

// ErrPipelineNotFound is the answer for a pipeline that does not exist or
// that the caller may not see.
func ErrPipelineNotFound(name string) error {
	return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ResourceNotFound", "Pipeline %q does not exist.", truncName(name))
}

func truncName(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// applyTarget parses the spec (restoring the body) and names the
// pipeline it applies, owned by the spec's tenant.
func (h *Pipelines) applyTarget(r *http.Request, c *authn.Principal) (*api.Target, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, api.DecodeError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	spec, err := promotion.ParseSpec(body)
	if err != nil {
		return nil, err
	}
	return &api.Target{Resource: authz.Resource{ARN: h.arn(account(c, h.AccountID), spec.Name), Tenant: spec.Tenant},
		NotFound: ErrPipelineNotFound(spec.Name), Parameters: map[string]any{"pipeline": spec.Name, "modelPackageGroup": spec.ModelPackageGroup}}, nil
}

// pipelineTarget names the pipeline of the path, owned by its stored
// tenant; a missing pipeline is answered by the handler.
func (h *Pipelines) pipelineTarget(r *http.Request, c *authn.Principal) (*api.Target, error) {
	name := r.PathValue("name")
	t := &api.Target{Resource: authz.Resource{ARN: h.arn(account(c, h.AccountID), name)}, NotFound: ErrPipelineNotFound(name),
		Parameters: map[string]any{"pipeline": truncName(name)}}
	if id := r.PathValue("id"); id != "" {
		t.Parameters["run"] = truncName(id)
	}
	p, err := h.Store.GetPipeline(r.Context(), account(c, h.AccountID), name)
	switch {
	case tenantml.ErrorCode(err) == tenantml.ENOTFOUND:
		return t, nil
	case err != nil:
		return nil, fmt.Errorf("get pipeline: %w", err)
	}
	t.Tenant = p.Tenant()
	return t, nil
}

func (h *Pipelines) apply(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return api.DecodeError(err)
	}
	spec, err := promotion.ParseSpec(body)
	if err != nil {
		return err
	}
	for _, t := range []promotion.Target{spec.Staging, spec.Production} {
		if err := h.mayAssume(r, c, t.DeploymentRoleARN); err != nil {
			return err
		}
	}
	p := &promotion.Pipeline{AccountID: account(c, h.AccountID), Spec: *spec, AppliedBy: c.ARN}
	if err := h.Store.PutPipeline(r.Context(), p); err != nil {
		if tenantml.ErrorCode(err) == tenantml.ECONFLICT {
			return ErrPipelineNotFound(spec.Name) // another tenant's: as missing
		}
		return err
	}
	return h.writeStatus(w, r.Context(), p, http.StatusOK)
}

// mayAssume refuses a deployment role the caller could not assume.
func (h *Pipelines) mayAssume(r *http.Request, c *authn.Principal, roleARN string) error {
	denied := tenantml.AWSErrorf(tenantml.EFORBIDDEN, "AccessDeniedException",
		"User: %s is not authorized to perform: sts:AssumeRole on resource: %s (a pipeline acts as its deployment roles)", c.ARN, roleARN)
	a, err := arn.Parse(roleARN)
	if err != nil {
		return denied
	}
	res := authz.Resource{ARN: roleARN, Account: a.AccountID}
	role, err := h.Identity.GetRole(r.Context(), a.AccountID, authz.RoleName(roleARN))
	switch {
	case tenantml.ErrorCode(err) == tenantml.ENOTFOUND:
		return denied
	case err != nil:
		return fmt.Errorf("look up role: %w", err)
	case role.ARN != roleARN:
		return denied
	}
	trust, err := h.Policies.Parse(role.AssumeRolePolicyDocument, iam.KindResource)
	if err != nil {
		return fmt.Errorf("trust policy of %s: %w", role.ARN, err)
	}
	res.Tenant, res.Tags, res.Policy = role.TenantID, role.Tags, trust
	d, hidden, err := h.Pipeline.Check(r, c, "sts:AssumeRole", res, nil)
	if err != nil {
		return err
	}
	if hidden || !d.Allowed() {
		return denied
	}
	return nil
}

func (h *Pipelines) status(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	name := r.PathValue("name")
	p, err := h.Store.GetPipeline(r.Context(), account(c, h.AccountID), name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return ErrPipelineNotFound(name)
	}
	if err != nil {
		return err
	}
	return h.writeStatus(w, r.Context(), p, http.StatusOK)
}

func (h *Pipelines) approve(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	name, id := r.PathValue("name"), r.PathValue("id")
	acct := account(c, h.AccountID)
	p, err := h.Store.GetPipeline(r.Context(), acct, name)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return ErrPipelineNotFound(name)
	}
	if err != nil {
		return err
	}
	run, err := h.Runner.Approve(r.Context(), acct, name, id, c.ARN)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		return tenantml.AWSErrorf(tenantml.ENOTFOUND, "ResourceNotFound", "Pipeline %q has no run %q.", p.Name(), truncName(id))
	}
	if err != nil {
		return err
	}
	api.WriteJSON(w, http.StatusOK, toRunStatus(run))
	return nil
}

func (h *Pipelines) writeStatus(w http.ResponseWriter, ctx context.Context, p *promotion.Pipeline, status int) error {
	runs, err := h.Store.ListRuns(ctx, promotion.RunFilter{AccountID: p.AccountID, Pipeline: p.Name()})
	if err != nil {
		return err
	}
	out := PipelineStatus{Name: p.Name(), AccountID: p.AccountID, Spec: p.Spec, AppliedBy: p.AppliedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, Runs: []RunStatus{}}
	for _, run := range runs {
		out.Runs = append(out.Runs, toRunStatus(run))
	}
	api.WriteJSON(w, status, out)
	return nil
}

func toRunStatus(r *promotion.Run) RunStatus {
	h := r.History
	if h == nil {
		h = []promotion.Transition{}
	}
	return RunStatus{ID: r.ID, PackageARN: r.PackageARN, Version: r.Version, State: r.State, Reason: r.Reason, ApprovedBy: r.ApprovedBy,
		History: h, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}
