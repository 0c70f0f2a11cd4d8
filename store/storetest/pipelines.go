package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/promotion"
	"github.com/tenantml/tenantml/store"
)

// NewPipelineSpec returns a valid pipeline spec of owner for group, for
// tests.
func NewPipelineSpec(name, owner, group string) promotion.Spec {
	return promotion.Spec{Name: name, Tenant: owner, ModelPackageGroup: group,
		Staging: promotion.Target{AccountID: AccountB, DeploymentRoleARN: "arn:aws:iam::" + AccountB + ":role/deploy", EndpointName: owner + "--staging",
			InstanceType: "ml.m5.large", InstanceCount: 1, ExecutionRoleARN: "arn:aws:iam::" + AccountB + ":role/exec"},
		Production: promotion.Target{AccountID: AccountA, DeploymentRoleARN: "arn:aws:iam::" + AccountA + ":role/deploy", EndpointName: owner + "--prod",
			InstanceType: "ml.m5.large", InstanceCount: 2, ExecutionRoleARN: "arn:aws:iam::" + AccountA + ":role/exec",
			DeploymentConfig: map[string]any{"BlueGreenUpdatePolicy": map[string]any{"TrafficRoutingConfiguration": map[string]any{"Type": "ALL_AT_ONCE"}}}},
		SmokeTest: promotion.SmokeTest{ContentType: "text/csv", Payload: "1,2", Expected: "0.5", Tolerance: 0.01}}
}

// RunPipelines runs the contract suite of promotion.Store. newStore must
// return an empty, open store whose clock is now; RunPipelines closes it.
func RunPipelines(t *testing.T, newStore func(t *testing.T, now func() time.Time) store.Store) {
	ctx := context.Background()
	c := &clock{t: startTime()}
	st := newStore(t, c.Now)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	s := st.Pipelines()

	t.Run("Pipelines", func(t *testing.T) {
		p := &promotion.Pipeline{AccountID: AccountA, Spec: NewPipelineSpec("acme--churn", "acme", "acme--churn"), AppliedBy: "arn:aws:iam::" + AccountA + ":user/a"}
		if err := s.PutPipeline(ctx, p); err != nil {
			t.Fatal(err)
		}
		created := p.CreatedAt
		if created.IsZero() || !created.Equal(startTime().UTC().Truncate(time.Millisecond)) {
			t.Fatalf("created at %v", created)
		}
		got, err := s.GetPipeline(ctx, AccountA, "acme--churn")
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Production.DeploymentConfig == nil || got.Spec.Staging.AccountID != AccountB || got.AppliedBy != p.AppliedBy || !got.CreatedAt.Equal(created) {
			t.Fatalf("got %+v", got)
		}
		// Apply again (replace): the creation time stays.
		c.Advance(time.Minute)
		p.Spec.SmokeTest.Expected = "0.6"
		if err := s.PutPipeline(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetPipeline(ctx, AccountA, "acme--churn")
		if err != nil || got.Spec.SmokeTest.Expected != "0.6" || !got.CreatedAt.Equal(created) || !got.UpdatedAt.After(created) {
			t.Fatalf("after replace: %+v, %v", got, err)
		}
		// Another tenant cannot take the name over (the name's prefix
		// names the tenant, so only the platform could try).
		other := &promotion.Pipeline{AccountID: AccountA, Spec: NewPipelineSpec("acme--churn", "acme", "acme--churn")}
		other.Spec.Tenant = "acme"
		if err := s.PutPipeline(ctx, other); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct{ acct, name string }{{AccountA, "acme--nope"}, {AccountB, "acme--churn"}} {
			if _, err := s.GetPipeline(ctx, tt.acct, tt.name); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				t.Fatalf("get %v: %v, want not found", tt, err)
			}
		}
		if err := s.PutPipeline(ctx, &promotion.Pipeline{AccountID: AccountA, Spec: NewPipelineSpec("globex--churn", "globex", "acme--churn")}); err != nil {
			t.Fatal(err)
		}
		ps, err := s.PipelinesForGroup(ctx, AccountA, "acme--churn")
		if err != nil || len(ps) != 2 || ps[0].Name() != "acme--churn" || ps[1].Name() != "globex--churn" {
			t.Fatalf("pipelines of the group: %v, %v", ps, err)
		}
		if ps, err := s.PipelinesForGroup(ctx, AccountB, "acme--churn"); err != nil || len(ps) != 0 {
			t.Fatalf("pipelines of the group in account B: %v, %v", ps, err)
		}
		bad := &promotion.Pipeline{AccountID: AccountA, Spec: NewPipelineSpec("acme--x", "acme", "")}
		if err := s.PutPipeline(ctx, bad); tenantml.ErrorCode(err) != tenantml.EINVALID {
			t.Fatalf("put an invalid spec: %v", err)
		}
	})

	t.Run("Runs", func(t *testing.T) {
		now := c.Now().UTC().Truncate(time.Millisecond)
		mk := func(id string, st promotion.State, at time.Time) *promotion.Run {
			return &promotion.Run{AccountID: AccountA, Pipeline: "acme--churn", ID: id, Tenant: "acme", PackageARN: "arn:aws:sagemaker:us-east-1:" + AccountA + ":model-package/acme--churn/1",
				Version: 1, State: st, CreatedAt: at, UpdatedAt: at, History: []promotion.Transition{{Time: at, State: st}}}
		}
		runs := []*promotion.Run{mk("r1", promotion.DeployingStaging, now), mk("r2", promotion.AwaitingApproval, now.Add(time.Second)),
			mk("r3", promotion.Succeeded, now.Add(2*time.Second)), mk("r4", promotion.DeployingProduction, now.Add(3*time.Second))}
		for _, r := range runs {
			if err := s.CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CreateRun(ctx, mk("r1", promotion.Failed, now)); tenantml.ErrorCode(err) != tenantml.ECONFLICT {
			t.Fatalf("create a run twice: %v", err)
		}
		all, err := s.ListRuns(ctx, promotion.RunFilter{AccountID: AccountA, Pipeline: "acme--churn"})
		if err != nil || len(all) != 4 || all[0].ID != "r4" || all[3].ID != "r1" {
			t.Fatalf("list runs: %v, %v", ids(all), err)
		}
		act, err := s.ListRuns(ctx, promotion.RunFilter{Active: true})
		if err != nil || len(act) != 2 || act[0].ID != "r4" || act[1].ID != "r1" {
			t.Fatalf("active runs: %v, %v", ids(act), err)
		}
		later := now.Add(time.Minute)
		got, err := s.UpdateRun(ctx, AccountA, "acme--churn", "r2", func(r *promotion.Run) error {
			r.State, r.ApprovedBy, r.UpdatedAt = promotion.DeployingProduction, "arn:lead", later
			r.History = append(r.History, promotion.Transition{Time: later, State: r.State})
			return nil
		})
		if err != nil || got.State != promotion.DeployingProduction {
			t.Fatalf("update: %+v, %v", got, err)
		}
		r2, err := s.GetRun(ctx, AccountA, "acme--churn", "r2")
		if err != nil || r2.State != promotion.DeployingProduction || r2.ApprovedBy != "arn:lead" || len(r2.History) != 2 || !r2.History[1].Time.Equal(later) || !r2.UpdatedAt.Equal(later) {
			t.Fatalf("stored update: %+v, %v", r2, err)
		}
		if act, _ := s.ListRuns(ctx, promotion.RunFilter{Active: true}); len(act) != 3 {
			t.Fatalf("active after approval: %v", ids(act))
		}
		// A refused update stores nothing.
		refused := tenantml.Errorf(tenantml.ECONFLICT, "no")
		if _, err := s.UpdateRun(ctx, AccountA, "acme--churn", "r1", func(r *promotion.Run) error { r.State = promotion.Failed; return refused }); err != refused {
			t.Fatalf("refused update: %v", err)
		}
		if r1, _ := s.GetRun(ctx, AccountA, "acme--churn", "r1"); r1.State != promotion.DeployingStaging {
			t.Fatalf("refused update stored %s", r1.State)
		}
		for _, tt := range []struct{ acct, pipeline, id string }{{AccountA, "acme--churn", "nope"}, {AccountB, "acme--churn", "r1"}, {AccountA, "globex--churn", "r1"}} {
			if _, err := s.GetRun(ctx, tt.acct, tt.pipeline, tt.id); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				t.Fatalf("get run %v: %v", tt, err)
			}
			if _, err := s.UpdateRun(ctx, tt.acct, tt.pipeline, tt.id, func(*promotion.Run) error { return nil }); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				t.Fatalf("update run %v: %v", tt, err)
			}
		}
	})
}

func ids(rs []*promotion.Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}
