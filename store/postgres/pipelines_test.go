package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/storetest"
)

func TestDB_Pipelines(t *testing.T) {
	storetest.RunPipelines(t, func(t *testing.T, now func() time.Time) store.Store {
		db, err := postgres.Open(context.Background(), newEnv(t).config())
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		db.Now = now
		return db
	})
}

// Row-level security on the pipeline tables: a tenant-scoped view sees
// and writes only its tenant's pipelines and runs.
func TestDB_PipelinesInTenant(t *testing.T) {
	ctx := context.Background()
	db := open(t, newEnv(t).config())
	op := db.Pipelines()
	for _, owner := range []string{"acme", "globex"} {
		if err := op.PutPipeline(ctx, &promotion.Pipeline{AccountID: acct, Spec: storetest.NewPipelineSpec(owner+"--p", owner, "g")}); err != nil {
			t.Fatal(err)
		}
		if err := op.CreateRun(ctx, &promotion.Run{AccountID: acct, Pipeline: owner + "--p", ID: "r1", Tenant: owner, State: promotion.AwaitingApproval}); err != nil {
			t.Fatal(err)
		}
	}
	acme := db.PipelinesInTenant("acme")
	if ps, err := acme.PipelinesForGroup(ctx, acct, "g"); err != nil || len(ps) != 1 || ps[0].Name() != "acme--p" {
		t.Fatalf("acme's pipelines of the group: %v, %v", ps, err)
	}
	if _, err := acme.GetPipeline(ctx, acct, "globex--p"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Fatalf("acme gets globex's pipeline: %v", err)
	}
	if _, err := acme.GetRun(ctx, acct, "globex--p", "r1"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Fatalf("acme gets globex's run: %v", err)
	}
	if _, err := acme.UpdateRun(ctx, acct, "globex--p", "r1", func(r *promotion.Run) error { r.State = promotion.Failed; return nil }); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		t.Fatalf("acme updates globex's run: %v", err)
	}
	if err := acme.PutPipeline(ctx, &promotion.Pipeline{AccountID: acct, Spec: storetest.NewPipelineSpec("globex--q", "globex", "g")}); tenantml.ErrorCode(err) == "" {
		t.Fatal("acme created globex's pipeline")
	}
	if runs, err := acme.ListRuns(ctx, promotion.RunFilter{}); err != nil || len(runs) != 1 || runs[0].Tenant != "acme" {
		t.Fatalf("acme lists runs: %v, %v", runs, err)
	}
	if r, err := op.GetRun(ctx, acct, "globex--p", "r1"); err != nil || r.State != promotion.AwaitingApproval {
		t.Fatalf("globex's run after acme's attempts: %+v, %v", r, err)
	}
}
