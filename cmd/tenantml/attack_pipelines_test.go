package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/store/storetest"
)

// Promotion pipelines in the attack suite: globex's pipeline (over
// globex's registry group) with a run awaiting approval, stored directly
// (the scenario does not deploy it); the cross-tenant templates of every
// pipeline route.

// pipelineFixture names globex's pipeline and its waiting run.
type pipelineFixture struct {
	name, run string
}

// pipelines stores globex's pipeline and run.
func (e *attackEnv) pipelines(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	e.pl = pipelineFixture{name: "globex--promote", run: "0123456789abcdef"}
	spec := storetest.NewPipelineSpec(e.pl.name, "globex", e.rg.group)
	st := e.ts.store.Pipelines()
	if err := st.PutPipeline(ctx, &promotion.Pipeline{AccountID: e.acct, Spec: spec, AppliedBy: "arn:aws:iam::" + e.acct + ":root"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	if err := st.CreateRun(ctx, &promotion.Run{AccountID: e.acct, Pipeline: e.pl.name, ID: e.pl.run, Tenant: "globex", PackageARN: e.rg.pkg, Version: 1,
		State: promotion.AwaitingApproval, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// pipelineCases are the pipeline routes' templates: reading, approving
// and re-applying globex's pipeline.
func pipelineCases() []crossCase {
	apply := crossCase{op: "POST /api/v1/pipelines", build: func(x *crossTarget) signedRequest {
		spec := storetest.NewPipelineSpec(x.pipeline, x.tenant, x.regGroup)
		b, _ := json.Marshal(spec)
		return manageRequest(http.MethodPost, "/api/v1/pipelines", b)
	}}
	return []crossCase{
		apply,
		route("GET /api/v1/pipelines/{name}", "", func(x *crossTarget) string { return "/api/v1/pipelines/" + x.pipeline }, ""),
		route("POST /api/v1/pipelines/{name}/runs/{id}/approve", "", func(x *crossTarget) string {
			return "/api/v1/pipelines/" + x.pipeline + "/runs/" + x.pipelineRun + "/approve"
		}, ""),
	}
}

// pipelineTargets fills the pipeline names of both sides.
// The missing side's pipeline is of the missing side's tenant, so that
// applying it names no tenant that exists.
func (e *attackEnv) pipelineTargets(other, missing *crossTarget, _ func(n int) string) {
	other.pipeline, other.pipelineRun = e.pl.name, e.pl.run
	missing.pipeline, missing.pipelineRun = missing.tenant+"--promote", e.pl.run
}

// pipelineNames are x's pipeline names, in a fixed order.
func (x *crossTarget) pipelineNames() []string {
	return []string{x.pipeline}
}
