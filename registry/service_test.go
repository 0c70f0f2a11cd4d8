package registry_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/store/sqlite"
)

func newService(t *testing.T) *registry.Service {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &registry.Service{Store: db.Registry(), Region: region, AccountID: acct}
}

// TestService_TenantBoundary: the service's own check — another tenant's
// group or package, or the platform's, answers exactly as a missing one
// (the message names what the request named), and is left unchanged.
func TestService_TenantBoundary(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	by := registry.UserContext{ARN: "arn:aws:iam::111122223333:user/a", PrincipalID: "AIDA"}
	for _, g := range []struct{ name, tenant string }{{"acme--churn", "acme"}, {"platform-g", ""}} {
		grp := &registry.Group{Name: g.name}
		caller := g.tenant
		if err := s.CreateGroup(ctx, caller, by, grp); err != nil {
			t.Fatal(err)
		}
		if err := s.CreatePackage(ctx, caller, by, validPackageIn(g.name)); err != nil {
			t.Fatal(err)
		}
	}
	status := registry.Approved
	for _, target := range []string{"acme--churn", "platform-g"} {
		ops := map[string]func(group string) error{
			"DescribeGroup":     func(g string) error { _, err := s.DescribeGroup(ctx, "globex", g); return err },
			"DeleteGroup":       func(g string) error { return s.DeleteGroup(ctx, "globex", g) },
			"PutGroupPolicy":    func(g string) error { return s.PutGroupPolicy(ctx, "globex", g, "{}") },
			"GetGroupPolicy":    func(g string) error { _, err := s.GetGroupPolicy(ctx, "globex", g); return err },
			"DeleteGroupPolicy": func(g string) error { return s.DeleteGroupPolicy(ctx, "globex", g) },
			"CreatePackage":     func(g string) error { return s.CreatePackage(ctx, "globex", by, validPackageIn(g)) },
			"DescribePackage": func(g string) error {
				_, err := s.DescribePackage(ctx, "globex", registry.PackageRef{Group: g, Version: 1})
				return err
			},
			"UpdatePackage": func(g string) error {
				_, err := s.UpdatePackage(ctx, "globex", by, registry.PackageRef{Group: g, Version: 1}, registry.PackageUpdate{ApprovalStatus: &status})
				return err
			},
			"DeletePackage": func(g string) error { return s.DeletePackage(ctx, "globex", registry.PackageRef{Group: g, Version: 1}) },
			"AddTags": func(g string) error {
				return s.AddTags(ctx, "globex", registry.KindGroup, g, map[string]string{"x": "y"})
			},
			"ListTags": func(g string) error { _, err := s.ListTags(ctx, "globex", registry.KindPackage, g+"/1"); return err },
		}
		for name, op := range ops {
			t.Run(target+"/"+name, func(t *testing.T) {
				other, missing := op(target), op("acme--nothing")
				if tenantml.ErrorCode(other) != tenantml.ENOTFOUND {
					t.Fatalf("%v, want not found", other)
				}
				norm := func(err error) string {
					return strings.NewReplacer(target, "<g>", "acme--nothing", "<g>").Replace(tenantml.ErrorMessage(err))
				}
				if norm(other) != norm(missing) {
					t.Fatalf("another tenant's: %v\nmissing: %v", other, missing)
				}
			})
		}
	}
	p, err := s.DescribePackage(ctx, "acme", registry.PackageRef{Group: "acme--churn", Version: 1})
	if err != nil || p.ApprovalStatus != registry.PendingManualApproval || p.Tags["x"] != "" {
		t.Fatalf("acme's package after globex's attempts: %+v, %v", p, err)
	}
	if gs, _, err := s.ListGroups(ctx, "globex", registry.GroupFilter{}); err != nil || len(gs) != 0 {
		t.Fatalf("globex lists %v, %v", gs, err)
	}
}

func validPackageIn(group string) *registry.Package {
	p := validPackage()
	p.GroupName = group
	return p
}

// TestService_Approval records who set the approval status, and keeps it
// when a later update changes only metadata.
func TestService_Approval(t *testing.T) {
	ctx := context.Background()
	s := newService(t)
	ds := registry.UserContext{ARN: "arn:aws:iam::111122223333:user/ds", PrincipalID: "AIDADS"}
	admin := registry.UserContext{ARN: "arn:aws:iam::111122223333:user/admin", PrincipalID: "AIDAADMIN"}
	if err := s.CreateGroup(ctx, "acme", ds, &registry.Group{Name: "acme"}); err != nil {
		t.Fatal(err)
	}
	p := validPackageIn("acme")
	if err := s.CreatePackage(ctx, "acme", ds, p); err != nil {
		t.Fatal(err)
	}
	if p.ApprovalModifiedBy != ds || p.Tags["TenantID"] != "acme" || p.Tenant != "acme" {
		t.Fatalf("registered: %+v", p)
	}
	ref := registry.PackageRef{Group: "acme", Version: p.Version}
	st, desc := registry.Approved, "ok"
	if _, err := s.UpdatePackage(ctx, "acme", admin, ref, registry.PackageUpdate{ApprovalStatus: &st, ApprovalDescription: &desc}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdatePackage(ctx, "acme", ds, ref, registry.PackageUpdate{SetMetadata: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.DescribePackage(ctx, "acme", ref)
	if err != nil || got.ApprovalStatus != registry.Approved || got.ApprovalDescription != "ok" || got.ApprovalModifiedBy != admin ||
		got.LastModifiedBy != ds || got.CustomerMetadata["k"] != "v" || got.CreatedBy != ds {
		t.Fatalf("after approval and a metadata update: %+v, %v", got, err)
	}
	bad := registry.ApprovalStatus("Yes")
	if _, err := s.UpdatePackage(ctx, "acme", admin, ref, registry.PackageUpdate{ApprovalStatus: &bad}); tenantml.ErrorCode(err) != tenantml.EINVALID {
		t.Fatalf("a bad status: %v", err)
	}
}
