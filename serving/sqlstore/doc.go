// Package sqlstore implements serving.Store over SQL, once for both
// metadata stores: store/sqlite runs it in its transactions, store/postgres
// in transactions whose row-level security scope it chooses (the operator
// path, or one tenant). The adapters own the schema (their migrations
// create the same serving_* tables) and the transaction scope; this package
// owns the queries and the rules that need the database. It imports no
// driver; the transaction interface is package store/sqltx's.
//
// # Tables
//
// serving_models, serving_endpoint_configs and serving_endpoints hold one
// row per resource, keyed by (account_id, name_lc): name_lc is the
// lower-cased name, so names are unique per account and kind
// case-insensitively, as the ARN (which lower-cases the name) is unique.
// Each row keeps the name as created, the ARN, tenant_id (the owning
// tenant, ” for a platform resource) and created_at; a model its primary
// container and an endpoint config its production variants as JSON; an
// endpoint its config name, status, failure reason, last_modified_at and
// version. serving_tags holds one row per tag, keyed by (account_id, arn,
// tag_key), with the resource's tenant_id.
//
// # Rules
//
//   - Create of a taken name (in any case) is ECONFLICT; Get, Update, Delete
//     and tagging of a missing resource are ENOTFOUND; a resource of another
//     account is missing.
//   - The ARN given at creation must be the resource's: a SageMaker ARN of
//     the account, of the kind, naming the lower-cased name.
//   - A resource's tenant is fixed at creation, as an IAM entity's is. A
//     TenantID tag (the key matched case-insensitively) given at creation
//     must name the resource's tenant; SetTags may not add, change or
//     remove it, nor may RemoveTags remove it (EINVALID). Tag keys match
//     case-insensitively, the last spelling set winning.
//   - UpdateEndpoint writes the config name, status and failure reason if
//     the endpoint's Version is the stored one (ECONFLICT otherwise), and
//     bumps Version and LastModifiedAt; name, ARN, tenant, tags and
//     creation time are fixed.
//   - Delete removes the resource and its tags.
//   - A write that matches no row although the transaction sees the row
//     (on PostgreSQL, a tenant-scoped transaction reads platform rows but
//     may not write them) is EFORBIDDEN.
//   - Times are UTC at millisecond precision: CreatedAt and LastModifiedAt
//     are Now truncated to the millisecond. The list bounds CreatedAfter
//     and CreatedBefore are exclusive and compare with the CreatedAt the
//     store reports, whatever the bounds' own precision (a bound inside a
//     millisecond is rounded down for After, up for Before).
//
// # Listing
//
// ListFilter.Tenant, when set, keeps exactly that tenant's resources
// (platform resources, tenant_id ”, are not among them); "" keeps every
// resource the transaction can see. NameContains matches the name
// case-insensitively and, as SageMaker's, is 1–63 letters, digits and
// hyphens. Status applies to endpoints only (EINVALID on the other
// lists). Limit is 1–100, 0 meaning 10; anything else is EINVALID.
//
// Pages are keyset pages: ordered by name_lc, or by (created_at, name_lc)
// with SortByCreationTime, ascending or descending; the next-page token is
// base64url of a small JSON record of the kind, the order and the last
// row's key (its name_lc and, by time, its creation time in Unix
// milliseconds). The next page starts strictly after that key, so rows
// inserted or deleted between pages never shift a page: each row present
// throughout is listed exactly once. A token is only valid for the same
// kind and order (EINVALID otherwise); an empty token means no further
// page.
package sqlstore
