// Package postgres is the scale-out metadata store: PostgreSQL through
// jackc/pgx v5 (pgxpool), where the database itself enforces tenancy with
// row-level security (RLS).
//
// # Roles
//
// Two roles take part. The owner (Config.AdminURL) runs the embedded
// migrations (migrations/*.sql, applied in name order, each in its own
// transaction, recorded in schema_migrations, under pg_advisory_lock so that
// servers starting together do not race) and owns every table. The app role
// (Config.URL) is what the service uses at run time; the owner creates it if
// missing (LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE) and grants
// it only SELECT, INSERT, UPDATE, DELETE on the tables and USAGE on
// sequences. Open fails closed (ErrUnsafeRole) unless the app role is bound
// by RLS: not a superuser, no BYPASSRLS, owning — directly or by membership —
// no relation of the schema, nor the schema, nor the database, and every
// table it can reach has RLS enabled and forced.
//
// # The RLS contract
//
// Every tenant-owned table has a tenant_id column, ENABLE and FORCE ROW
// LEVEL SECURITY, and the policy
//
//	USING (tenant_id = current_setting('app.tenant_id', true))
//	WITH CHECK (tenant_id = current_setting('app.tenant_id', true))
//
// The tenants table is tenant-owned too (a tenant's row has tenant_id = its
// own ID). A tenant-scoped unit of work is one transaction opened by
// DB.InTenant, which first runs SELECT set_config('app.tenant_id', $1, true):
// the setting is transaction-local, so a pooled connection never carries a
// tenant into the next transaction. Inside it, any query — even one that
// omits the tenant filter — reads, updates and deletes only that tenant's
// rows, and a write of another tenant's row fails (EFORBIDDEN).
//
// Operator-wide work goes through the separately named DB.AsOperator, which
// sets app.operator = 'on' for the transaction; a second policy on each
// table, USING (current_setting('app.operator', true) = 'on'), admits it.
// Only ListTenants, CreateTenant and the platform secrets (operator-only,
// not tenant-owned) use it. A transaction that sets neither sees no rows.
//
// What RLS does and does not guard: it turns a forgotten tenant filter or a
// bug in a query into an empty result instead of a leak. It does not stop a
// caller that can run arbitrary SQL on the app connection, which could set
// app.tenant_id itself; the service never builds SQL from request input.
//
// Results mirror store/sqlite exactly: the same error codes, tenants ordered
// bytewise by ID (COLLATE "C"), the same pagination, times at microsecond
// precision in UTC.
package postgres
