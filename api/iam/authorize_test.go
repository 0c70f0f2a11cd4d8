package iam_test

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	apiiam "github.com/tenantml/tenantml/api/iam"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store/sqlite"
)

// headerAuthn picks the caller by the X-Test-Caller header.
type headerAuthn map[string]*authn.Principal

func (h headerAuthn) Authenticate(r *http.Request) (*authn.Principal, error) {
	if p, ok := h[r.Header.Get("X-Test-Caller")]; ok {
		return p, nil
	}
	return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "unknown caller")
}

// TestSurface_TenantAdmin checks that the built-in TenantAdmin policy with
// the TenantRoleBoundary confines a tenant's administrator to its own
// tenant's principals and cannot escalate, with the IAM API deciding on
// request and resource tags.
func TestSurface_TenantAdmin(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek, err := keys.OpenLocalKEK(filepath.Join(dir, "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	svc := db.Identity()
	boundaryARN := identity.BuiltinARNPrefix + "TenantRoleBoundary"
	adminARN := identity.BuiltinARNPrefix + "TenantAdmin"
	callers := headerAuthn{}
	for _, u := range []struct{ name, tenant string }{{"admin-a", "tenant-a"}, {"untagged", ""}} {
		user := &identity.User{Name: u.name, PermissionsBoundary: boundaryARN}
		if u.tenant != "" {
			user.Tags = map[string]string{"TenantID": u.tenant}
		}
		if err := svc.CreateUser(ctx, acct, user); err != nil {
			t.Fatal(err)
		}
		if err := svc.AttachPolicy(ctx, acct, identity.Ref{Kind: identity.KindUser, Name: u.name}, adminARN); err != nil {
			t.Fatal(err)
		}
		callers[u.name] = &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: user.ARN, UserID: user.ID, UserName: user.Name, TenantID: user.TenantID, Tags: user.Tags, PermissionsBoundaryARN: boundaryARN}
	}
	for _, r := range []struct{ name, tenant string }{{"role-a", "tenant-a"}, {"role-b", "tenant-b"}} {
		if err := svc.CreateRole(ctx, acct, &identity.Role{Name: r.name, AssumeRolePolicyDocument: trust, Tags: map[string]string{"TenantID": r.tenant}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, pol := range []struct{ name, tenant string }{{"tenant-b.invoke", "tenant-b"}, {"shared-invoke", ""}} {
		p := &identity.Policy{Name: pol.name}
		if pol.tenant != "" {
			p.Tags = map[string]string{"TenantID": pol.tenant}
		}
		if err := svc.CreatePolicy(ctx, acct, p, policy); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	engine := &authz.Engine{AccountID: acct, Identity: svc, Now: time.Now}
	p := &api.Pipeline{Authn: callers, Authz: engine, Audit: &nopAudit{}, Log: log, Now: time.Now}
	protocol := apiiam.Protocol()
	router := api.NewAWSRouter(p, protocol)
	(&apiiam.Surface{AccountID: acct, Service: svc, KEK: kek, Rand: rand.Reader, Pipeline: p, Protocol: protocol, Invalidate: engine.Invalidate, Policies: engine}).Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)

	call := func(t *testing.T, caller string, params ...string) (int, string) {
		t.Helper()
		form := url.Values{"Version": {"2010-05-08"}}
		for i := 0; i+1 < len(params); i += 2 {
			form.Set(params[i], params[i+1])
		}
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Test-Caller", caller)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	tagA := []string{"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "tenant-a"}
	tagB := []string{"Tags.member.1.Key", "TenantID", "Tags.member.1.Value", "tenant-b"}
	with := func(a []string, b ...string) []string { return append(append([]string{}, a...), b...) }
	tests := []struct {
		name   string
		caller string
		params []string
		status int
	}{
		{"CreateOwnTenantRoleWithBoundary", "admin-a", with(tagA, "Action", "CreateRole", "RoleName", "tenant-a.new-a", "AssumeRolePolicyDocument", trust, "PermissionsBoundary", boundaryARN), 200},
		// A tenant's principal creates only entities tagged with its own
		// tenant, refused before any policy is read (InvalidInput).
		{"ErrCreateOtherTenantRole", "admin-a", with(tagB, "Action", "CreateRole", "RoleName", "tenant-a.new-b", "AssumeRolePolicyDocument", trust, "PermissionsBoundary", boundaryARN), 400},
		{"ErrCreateRoleWithoutBoundary", "admin-a", with(tagA, "Action", "CreateRole", "RoleName", "tenant-a.free-a", "AssumeRolePolicyDocument", trust), 403},
		{"ErrCreateUntaggedRole", "admin-a", []string{"Action", "CreateRole", "RoleName", "tenant-a.untagged-a", "AssumeRolePolicyDocument", trust, "PermissionsBoundary", boundaryARN}, 400},
		{"PutOwnTenantRolePolicy", "admin-a", []string{"Action", "PutRolePolicy", "RoleName", "role-a", "PolicyName", "p", "PolicyDocument", policy}, 200},
		{"ErrPutOtherTenantRolePolicy", "admin-a", []string{"Action", "PutRolePolicy", "RoleName", "role-b", "PolicyName", "p", "PolicyDocument", policy}, 403},
		{"GetOwnTenantRole", "admin-a", []string{"Action", "GetRole", "RoleName", "role-a"}, 200},
		{"ErrGetOtherTenantRole", "admin-a", []string{"Action", "GetRole", "RoleName", "role-b"}, 403},
		{"ErrGetMissingRoleIsDenied", "admin-a", []string{"Action", "GetRole", "RoleName", "ghost"}, 403},
		{"ErrRemoveBoundary", "admin-a", []string{"Action", "DeleteRolePermissionsBoundary", "RoleName", "tenant-a.new-a"}, 403},
		{"ErrRetagTenant", "admin-a", with(tagB, "Action", "TagRole", "RoleName", "role-a"), 403},
		{"ErrUntagTenant", "admin-a", []string{"Action", "UntagRole", "RoleName", "role-a", "TagKeys.member.1", "TenantID"}, 403},
		{"TagOtherKey", "admin-a", []string{"Action", "TagRole", "RoleName", "role-a", "Tags.member.1.Key", "Team", "Tags.member.1.Value", "ml"}, 200},
		{"ErrAttachToOtherTenantRole", "admin-a", []string{"Action", "AttachRolePolicy", "RoleName", "role-b", "PolicyArn", adminARN}, 403},
		// TenantAdmin grants iam:List* only on own-tenant resources; an
		// account-wide listing would show other tenants' roles.
		{"ErrListRolesAccountWide", "admin-a", []string{"Action", "ListRoles"}, 403},
		{"ListOwnRolePolicies", "admin-a", []string{"Action", "ListRolePolicies", "RoleName", "role-a"}, 200},
		{"ErrUntaggedAdmin", "untagged", []string{"Action", "GetRole", "RoleName", "role-a"}, 403},
		// A tenant's principal creates names only in its own name space,
		// refused the same way whether the name is taken elsewhere or not.
		{"ErrCreateOutsideNameSpace", "admin-a", with(tagA, "Action", "CreateRole", "RoleName", "role-b", "AssumeRolePolicyDocument", trust, "PermissionsBoundary", boundaryARN), 400},
		{"ErrCreateOutsideNameSpaceFree", "admin-a", with(tagA, "Action", "CreateRole", "RoleName", "nobody-has-this", "AssumeRolePolicyDocument", trust, "PermissionsBoundary", boundaryARN), 400},
		// Policies a tenant's principal may never hold.
		{"ErrAttachPlatformAdministrator", "admin-a", []string{"Action", "AttachRolePolicy", "RoleName", "role-a", "PolicyArn", identity.BuiltinARNPrefix + "PlatformAdministrator"}, 400},
		// The platform's customer-managed policies are invisible to a
		// tenant's principal: answered as a missing policy.
		{"ErrAttachSharedPolicyByTenant", "admin-a", []string{"Action", "AttachRolePolicy", "RoleName", "role-a", "PolicyArn", "arn:aws:iam::" + acct + ":policy/shared-invoke"}, 404},
		{"AttachTenantRolePolicy", "admin-a", []string{"Action", "AttachRolePolicy", "RoleName", "role-a", "PolicyArn", identity.BuiltinARNPrefix + "Viewer"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := call(t, tt.caller, tt.params...)
			if status != tt.status {
				t.Fatalf("status = %d, want %d\n%s", status, tt.status, body)
			}
			if status == 403 && !strings.Contains(body, "<Code>AccessDenied</Code>") {
				t.Fatalf("denied without AccessDenied:\n%s", body)
			}
		})
	}
	// Another tenant's entity answers exactly like a missing one.
	// The names differ (a name cannot be both taken and free): each is
	// replaced by a placeholder before the answers are compared.
	same := func(t *testing.T, a, b []string, nameA, nameB string) {
		t.Helper()
		sa, ba := call(t, "admin-a", a...)
		sb, bb := call(t, "admin-a", b...)
		strip := func(s, name string) string {
			return strings.ReplaceAll(requestIDRE.ReplaceAllString(s, ""), name, "NAME")
		}
		if sa != sb || strip(ba, nameA) != strip(bb, nameB) {
			t.Fatalf("answers differ:\n%d %s\n%d %s", sa, ba, sb, bb)
		}
	}
	t.Run("OtherTenantRoleIsMissing", func(t *testing.T) {
		same(t, []string{"Action", "GetRole", "RoleName", "role-b"}, []string{"Action", "GetRole", "RoleName", "role-zzz"}, "role-b", "role-zzz")
	})
	t.Run("OtherTenantPolicyIsMissing", func(t *testing.T) {
		same(t, []string{"Action", "AttachRolePolicy", "RoleName", "role-a", "PolicyArn", "arn:aws:iam::" + acct + ":policy/tenant-b.invoke"},
			[]string{"Action", "AttachRolePolicy", "RoleName", "role-a", "PolicyArn", "arn:aws:iam::" + acct + ":policy/tenant-b.nothing"}, "tenant-b.invoke", "tenant-b.nothing")
	})
}

var requestIDRE = regexp.MustCompile(`<RequestId>[^<]*</RequestId>`)
