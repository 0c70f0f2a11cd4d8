package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/postgres"
	"github.com/tenantml/tenantml/store/storetest"
)

func TestDB_Registry(t *testing.T) {
	storetest.RunRegistry(t, func(t *testing.T, now func() time.Time) store.Store {
		db, err := postgres.Open(context.Background(), newEnv(t).config())
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		db.Now = now
		return db
	})
}

// Row-level security on the registry tables: a tenant-scoped view sees and
// writes only its tenant's groups and packages (not the platform's); the
// operator view sees all.
func TestDB_RegistryInTenant(t *testing.T) {
	ctx := context.Background()
	db := open(t, newEnv(t).config())
	op := db.Registry()
	for _, owner := range []string{"acme", "globex", ""} {
		name := owner + "--g"
		if owner == "" {
			name = "platform-g"
		}
		if err := op.CreateGroup(ctx, storetest.NewGroup(acct, name, owner)); err != nil {
			t.Fatal(err)
		}
		if err := op.CreatePackage(ctx, storetest.NewPackage(acct, name)); err != nil {
			t.Fatal(err)
		}
	}
	acme := db.RegistryInTenant("acme")

	t.Run("ListSeesOwnOnly", func(t *testing.T) {
		gs, _, err := acme.ListGroups(ctx, acct, registry.GroupFilter{})
		if err != nil || len(gs) != 1 || gs[0].Name != "acme--g" {
			t.Fatalf("acme lists groups %+v, %v", gs, err)
		}
		ps, _, err := acme.ListPackages(ctx, acct, registry.PackageFilter{})
		if err != nil || len(ps) != 1 || ps[0].GroupName != "acme--g" {
			t.Fatalf("acme lists packages %+v, %v", ps, err)
		}
		all, _, err := op.ListPackages(ctx, acct, registry.PackageFilter{})
		if err != nil || len(all) != 3 {
			t.Fatalf("operator lists %d packages (%v), want 3", len(all), err)
		}
	})
	t.Run("OthersAreNotFound", func(t *testing.T) {
		for _, name := range []string{"globex--g", "platform-g"} {
			tests := []struct {
				op   string
				call func() error
			}{
				{"GetGroup", func() error { _, err := acme.GetGroup(ctx, acct, name); return err }},
				{"UpdateGroup", func() error {
					return acme.UpdateGroup(ctx, acct, name, func(g *registry.Group) error { g.Policy = "x"; return nil })
				}},
				{"DeleteGroup", func() error { return acme.DeleteGroup(ctx, acct, name) }},
				{"CreatePackage", func() error { return acme.CreatePackage(ctx, storetest.NewPackage(acct, name)) }},
				{"GetPackage", func() error { _, err := acme.GetPackage(ctx, acct, name, 1); return err }},
				{"UpdatePackage", func() error {
					return acme.UpdatePackage(ctx, acct, name, 1, func(p *registry.Package) error { p.ApprovalStatus = registry.Approved; return nil })
				}},
				{"DeletePackage", func() error { return acme.DeletePackage(ctx, acct, name, 1) }},
			}
			for _, tt := range tests {
				t.Run(name+"/"+tt.op, func(t *testing.T) {
					if err := tt.call(); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
						t.Fatalf("error = %v, want not found", err)
					}
				})
			}
		}
		p, err := op.GetPackage(ctx, acct, "globex--g", 1)
		if err != nil || p.ApprovalStatus != registry.PendingManualApproval {
			t.Fatalf("globex's package after acme's attempts: %+v, %v", p, err)
		}
	})
	t.Run("CreateOutsideScopeForbidden", func(t *testing.T) {
		err := acme.CreateGroup(ctx, storetest.NewGroup(acct, "globex--new", "globex"))
		if tenantml.ErrorCode(err) != tenantml.EFORBIDDEN {
			t.Fatalf("acme creates globex's group: %v, want forbidden", err)
		}
		if err := acme.CreateGroup(ctx, storetest.NewGroup(acct, "acme--new", "acme")); err != nil {
			t.Fatal(err)
		}
	})
}
