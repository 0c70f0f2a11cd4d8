// Package sqlstore implements identity.Service over SQL, once for both
// metadata stores: store/sqlite runs it in its database/sql transactions,
// store/postgres in pgx transactions that first set the row-level security
// scope (the transaction interface, dialect and scanners are package
// store/sqltx's). The adapters own the schema (their migrations create
// identical iam_* tables) and the transaction scope; this package owns the
// queries and the IAM rules that need the database (existence, uniqueness,
// limits, delete conflicts). It imports no driver.
//
// Queries are written with ? placeholders and rewritten to $n when
// Dialect.Numbered is set; no query text ever comes from input.
//
// Every entity row carries account_id and tenant_id (the entity's TenantID
// tag at creation; for memberships, attachments, inline policies, policy
// versions and access keys, the owning principal's or policy's tenant).
// Listing pages are ordered by the lower-cased name, which is also the
// marker.
package sqlstore
