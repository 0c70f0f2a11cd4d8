// Package runtimetest holds what the tests of the invocation surfaces
// (api/runtime, api/oip) share: the seed scenario's three invoke policies
// verbatim, sessions of roles authenticated by a test header, and a real
// IAM engine over SQLite holding the roles.
package runtimetest

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store/sqlite"
)

// Account and Region of the tests' ARNs.
const (
	Account = "111122223333"
	Region  = "us-east-1"
)

// The seed's invoke policies, verbatim: silo (Policy 1, for endpoint
// SiloPolicy's %s), pool (Policy 2) and bridge (Policy 3).
const (
	SiloPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/%s"}]}`
	PoolPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*",
		"Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`
	BridgePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/${aws:PrincipalTag/TenantID}"}]}`
	// AllowAll is a too-open policy: whatever it allows, the tenant
	// boundary still holds.
	AllowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	trust    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
)

// Silo is SiloPolicy for endpoint.
func Silo(endpoint string) string { return strings.Replace(SiloPolicy, "%s", endpoint, 1) }

// Role is a role of the engine: its name, tenant ("" for the platform's)
// and inline policy.
type Role struct {
	Name, Tenant, Policy string
}

// Engine returns the IAM engine over a fresh SQLite store holding roles.
func Engine(t testing.TB, roles ...Role) *authz.Engine {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ids := db.Identity()
	for _, r := range roles {
		role := &identity.Role{Name: r.Name, AssumeRolePolicyDocument: trust}
		if r.Tenant != "" {
			role.Tags = map[string]string{"TenantID": r.Tenant}
		}
		if err := ids.CreateRole(ctx, Account, role); err != nil {
			t.Fatal(err)
		}
		if err := ids.PutInlinePolicy(ctx, Account, identity.Ref{Kind: identity.KindRole, Name: r.Name}, "invoke", r.Policy); err != nil {
			t.Fatal(err)
		}
	}
	return &authz.Engine{AccountID: Account, Identity: ids}
}

// Session is a session of role, of tenant ("" for none).
func Session(role, tenant string) *authn.Principal {
	return &authn.Principal{Type: authn.AssumedRole, Account: Account, ARN: "arn:aws:sts::" + Account + ":assumed-role/" + role + "/s", UserID: "AROA" + role + ":s",
		TenantID: tenant, Session: &authn.Session{RoleARN: "arn:aws:iam::" + Account + ":role/" + role, Name: "s", IssuedAt: time.Now().Add(-time.Minute)}}
}

// CallerHeader names the caller of a test request.
const CallerHeader = "X-Test-Caller"

// Sessions authenticates a request as the principal its CallerHeader
// names.
type Sessions map[string]*authn.Principal

// Authenticate implements api.Authenticator.
func (s Sessions) Authenticate(r *http.Request) (*authn.Principal, error) {
	if p, ok := s[r.Header.Get(CallerHeader)]; ok {
		return p, nil
	}
	return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "unknown caller")
}
