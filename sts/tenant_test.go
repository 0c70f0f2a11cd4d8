package sts_test

import (
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/sts"
)

// TestSessionTenant is the tenant invariant as a table: whatever the tags
// ask, a tenant's principal never leaves its tenant and a tenant's role
// never gives another tenant's session.
func TestSessionTenant(t *testing.T) {
	tests := []struct {
		name                    string
		caller, role, requested string
		want                    string
		wantCode                string
	}{
		{"PlatformCallerPlatformRoleNoTag", "", "", "", "", ""},
		{"PlatformCallerGrantsTenant", "", "", "acme", "acme", ""},
		{"PlatformCallerTenantRole", "", "acme", "", "acme", ""},
		{"PlatformCallerTenantRoleSameTag", "", "acme", "acme", "acme", ""},
		{"ErrTagRewritesRoleTenant", "", "acme", "globex", "", sts.CodeAccessDenied},
		{"TenantCallerOwnRole", "acme", "acme", "", "acme", ""},
		{"ErrTenantCallerOwnRoleOtherTag", "acme", "acme", "globex", "", sts.CodeAccessDenied},
		{"ErrTenantCallerOtherRole", "acme", "globex", "", "", sts.CodeAccessDenied},
		{"ErrTenantCallerOtherRoleMatchingTag", "acme", "globex", "globex", "", sts.CodeAccessDenied},
		{"TenantCallerPlatformRoleKeepsTenant", "acme", "", "", "acme", ""},
		{"TenantCallerPlatformRoleSameTag", "acme", "", "acme", "acme", ""},
		{"ErrTenantCallerPlatformRoleOtherTag", "acme", "", "globex", "", sts.CodeAccessDenied},
		{"ErrInvalidTenantTag", "", "", "ACME/../globex", "", sts.CodeInvalidParameterValue},
		{"ErrReservedTenantTag", "", "", "platform", "", sts.CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sts.SessionTenant(sts.Parties{CallerTenant: tt.caller, RoleTenant: tt.role}, tt.requested)
			if code := tenantml.AWSCodeOf(err); code != tt.wantCode || got != tt.want {
				t.Fatalf("SessionTenant = %q, %v; want %q, code %q", got, err, tt.want, tt.wantCode)
			}
		})
	}
}

// TestIssuer_IssueTenant checks that Issue applies the invariant itself:
// the session's tenant and its TenantID tag (whatever its case) are what
// SessionTenant decides, and a token whose tag disagrees with its tenant
// does not open.
func TestIssuer_IssueTenant(t *testing.T) {
	now := t0
	is := issuer(t, ring(t, 1, 1), &clock{now: now})
	base := sts.Session{Account: "111122223333", RoleARN: "arn:aws:iam::111122223333:role/pool", RoleID: "AROAPOOL", RoleSessionName: "s",
		IssuedAt: now, Expiration: now.Add(time.Hour)}
	t.Run("TagCaseVariantIsTheTenantTag", func(t *testing.T) {
		s := base
		s.Tags = map[string]string{"tenantid": "globex", "Team": "ml"}
		if _, err := is.Issue(s, sts.Parties{CallerTenant: "acme"}); tenantml.AWSCodeOf(err) != sts.CodeAccessDenied {
			t.Fatalf("Issue = %v, want AccessDenied", err)
		}
	})
	t.Run("CallerTenantIsKept", func(t *testing.T) {
		s := base
		s.Tags = map[string]string{"Team": "ml"}
		creds, err := is.Issue(s, sts.Parties{CallerTenant: "acme"})
		if err != nil {
			t.Fatal(err)
		}
		o, err := is.Open(creds.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		p := o.Session.Principal(creds.AccessKeyID)
		if p.TenantID != "acme" || p.Tags["TenantID"] != "acme" || p.ContextKeys()["aws:PrincipalTag/TenantID"] != "acme" {
			t.Fatalf("principal tenant %q tags %v", p.TenantID, p.Tags)
		}
	})
	t.Run("PlatformSessionHasNoTenantTag", func(t *testing.T) {
		s := base
		creds, err := is.Issue(s, sts.Parties{})
		if err != nil {
			t.Fatal(err)
		}
		o, err := is.Open(creds.SessionToken)
		if err != nil || o.Session.Tenant != "" || o.Session.Tags["TenantID"] != "" {
			t.Fatalf("session %+v, %v", o.Session, err)
		}
	})
}
