package storetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store"
)

// Account IDs the identity contract tests use.
const (
	AccountA = "111122223333"
	AccountB = "444455556666"
)

// Policy documents for the identity contract tests.
const (
	TrustSageMaker = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"sagemaker.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	AllowInvoke    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`
)

func allow(action string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"*"}]}`
}

func wantIAM(t *testing.T, err error, code string) {
	t.Helper()
	if tenantml.AWSCodeOf(err) != code {
		t.Fatalf("error = %v, want IAM code %s", err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testIdentity(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, open(t, newStore).Identity()) })
	t.Run("Groups", func(t *testing.T) { testGroups(t, open(t, newStore).Identity()) })
	t.Run("Roles", func(t *testing.T) { testRoles(t, open(t, newStore).Identity()) })
	t.Run("Policies", func(t *testing.T) { testPolicies(t, open(t, newStore).Identity()) })
	t.Run("Effective", func(t *testing.T) { testEffective(t, open(t, newStore).Identity()) })
	t.Run("AccessKeys", func(t *testing.T) { testAccessKeys(t, open(t, newStore).Identity()) })
	t.Run("OIDC", func(t *testing.T) { testOIDC(t, open(t, newStore).Identity()) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open(t, newStore).Identity()) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, open(t, newStore).Identity()) })
	t.Run("Attachments", func(t *testing.T) { testAttachments(t, open(t, newStore).Identity()) })
}

// testAttachments covers the attachment limit and listing, inline
// overwrite and ListPolicies' OnlyAttached.
func testAttachments(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	must(t, svc.CreateRole(ctx, AccountA, &identity.Role{Name: "busy", AssumeRolePolicyDocument: TrustSageMaker}))
	role := identity.Ref{Kind: identity.KindRole, Name: "busy"}
	for i := range 11 {
		must(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: fmt.Sprintf("A%02d", i)}, AllowInvoke))
	}
	for i := range 10 {
		must(t, svc.AttachPolicy(ctx, AccountA, role, fmt.Sprintf("arn:aws:iam::111122223333:policy/A%02d", i)))
	}
	t.Run("Limit", func(t *testing.T) {
		wantIAM(t, svc.AttachPolicy(ctx, AccountA, role, "arn:aws:iam::111122223333:policy/A10"), identity.LimitExceeded)
		must(t, svc.AttachPolicy(ctx, AccountA, role, "arn:aws:iam::111122223333:policy/A00")) // already attached: no-op
		wantIAM(t, svc.AttachPolicy(ctx, AccountA, identity.Ref{Kind: "bucket", Name: "x"}, "arn:aws:iam::111122223333:policy/A00"), identity.InvalidInput)
		wantIAM(t, svc.AttachPolicy(ctx, AccountA, role, "arn:aws:iam::111122223333:policy/Missing"), identity.NoSuchEntity)
	})
	t.Run("ListPaginated", func(t *testing.T) {
		var got []string
		marker := ""
		for {
			ps, next, err := svc.ListAttachedPolicies(ctx, AccountA, role, identity.ListOptions{Marker: marker, MaxItems: 4})
			must(t, err)
			for _, p := range ps {
				got = append(got, p.PolicyName)
			}
			if next == "" {
				break
			}
			marker = next
		}
		if len(got) != 10 || got[0] != "A00" || got[9] != "A09" {
			t.Fatalf("attached = %v", got)
		}
	})
	t.Run("OnlyAttached", func(t *testing.T) {
		ps, _, err := svc.ListPolicies(ctx, AccountA, identity.PolicyListOptions{OnlyAttached: true, ListOptions: identity.ListOptions{MaxItems: 100}})
		must(t, err)
		if len(ps) != 10 || ps[0].Name != "A00" || ps[0].AttachmentCount != 1 {
			t.Fatalf("only attached = %d policies, first %+v", len(ps), ps[0])
		}
	})
	t.Run("InlineOverwrite", func(t *testing.T) {
		must(t, svc.PutInlinePolicy(ctx, AccountA, role, "p", allow("s3:One")))
		must(t, svc.PutInlinePolicy(ctx, AccountA, role, "p", allow("s3:Two")))
		doc, err := svc.GetInlinePolicy(ctx, AccountA, role, "p")
		must(t, err)
		if doc != allow("s3:Two") {
			t.Fatalf("inline after overwrite = %s", doc)
		}
		wantIAM(t, svc.PutInlinePolicy(ctx, AccountA, role, "p", TrustSageMaker), identity.MalformedPolicyDocument)
		wantIAM(t, svc.PutInlinePolicy(ctx, AccountA, role, "bad name", AllowInvoke), identity.ValidationError)
		_, err = svc.GetInlinePolicy(ctx, AccountA, role, "P")
		wantIAM(t, err, identity.NoSuchEntity)
	})
}

// testConcurrent races creates against the per-user key limit and the
// per-policy version limit: exactly the allowed number succeed, every other
// call gets LimitExceeded.
func testConcurrent(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "racer"}))
	must(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "Raced"}, AllowInvoke))
	race := func(t *testing.T, n, want int, call func(i int) error) {
		t.Helper()
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = call(i) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			default:
				wantIAM(t, err, identity.LimitExceeded)
			}
		}
		if ok != want {
			t.Fatalf("%d of %d concurrent calls succeeded, want %d", ok, n, want)
		}
	}
	t.Run("AccessKeys", func(t *testing.T) {
		race(t, 6, identity.MaxAccessKeysPerUser, func(int) error {
			return svc.CreateAccessKey(ctx, AccountA, &identity.AccessKey{UserName: "racer", SealedSecret: []byte("s")})
		})
	})
	t.Run("PolicyVersions", func(t *testing.T) {
		race(t, 8, identity.MaxPolicyVersions-1, func(i int) error {
			_, err := svc.CreatePolicyVersion(ctx, AccountA, "arn:aws:iam::111122223333:policy/Raced", allow(fmt.Sprintf("s3:V%d", i)), i%2 == 0)
			return err
		})
	})
}

func testUsers(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	t.Run("CreateAndGet", func(t *testing.T) {
		u := &identity.User{Name: "Alice", Path: "/eng/", Tags: map[string]string{"TenantID": "acme", "team": "ml"}}
		must(t, svc.CreateUser(ctx, AccountA, u))
		if !strings.HasPrefix(u.ID, "AIDA") || len(u.ID) != 20 || u.ARN != "arn:aws:iam::111122223333:user/eng/Alice" || u.TenantID != "acme" || u.CreatedAt.IsZero() {
			t.Fatalf("create filled %+v", u)
		}
		got, err := svc.GetUser(ctx, AccountA, "aLiCe")
		must(t, err)
		if got.Name != "Alice" || got.ID != u.ID || got.ARN != u.ARN || got.Tags["team"] != "ml" || got.TenantID != "acme" || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Fatalf("get = %+v, want %+v", got, u)
		}
	})
	t.Run("ErrCaseInsensitiveDuplicate", func(t *testing.T) {
		wantIAM(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "ALICE"}), identity.EntityAlreadyExists)
		wantCode(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "alice"}), tenantml.ECONFLICT)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, u := range []*identity.User{
			{Name: ""}, {Name: "has space"}, {Name: strings.Repeat("a", 65)}, {Name: "ok", Path: "noslash"},
			{Name: "ok", Path: "/a/b"}, {Name: "ok", Tags: map[string]string{"aws:x": "1"}},
			{Name: "ok", PermissionsBoundary: "not-an-arn"},
		} {
			err := svc.CreateUser(ctx, AccountA, u)
			if tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Errorf("create %+v: %v, want EINVALID", u, err)
			}
		}
		err := svc.CreateUser(ctx, "12345", &identity.User{Name: "ok"})
		wantIAM(t, err, identity.ValidationError)
		wantIAM(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "ok", PermissionsBoundary: "arn:aws:iam::111122223333:policy/Missing"}), identity.NoSuchEntity)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := svc.GetUser(ctx, AccountA, "nobody")
		wantIAM(t, err, identity.NoSuchEntity)
		wantCode(t, err, tenantml.ENOTFOUND)
		wantIAM(t, svc.DeleteUser(ctx, AccountA, "nobody"), identity.NoSuchEntity)
		wantIAM(t, svc.TagUser(ctx, AccountA, "nobody", map[string]string{"a": "b"}), identity.NoSuchEntity)
	})
	t.Run("Tags", func(t *testing.T) {
		must(t, svc.TagUser(ctx, AccountA, "alice", map[string]string{"TEAM": "infra", "cost": "1"}))
		must(t, svc.UntagUser(ctx, AccountA, "alice", []string{"cost"}))
		tags, err := svc.ListUserTags(ctx, AccountA, "alice")
		must(t, err)
		if len(tags) != 2 || tags["TEAM"] != "infra" || tags["TenantID"] != "acme" {
			t.Fatalf("tags = %v", tags)
		}
		wantIAM(t, svc.TagUser(ctx, AccountA, "alice", map[string]string{"TenantID": "other"}), identity.InvalidInput)
		wantIAM(t, svc.UntagUser(ctx, AccountA, "alice", []string{"tenantid"}), identity.InvalidInput)
	})
	t.Run("Boundary", func(t *testing.T) {
		b := identity.BuiltinARNPrefix + identity.TenantRoleBoundary
		must(t, svc.PutUserPermissionsBoundary(ctx, AccountA, "alice", b))
		u, err := svc.GetUser(ctx, AccountA, "alice")
		must(t, err)
		if u.PermissionsBoundary != b {
			t.Fatalf("boundary = %q", u.PermissionsBoundary)
		}
		wantIAM(t, svc.PutUserPermissionsBoundary(ctx, AccountA, "alice", identity.BuiltinARNPrefix+"Nope"), identity.NoSuchEntity)
		must(t, svc.DeleteUserPermissionsBoundary(ctx, AccountA, "alice"))
		u, err = svc.GetUser(ctx, AccountA, "alice")
		must(t, err)
		if u.PermissionsBoundary != "" {
			t.Fatalf("boundary not removed: %q", u.PermissionsBoundary)
		}
	})
	t.Run("ListPaginated", func(t *testing.T) {
		for i := range 12 {
			path := "/"
			if i%3 == 0 {
				path = "/ops/"
			}
			must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: fmt.Sprintf("U%02d", i), Path: path}))
		}
		var names []string
		marker := ""
		for pages := 1; ; pages++ {
			us, next, err := svc.ListUsers(ctx, AccountA, identity.ListOptions{Marker: marker, MaxItems: 5})
			must(t, err)
			for _, u := range us {
				names = append(names, u.Name)
			}
			if next == "" {
				if pages != 3 {
					t.Fatalf("%d pages, want 3", pages)
				}
				break
			}
			marker = next
		}
		want := "Alice,U00,U01,U02,U03,U04,U05,U06,U07,U08,U09,U10,U11"
		if got := strings.Join(names, ","); got != want {
			t.Fatalf("listed %s, want %s", got, want)
		}
		ops, next, err := svc.ListUsers(ctx, AccountA, identity.ListOptions{PathPrefix: "/ops/"})
		must(t, err)
		if len(ops) != 4 || next != "" {
			t.Fatalf("path prefix /ops/ listed %d users (next %q), want 4", len(ops), next)
		}
		_, _, err = svc.ListUsers(ctx, AccountA, identity.ListOptions{MaxItems: 1001})
		wantIAM(t, err, identity.ValidationError)
	})
	t.Run("DeleteConflict", func(t *testing.T) {
		must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "bob"}))
		must(t, svc.CreateGroup(ctx, AccountA, &identity.Group{Name: "devs"}))
		k := &identity.AccessKey{UserName: "bob", SealedSecret: []byte("sealed")}
		steps := []struct {
			name      string
			add, undo func() error
		}{
			{"AccessKey", func() error { return svc.CreateAccessKey(ctx, AccountA, k) }, func() error { return svc.DeleteAccessKey(ctx, AccountA, "bob", k.ID) }},
			{"Inline", func() error {
				return svc.PutInlinePolicy(ctx, AccountA, identity.Ref{Kind: identity.KindUser, Name: "bob"}, "p", AllowInvoke)
			},
				func() error {
					return svc.DeleteInlinePolicy(ctx, AccountA, identity.Ref{Kind: identity.KindUser, Name: "bob"}, "p")
				}},
			{"Attached", func() error {
				return svc.AttachPolicy(ctx, AccountA, identity.Ref{Kind: identity.KindUser, Name: "bob"}, identity.BuiltinARNPrefix+identity.Viewer)
			}, func() error {
				return svc.DetachPolicy(ctx, AccountA, identity.Ref{Kind: identity.KindUser, Name: "bob"}, identity.BuiltinARNPrefix+identity.Viewer)
			}},
			{"Group", func() error { return svc.AddUserToGroup(ctx, AccountA, "devs", "bob") }, func() error { return svc.RemoveUserFromGroup(ctx, AccountA, "devs", "bob") }},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				must(t, st.add())
				wantIAM(t, svc.DeleteUser(ctx, AccountA, "bob"), identity.DeleteConflict)
				must(t, st.undo())
			})
		}
		must(t, svc.DeleteUser(ctx, AccountA, "BOB"))
		_, err := svc.GetUser(ctx, AccountA, "bob")
		wantIAM(t, err, identity.NoSuchEntity)
	})
}

func testGroups(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	must(t, svc.CreateGroup(ctx, AccountA, &identity.Group{Name: "Admins"}))
	must(t, svc.CreateGroup(ctx, AccountA, &identity.Group{Name: "Readers", Path: "/r/"}))
	for _, n := range []string{"ann", "ben"} {
		must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: n}))
	}
	t.Run("CreateAndGet", func(t *testing.T) {
		g, err := svc.GetGroup(ctx, AccountA, "admins")
		must(t, err)
		if g.Name != "Admins" || !strings.HasPrefix(g.ID, "AGPA") || g.ARN != "arn:aws:iam::111122223333:group/Admins" {
			t.Fatalf("group = %+v", g)
		}
		wantIAM(t, svc.CreateGroup(ctx, AccountA, &identity.Group{Name: "ADMINS"}), identity.EntityAlreadyExists)
		wantIAM(t, svc.CreateGroup(ctx, AccountA, &identity.Group{Name: "bad name"}), identity.ValidationError)
	})
	t.Run("Membership", func(t *testing.T) {
		must(t, svc.AddUserToGroup(ctx, AccountA, "admins", "ann"))
		must(t, svc.AddUserToGroup(ctx, AccountA, "Admins", "ANN")) // idempotent
		must(t, svc.AddUserToGroup(ctx, AccountA, "readers", "ann"))
		must(t, svc.AddUserToGroup(ctx, AccountA, "readers", "ben"))
		gs, _, err := svc.ListGroupsForUser(ctx, AccountA, "ann", identity.ListOptions{})
		must(t, err)
		if len(gs) != 2 || gs[0].Name != "Admins" || gs[1].Name != "Readers" {
			t.Fatalf("groups of ann = %+v", gs)
		}
		us, next, err := svc.ListUsersInGroup(ctx, AccountA, "readers", identity.ListOptions{MaxItems: 1})
		must(t, err)
		if len(us) != 1 || us[0].Name != "ann" || next == "" {
			t.Fatalf("first page of readers = %v, next %q", us, next)
		}
		us, next, err = svc.ListUsersInGroup(ctx, AccountA, "readers", identity.ListOptions{MaxItems: 1, Marker: next})
		must(t, err)
		if len(us) != 1 || us[0].Name != "ben" || next != "" {
			t.Fatalf("second page of readers = %v, next %q", us, next)
		}
		wantIAM(t, svc.AddUserToGroup(ctx, AccountA, "nogroup", "ann"), identity.NoSuchEntity)
		wantIAM(t, svc.AddUserToGroup(ctx, AccountA, "admins", "nobody"), identity.NoSuchEntity)
		wantIAM(t, svc.RemoveUserFromGroup(ctx, AccountA, "admins", "ben"), identity.NoSuchEntity)
	})
	t.Run("DeleteConflict", func(t *testing.T) {
		wantIAM(t, svc.DeleteGroup(ctx, AccountA, "admins"), identity.DeleteConflict)
		must(t, svc.RemoveUserFromGroup(ctx, AccountA, "admins", "ann"))
		must(t, svc.PutInlinePolicy(ctx, AccountA, identity.Ref{Kind: identity.KindGroup, Name: "admins"}, "p", AllowInvoke))
		wantIAM(t, svc.DeleteGroup(ctx, AccountA, "admins"), identity.DeleteConflict)
		must(t, svc.DeleteInlinePolicy(ctx, AccountA, identity.Ref{Kind: identity.KindGroup, Name: "admins"}, "p"))
		must(t, svc.DeleteGroup(ctx, AccountA, "admins"))
		_, err := svc.GetGroup(ctx, AccountA, "admins")
		wantIAM(t, err, identity.NoSuchEntity)
	})
}

func testRoles(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	t.Run("CreateDefaults", func(t *testing.T) {
		r := &identity.Role{Name: "Invoker", AssumeRolePolicyDocument: TrustSageMaker, Tags: map[string]string{"TenantID": "acme"}}
		must(t, svc.CreateRole(ctx, AccountA, r))
		got, err := svc.GetRole(ctx, AccountA, "INVOKER")
		must(t, err)
		if got.MaxSessionDuration != 3600 || !strings.HasPrefix(got.ID, "AROA") || got.ARN != "arn:aws:iam::111122223333:role/Invoker" ||
			got.TenantID != "acme" || got.AssumeRolePolicyDocument != TrustSageMaker || got.SessionsRevokedBefore != nil {
			t.Fatalf("role = %+v", got)
		}
		wantIAM(t, svc.CreateRole(ctx, AccountA, &identity.Role{Name: "invoker", AssumeRolePolicyDocument: TrustSageMaker}), identity.EntityAlreadyExists)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, c := range []struct {
			r    identity.Role
			code string
		}{
			{identity.Role{Name: "r", AssumeRolePolicyDocument: AllowInvoke}, identity.MalformedPolicyDocument},
			{identity.Role{Name: "r", AssumeRolePolicyDocument: "{"}, identity.MalformedPolicyDocument},
			{identity.Role{Name: "r"}, identity.MalformedPolicyDocument},
			{identity.Role{Name: "r", AssumeRolePolicyDocument: TrustSageMaker, MaxSessionDuration: 3599}, identity.ValidationError},
			{identity.Role{Name: "r", AssumeRolePolicyDocument: TrustSageMaker, MaxSessionDuration: 43201}, identity.ValidationError},
			{identity.Role{Name: strings.Repeat("r", 65), AssumeRolePolicyDocument: TrustSageMaker}, identity.ValidationError},
		} {
			wantIAM(t, svc.CreateRole(ctx, AccountA, &c.r), c.code)
		}
	})
	t.Run("Update", func(t *testing.T) {
		trust2 := strings.Replace(TrustSageMaker, "sagemaker", "ec2", 1)
		must(t, svc.UpdateAssumeRolePolicy(ctx, AccountA, "invoker", trust2))
		wantIAM(t, svc.UpdateAssumeRolePolicy(ctx, AccountA, "invoker", AllowInvoke), identity.MalformedPolicyDocument)
		must(t, svc.UpdateRole(ctx, AccountA, "invoker", "desc", 7200))
		wantIAM(t, svc.UpdateRole(ctx, AccountA, "invoker", "", 50000), identity.ValidationError)
		before := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		must(t, svc.RevokeRoleSessions(ctx, AccountA, "invoker", before))
		r, err := svc.GetRole(ctx, AccountA, "invoker")
		must(t, err)
		if r.AssumeRolePolicyDocument != trust2 || r.Description != "desc" || r.MaxSessionDuration != 7200 ||
			r.SessionsRevokedBefore == nil || !r.SessionsRevokedBefore.Equal(before) {
			t.Fatalf("updated role = %+v", r)
		}
		wantIAM(t, svc.UpdateRole(ctx, AccountA, "missing", "", 0), identity.NoSuchEntity)
	})
	t.Run("Tags", func(t *testing.T) {
		must(t, svc.TagRole(ctx, AccountA, "invoker", map[string]string{"env": "prod"}))
		must(t, svc.TagRole(ctx, AccountA, "invoker", map[string]string{"TenantID": "acme"})) // unchanged value: allowed
		tags, err := svc.ListRoleTags(ctx, AccountA, "invoker")
		must(t, err)
		if len(tags) != 2 || tags["env"] != "prod" {
			t.Fatalf("tags = %v", tags)
		}
		wantIAM(t, svc.TagRole(ctx, AccountA, "invoker", map[string]string{"TenantID": "globex"}), identity.InvalidInput)
		wantIAM(t, svc.UntagRole(ctx, AccountA, "invoker", []string{"TenantID"}), identity.InvalidInput)
		many := map[string]string{}
		for i := range 49 {
			many[fmt.Sprintf("k%d", i)] = "v"
		}
		wantIAM(t, svc.TagRole(ctx, AccountA, "invoker", many), identity.LimitExceeded)
		must(t, svc.UntagRole(ctx, AccountA, "invoker", []string{"env"}))
	})
	t.Run("DeleteConflict", func(t *testing.T) {
		ref := identity.Ref{Kind: identity.KindRole, Name: "invoker"}
		must(t, svc.AttachPolicy(ctx, AccountA, ref, identity.BuiltinARNPrefix+identity.DataScientist))
		wantIAM(t, svc.DeleteRole(ctx, AccountA, "invoker"), identity.DeleteConflict)
		must(t, svc.DetachPolicy(ctx, AccountA, ref, identity.BuiltinARNPrefix+identity.DataScientist))
		wantIAM(t, svc.DetachPolicy(ctx, AccountA, ref, identity.BuiltinARNPrefix+identity.DataScientist), identity.NoSuchEntity)
		must(t, svc.PutInlinePolicy(ctx, AccountA, ref, "inline", AllowInvoke))
		wantIAM(t, svc.DeleteRole(ctx, AccountA, "invoker"), identity.DeleteConflict)
		names, _, err := svc.ListInlinePolicies(ctx, AccountA, ref, identity.ListOptions{})
		must(t, err)
		if len(names) != 1 || names[0] != "inline" {
			t.Fatalf("inline policies = %v", names)
		}
		must(t, svc.DeleteInlinePolicy(ctx, AccountA, ref, "inline"))
		must(t, svc.DeleteRole(ctx, AccountA, "invoker"))
		wantIAM(t, svc.DeleteRole(ctx, AccountA, "invoker"), identity.NoSuchEntity)
	})
}

func testPolicies(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	p := &identity.Policy{Name: "Invoke", Path: "/app/", Description: "invoke", Tags: map[string]string{"TenantID": "acme"}}
	must(t, svc.CreatePolicy(ctx, AccountA, p, allow("sagemaker:v1")))
	arn := "arn:aws:iam::111122223333:policy/app/Invoke"
	t.Run("Create", func(t *testing.T) {
		got, err := svc.GetPolicy(ctx, AccountA, arn)
		must(t, err)
		if got.ARN != arn || p.ARN != arn || !strings.HasPrefix(got.ID, "ANPA") || got.DefaultVersionID != "v1" || got.TenantID != "acme" || got.Builtin || got.AttachmentCount != 0 {
			t.Fatalf("policy = %+v", got)
		}
		wantIAM(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "INVOKE"}, AllowInvoke), identity.EntityAlreadyExists)
		wantIAM(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "bad"}, TrustSageMaker), identity.MalformedPolicyDocument)
		wantIAM(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "big"}, allow("s3:"+strings.Repeat("x", 7000))), identity.LimitExceeded)
	})
	t.Run("VersionLimit", func(t *testing.T) {
		for i := 2; i <= 5; i++ {
			v, err := svc.CreatePolicyVersion(ctx, AccountA, arn, allow(fmt.Sprintf("sagemaker:v%d", i)), false)
			must(t, err)
			if v.VersionID != fmt.Sprintf("v%d", i) || v.IsDefault {
				t.Fatalf("version = %+v", v)
			}
		}
		_, err := svc.CreatePolicyVersion(ctx, AccountA, arn, AllowInvoke, true)
		wantIAM(t, err, identity.LimitExceeded)
		vs, err := svc.ListPolicyVersions(ctx, AccountA, arn)
		must(t, err)
		if len(vs) != 5 || vs[0].VersionID != "v5" || !vs[4].IsDefault {
			t.Fatalf("versions = %+v", vs)
		}
	})
	t.Run("DefaultAndDelete", func(t *testing.T) {
		wantIAM(t, svc.DeletePolicyVersion(ctx, AccountA, arn, "v1"), identity.DeleteConflict)
		must(t, svc.SetDefaultPolicyVersion(ctx, AccountA, arn, "v3"))
		must(t, svc.DeletePolicyVersion(ctx, AccountA, arn, "v1"))
		wantIAM(t, svc.DeletePolicyVersion(ctx, AccountA, arn, "v1"), identity.NoSuchEntity)
		wantIAM(t, svc.SetDefaultPolicyVersion(ctx, AccountA, arn, "v9"), identity.NoSuchEntity)
		wantIAM(t, svc.SetDefaultPolicyVersion(ctx, AccountA, arn, "one"), identity.ValidationError)
		v, err := svc.CreatePolicyVersion(ctx, AccountA, arn, allow("sagemaker:v6"), true)
		must(t, err)
		if v.VersionID != "v6" {
			t.Fatalf("version after deleting v1 = %s, want v6 (IDs are never reused)", v.VersionID)
		}
		got, err := svc.GetPolicyVersion(ctx, AccountA, arn, "v6")
		must(t, err)
		if !got.IsDefault || got.Document != allow("sagemaker:v6") {
			t.Fatalf("v6 = %+v", got)
		}
		pol, err := svc.GetPolicy(ctx, AccountA, arn)
		must(t, err)
		if pol.DefaultVersionID != "v6" {
			t.Fatalf("default = %s", pol.DefaultVersionID)
		}
	})
	t.Run("DeleteConflict", func(t *testing.T) {
		must(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "Solo"}, AllowInvoke))
		solo := "arn:aws:iam::111122223333:policy/Solo"
		must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "carl"}))
		ref := identity.Ref{Kind: identity.KindUser, Name: "carl"}
		must(t, svc.AttachPolicy(ctx, AccountA, ref, solo))
		got, err := svc.GetPolicy(ctx, AccountA, solo)
		must(t, err)
		if got.AttachmentCount != 1 {
			t.Fatalf("attachment count = %d", got.AttachmentCount)
		}
		wantIAM(t, svc.DeletePolicy(ctx, AccountA, solo), identity.DeleteConflict)
		must(t, svc.DetachPolicy(ctx, AccountA, ref, solo))
		must(t, svc.PutUserPermissionsBoundary(ctx, AccountA, "carl", solo))
		wantIAM(t, svc.DeletePolicy(ctx, AccountA, solo), identity.DeleteConflict)
		must(t, svc.DeleteUserPermissionsBoundary(ctx, AccountA, "carl"))
		must(t, svc.DeletePolicy(ctx, AccountA, solo))
		_, err = svc.GetPolicy(ctx, AccountA, solo)
		wantIAM(t, err, identity.NoSuchEntity)
		wantIAM(t, svc.DeletePolicy(ctx, AccountA, arn), identity.DeleteConflict) // non-default versions remain
	})
	t.Run("Builtin", func(t *testing.T) {
		b := identity.BuiltinARNPrefix + identity.TenantAdmin
		got, err := svc.GetPolicy(ctx, AccountA, b)
		must(t, err)
		if !got.Builtin || got.Name != "TenantAdmin" || got.DefaultVersionID != "v1" {
			t.Fatalf("builtin = %+v", got)
		}
		v, err := svc.GetPolicyVersion(ctx, AccountA, b, "v1")
		must(t, err)
		if !strings.Contains(v.Document, "${aws:PrincipalTag/TenantID}") {
			t.Fatalf("TenantAdmin document = %s", v.Document)
		}
		wantIAM(t, svc.DeletePolicy(ctx, AccountA, b), identity.InvalidInput)
		_, err = svc.CreatePolicyVersion(ctx, AccountA, b, AllowInvoke, true)
		wantIAM(t, err, identity.InvalidInput)
		_, err = svc.GetPolicy(ctx, AccountA, identity.BuiltinARNPrefix+"Missing")
		wantIAM(t, err, identity.NoSuchEntity)
	})
	t.Run("ListPaginated", func(t *testing.T) {
		for i := range 4 {
			must(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: fmt.Sprintf("P%d", i)}, AllowInvoke))
		}
		var names []string
		marker := ""
		for {
			ps, next, err := svc.ListPolicies(ctx, AccountA, identity.PolicyListOptions{ListOptions: identity.ListOptions{Marker: marker, MaxItems: 3}})
			must(t, err)
			for _, p := range ps {
				names = append(names, p.Name)
			}
			if next == "" {
				break
			}
			marker = next
		}
		want := "DataScientist,PlatformAdministrator,TenantAdmin,TenantRoleBoundary,Viewer,Invoke,P0,P1,P2,P3"
		if got := strings.Join(names, ","); got != want {
			t.Fatalf("listed %s, want %s", got, want)
		}
		local, _, err := svc.ListPolicies(ctx, AccountA, identity.PolicyListOptions{Scope: identity.ScopeLocal, ListOptions: identity.ListOptions{PathPrefix: "/app/"}})
		must(t, err)
		if len(local) != 1 || local[0].Name != "Invoke" {
			t.Fatalf("local /app/ = %v", local)
		}
		aws, _, err := svc.ListPolicies(ctx, AccountA, identity.PolicyListOptions{Scope: identity.ScopeAWS})
		must(t, err)
		if len(aws) != 5 {
			t.Fatalf("AWS scope listed %d, want 5", len(aws))
		}
		_, _, err = svc.ListPolicies(ctx, AccountA, identity.PolicyListOptions{Scope: "Mine"})
		wantIAM(t, err, identity.ValidationError)
		_, _, err = svc.ListPolicies(ctx, AccountA, identity.PolicyListOptions{ListOptions: identity.ListOptions{Marker: "garbage"}})
		wantIAM(t, err, identity.ValidationError)
	})
}

func testEffective(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "dana", Tags: map[string]string{"TenantID": "acme"}}))
	must(t, svc.CreateGroup(ctx, AccountA, &identity.Group{Name: "ml"}))
	must(t, svc.AddUserToGroup(ctx, AccountA, "ml", "dana"))
	must(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "Managed"}, allow("s3:v1")))
	must(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "Bound"}, allow("*")))
	managed := "arn:aws:iam::111122223333:policy/Managed"
	user := identity.Ref{Kind: identity.KindUser, Name: "dana"}
	group := identity.Ref{Kind: identity.KindGroup, Name: "ml"}
	must(t, svc.PutInlinePolicy(ctx, AccountA, user, "own", allow("s3:own")))
	must(t, svc.PutInlinePolicy(ctx, AccountA, group, "grp", allow("s3:grp")))
	must(t, svc.AttachPolicy(ctx, AccountA, user, managed))
	must(t, svc.AttachPolicy(ctx, AccountA, group, managed)) // the same policy twice: listed once
	must(t, svc.AttachPolicy(ctx, AccountA, group, identity.BuiltinARNPrefix+identity.Viewer))
	must(t, svc.PutUserPermissionsBoundary(ctx, AccountA, "dana", "arn:aws:iam::111122223333:policy/Bound"))

	summary := func(e *identity.Effective) string {
		var parts []string
		for _, d := range e.Policies {
			parts = append(parts, d.Source+":"+d.Name+":"+d.VersionID)
		}
		return strings.Join(parts, ",")
	}
	t.Run("User", func(t *testing.T) {
		e, err := svc.PoliciesForUser(ctx, AccountA, "DANA")
		must(t, err)
		want := "user:own:,managed:Managed:v1,group/ml:grp:,managed via group/ml:Viewer:v1"
		if got := summary(e); got != want {
			t.Fatalf("policies = %s, want %s", got, want)
		}
		if e.Policies[1].Document != allow("s3:v1") || e.Policies[0].Document != allow("s3:own") || !strings.Contains(e.Policies[3].Document, "ReadOwnTenant") {
			t.Fatalf("documents = %+v", e.Policies)
		}
		if e.Boundary == nil || e.Boundary.Name != "Bound" || e.Boundary.Document != allow("*") || e.TenantID != "acme" || e.ARN != "arn:aws:iam::111122223333:user/dana" {
			t.Fatalf("effective = %+v boundary %+v", e, e.Boundary)
		}
	})
	t.Run("DefaultVersionSwitch", func(t *testing.T) {
		_, err := svc.CreatePolicyVersion(ctx, AccountA, managed, allow("s3:v2"), true)
		must(t, err)
		e, err := svc.PoliciesForUser(ctx, AccountA, "dana")
		must(t, err)
		if e.Policies[1].Document != allow("s3:v2") || e.Policies[1].VersionID != "v2" {
			t.Fatalf("after switch: %+v", e.Policies[1])
		}
		must(t, svc.SetDefaultPolicyVersion(ctx, AccountA, managed, "v1"))
		e, err = svc.PoliciesForUser(ctx, AccountA, "dana")
		must(t, err)
		if e.Policies[1].Document != allow("s3:v1") {
			t.Fatalf("after switching back: %+v", e.Policies[1])
		}
	})
	t.Run("Role", func(t *testing.T) {
		must(t, svc.CreateRole(ctx, AccountA, &identity.Role{Name: "svc", AssumeRolePolicyDocument: TrustSageMaker,
			PermissionsBoundary: identity.BuiltinARNPrefix + identity.TenantRoleBoundary}))
		role := identity.Ref{Kind: identity.KindRole, Name: "svc"}
		must(t, svc.PutInlinePolicy(ctx, AccountA, role, "r", allow("s3:r")))
		must(t, svc.AttachPolicy(ctx, AccountA, role, managed))
		e, err := svc.PoliciesForRole(ctx, AccountA, "svc")
		must(t, err)
		if got, want := summary(e), "role:r:,managed:Managed:v1"; got != want {
			t.Fatalf("policies = %s, want %s", got, want)
		}
		if e.Boundary == nil || e.Boundary.Name != identity.TenantRoleBoundary || !strings.Contains(e.Boundary.Document, "DenyBoundaryRemoval") {
			t.Fatalf("boundary = %+v", e.Boundary)
		}
		_, err = svc.PoliciesForRole(ctx, AccountA, "nobody")
		wantIAM(t, err, identity.NoSuchEntity)
	})
	t.Run("Empty", func(t *testing.T) {
		must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "empty"}))
		e, err := svc.PoliciesForUser(ctx, AccountA, "empty")
		must(t, err)
		if len(e.Policies) != 0 || e.Boundary != nil {
			t.Fatalf("effective of a bare user = %+v", e)
		}
	})
}

func testAccessKeys(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "Eve", Path: "/x/", Tags: map[string]string{"TenantID": "acme"}}))
	sealed := []byte{0, 1, 2, 0xff, 'k'}
	k1 := &identity.AccessKey{UserName: "eve", SealedSecret: sealed}
	must(t, svc.CreateAccessKey(ctx, AccountA, k1))
	t.Run("SealedRoundTrip", func(t *testing.T) {
		if !strings.HasPrefix(k1.ID, "AKIA") || len(k1.ID) != 20 || k1.Status != identity.Active {
			t.Fatalf("key = %+v", k1)
		}
		got, err := svc.GetAccessKey(ctx, k1.ID)
		must(t, err)
		if !bytes.Equal(got.SealedSecret, sealed) || got.AccountID != AccountA || got.UserName != "Eve" || got.TenantID != "acme" ||
			got.UserARN != "arn:aws:iam::111122223333:user/x/Eve" || got.Status != identity.Active || got.LastUsedAt != nil {
			t.Fatalf("get = %+v", got)
		}
	})
	t.Run("LimitTwo", func(t *testing.T) {
		k2 := &identity.AccessKey{UserName: "eve", SealedSecret: []byte("s2"), ID: "AKIAAAAAAAAAAAAAAAAB"}
		must(t, svc.CreateAccessKey(ctx, AccountA, k2))
		wantIAM(t, svc.CreateAccessKey(ctx, AccountA, &identity.AccessKey{UserName: "eve", SealedSecret: []byte("s3")}), identity.LimitExceeded)
		ks, err := svc.ListAccessKeys(ctx, AccountA, "eve")
		must(t, err)
		if len(ks) != 2 || ks[0].SealedSecret != nil || ks[1].SealedSecret != nil {
			t.Fatalf("list = %+v (secrets must not be listed)", ks)
		}
		must(t, svc.DeleteAccessKey(ctx, AccountA, "eve", k2.ID))
		_, err = svc.GetAccessKey(ctx, k2.ID)
		wantIAM(t, err, identity.NoSuchEntity)
	})
	t.Run("UpdateAndUse", func(t *testing.T) {
		must(t, svc.UpdateAccessKey(ctx, AccountA, "eve", k1.ID, identity.Inactive))
		wantIAM(t, svc.UpdateAccessKey(ctx, AccountA, "eve", k1.ID, "Paused"), identity.ValidationError)
		wantIAM(t, svc.UpdateAccessKey(ctx, AccountA, "eve", "AKIAAAAAAAAAAAAAAAAZ", identity.Active), identity.NoSuchEntity)
		at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		must(t, svc.RecordAccessKeyUse(ctx, k1.ID, at))
		got, err := svc.GetAccessKey(ctx, k1.ID)
		must(t, err)
		if got.Status != identity.Inactive || got.LastUsedAt == nil || !got.LastUsedAt.Equal(at) {
			t.Fatalf("after update = %+v", got)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := svc.GetAccessKey(ctx, "not-a-key")
		wantIAM(t, err, identity.ValidationError)
		wantIAM(t, svc.CreateAccessKey(ctx, AccountA, &identity.AccessKey{UserName: "eve"}), identity.InvalidInput)
		wantIAM(t, svc.CreateAccessKey(ctx, AccountA, &identity.AccessKey{UserName: "nobody", SealedSecret: []byte("s")}), identity.NoSuchEntity)
		wantIAM(t, svc.CreateAccessKey(ctx, AccountA, &identity.AccessKey{UserName: "eve", SealedSecret: []byte("s"), ID: "ASIAAAAAAAAAAAAAAAAA"}), identity.ValidationError)
	})
}

func testOIDC(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	p := &identity.OIDCProvider{URL: "https://idp.example.com/tenants/", ClientIDs: []string{"tenantml"},
		ClaimTags: map[string]string{"tenant_id": "TenantID"}}
	must(t, svc.CreateOpenIDConnectProvider(ctx, AccountA, p))
	t.Run("FindByURL", func(t *testing.T) {
		if p.ARN != "arn:aws:iam::111122223333:oidc-provider/idp.example.com/tenants" || p.URL != "https://idp.example.com/tenants" {
			t.Fatalf("provider = %+v", p)
		}
		got, err := svc.FindOpenIDConnectProvider(ctx, AccountA, "https://idp.example.com/tenants")
		must(t, err)
		if got.ARN != p.ARN || len(got.ClientIDs) != 1 || got.ClaimTags["tenant_id"] != "TenantID" || got.Thumbprints == nil {
			t.Fatalf("found = %+v", got)
		}
		_, err = svc.FindOpenIDConnectProvider(ctx, AccountB, "https://idp.example.com/tenants")
		wantIAM(t, err, identity.NoSuchEntity)
		_, err = svc.FindOpenIDConnectProvider(ctx, AccountA, "https://other.example.com")
		wantIAM(t, err, identity.NoSuchEntity)
	})
	t.Run("Errors", func(t *testing.T) {
		wantIAM(t, svc.CreateOpenIDConnectProvider(ctx, AccountA, &identity.OIDCProvider{URL: "https://idp.example.com/tenants"}), identity.EntityAlreadyExists)
		wantIAM(t, svc.CreateOpenIDConnectProvider(ctx, AccountA, &identity.OIDCProvider{URL: "http://idp.example.com"}), identity.ValidationError)
		wantIAM(t, svc.CreateOpenIDConnectProvider(ctx, AccountA, &identity.OIDCProvider{URL: "https://a.example", Thumbprints: []string{"xyz"}}), identity.ValidationError)
		wantIAM(t, svc.CreateOpenIDConnectProvider(ctx, AccountA, &identity.OIDCProvider{URL: "https://a.example", ClaimTags: map[string]string{"c": "aws:bad"}}), identity.ValidationError)
	})
	t.Run("ListAndDelete", func(t *testing.T) {
		ps, err := svc.ListOpenIDConnectProviders(ctx, AccountA)
		must(t, err)
		if len(ps) != 1 {
			t.Fatalf("list = %v", ps)
		}
		must(t, svc.DeleteOpenIDConnectProvider(ctx, AccountA, p.ARN))
		_, err = svc.GetOpenIDConnectProvider(ctx, AccountA, p.ARN)
		wantIAM(t, err, identity.NoSuchEntity)
		wantIAM(t, svc.DeleteOpenIDConnectProvider(ctx, AccountA, p.ARN), identity.NoSuchEntity)
	})
}

// testAccounts proves two accounts never see each other's entities.
func testAccounts(t *testing.T, svc identity.Service) {
	ctx := context.Background()
	for _, acct := range []string{AccountA, AccountB} {
		must(t, svc.CreateUser(ctx, acct, &identity.User{Name: "same"}))
		must(t, svc.CreateRole(ctx, acct, &identity.Role{Name: "same", AssumeRolePolicyDocument: TrustSageMaker}))
	}
	must(t, svc.CreateUser(ctx, AccountA, &identity.User{Name: "onlyA"}))
	must(t, svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: "PA"}, AllowInvoke))
	policyA := "arn:aws:iam::111122223333:policy/PA"
	a, err := svc.GetUser(ctx, AccountA, "same")
	must(t, err)
	b, err := svc.GetUser(ctx, AccountB, "same")
	must(t, err)
	if a.ID == b.ID || a.ARN == b.ARN {
		t.Fatalf("two accounts share an identity: %+v %+v", a, b)
	}
	for name, err := range map[string]error{
		"GetUser":      func() error { _, err := svc.GetUser(ctx, AccountB, "onlyA"); return err }(),
		"GetPolicy":    func() error { _, err := svc.GetPolicy(ctx, AccountB, policyA); return err }(),
		"AttachPolicy": svc.AttachPolicy(ctx, AccountB, identity.Ref{Kind: identity.KindRole, Name: "same"}, policyA),
		"Boundary":     svc.PutRolePermissionsBoundary(ctx, AccountB, "same", policyA),
		"DeletePolicy": svc.DeletePolicy(ctx, AccountB, policyA),
		"DeleteUser":   svc.DeleteUser(ctx, AccountB, "onlyA"),
	} {
		t.Run(name, func(t *testing.T) { wantIAM(t, err, identity.NoSuchEntity) })
	}
	us, _, err := svc.ListUsers(ctx, AccountB, identity.ListOptions{})
	must(t, err)
	if len(us) != 1 || us[0].Name != "same" || us[0].AccountID != AccountB {
		t.Fatalf("account B lists %+v", us)
	}
	ps, _, err := svc.ListPolicies(ctx, AccountB, identity.PolicyListOptions{Scope: identity.ScopeLocal})
	must(t, err)
	if len(ps) != 0 {
		t.Fatalf("account B lists A's policies: %+v", ps)
	}
}

// BenchmarkEffective measures PoliciesForUser for a user with three inline
// policies, two groups (each with an inline and an attached policy) and
// three attached policies, against its peer in the same run: GetUser, a
// one-row lookup. It reports both latencies and their ratio.
func BenchmarkEffective(b *testing.B, svc identity.Service) {
	ctx := context.Background()
	ok := func(err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	ok(svc.CreateUser(ctx, AccountA, &identity.User{Name: "bench", Tags: map[string]string{"TenantID": "acme"}}))
	user := identity.Ref{Kind: identity.KindUser, Name: "bench"}
	for i := range 3 {
		ok(svc.PutInlinePolicy(ctx, AccountA, user, fmt.Sprintf("inline%d", i), allow(fmt.Sprintf("s3:Inline%d", i))))
		name := fmt.Sprintf("M%d", i)
		ok(svc.CreatePolicy(ctx, AccountA, &identity.Policy{Name: name}, allow("s3:"+name)))
		ok(svc.AttachPolicy(ctx, AccountA, user, "arn:aws:iam::111122223333:policy/"+name))
	}
	for i := range 2 {
		g := fmt.Sprintf("g%d", i)
		ok(svc.CreateGroup(ctx, AccountA, &identity.Group{Name: g}))
		ok(svc.AddUserToGroup(ctx, AccountA, g, "bench"))
		ok(svc.PutInlinePolicy(ctx, AccountA, identity.Ref{Kind: identity.KindGroup, Name: g}, "gi", allow("s3:G")))
		ok(svc.AttachPolicy(ctx, AccountA, identity.Ref{Kind: identity.KindGroup, Name: g}, identity.BuiltinARNPrefix+identity.Viewer))
	}
	var get, eff time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := svc.GetUser(ctx, AccountA, "bench"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		e, err := svc.PoliciesForUser(ctx, AccountA, "bench")
		if err != nil || len(e.Policies) != 9 {
			b.Fatalf("effective: %d policies, %v", len(e.Policies), err)
		}
		get, eff, n = get+t1.Sub(t0), eff+time.Since(t1), n+1
	}
	b.ReportMetric(float64(get.Nanoseconds())/float64(n), "ns/GetUser")
	b.ReportMetric(float64(eff.Nanoseconds())/float64(n), "ns/PoliciesForUser")
	b.ReportMetric(float64(eff)/float64(get), "effective/get")
}
