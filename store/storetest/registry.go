package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/registry"
	"github.com/tenantml/tenantml/store"
)

// RunRegistry runs the contract suite of registry.Store. newStore must
// return an empty, open store whose clock is now; RunRegistry closes it.
func RunRegistry(t *testing.T, newStore func(t *testing.T, now func() time.Time) store.Store) {
	open := func(t *testing.T) (registry.Store, *clock) {
		t.Helper()
		c := &clock{t: startTime()}
		s := newStore(t, c.Now)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s.Registry(), c
	}
	t.Run("Groups", func(t *testing.T) { testRegistryGroups(t, open) })
	t.Run("Packages", func(t *testing.T) { testRegistryPackages(t, open) })
	t.Run("ConcurrentVersions", func(t *testing.T) { testRegistryConcurrentVersions(t, open) })
	t.Run("ListPackages", func(t *testing.T) { testRegistryList(t, open) })
	t.Run("Paging", func(t *testing.T) { testRegistryPaging(t, open) })
}

// acct is the account of the registry contract tests.
const acct = AccountA

type openRegistry func(t *testing.T) (registry.Store, *clock)

// NewGroup returns a valid group of acct named name, owned by owner ("" for
// the platform), for tests.
func NewGroup(acct, name, owner string) *registry.Group {
	g := &registry.Group{AccountID: acct, Name: name, Tenant: owner, ARN: registry.GroupARN(Region, acct, name),
		Description: "group " + name, CreatedBy: registry.UserContext{ARN: "arn:aws:iam::" + acct + ":user/creator", PrincipalID: "AIDACREATOR"}}
	if owner != "" {
		g.Tags = map[string]string{"TenantID": owner}
	}
	return g
}

// NewPackage returns a valid package of group for tests.
func NewPackage(acct, group string) *registry.Package {
	return &registry.Package{
		AccountID: acct, GroupName: group, Description: "a churn model",
		Inference: registry.InferenceSpecification{
			Containers: []registry.Container{{Image: "tenantml/xgboost", ModelDataURL: "s3://models/churn/model.tar.gz",
				Environment: map[string]string{"K": "v"}, Framework: "XGBOOST", FrameworkVersion: "1.7",
				ModelDataSHA256: strings.Repeat("ab", 32), ModelDataSize: 1234}},
			SupportedContentTypes: []string{"text/csv"}, SupportedResponseMIMETypes: []string{"text/csv"},
			SupportedRealtimeInferenceInstanceTypes: []string{"ml.m5.large"},
		},
		Metrics:          map[string]registry.MetricsSource{"ModelQuality.Statistics": {ContentType: "application/json", S3URI: "s3://models/churn/stats.json"}},
		CustomerMetadata: map[string]string{"team": "churn"},
		ApprovalStatus:   registry.PendingManualApproval,
		CreatedBy:        registry.UserContext{ARN: "arn:aws:iam::" + acct + ":user/creator", PrincipalID: "AIDACREATOR"},
	}
}

func testRegistryGroups(t *testing.T, open openRegistry) {
	ctx := context.Background()
	s, c := open(t)
	g := NewGroup(acct, "acme--Churn", "acme")
	g.Tags["team"] = "ml"
	if err := s.CreateGroup(ctx, g); err != nil {
		t.Fatal(err)
	}
	if want := stored(c.Now()); !g.CreatedAt.Equal(want) || g.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want %v", g.CreatedAt, want)
	}
	t.Run("GetAnyCase", func(t *testing.T) {
		got, err := s.GetGroup(ctx, acct, "ACME--CHURN")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, g) {
			t.Fatalf("got %+v\nwant %+v", got, g)
		}
	})
	t.Run("ErrConflictAnyCase", func(t *testing.T) {
		wantCode(t, s.CreateGroup(ctx, NewGroup(acct, "ACME--churn", "acme")), tenantml.ECONFLICT)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		bad := NewGroup(acct, "acme--x", "acme")
		bad.Tags["TenantID"] = "globex"
		wantCode(t, s.CreateGroup(ctx, bad), tenantml.EINVALID)
		wantCode(t, s.CreateGroup(ctx, NewGroup("12", "acme--y", "acme")), tenantml.EINVALID)
		other := NewGroup(acct, "acme--z", "acme")
		other.ARN = registry.GroupARN(Region, acct, "other")
		wantCode(t, s.CreateGroup(ctx, other), tenantml.EINVALID)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.GetGroup(ctx, acct, "acme--none")
		wantCode(t, err, tenantml.ENOTFOUND)
		_, err = s.GetGroup(ctx, "999999999999", "acme--churn")
		wantCode(t, err, tenantml.ENOTFOUND)
		wantCode(t, s.UpdateGroup(ctx, acct, "acme--none", func(*registry.Group) error { return nil }), tenantml.ENOTFOUND)
		wantCode(t, s.DeleteGroup(ctx, acct, "acme--none"), tenantml.ENOTFOUND)
	})
	t.Run("Update", func(t *testing.T) {
		err := s.UpdateGroup(ctx, acct, "acme--churn", func(g *registry.Group) error {
			g.Policy = `{"Version":"2012-10-17"}`
			g.Tags["stage"] = "dev"
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetGroup(ctx, acct, "acme--churn")
		if err != nil || got.Policy != `{"Version":"2012-10-17"}` || got.Tags["stage"] != "dev" || got.Tags["TenantID"] != "acme" {
			t.Fatalf("after update: %+v, %v", got, err)
		}
		wantCode(t, s.UpdateGroup(ctx, acct, "acme--churn", func(g *registry.Group) error { g.Tags["TenantID"] = "globex"; return nil }), tenantml.EINVALID)
		wantCode(t, s.UpdateGroup(ctx, acct, "acme--churn", func(g *registry.Group) error { delete(g.Tags, "TenantID"); return nil }), tenantml.EINVALID)
		boom := tenantml.Errorf(tenantml.EINVALID, "refused by fn")
		if err := s.UpdateGroup(ctx, acct, "acme--churn", func(g *registry.Group) error { g.Policy = ""; return boom }); err != boom {
			t.Fatalf("fn's error = %v, want it returned", err)
		}
		if got, _ := s.GetGroup(ctx, acct, "acme--churn"); got.Policy == "" {
			t.Fatal("an aborted update was stored")
		}
	})
	t.Run("DeleteOnlyEmpty", func(t *testing.T) {
		p := NewPackage(acct, "acme--churn")
		if err := s.CreatePackage(ctx, p); err != nil {
			t.Fatal(err)
		}
		wantCode(t, s.DeleteGroup(ctx, acct, "acme--churn"), tenantml.ECONFLICT)
		if err := s.DeletePackage(ctx, acct, "acme--churn", p.Version); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteGroup(ctx, acct, "ACME--churn"); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetGroup(ctx, acct, "acme--churn")
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("ListGroups", func(t *testing.T) {
		for i, owner := range []string{"acme", "globex", "acme", ""} {
			c.Advance(time.Second)
			name := fmt.Sprintf("%s--g%d", owner, i)
			if owner == "" {
				name = "platform-g"
			}
			if err := s.CreateGroup(ctx, NewGroup(acct, name, owner)); err != nil {
				t.Fatal(err)
			}
		}
		names := func(f registry.GroupFilter) []string {
			t.Helper()
			gs, _, err := s.ListGroups(ctx, acct, f)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, g := range gs {
				out = append(out, g.Name)
			}
			return out
		}
		if got, want := names(registry.GroupFilter{ListFilter: registry.ListFilter{Tenant: "acme"}}), []string{"acme--g0", "acme--g2"}; !reflect.DeepEqual(got, want) {
			t.Errorf("acme's groups = %v, want %v", got, want)
		}
		if got, want := names(registry.GroupFilter{}), []string{"acme--g0", "acme--g2", "globex--g1", "platform-g"}; !reflect.DeepEqual(got, want) {
			t.Errorf("all groups = %v, want %v", got, want)
		}
		if got, want := names(registry.GroupFilter{ListFilter: registry.ListFilter{SortByCreationTime: true, Descending: true, NameContains: "G"}}),
			[]string{"platform-g", "acme--g2", "globex--g1", "acme--g0"}; !reflect.DeepEqual(got, want) {
			t.Errorf("by time, descending = %v, want %v", got, want)
		}
		_, _, err := s.ListGroups(ctx, acct, registry.GroupFilter{ListFilter: registry.ListFilter{NameContains: "%"}})
		wantCode(t, err, tenantml.EINVALID)
		_, _, err = s.ListGroups(ctx, acct, registry.GroupFilter{ListFilter: registry.ListFilter{Limit: 101}})
		wantCode(t, err, tenantml.EINVALID)
	})
}

func testRegistryPackages(t *testing.T, open openRegistry) {
	ctx := context.Background()
	s, c := open(t)
	if err := s.CreateGroup(ctx, NewGroup(acct, "acme--churn", "acme")); err != nil {
		t.Fatal(err)
	}
	var ps []*registry.Package
	for range 3 {
		c.Advance(time.Second)
		p := NewPackage(acct, "ACME--churn")
		if err := s.CreatePackage(ctx, p); err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	for i, p := range ps {
		if p.Version != i+1 || p.Tenant != "acme" || p.GroupName != "acme--churn" || p.ARN != registry.PackageARN(Region, acct, "acme--churn", i+1) {
			t.Fatalf("package %d: version %d tenant %q group %q arn %s", i, p.Version, p.Tenant, p.GroupName, p.ARN)
		}
	}
	t.Run("RoundTrip", func(t *testing.T) {
		got, err := s.GetPackage(ctx, acct, "Acme--Churn", 2)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, ps[1]) {
			t.Fatalf("got  %+v\nwant %+v", got, ps[1])
		}
	})
	t.Run("VersionsNeverReused", func(t *testing.T) {
		if err := s.DeletePackage(ctx, acct, "acme--churn", 3); err != nil {
			t.Fatal(err)
		}
		p := NewPackage(acct, "acme--churn")
		if err := s.CreatePackage(ctx, p); err != nil || p.Version != 4 {
			t.Fatalf("after deleting v3, the next version is %d (%v), want 4", p.Version, err)
		}
		wantCode(t, s.DeletePackage(ctx, acct, "acme--churn", 3), tenantml.ENOTFOUND)
	})
	t.Run("Update", func(t *testing.T) {
		at := stored(c.Advance(time.Minute))
		by := registry.UserContext{ARN: "arn:aws:iam::" + acct + ":user/approver", PrincipalID: "AIDAAPPROVER"}
		err := s.UpdatePackage(ctx, acct, "acme--churn", 1, func(p *registry.Package) error {
			p.ApprovalStatus, p.ApprovalDescription = registry.Approved, "looks good"
			p.ApprovalModifiedBy, p.ApprovalModifiedAt, p.LastModifiedBy, p.LastModifiedAt = by, at, by, at
			p.CustomerMetadata["stage"] = "prod"
			p.Tags = map[string]string{"x": "y"}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetPackage(ctx, acct, "acme--churn", 1)
		if err != nil || got.ApprovalStatus != registry.Approved || got.ApprovalDescription != "looks good" || got.ApprovalModifiedBy != by ||
			!got.ApprovalModifiedAt.Equal(at) || !got.LastModifiedAt.Equal(at) || got.LastModifiedBy != by || got.CustomerMetadata["stage"] != "prod" ||
			got.Tags["x"] != "y" || got.CreatedBy != ps[0].CreatedBy {
			t.Fatalf("after update: %+v, %v", got, err)
		}
		wantCode(t, s.UpdatePackage(ctx, acct, "acme--churn", 1, func(p *registry.Package) error { p.ApprovalStatus = "Maybe"; return nil }), tenantml.EINVALID)
		wantCode(t, s.UpdatePackage(ctx, acct, "acme--churn", 1, func(p *registry.Package) error { p.Tags = map[string]string{"TenantID": "globex"}; return nil }), tenantml.EINVALID)
		wantCode(t, s.UpdatePackage(ctx, acct, "acme--churn", 9, func(*registry.Package) error { return nil }), tenantml.ENOTFOUND)
	})
	t.Run("ErrNoGroup", func(t *testing.T) {
		wantCode(t, s.CreatePackage(ctx, NewPackage(acct, "acme--none")), tenantml.ENOTFOUND)
		_, err := s.GetPackage(ctx, acct, "acme--none", 1)
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		p := NewPackage(acct, "acme--churn")
		p.Inference.Containers[0].ModelDataSHA256 = ""
		wantCode(t, s.CreatePackage(ctx, p), tenantml.EINVALID)
		p = NewPackage(acct, "acme--churn")
		p.Tags = map[string]string{"TenantID": "globex"}
		wantCode(t, s.CreatePackage(ctx, p), tenantml.EINVALID)
	})
}

// testRegistryConcurrentVersions registers packages from many goroutines:
// every one gets its own version, 1 to n.
func testRegistryConcurrentVersions(t *testing.T, open openRegistry) {
	ctx := context.Background()
	s, _ := open(t)
	if err := s.CreateGroup(ctx, NewGroup(acct, "acme--busy", "acme")); err != nil {
		t.Fatal(err)
	}
	const n = 16
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		versions []int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := NewPackage(acct, "acme--busy")
			if err := s.CreatePackage(ctx, p); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			versions = append(versions, p.Version)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Ints(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions %v, want 1..%d", versions, n)
		}
	}
}

func testRegistryList(t *testing.T, open openRegistry) {
	ctx := context.Background()
	s, c := open(t)
	for _, g := range []*registry.Group{NewGroup(acct, "acme--a", "acme"), NewGroup(acct, "acme--b", "acme"), NewGroup(acct, "globex--a", "globex")} {
		if err := s.CreateGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	// acme--b/1, acme--a/1, globex--a/1, acme--a/2, acme--b/2, one a second.
	var times []time.Time
	for _, g := range []string{"acme--b", "acme--a", "globex--a", "acme--a", "acme--b"} {
		times = append(times, stored(c.Advance(time.Second)))
		if err := s.CreatePackage(ctx, NewPackage(acct, g)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.UpdatePackage(ctx, acct, "acme--a", 2, func(p *registry.Package) error { p.ApprovalStatus = registry.Approved; return nil }); err != nil {
		t.Fatal(err)
	}
	list := func(f registry.PackageFilter) []string {
		t.Helper()
		ps, _, err := s.ListPackages(ctx, acct, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s/%d", p.GroupName, p.Version))
		}
		return out
	}
	acme := registry.ListFilter{Tenant: "acme"}
	tests := []struct {
		name string
		f    registry.PackageFilter
		want []string
	}{
		{"ByName", registry.PackageFilter{ListFilter: acme}, []string{"acme--a/1", "acme--a/2", "acme--b/1", "acme--b/2"}},
		{"ByNameDesc", registry.PackageFilter{ListFilter: registry.ListFilter{Tenant: "acme", Descending: true}}, []string{"acme--b/2", "acme--b/1", "acme--a/2", "acme--a/1"}},
		{"ByTime", registry.PackageFilter{ListFilter: registry.ListFilter{Tenant: "acme", SortByCreationTime: true}}, []string{"acme--b/1", "acme--a/1", "acme--a/2", "acme--b/2"}},
		{"Group", registry.PackageFilter{ListFilter: acme, Group: "ACME--A"}, []string{"acme--a/1", "acme--a/2"}},
		{"OtherTenantsGroup", registry.PackageFilter{ListFilter: acme, Group: "globex--a"}, nil},
		{"Status", registry.PackageFilter{ListFilter: acme, Status: registry.Approved}, []string{"acme--a/2"}},
		{"NameContains", registry.PackageFilter{ListFilter: registry.ListFilter{NameContains: "-A"}}, []string{"acme--a/1", "acme--a/2", "globex--a/1"}},
		{"CreatedAfter", registry.PackageFilter{ListFilter: registry.ListFilter{Tenant: "acme", CreatedAfter: times[1]}}, []string{"acme--a/2", "acme--b/2"}},
		{"CreatedBefore", registry.PackageFilter{ListFilter: registry.ListFilter{CreatedBefore: times[2]}}, []string{"acme--a/1", "acme--b/1"}},
		{"Globex", registry.PackageFilter{ListFilter: registry.ListFilter{Tenant: "globex"}}, []string{"globex--a/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.f); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("ErrStatus", func(t *testing.T) {
		_, _, err := s.ListPackages(ctx, acct, registry.PackageFilter{Status: "Maybe"})
		wantCode(t, err, tenantml.EINVALID)
	})
}

// testRegistryPaging pages every order with small pages while rows are
// added between pages: each row present throughout is listed exactly
// once, in order; tokens of another listing or altered ones are EINVALID.
func testRegistryPaging(t *testing.T, open openRegistry) {
	ctx := context.Background()
	s, c := open(t)
	for _, g := range []string{"acme--p", "acme--q"} {
		if err := s.CreateGroup(ctx, NewGroup(acct, g, "acme")); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 7 {
		c.Advance(time.Millisecond)
		g := "acme--p"
		if i%2 == 1 {
			g = "acme--q"
		}
		if err := s.CreatePackage(ctx, NewPackage(acct, g)); err != nil {
			t.Fatal(err)
		}
	}
	for _, order := range []registry.ListFilter{{}, {Descending: true}, {SortByCreationTime: true}, {SortByCreationTime: true, Descending: true}} {
		t.Run(fmt.Sprintf("time=%v/desc=%v", order.SortByCreationTime, order.Descending), func(t *testing.T) {
			f := registry.PackageFilter{ListFilter: order}
			f.Tenant, f.Limit = "acme", 2
			all, _, err := s.ListPackages(ctx, acct, registry.PackageFilter{ListFilter: registry.ListFilter{Tenant: "acme", Limit: 100,
				SortByCreationTime: order.SortByCreationTime, Descending: order.Descending}})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for page := 0; ; page++ {
				ps, next, err := s.ListPackages(ctx, acct, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range ps {
					got = append(got, p.ARN)
				}
				if next == "" {
					break
				}
				if page == 20 {
					t.Fatal("paging does not end")
				}
				f.After = next
			}
			var want []string
			for _, p := range all {
				want = append(want, p.ARN)
			}
			if !reflect.DeepEqual(got[:len(want)], want) {
				t.Fatalf("paged %v\nwant   %v", got, want)
			}
			// The other order's tokens are refused.
			other := registry.PackageFilter{ListFilter: registry.ListFilter{Tenant: "acme", After: f.After, SortByCreationTime: !order.SortByCreationTime}}
			if f.After != "" {
				_, _, err = s.ListPackages(ctx, acct, other)
				wantCode(t, err, tenantml.EINVALID)
				_, _, err = s.ListGroups(ctx, acct, registry.GroupFilter{ListFilter: registry.ListFilter{After: f.After, SortByCreationTime: order.SortByCreationTime, Descending: order.Descending}})
				wantCode(t, err, tenantml.EINVALID)
			}
		})
	}
	for _, tok := range []string{"x", "%%%", strings.Repeat("A", 600), "eyJrIjoicCJ9"} {
		_, _, err := s.ListPackages(ctx, acct, registry.PackageFilter{ListFilter: registry.ListFilter{After: tok}})
		wantCode(t, err, tenantml.EINVALID)
	}
}
