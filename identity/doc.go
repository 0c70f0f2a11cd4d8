// Package identity is the IAM entity model of an account, as AWS models
// it: users, groups and memberships, roles with trust policies, managed
// policies with up to five versions and one default, inline policies,
// attachments, permissions boundaries, tags, long-term access keys and
// OpenID Connect providers. It holds the types, their validation (names,
// paths, tags, documents through iam.Parse, limits) and the Service
// interface that store adapters implement (store/sqlite, store/postgres);
// it does no I/O itself.
//
// # Contract
//
// Every entity belongs to one account (a 12-digit ID) and one tenant: the
// value of its TenantID tag at creation, "" for platform principals. The
// tenant never changes; Tag/Untag operations that would add, change or
// remove the TenantID tag fail with InvalidInput. Names are unique within
// an account case-insensitively and keep the case they were created with.
// Entities of one account are never visible from another; only
// GetAccessKey and RecordAccessKeyUse work across accounts (authentication
// knows only the key ID).
//
// # Accounts
//
// A deployment has a primary account (configured) and further accounts
// (Accounts.Create: a fresh 12-digit ID and a root key whose secret is a
// platform secret sealed under the master key, shown once). Credentials
// authenticates the primary root, further accounts' roots (by their root
// key ID) and the users of any account of the deployment.
//
// Errors are *tenantml.Error values carrying AWS's codes (NoSuchEntity,
// EntityAlreadyExists, LimitExceeded, DeleteConflict,
// MalformedPolicyDocument, ValidationError, InvalidInput) for the IAM query
// API; each unwraps to a *tenantml.Error with the generic code
// (ENOTFOUND, ECONFLICT, EINVALID) so generic paths need not know IAM.
//
// Access key secrets are never seen in the clear here: the caller seals
// them with the platform master key and hands the sealed bytes to
// CreateAccessKey; GetAccessKey returns them sealed.
//
// # Built-in policies
//
// Five read-only managed policies exist in every account with ARNs
// arn:aws:iam::aws:policy/tenantml/<Name> (documents in builtin/*.json,
// embedded): PlatformAdministrator, and the ABAC tenant policies
// TenantAdmin, DataScientist and Viewer pinned to
// ${aws:PrincipalTag/TenantID}, plus TenantRoleBoundary, the permissions
// boundary the platform sets on tenant-created users and roles. See
// docs/identity.md.
//
// # Policy documents
//
// Inline and managed documents are validated as identity policies (inline:
// 10,240 characters per document, a simplification of AWS's per-principal
// aggregate; managed: 6,144), trust policies as resource policies with a
// Principal (2,048). Boundaries are managed policy ARNs that must exist.
package identity
