package identity

import (
	"context"
	"time"
)

// Paging limits, as IAM applies them.
const (
	DefaultMaxItems = 100
	MaxMaxItems     = 1000
)

// ListOptions page through a list: Marker is the NextMarker of the previous
// page ("" for the first), MaxItems the page size (0 means 100, at most
// 1000) and PathPrefix, where the list supports it, keeps only entities
// whose path starts with it.
type ListOptions struct {
	Marker     string
	MaxItems   int
	PathPrefix string
}

// Policy scopes for ListPolicies.
const (
	ScopeAll   = "All"   // built-in and customer-managed policies
	ScopeAWS   = "AWS"   // built-in policies only
	ScopeLocal = "Local" // customer-managed policies only
)

// PolicyListOptions filter ListPolicies.
type PolicyListOptions struct {
	ListOptions
	// Scope is ScopeAll (the default), ScopeAWS or ScopeLocal.
	Scope string
	// OnlyAttached keeps policies attached to at least one principal.
	OnlyAttached bool
}

// Service stores the IAM entities of every account. Each method takes the
// account ID it acts in; entities of one account are never visible from
// another. Names are unique within an account case-insensitively and keep
// their case as created. List methods return the page and the marker of
// the next page ("" when there is none).
//
// Errors are *Error values with AWS codes (NoSuchEntity,
// EntityAlreadyExists, LimitExceeded, DeleteConflict,
// MalformedPolicyDocument, ValidationError, InvalidInput).
type Service interface {
	// CreateUser validates u, assigns its ID, ARN, TenantID (its TenantID
	// tag) and CreatedAt, and stores it.
	CreateUser(ctx context.Context, acct string, u *User) error
	GetUser(ctx context.Context, acct, name string) (*User, error)
	ListUsers(ctx context.Context, acct string, opt ListOptions) ([]*User, string, error)
	// DeleteUser fails with DeleteConflict while the user has access keys,
	// inline or attached policies, or group memberships.
	DeleteUser(ctx context.Context, acct, name string) error
	TagUser(ctx context.Context, acct, name string, tags map[string]string) error
	UntagUser(ctx context.Context, acct, name string, keys []string) error
	ListUserTags(ctx context.Context, acct, name string) (map[string]string, error)
	PutUserPermissionsBoundary(ctx context.Context, acct, name, policyARN string) error
	DeleteUserPermissionsBoundary(ctx context.Context, acct, name string) error

	CreateGroup(ctx context.Context, acct string, g *Group) error
	GetGroup(ctx context.Context, acct, name string) (*Group, error)
	ListGroups(ctx context.Context, acct string, opt ListOptions) ([]*Group, string, error)
	// DeleteGroup fails with DeleteConflict while the group has members or
	// inline or attached policies.
	DeleteGroup(ctx context.Context, acct, name string) error
	AddUserToGroup(ctx context.Context, acct, group, user string) error
	RemoveUserFromGroup(ctx context.Context, acct, group, user string) error
	ListGroupsForUser(ctx context.Context, acct, user string, opt ListOptions) ([]*Group, string, error)
	ListUsersInGroup(ctx context.Context, acct, group string, opt ListOptions) ([]*User, string, error)

	// CreateRole validates r (trust policy included), assigns its ID, ARN,
	// TenantID and CreatedAt and defaults MaxSessionDuration to 3600.
	CreateRole(ctx context.Context, acct string, r *Role) error
	GetRole(ctx context.Context, acct, name string) (*Role, error)
	ListRoles(ctx context.Context, acct string, opt ListOptions) ([]*Role, string, error)
	// DeleteRole fails with DeleteConflict while the role has inline or
	// attached policies.
	DeleteRole(ctx context.Context, acct, name string) error
	UpdateAssumeRolePolicy(ctx context.Context, acct, name, document string) error
	// UpdateRole sets the description and, when maxSessionDuration is not
	// 0, the maximum session duration.
	UpdateRole(ctx context.Context, acct, name, description string, maxSessionDuration int) error
	TagRole(ctx context.Context, acct, name string, tags map[string]string) error
	UntagRole(ctx context.Context, acct, name string, keys []string) error
	ListRoleTags(ctx context.Context, acct, name string) (map[string]string, error)
	PutRolePermissionsBoundary(ctx context.Context, acct, name, policyARN string) error
	DeleteRolePermissionsBoundary(ctx context.Context, acct, name string) error
	// RevokeRoleSessions invalidates the role's sessions issued before
	// the given time.
	RevokeRoleSessions(ctx context.Context, acct, name string, before time.Time) error

	// PutInlinePolicy creates or replaces the inline policy name of a
	// user, role or group.
	PutInlinePolicy(ctx context.Context, acct string, to Ref, name, document string) error
	GetInlinePolicy(ctx context.Context, acct string, of Ref, name string) (string, error)
	DeleteInlinePolicy(ctx context.Context, acct string, of Ref, name string) error
	ListInlinePolicies(ctx context.Context, acct string, of Ref, opt ListOptions) ([]string, string, error)

	// CreatePolicy validates p and its first version's document and
	// stores both (v1, default).
	CreatePolicy(ctx context.Context, acct string, p *Policy, document string) error
	// GetPolicy returns a customer-managed policy of acct or a built-in
	// one.
	GetPolicy(ctx context.Context, acct, policyARN string) (*Policy, error)
	ListPolicies(ctx context.Context, acct string, opt PolicyListOptions) ([]*Policy, string, error)
	// DeletePolicy fails with DeleteConflict while the policy is attached,
	// used as a permissions boundary or has versions besides the default.
	DeletePolicy(ctx context.Context, acct, policyARN string) error
	// CreatePolicyVersion adds the next version; LimitExceeded when five
	// exist.
	CreatePolicyVersion(ctx context.Context, acct, policyARN, document string, setAsDefault bool) (*PolicyVersion, error)
	GetPolicyVersion(ctx context.Context, acct, policyARN, versionID string) (*PolicyVersion, error)
	ListPolicyVersions(ctx context.Context, acct, policyARN string) ([]*PolicyVersion, error)
	// DeletePolicyVersion fails with DeleteConflict for the default
	// version.
	DeletePolicyVersion(ctx context.Context, acct, policyARN, versionID string) error
	SetDefaultPolicyVersion(ctx context.Context, acct, policyARN, versionID string) error

	// AttachPolicy attaches a managed policy (of acct, or built-in) to a
	// user, role or group; attaching twice is a no-op.
	AttachPolicy(ctx context.Context, acct string, to Ref, policyARN string) error
	DetachPolicy(ctx context.Context, acct string, from Ref, policyARN string) error
	ListAttachedPolicies(ctx context.Context, acct string, of Ref, opt ListOptions) ([]AttachedPolicy, string, error)

	// CreateAccessKey stores a new key for a user with its sealed secret,
	// assigning an ID when k.ID is empty; LimitExceeded when the user
	// already has two.
	CreateAccessKey(ctx context.Context, acct string, k *AccessKey) error
	// GetAccessKey finds a key by ID in any account, for authentication:
	// it returns the owner, status and sealed secret.
	GetAccessKey(ctx context.Context, keyID string) (*AccessKey, error)
	// ListAccessKeys lists a user's keys without their secrets.
	ListAccessKeys(ctx context.Context, acct, user string) ([]*AccessKey, error)
	UpdateAccessKey(ctx context.Context, acct, user, keyID, status string) error
	DeleteAccessKey(ctx context.Context, acct, user, keyID string) error
	// RecordAccessKeyUse sets the key's last-used time.
	RecordAccessKeyUse(ctx context.Context, keyID string, at time.Time) error

	CreateOpenIDConnectProvider(ctx context.Context, acct string, p *OIDCProvider) error
	GetOpenIDConnectProvider(ctx context.Context, acct, providerARN string) (*OIDCProvider, error)
	// FindOpenIDConnectProvider looks a provider up by issuer URL, for
	// AssumeRoleWithWebIdentity.
	FindOpenIDConnectProvider(ctx context.Context, acct, issuerURL string) (*OIDCProvider, error)
	ListOpenIDConnectProviders(ctx context.Context, acct string) ([]*OIDCProvider, error)
	DeleteOpenIDConnectProvider(ctx context.Context, acct, providerARN string) error

	// PoliciesForUser returns the user's effective identity policies and
	// boundary, for the authorizer.
	PoliciesForUser(ctx context.Context, acct, name string) (*Effective, error)
	// PoliciesForRole returns the role's effective identity policies and
	// boundary, for the authorizer.
	PoliciesForRole(ctx context.Context, acct, name string) (*Effective, error)
}
