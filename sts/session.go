package sts

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tenantml/tenantml/authn"
)

// Session is everything a role session carries: what AssumeRole or
// AssumeRoleWithWebIdentity decided, sealed into the session token.
type Session struct {
	// Account is the 12-digit account ID of the role.
	Account string `json:"a"`
	// RoleARN and RoleID identify the assumed role.
	RoleARN string `json:"r"`
	RoleID  string `json:"ri"`
	// RoleSessionName is the caller-chosen session name.
	RoleSessionName string `json:"n"`
	// AssumedRoleARN is arn:aws:sts::<account>:assumed-role/<role>/<session>;
	// Issue fills it from RoleARN and RoleSessionName when empty.
	AssumedRoleARN string `json:"ar,omitempty"`
	// Tenant is the tenant the session acts for, "" for a platform
	// session: decided by Issuer.Issue (SessionTenant), never by a tag.
	Tenant string `json:"tn,omitempty"`
	// Tags are the principal tags of the session: the role's tags with the
	// session tags (and inherited transitive tags) overriding them; their
	// TenantID tag is always Tenant.
	Tags map[string]string `json:"t,omitempty"`
	// TransitiveTagKeys are carried into sessions chained from this one.
	TransitiveTagKeys []string `json:"tt,omitempty"`
	// Policy is the inline session policy JSON text, "" if none.
	Policy string `json:"p,omitempty"`
	// PolicyARNs are the managed session policies.
	PolicyARNs []string `json:"pa,omitempty"`
	// SourceIdentity is set once and kept through the chain.
	SourceIdentity string `json:"si,omitempty"`
	// IssuedAt is aws:TokenIssueTime; Issue fills it from its clock when
	// zero.
	IssuedAt time.Time `json:"i"`
	// Expiration is when the credentials stop working.
	Expiration time.Time `json:"e"`
	// Chained reports a session assumed with role-session credentials.
	Chained bool `json:"c,omitempty"`
	// MFA reports aws:MultiFactorAuthPresent.
	MFA bool `json:"m,omitempty"`
	// PermissionsBoundaryARN bounds the session, "" if none.
	PermissionsBoundaryARN string `json:"b,omitempty"`
	// FederatedProvider is the OIDC provider of a web identity session.
	FederatedProvider string `json:"f,omitempty"`
}

var accountRE = regexp.MustCompile(`^[0-9]{12}$`)

// validate checks the invariants a sealed session must hold.
func (s *Session) validate() error {
	switch {
	case !accountRE.MatchString(s.Account):
		return fmt.Errorf("session account %q is not a 12-digit account ID", s.Account)
	case s.RoleARN == "":
		return fmt.Errorf("session has no role ARN")
	case s.RoleSessionName == "":
		return fmt.Errorf("session has no name")
	case s.Expiration.IsZero() || !s.Expiration.After(s.IssuedAt):
		return fmt.Errorf("session expiration %s is not after issue time %s", s.Expiration, s.IssuedAt)
	case tenantTag(s.Tags) != s.Tenant:
		return fmt.Errorf("session TenantID tag %q is not its tenant %q", tenantTag(s.Tags), s.Tenant)
	}
	return nil
}

// Principal returns the authenticated principal the session stands for when
// a request is signed with accessKeyID.
func (s *Session) Principal(accessKeyID string) *authn.Principal {
	return &authn.Principal{
		Type:                   authn.AssumedRole,
		Account:                s.Account,
		ARN:                    s.AssumedRoleARN,
		UserID:                 s.RoleID + ":" + s.RoleSessionName,
		TenantID:               s.Tenant,
		AccessKeyID:            accessKeyID,
		Tags:                   maps.Clone(s.Tags),
		PermissionsBoundaryARN: s.PermissionsBoundaryARN,
		MFA:                    s.MFA,
		Session: &authn.Session{
			RoleARN:           s.RoleARN,
			RoleID:            s.RoleID,
			Name:              s.RoleSessionName,
			IssuedAt:          s.IssuedAt,
			Expiration:        s.Expiration,
			TransitiveTagKeys: slices.Clone(s.TransitiveTagKeys),
			Policy:            s.Policy,
			PolicyARNs:        slices.Clone(s.PolicyARNs),
			SourceIdentity:    s.SourceIdentity,
			Chained:           s.Chained,
			FederatedProvider: s.FederatedProvider,
		},
	}
}

// AssumedRoleARN returns the session ARN AWS reports for a session of
// roleARN named sessionName: arn:<partition>:sts::<account>:assumed-role/
// <role name>/<session name>. The role's path is not part of it.
func AssumedRoleARN(roleARN, sessionName string) (string, error) {
	parts := strings.SplitN(roleARN, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "iam" || !strings.HasPrefix(parts[5], "role/") {
		return "", fmt.Errorf("assumed role arn: %q is not a role ARN", roleARN)
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	if name == "" {
		return "", fmt.Errorf("assumed role arn: %q has no role name", roleARN)
	}
	return fmt.Sprintf("arn:%s:sts::%s:assumed-role/%s/%s", parts[1], parts[4], name, sessionName), nil
}
