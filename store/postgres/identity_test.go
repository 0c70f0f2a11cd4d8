package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store/storetest"
	"github.com/tenantml/tenantml/tenant"
)

const acct = storetest.AccountA

// seedIdentity creates, on the operator path, a role, a user with an
// access key for tenants acme and globex and an untagged platform role.
func seedIdentity(t *testing.T, svc identity.Service) map[string]string {
	t.Helper()
	ctx := context.Background()
	keys := map[string]string{}
	for _, tn := range []string{"acme", "globex"} {
		tags := map[string]string{tenant.TagKey: tn}
		if err := svc.CreateRole(ctx, acct, &identity.Role{Name: tn + "-etl", AssumeRolePolicyDocument: storetest.TrustSageMaker, Tags: tags}); err != nil {
			t.Fatal(err)
		}
		if err := svc.CreateUser(ctx, acct, &identity.User{Name: tn + "-dev", Tags: tags}); err != nil {
			t.Fatal(err)
		}
		if err := svc.PutInlinePolicy(ctx, acct, identity.Ref{Kind: identity.KindRole, Name: tn + "-etl"}, "invoke", storetest.AllowInvoke); err != nil {
			t.Fatal(err)
		}
		k := &identity.AccessKey{UserName: tn + "-dev", SealedSecret: []byte("sealed-" + tn)}
		if err := svc.CreateAccessKey(ctx, acct, k); err != nil {
			t.Fatal(err)
		}
		keys[tn] = k.ID
	}
	if err := svc.CreateRole(ctx, acct, &identity.Role{Name: "platform-ops", AssumeRolePolicyDocument: storetest.TrustSageMaker}); err != nil {
		t.Fatal(err)
	}
	return keys
}

// Row-level security on the identity tables: a tenant-scoped view sees and
// writes only its tenant's principals; the operator view sees all.
func TestDB_IdentityInTenant(t *testing.T) {
	ctx := context.Background()
	db := open(t, newEnv(t).config())
	keys := seedIdentity(t, db.Identity())
	acme := db.IdentityInTenant("acme")

	t.Run("ListSeesOwnTenantOnly", func(t *testing.T) {
		rs, _, err := acme.ListRoles(ctx, acct, identity.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Name != "acme-etl" {
			t.Fatalf("acme lists %d roles: %+v", len(rs), rs)
		}
		all, _, err := db.Identity().ListRoles(ctx, acct, identity.ListOptions{})
		if err != nil || len(all) != 3 {
			t.Fatalf("operator lists %d roles (%v), want 3", len(all), err)
		}
	})
	t.Run("OtherTenantIsNotFound", func(t *testing.T) {
		for name, err := range map[string]error{
			"GetRole":         func() error { _, err := acme.GetRole(ctx, acct, "globex-etl"); return err }(),
			"GetPlatformRole": func() error { _, err := acme.GetRole(ctx, acct, "platform-ops"); return err }(),
			"GetAccessKey":    func() error { _, err := acme.GetAccessKey(ctx, keys["globex"]); return err }(),
			"PoliciesForRole": func() error { _, err := acme.PoliciesForRole(ctx, acct, "globex-etl"); return err }(),
			"GetInline": func() error {
				_, err := acme.GetInlinePolicy(ctx, acct, identity.Ref{Kind: identity.KindRole, Name: "globex-etl"}, "invoke")
				return err
			}(),
			"DeleteInline": acme.DeleteInlinePolicy(ctx, acct, identity.Ref{Kind: identity.KindRole, Name: "globex-etl"}, "invoke"),
			"DeleteUser":   acme.DeleteUser(ctx, acct, "globex-dev"),
		} {
			t.Run(name, func(t *testing.T) {
				if got := tenantml.ErrorCode(err); got != tenantml.ENOTFOUND {
					t.Fatalf("error = %v, want not found", err)
				}
			})
		}
		e, err := acme.PoliciesForRole(ctx, acct, "acme-etl")
		if err != nil || len(e.Policies) != 1 {
			t.Fatalf("own role's policies = %+v, %v", e, err)
		}
	})
	t.Run("ErrWriteOtherTenant", func(t *testing.T) {
		err := acme.CreateRole(ctx, acct, &identity.Role{Name: "sneaky", AssumeRolePolicyDocument: storetest.TrustSageMaker,
			Tags: map[string]string{tenant.TagKey: "globex"}})
		if got := tenantml.ErrorCode(err); got != tenantml.EFORBIDDEN {
			t.Fatalf("acme creating a globex role = %v, want forbidden", err)
		}
		err = acme.CreateUser(ctx, acct, &identity.User{Name: "untagged"})
		if got := tenantml.ErrorCode(err); got != tenantml.EFORBIDDEN {
			t.Fatalf("acme creating a platform user = %v, want forbidden", err)
		}
		if err := acme.CreateRole(ctx, acct, &identity.Role{Name: "acme-new", AssumeRolePolicyDocument: storetest.TrustSageMaker,
			Tags: map[string]string{tenant.TagKey: "acme"}}); err != nil {
			t.Fatalf("acme creating its own role: %v", err)
		}
	})
	t.Run("HandWrittenQueryStaysInTenant", func(t *testing.T) {
		var roles, keysSeen int64
		err := db.InTenant(ctx, "acme", func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE iam_roles SET description = 'touched'`); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM iam_roles`).Scan(&roles); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM iam_access_keys`).Scan(&keysSeen)
		})
		if err != nil {
			t.Fatal(err)
		}
		if roles != 2 || keysSeen != 1 {
			t.Fatalf("acme's unfiltered query saw %d roles and %d keys, want 2 and 1", roles, keysSeen)
		}
		r, err := db.Identity().GetRole(ctx, acct, "globex-etl")
		if err != nil || r.Description != "" {
			t.Fatalf("globex role after acme's unfiltered UPDATE = %+v, %v", r, err)
		}
	})
	t.Run("UnscopedSeesNothing", func(t *testing.T) {
		var n int64
		err := pgx.BeginFunc(ctx, db.PoolForTest(), func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM iam_roles) + (SELECT count(*) FROM iam_access_keys) + (SELECT count(*) FROM iam_inline_policies)`).Scan(&n)
		})
		if err != nil || n != 0 {
			t.Fatalf("unscoped transaction saw %d identity rows (%v), want 0", n, err)
		}
	})
	t.Run("EmptyTenantSettingSeesNoPlatformRows", func(t *testing.T) {
		// A pooled connection reports app.tenant_id as '' once an earlier
		// transaction set it; platform rows have tenant_id ''.
		var n int64
		err := pgx.BeginFunc(ctx, db.PoolForTest(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT set_config('app.tenant_id', '', true)`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT count(*) FROM iam_roles`).Scan(&n)
		})
		if err != nil || n != 0 {
			t.Fatalf("empty tenant setting saw %d roles (%v), want 0", n, err)
		}
	})
	t.Run("AuthenticationUsesOperatorPath", func(t *testing.T) {
		for tn, id := range keys {
			k, err := db.Identity().GetAccessKey(ctx, id)
			if err != nil || k.TenantID != tn || string(k.SealedSecret) != "sealed-"+tn {
				t.Fatalf("GetAccessKey(%s) = %+v, %v", id, k, err)
			}
		}
	})
}
