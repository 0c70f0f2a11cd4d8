package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/storetest"
	"github.com/tenantml/tenantml/tenant"
)

func TestDB_Serving(t *testing.T) {
	storetest.RunServing(t, func(t *testing.T, now func() time.Time) store.Store {
		db, err := postgres.Open(context.Background(), newEnv(t).config())
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		db.Now = now
		return db
	})
}

func TestDB_Deployments(t *testing.T) {
	storetest.RunDeployments(t, func(t *testing.T) store.Store {
		db, err := postgres.Open(context.Background(), newEnv(t).config())
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return db
	})
}

// seedServing creates, on the operator path, a model, an endpoint config
// and an endpoint (each tagged) for acme, globex and the platform, named
// <owner>--m, <owner>--c, <owner>--e (pool-… for the platform).
func seedServing(t *testing.T, svc serving.Store) {
	t.Helper()
	ctx := context.Background()
	for _, owner := range []string{"acme", "globex", ""} {
		prefix, tags := "pool-", map[string]string{"team": "platform"}
		if owner != "" {
			prefix, tags = owner+"--", map[string]string{"team": owner, tenant.TagKey: owner}
		}
		m := storetest.NewModel(acct, prefix+"m", owner)
		c := storetest.NewEndpointConfig(acct, prefix+"c", owner)
		e := storetest.NewEndpoint(acct, prefix+"e", owner)
		m.Tags, c.Tags, e.Tags = tags, tags, tags
		for _, err := range []error{svc.CreateModel(ctx, m), svc.CreateEndpointConfig(ctx, c), svc.CreateEndpoint(ctx, e)} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// serviceARN is the ARN of a seeded resource.
func serviceARN(kind serving.ResourceKind, name string) string {
	return serving.ARN(storetest.Region, acct, kind, name)
}

// Row-level security on the serving tables: a tenant-scoped view sees its
// tenant's resources and tags and the platform's, and writes only its
// tenant's; the operator view sees and writes all.
func TestDB_ServingInTenant(t *testing.T) {
	ctx := context.Background()
	db := open(t, newEnv(t).config())
	op := db.Serving()
	seedServing(t, op)
	acme := db.ServingInTenant("acme")

	t.Run("ListSeesOwnAndPlatform", func(t *testing.T) {
		ms, _, err := acme.ListModels(ctx, acct, serving.ListFilter{})
		if err != nil || len(ms) != 2 || ms[0].Name != "acme--m" || ms[0].Tags["team"] != "acme" || ms[1].Name != "pool-m" || ms[1].Tags["team"] != "platform" {
			t.Fatalf("acme lists models %+v, %v", ms, err)
		}
		es, _, err := acme.ListEndpoints(ctx, acct, serving.ListFilter{Tenant: "acme", SortByCreationTime: true})
		if err != nil || len(es) != 1 || es[0].Name != "acme--e" {
			t.Fatalf("acme lists its endpoints %+v, %v", es, err)
		}
		other, _, err := acme.ListEndpointConfigs(ctx, acct, serving.ListFilter{Tenant: "globex"})
		if err != nil || len(other) != 0 {
			t.Fatalf("acme lists globex's configs %+v, %v", other, err)
		}
		all, _, err := op.ListModels(ctx, acct, serving.ListFilter{})
		if err != nil || len(all) != 3 {
			t.Fatalf("operator lists %d models (%v), want 3", len(all), err)
		}
	})
	t.Run("OtherTenantIsNotFound", func(t *testing.T) {
		globexEP, err := op.GetEndpoint(ctx, acct, "globex--e")
		if err != nil {
			t.Fatal(err)
		}
		globexEP.Status = serving.StatusFailed
		tests := []struct {
			name string
			call func() error
		}{
			{"GetModel", func() error { _, err := acme.GetModel(ctx, acct, "globex--m"); return err }},
			{"GetEndpointConfig", func() error { _, err := acme.GetEndpointConfig(ctx, acct, "globex--c"); return err }},
			{"GetEndpoint", func() error { _, err := acme.GetEndpoint(ctx, acct, "globex--e"); return err }},
			{"UpdateEndpoint", func() error { return acme.UpdateEndpoint(ctx, globexEP) }},
			{"DeleteModel", func() error { return acme.DeleteModel(ctx, acct, "globex--m") }},
			{"DeleteEndpointConfig", func() error { return acme.DeleteEndpointConfig(ctx, acct, "globex--c") }},
			{"DeleteEndpoint", func() error { return acme.DeleteEndpoint(ctx, acct, "globex--e") }},
			{"SetTags", func() error {
				return acme.SetTags(ctx, acct, serviceARN(serving.KindModel, "globex--m"), map[string]string{"team": "acme"})
			}},
			{"RemoveTags", func() error {
				return acme.RemoveTags(ctx, acct, serviceARN(serving.KindEndpoint, "globex--e"), []string{"team"})
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
					t.Fatalf("error = %v, want not found", err)
				}
			})
		}
		wantGlobexIntact(t, op)
	})
	t.Run("PlatformIsReadOnly", func(t *testing.T) {
		m, err := acme.GetModel(ctx, acct, "POOL-M")
		if err != nil || m.Tenant != "" || m.Tags["team"] != "platform" {
			t.Fatalf("acme's view of the platform model = %+v, %v", m, err)
		}
		poolEP, err := acme.GetEndpoint(ctx, acct, "pool-e")
		if err != nil {
			t.Fatal(err)
		}
		poolEP.Status = serving.StatusFailed
		stale := *poolEP
		stale.Version = 7
		tests := []struct {
			name string
			err  error
			code string
		}{
			{"UpdateEndpoint", acme.UpdateEndpoint(ctx, poolEP), tenantml.EFORBIDDEN},
			{"UpdateEndpointStale", acme.UpdateEndpoint(ctx, &stale), tenantml.ECONFLICT},
			{"DeleteEndpoint", acme.DeleteEndpoint(ctx, acct, "pool-e"), tenantml.EFORBIDDEN},
			{"DeleteModel", acme.DeleteModel(ctx, acct, "pool-m"), tenantml.EFORBIDDEN},
			{"DeleteEndpointConfig", acme.DeleteEndpointConfig(ctx, acct, "pool-c"), tenantml.EFORBIDDEN},
			{"SetTags", acme.SetTags(ctx, acct, serviceARN(serving.KindModel, "pool-m"), map[string]string{"team": "acme"}), tenantml.EFORBIDDEN},
			{"RemoveTags", acme.RemoveTags(ctx, acct, serviceARN(serving.KindEndpoint, "pool-e"), []string{"team"}), tenantml.EFORBIDDEN},
			{"CreateEndpoint", acme.CreateEndpoint(ctx, storetest.NewEndpoint(acct, "pool-sneaky", "")), tenantml.EFORBIDDEN},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := tenantml.ErrorCode(tt.err); got != tt.code {
					t.Fatalf("error = %v, want code %q", tt.err, tt.code)
				}
			})
		}
		if _, err := op.GetEndpoint(ctx, acct, "pool-sneaky"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Errorf("refused create left pool-sneaky behind: %v", err)
		}
		wantGlobexIntact(t, op)
	})
	t.Run("ErrWriteOtherTenant", func(t *testing.T) {
		for name, err := range map[string]error{
			"GlobexModel":    acme.CreateModel(ctx, storetest.NewModel(acct, "globex--sneaky", "globex")),
			"PlatformModel":  acme.CreateModel(ctx, storetest.NewModel(acct, "pool-sneaky", "")),
			"GlobexEndpoint": acme.CreateEndpoint(ctx, storetest.NewEndpoint(acct, "globex--sneaky", "globex")),
		} {
			if got := tenantml.ErrorCode(err); got != tenantml.EFORBIDDEN {
				t.Errorf("%s: acme's create = %v, want forbidden", name, err)
			}
		}
		for _, name := range []string{"globex--sneaky", "pool-sneaky"} {
			if _, err := op.GetModel(ctx, acct, name); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
				t.Errorf("refused create left %s behind: %v", name, err)
			}
		}
		if err := acme.CreateModel(ctx, storetest.NewModel(acct, "acme--own", "acme")); err != nil {
			t.Fatalf("acme creating its own model: %v", err)
		}
		if err := acme.DeleteModel(ctx, acct, "acme--own"); err != nil {
			t.Fatalf("acme deleting its own model: %v", err)
		}
	})
	t.Run("HandWrittenSQLStaysInTenant", func(t *testing.T) {
		tests := []struct {
			name     string
			stmt     string
			wantRows int64
			wantErr  string
		}{
			{"UpdateModels", `UPDATE serving_models SET execution_role_arn = 'x'`, 1, ""},
			{"UpdateEndpoints", `UPDATE serving_endpoints SET status = 'Failed', version = version + 1`, 1, ""},
			{"UpdateTags", `UPDATE serving_tags SET tag_value = 'x'`, 6, ""},
			{"UpdateOtherByName", `UPDATE serving_endpoints SET status = 'Failed' WHERE name_lc = 'globex--e'`, 0, ""},
			{"DeleteOtherByTenant", `DELETE FROM serving_tags WHERE tenant_id IN ('globex', '')`, 0, ""},
			{"DeleteOtherByName", `DELETE FROM serving_models WHERE name_lc IN ('globex--m', 'pool-m')`, 0, ""},
			{"UpdatePlatform", `UPDATE serving_endpoints SET status = 'Failed' WHERE tenant_id = ''`, 0, ""},
			{"ErrInsertForPlatform", `INSERT INTO serving_tags (account_id, arn, tag_key, tag_value, tenant_id)
				VALUES ('` + acct + `', 'arn:aws:sagemaker:us-east-1:` + acct + `:model/pool-m', 'evil', 'x', '')`, 0, tenantml.EFORBIDDEN},
			{"ErrInsertForOther", `INSERT INTO serving_models (account_id, name_lc, name, arn, tenant_id, created_at, primary_container)
				VALUES ('` + acct + `', 'globex--evil', 'globex--evil', 'arn:aws:sagemaker:us-east-1:` + acct + `:model/globex--evil', 'globex', now(), '{}')`, 0, tenantml.EFORBIDDEN},
			{"ErrInsertTagForOther", `INSERT INTO serving_tags (account_id, arn, tag_key, tag_value, tenant_id)
				VALUES ('` + acct + `', 'arn:aws:sagemaker:us-east-1:` + acct + `:model/globex--m', 'evil', 'x', 'globex')`, 0, tenantml.EFORBIDDEN},
			{"ErrMoveRowToOther", `UPDATE serving_endpoints SET tenant_id = 'globex'`, 0, tenantml.EFORBIDDEN},
			{"DeleteEndpoints", `DELETE FROM serving_endpoints`, 1, ""},
			{"DeleteModels", `DELETE FROM serving_models`, 1, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var seen []string
				var affected int64
				err := db.InTenant(ctx, "acme", func(tx pgx.Tx) error {
					rows, err := tx.Query(ctx, `SELECT DISTINCT tenant_id FROM (
						SELECT tenant_id FROM serving_models UNION ALL SELECT tenant_id FROM serving_endpoint_configs
						UNION ALL SELECT tenant_id FROM serving_endpoints UNION ALL SELECT tenant_id FROM serving_tags) t ORDER BY tenant_id`)
					if err != nil {
						return err
					}
					if seen, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
						return err
					}
					tag, err := tx.Exec(ctx, tt.stmt)
					affected = tag.RowsAffected()
					return err
				})
				if got := strings.Join(seen, ","); got != ",acme" {
					t.Errorf("acme's unfiltered SELECT saw tenants %q, want the platform's and acme", got)
				}
				switch {
				case tt.wantErr != "":
					if code := tenantml.ErrorCode(err); code != tt.wantErr {
						t.Fatalf("error = %v (code %q), want %q", err, code, tt.wantErr)
					}
				case err != nil:
					t.Fatalf("statement: %v", err)
				case affected != tt.wantRows:
					t.Fatalf("rows affected = %d, want %d", affected, tt.wantRows)
				}
				wantGlobexIntact(t, op)
			})
		}
		if _, err := op.GetModel(ctx, acct, "acme--m"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("acme's model after acme's DELETE: %v", err)
		}
	})
	t.Run("UnscopedSeesNothing", func(t *testing.T) {
		for _, setup := range []string{`SELECT 1`, `SELECT set_config('app.tenant_id', '', true)`} {
			var n int64
			err := pgx.BeginFunc(ctx, db.PoolForTest(), func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, setup); err != nil {
					return err
				}
				return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM serving_models) + (SELECT count(*) FROM serving_endpoint_configs)
					+ (SELECT count(*) FROM serving_endpoints) + (SELECT count(*) FROM serving_tags)`).Scan(&n)
			})
			if err != nil || n != 0 {
				t.Fatalf("transaction after %q saw %d serving rows (%v), want 0", setup, n, err)
			}
		}
	})
}

// wantGlobexIntact checks, on the operator path, that globex's and the
// platform's resources and tags are as seedServing made them.
func wantGlobexIntact(t *testing.T, op serving.Store) {
	t.Helper()
	ctx := context.Background()
	for _, owner := range []string{"globex", ""} {
		prefix, team := "pool-", "platform"
		if owner != "" {
			prefix, team = owner+"--", owner
		}
		m, err := op.GetModel(ctx, acct, prefix+"m")
		if err != nil || m.ExecutionRoleARN != "arn:aws:iam::"+acct+":role/exec" || m.Tags["team"] != team || m.Tenant != owner {
			t.Fatalf("%s model = %+v, %v", prefix, m, err)
		}
		c, err := op.GetEndpointConfig(ctx, acct, prefix+"c")
		if err != nil || c.Tags["team"] != team || c.Tenant != owner {
			t.Fatalf("%s config = %+v, %v", prefix, c, err)
		}
		e, err := op.GetEndpoint(ctx, acct, prefix+"e")
		if err != nil || e.Status != serving.StatusCreating || e.Version != 1 || e.Tags["team"] != team || e.Tenant != owner {
			t.Fatalf("%s endpoint = %+v, %v", prefix, e, err)
		}
	}
}
