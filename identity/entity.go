package identity

import "time"

// Kind is the kind of principal a policy is attached to.
type Kind string

// Principal kinds that hold inline policies and attachments.
const (
	KindUser  Kind = "user"
	KindRole  Kind = "role"
	KindGroup Kind = "group"
)

// Ref names a user, role or group of an account.
type Ref struct {
	Kind Kind
	Name string
}

// User is an IAM user.
type User struct {
	AccountID string
	Name      string
	// Path defaults to "/".
	Path string
	// ID is the unique ID ("AIDA" + 16 characters), assigned on create.
	ID string
	// ARN is arn:aws:iam::<account>:user<path><name>, assigned on create.
	ARN string
	// TenantID is the user's TenantID tag at creation ("" for platform
	// users); it never changes.
	TenantID string
	Tags     map[string]string
	// PermissionsBoundary is the ARN of the managed policy bounding the
	// user, "" for none.
	PermissionsBoundary string
	CreatedAt           time.Time
}

// Group is an IAM group. Groups have no tags (as on AWS) and belong to the
// platform (TenantID "").
type Group struct {
	AccountID string
	Name      string
	Path      string
	// ID is the unique ID ("AGPA" + 16 characters).
	ID        string
	ARN       string
	CreatedAt time.Time
}

// Role is an IAM role.
type Role struct {
	AccountID string
	Name      string
	Path      string
	// ID is the unique ID ("AROA" + 16 characters).
	ID       string
	ARN      string
	TenantID string
	// AssumeRolePolicyDocument is the trust policy (a resource policy with
	// a Principal).
	AssumeRolePolicyDocument string
	Description              string
	// MaxSessionDuration is in seconds, 3600–43200; 0 on create means 3600.
	MaxSessionDuration  int
	PermissionsBoundary string
	Tags                map[string]string
	CreatedAt           time.Time
	// SessionsRevokedBefore, when set, invalidates every session of the
	// role issued before it (aws:TokenIssueTime).
	SessionsRevokedBefore *time.Time
}

// Policy is a managed policy: a customer-managed one of an account, or a
// built-in one (AccountID "aws", Builtin true, read-only).
type Policy struct {
	AccountID string
	Name      string
	Path      string
	// ID is the unique ID ("ANPA" + 16 characters).
	ID               string
	ARN              string
	TenantID         string
	Description      string
	DefaultVersionID string
	// AttachmentCount is the number of users, roles and groups of the
	// account the policy is attached to.
	AttachmentCount int
	// BoundaryUsageCount is the number of users and roles of the account
	// that use the policy as their permissions boundary.
	BoundaryUsageCount int
	Tags               map[string]string
	Builtin            bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// PolicyVersion is one version (v1, v2, ...) of a managed policy.
type PolicyVersion struct {
	PolicyARN string
	VersionID string
	Document  string
	IsDefault bool
	CreatedAt time.Time
}

// AttachedPolicy is a managed policy attached to a user, role or group.
type AttachedPolicy struct {
	PolicyName string
	PolicyARN  string
}

// Access key statuses.
const (
	Active   = "Active"
	Inactive = "Inactive"
)

// AccessKey is a user's long-term access key. The secret is held sealed:
// the caller encrypts it (with the platform master key) before
// CreateAccessKey and decrypts it after GetAccessKey; the store never sees
// it in the clear.
type AccessKey struct {
	// ID is "AKIA" + 16 characters; CreateAccessKey assigns one when empty.
	ID        string
	AccountID string
	UserName  string
	// UserID and UserARN are filled on reads.
	UserID   string
	UserARN  string
	TenantID string
	// Status is Active or Inactive; "" on create means Active.
	Status string
	// SealedSecret is the encrypted secret. Only GetAccessKey returns it.
	SealedSecret []byte
	CreatedAt    time.Time
	LastUsedAt   *time.Time
}

// OIDCProvider is an OpenID Connect identity provider trusted by an
// account for AssumeRoleWithWebIdentity.
type OIDCProvider struct {
	AccountID string
	// URL is the issuer, https://host[/path], as the tokens' iss claim
	// carries it.
	URL string
	// ARN is arn:aws:iam::<account>:oidc-provider/<host/path>.
	ARN         string
	ClientIDs   []string
	Thumbprints []string
	// ClaimTags maps a token claim to a session tag key (tenantml
	// extension), e.g. {"tenant_id": "TenantID"}.
	ClaimTags map[string]string
	Tags      map[string]string
	TenantID  string
	CreatedAt time.Time
}

// Document is one policy document taking part in a principal's decisions,
// with where it came from for diagnostics.
type Document struct {
	// Source is "user", "role" or "group/<name>" for inline policies and
	// "managed" for attached ones (or "managed via group/<name>").
	Source string
	// Name is the inline policy name or the managed policy name.
	Name string
	// ARN and VersionID are set for managed policies.
	ARN       string
	VersionID string
	Document  string
}

// Effective is everything the authorizer needs about a user's or role's
// own policies.
type Effective struct {
	AccountID string
	// ARN and ID are the principal's.
	ARN      string
	ID       string
	TenantID string
	Tags     map[string]string
	// Policies are the identity policies: inline ones, attached managed
	// ones at their default version and, for users, their groups' inline
	// and attached policies. A managed policy appears once.
	Policies []Document
	// Boundary is the permissions boundary document, nil for none.
	Boundary *Document
	// SessionsRevokedBefore is the role's revocation time (roles only).
	SessionsRevokedBefore *time.Time
}
