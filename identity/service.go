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
	// TenantID, when set, keeps only that tenant's entities (and, for
	// policies, the built-in ones): what a tenant's principal lists, so
	// that neither the page nor its marker names another tenant's.
	TenantID string
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
// Errors are *tenantml.Error values with AWS codes (NoSuchEntity,
// EntityAlreadyExists, LimitExceeded, DeleteConflict,
// MalformedPolicyDocument, ValidationError, InvalidInput).
type Service interface {
	// CreateUser validates u, assigns its ID, ARN, TenantID (its TenantID
	// tag) and CreatedAt, and stores it.
	CreateUser(ctx context.Context, acct string, u *User) error
	// GetUser returns a user by name (case-insensitive).
	GetUser(ctx context.Context, acct, name string) (*User, error)
	// ListUsers lists users ordered by name, filtered by PathPrefix.
	ListUsers(ctx context.Context, acct string, opt ListOptions) ([]*User, string, error)
	// DeleteUser fails with DeleteConflict while the user has access keys,
	// inline or attached policies, or group memberships.
	DeleteUser(ctx context.Context, acct, name string) error
	// TagUser adds or replaces tags (keys matched case-insensitively).
	TagUser(ctx context.Context, acct, name string, tags map[string]string) error
	// UntagUser removes tags by key.
	UntagUser(ctx context.Context, acct, name string, keys []string) error
	// ListUserTags returns a user's tags.
	ListUserTags(ctx context.Context, acct, name string) (map[string]string, error)
	// PutUserPermissionsBoundary sets the user's boundary to an existing managed policy.
	PutUserPermissionsBoundary(ctx context.Context, acct, name, policyARN string) error
	// DeleteUserPermissionsBoundary removes the user's boundary.
	DeleteUserPermissionsBoundary(ctx context.Context, acct, name string) error

	// CreateGroup validates g, assigns its ID, ARN and CreatedAt and stores it.
	CreateGroup(ctx context.Context, acct string, g *Group) error
	// GetGroup returns a group by name.
	GetGroup(ctx context.Context, acct, name string) (*Group, error)
	// ListGroups lists groups ordered by name, filtered by PathPrefix.
	ListGroups(ctx context.Context, acct string, opt ListOptions) ([]*Group, string, error)
	// DeleteGroup fails with DeleteConflict while the group has members or
	// inline or attached policies.
	DeleteGroup(ctx context.Context, acct, name string) error
	// AddUserToGroup adds a member (idempotent); LimitExceeded beyond 10 groups per user.
	AddUserToGroup(ctx context.Context, acct, group, user string) error
	// RemoveUserFromGroup removes a member; NoSuchEntity if it is not one.
	RemoveUserFromGroup(ctx context.Context, acct, group, user string) error
	// ListGroupsForUser lists the groups a user belongs to.
	ListGroupsForUser(ctx context.Context, acct, user string, opt ListOptions) ([]*Group, string, error)
	// ListUsersInGroup lists a group's members.
	ListUsersInGroup(ctx context.Context, acct, group string, opt ListOptions) ([]*User, string, error)

	// CreateRole validates r (trust policy included), assigns its ID, ARN,
	// TenantID and CreatedAt and defaults MaxSessionDuration to 3600.
	CreateRole(ctx context.Context, acct string, r *Role) error
	// GetRole returns a role by name.
	GetRole(ctx context.Context, acct, name string) (*Role, error)
	// ListRoles lists roles ordered by name, filtered by PathPrefix.
	ListRoles(ctx context.Context, acct string, opt ListOptions) ([]*Role, string, error)
	// DeleteRole fails with DeleteConflict while the role has inline or
	// attached policies.
	DeleteRole(ctx context.Context, acct, name string) error
	// UpdateAssumeRolePolicy replaces the trust policy after validating it.
	UpdateAssumeRolePolicy(ctx context.Context, acct, name, document string) error
	// UpdateRole sets the description and, when maxSessionDuration is not
	// 0, the maximum session duration.
	UpdateRole(ctx context.Context, acct, name, description string, maxSessionDuration int) error
	// TagRole adds or replaces tags.
	TagRole(ctx context.Context, acct, name string, tags map[string]string) error
	// UntagRole removes tags by key.
	UntagRole(ctx context.Context, acct, name string, keys []string) error
	// ListRoleTags returns a role's tags.
	ListRoleTags(ctx context.Context, acct, name string) (map[string]string, error)
	// PutRolePermissionsBoundary sets the role's boundary to an existing managed policy.
	PutRolePermissionsBoundary(ctx context.Context, acct, name, policyARN string) error
	// DeleteRolePermissionsBoundary removes the role's boundary.
	DeleteRolePermissionsBoundary(ctx context.Context, acct, name string) error
	// RevokeRoleSessions invalidates the role's sessions issued before
	// the given time.
	RevokeRoleSessions(ctx context.Context, acct, name string, before time.Time) error

	// PutInlinePolicy creates or replaces the inline policy name of a
	// user, role or group.
	PutInlinePolicy(ctx context.Context, acct string, to Ref, name, document string) error
	// GetInlinePolicy returns an inline policy document.
	GetInlinePolicy(ctx context.Context, acct string, of Ref, name string) (string, error)
	// DeleteInlinePolicy removes an inline policy.
	DeleteInlinePolicy(ctx context.Context, acct string, of Ref, name string) error
	// ListInlinePolicies lists inline policy names in byte order.
	ListInlinePolicies(ctx context.Context, acct string, of Ref, opt ListOptions) ([]string, string, error)

	// CreatePolicy validates p and its first version's document and
	// stores both (v1, default).
	CreatePolicy(ctx context.Context, acct string, p *Policy, document string) error
	// GetPolicy returns a customer-managed policy of acct or a built-in
	// one.
	GetPolicy(ctx context.Context, acct, policyARN string) (*Policy, error)
	// ListPolicies lists built-in policies, then the account's own, by name.
	ListPolicies(ctx context.Context, acct string, opt PolicyListOptions) ([]*Policy, string, error)
	// DeletePolicy fails with DeleteConflict while the policy is attached,
	// used as a permissions boundary or has versions besides the default.
	DeletePolicy(ctx context.Context, acct, policyARN string) error
	// CreatePolicyVersion adds the next version; LimitExceeded when five
	// exist.
	CreatePolicyVersion(ctx context.Context, acct, policyARN, document string, setAsDefault bool) (*PolicyVersion, error)
	// GetPolicyVersion returns one version with its document.
	GetPolicyVersion(ctx context.Context, acct, policyARN, versionID string) (*PolicyVersion, error)
	// ListPolicyVersions returns every version, newest first.
	ListPolicyVersions(ctx context.Context, acct, policyARN string) ([]*PolicyVersion, error)
	// DeletePolicyVersion fails with DeleteConflict for the default
	// version.
	DeletePolicyVersion(ctx context.Context, acct, policyARN, versionID string) error
	// SetDefaultPolicyVersion makes an existing version the default.
	SetDefaultPolicyVersion(ctx context.Context, acct, policyARN, versionID string) error

	// AttachPolicy attaches a managed policy (of acct, or built-in) to a
	// user, role or group; attaching twice is a no-op.
	AttachPolicy(ctx context.Context, acct string, to Ref, policyARN string) error
	// DetachPolicy removes an attachment; NoSuchEntity if absent.
	DetachPolicy(ctx context.Context, acct string, from Ref, policyARN string) error
	// ListAttachedPolicies lists the managed policies attached to a principal, by ARN.
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
	// UpdateAccessKey sets a key's status (Active or Inactive).
	UpdateAccessKey(ctx context.Context, acct, user, keyID, status string) error
	// DeleteAccessKey removes a user's key.
	DeleteAccessKey(ctx context.Context, acct, user, keyID string) error
	// RecordAccessKeyUse sets the key's last-used time.
	RecordAccessKeyUse(ctx context.Context, keyID string, at time.Time) error

	// CreateOpenIDConnectProvider validates p, normalizes its URL, assigns its ARN and stores it; one provider per URL and account.
	CreateOpenIDConnectProvider(ctx context.Context, acct string, p *OIDCProvider) error
	// GetOpenIDConnectProvider returns a provider by ARN.
	GetOpenIDConnectProvider(ctx context.Context, acct, providerARN string) (*OIDCProvider, error)
	// FindOpenIDConnectProvider looks a provider up by issuer URL, for
	// AssumeRoleWithWebIdentity.
	FindOpenIDConnectProvider(ctx context.Context, acct, issuerURL string) (*OIDCProvider, error)
	// ListOpenIDConnectProviders lists the account's providers by ARN.
	ListOpenIDConnectProviders(ctx context.Context, acct string) ([]*OIDCProvider, error)
	// DeleteOpenIDConnectProvider removes a provider.
	DeleteOpenIDConnectProvider(ctx context.Context, acct, providerARN string) error

	// PoliciesForUser returns the user's effective identity policies and
	// boundary, for the authorizer.
	PoliciesForUser(ctx context.Context, acct, name string) (*Effective, error)
	// PoliciesForRole returns the role's effective identity policies and
	// boundary, for the authorizer.
	PoliciesForRole(ctx context.Context, acct, name string) (*Effective, error)
}
