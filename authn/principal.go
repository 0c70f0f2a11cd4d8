package authn

import (
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml/tenant"
)

// PrincipalType is the value of the aws:PrincipalType condition key.
type PrincipalType string

// The principal types AWS reports in aws:PrincipalType.
const (
	// Root is an account's root user (aws:PrincipalType "Account").
	Root PrincipalType = "Account"
	// IAMUser is an IAM user signing with a long-term access key.
	IAMUser PrincipalType = "User"
	// AssumedRole is a role session, from AssumeRole or
	// AssumeRoleWithWebIdentity.
	AssumedRole PrincipalType = "AssumedRole"
	// FederatedUser is a GetFederationToken session (not issued here yet).
	FederatedUser PrincipalType = "FederatedUser"
)

// Principal is an authenticated caller: everything the IAM request context
// needs about who is asking. It never holds a secret.
type Principal struct {
	// Type is aws:PrincipalType.
	Type PrincipalType
	// Account is the 12-digit account ID (aws:PrincipalAccount).
	Account string
	// ARN is the caller's identity as GetCallerIdentity reports it: the
	// user ARN, arn:aws:iam::<account>:root, or for a session
	// arn:aws:sts::<account>:assumed-role/<role>/<session>.
	ARN string
	// UserID is aws:userid: the user's unique ID (AIDA...), the account ID
	// for root, or "<role ID>:<session name>" for a role session.
	UserID string
	// UserName is aws:username; set for IAM users only, as on AWS.
	UserName string
	// TenantID is the tenant the principal acts for, "" for platform
	// principals: the user's or role's immutable TenantID, or for a
	// session the tenant sts sealed into it. It is never taken from a tag
	// the caller chose; aws:PrincipalTag/TenantID always reports it
	// (ContextKeys), and the API pipeline refuses a principal whose tenant
	// is not valid or not active.
	TenantID string
	// AccessKeyID is the key the request was signed with, if any.
	AccessKeyID string
	// Tags are the principal tags (aws:PrincipalTag/<key>): the user's or
	// role's tags, with session tags overriding same-named ones.
	Tags map[string]string
	// PermissionsBoundaryARN is the managed policy bounding the user or
	// role, "" if none.
	PermissionsBoundaryARN string
	// MFA reports aws:MultiFactorAuthPresent for temporary credentials.
	MFA bool
	// Session is set for temporary credentials and nil otherwise.
	Session *Session
}

// Session describes the role session behind temporary credentials.
type Session struct {
	// RoleARN is the assumed role's ARN (aws:PrincipalArn for a session).
	RoleARN string
	// RoleID is the role's unique ID (AROA...).
	RoleID string
	// Name is the role session name.
	Name string
	// IssuedAt is aws:TokenIssueTime.
	IssuedAt time.Time
	// Expiration is when the credentials stop working.
	Expiration time.Time
	// TransitiveTagKeys are the session tag keys carried into chained
	// sessions.
	TransitiveTagKeys []string
	// Policy is the inline session policy JSON text, "" if none.
	Policy string
	// PolicyARNs are the managed session policies.
	PolicyARNs []string
	// SourceIdentity is aws:SourceIdentity, "" if none was set.
	SourceIdentity string
	// Chained reports that the session was assumed with role-session
	// credentials (role chaining).
	Chained bool
	// FederatedProvider is the OIDC provider (issuer without scheme) of a
	// web identity session, "" otherwise (aws:FederatedProvider).
	FederatedProvider string
}

// PrincipalARN returns aws:PrincipalArn: the role ARN for a role session
// and the caller ARN otherwise.
func (p *Principal) PrincipalARN() string {
	if p.Session != nil && p.Session.RoleARN != "" {
		return p.Session.RoleARN
	}
	return p.ARN
}

// TimeFormat is the layout of date condition values such as
// aws:TokenIssueTime.
const TimeFormat = "2006-01-02T15:04:05Z"

// ContextKeys returns the aws: global condition keys p determines, ready to
// be merged into an IAM request context. Keys AWS leaves out for this kind of
// principal (aws:username for roles, aws:TokenIssueTime for long-term keys)
// are absent rather than empty, so Null conditions behave as on AWS.
func (p *Principal) ContextKeys() map[string]string {
	keys := map[string]string{
		"aws:PrincipalArn":     p.PrincipalARN(),
		"aws:PrincipalAccount": p.Account,
		"aws:PrincipalType":    string(p.Type),
		"aws:userid":           p.UserID,
	}
	if p.Type == IAMUser && p.UserName != "" {
		keys["aws:username"] = p.UserName
	}
	for k, v := range p.Tags {
		if !strings.EqualFold(k, tenant.TagKey) {
			keys["aws:PrincipalTag/"+k] = v
		}
	}
	if p.TenantID != "" {
		keys["aws:PrincipalTag/"+tenant.TagKey] = p.TenantID
	}
	if s := p.Session; s != nil {
		keys["aws:TokenIssueTime"] = s.IssuedAt.UTC().Format(TimeFormat)
		keys["aws:MultiFactorAuthPresent"] = strconv.FormatBool(p.MFA)
		if s.SourceIdentity != "" {
			keys["aws:SourceIdentity"] = s.SourceIdentity
		}
		if s.FederatedProvider != "" {
			keys["aws:FederatedProvider"] = s.FederatedProvider
		}
	}
	return keys
}

// LogValue reports the caller's identity for structured logs.
func (p *Principal) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("type", string(p.Type)),
		slog.String("arn", p.ARN),
		slog.String("account", p.Account),
		slog.String("tenant", p.TenantID),
		slog.String("access_key_id", p.AccessKeyID),
	)
}
