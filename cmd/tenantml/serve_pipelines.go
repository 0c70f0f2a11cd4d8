package main

import (
	"context"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/promotion/deploy"
)

// pipelineParts are the promotion pipelines' runner and webhook.
type pipelineParts struct {
	runner  *promotion.Runner
	webhook *promotion.Webhook
	cancel  context.CancelFunc
}

// openPipelines builds the promotion runner (acting as the targets'
// deployment roles through srv, the server's own API), registers the
// pipeline routes, tells the registry to notify approvals, and resumes
// the runs a previous process left in progress.
func (s *server) openPipelines(srv *api.Server, pipeline *api.Pipeline) error {
	ctx, cancel := context.WithCancel(context.Background())
	s.pl.cancel = cancel
	s.pl.webhook = &promotion.Webhook{Region: s.cfg.Region, Log: s.log}
	s.pl.runner = &promotion.Runner{Store: s.store.Pipelines(), Log: s.log, Now: s.now, Context: ctx,
		Deployer: &deploy.Deployer{Handler: srv, Identity: s.store.Identity(), Issuer: s.issuer, Region: s.cfg.Region, Now: s.now},
		Events:   pipelineEvents{s}}
	if s.sp.registry != nil {
		s.sp.registry.Approvals = approvalListener{s}
	}
	(&manage.Pipelines{Store: s.store.Pipelines(), Runner: s.pl.runner, Identity: s.store.Identity(), Policies: s.engine,
		Pipeline: pipeline, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
	return s.pl.runner.Resume(ctx)
}

// closePipelines stops the runs (they resume at the next start) and the
// webhook deliveries.
func (s *server) closePipelines() {
	if s.pl.cancel == nil {
		return
	}
	s.pl.cancel()
	s.pl.runner.Wait()
	s.pl.webhook.Close()
}

// approvalListener starts the pipelines' runs when a package is approved.
type approvalListener struct{ s *server }

func (a approvalListener) PackageApproved(ctx context.Context, acct, tenantID, group, packageARN string, version int) error {
	err := a.s.pl.runner.PackageApproved(ctx, acct, tenantID, group, packageARN, version)
	if err != nil {
		a.s.log.Error("start pipeline runs", "group", group, "version", version, "error", err)
	}
	return err
}

// pipelineEvents records every step of a run in the audit log, as a
// service event of the pipeline's tenant, and sends it to the webhook.
type pipelineEvents struct{ s *server }

func (p pipelineEvents) Record(ctx context.Context, e promotion.Event) {
	data := map[string]string{"pipeline": e.Run.Pipeline, "run": e.Run.ID, "state": string(e.Run.State),
		"modelPackageArn": e.Run.PackageARN, "modelPackageGroupName": e.Spec.ModelPackageGroup}
	if e.Env != "" {
		data["stage"] = e.Env
	}
	if e.Reason != "" {
		data["reason"] = e.Reason
	}
	if e.By != "" {
		data["approvedBy"] = e.By
	}
	ev := audit.Event{EventTime: e.Time, EventType: audit.TypeServiceEvent, TenantID: e.Run.Tenant, EventSource: "tenantml.amazonaws.com",
		EventName: string(e.Kind), UserIdentity: audit.UserIdentity{Type: "Service", PrincipalID: "tenantml-pipeline"}, AdditionalEventData: data}
	if p.s.audit != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		if _, err := p.s.audit.Append(actx, ev); err != nil {
			p.s.log.Error("audit pipeline event", "kind", e.Kind, "error", err)
		}
		cancel()
	}
	p.s.pl.webhook.Send(e)
}
