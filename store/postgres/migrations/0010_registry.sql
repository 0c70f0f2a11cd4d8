-- The model registry (package registry; queries in registry/sqlstore,
-- shared with the SQLite store, whose 0010_registry.sql has the same
-- tables). Every row carries account_id and tenant_id: the owning tenant,
-- '' for a platform group. name_lc and group_lc are lower-cased names
-- (group names are unique per account case-insensitively, as the ARN is),
-- COLLATE "C" so pages order exactly as in SQLite. latest_version is the
-- highest version ever registered in the group, so versions are never
-- reused. Times are stored at millisecond precision. DB.Registry runs on
-- the operator path, DB.RegistryInTenant in one tenant's scope.

CREATE TABLE registry_groups (
    account_id     TEXT COLLATE "C" NOT NULL,
    name_lc        TEXT COLLATE "C" NOT NULL,
    name           TEXT NOT NULL,
    arn            TEXT COLLATE "C" NOT NULL,
    tenant_id      TEXT COLLATE "C" NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    policy         TEXT NOT NULL DEFAULT '',
    tags           JSONB NOT NULL,
    created_by     JSONB NOT NULL,
    latest_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
);
CREATE INDEX registry_groups_created ON registry_groups (account_id, created_at, name_lc);

CREATE TABLE registry_packages (
    account_id           TEXT COLLATE "C" NOT NULL,
    group_lc             TEXT COLLATE "C" NOT NULL,
    version              INTEGER NOT NULL CHECK (version > 0),
    group_name           TEXT NOT NULL,
    arn                  TEXT COLLATE "C" NOT NULL,
    tenant_id            TEXT COLLATE "C" NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    inference            JSONB NOT NULL,
    metrics              JSONB NOT NULL,
    metadata             JSONB NOT NULL,
    approval_status      TEXT NOT NULL CHECK (approval_status IN ('PendingManualApproval', 'Approved', 'Rejected')),
    approval_description TEXT NOT NULL DEFAULT '',
    tags                 JSONB NOT NULL,
    created_by           JSONB NOT NULL,
    last_modified_at     TIMESTAMPTZ,
    last_modified_by     JSONB NOT NULL,
    approval_modified_at TIMESTAMPTZ NOT NULL,
    approval_modified_by JSONB NOT NULL,
    PRIMARY KEY (account_id, group_lc, version),
    UNIQUE (account_id, arn)
);
CREATE INDEX registry_packages_created ON registry_packages (account_id, created_at, group_lc, version);

-- Row-level security, the same on both tables. scope is the transaction's
-- tenant: NULL unless DB.InTenant set app.tenant_id (NULLIF keeps a pooled
-- connection's '' from matching the platform rows' tenant_id '').
--
--   tenant_read, tenant_insert, tenant_update, tenant_delete
--                  a tenant-scoped transaction reads and writes only its
--                  tenant's rows: unlike the serving tables, the platform's
--                  groups are not shown to tenants (no tenant builds on
--                  them), and another tenant's are invisible;
--   operator_access
--                  the operator path (DB.AsOperator) reads and writes all.
--
-- A transaction that sets neither sees nothing.
DO $$
DECLARE
    t text;
    scope constant text := $q$NULLIF(current_setting('app.tenant_id', true), '')$q$;
BEGIN
    FOREACH t IN ARRAY ARRAY['registry_groups', 'registry_packages'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_read ON %I FOR SELECT USING (tenant_id = %s)', t, scope);
        EXECUTE format('CREATE POLICY tenant_insert ON %I FOR INSERT WITH CHECK (tenant_id = %s)', t, scope);
        EXECUTE format('CREATE POLICY tenant_update ON %I FOR UPDATE USING (tenant_id = %s) WITH CHECK (tenant_id = %s)', t, scope, scope);
        EXECUTE format('CREATE POLICY tenant_delete ON %I FOR DELETE USING (tenant_id = %s)', t, scope);
        EXECUTE format($q$CREATE POLICY operator_access ON %I USING (current_setting('app.operator', true) = 'on') WITH CHECK (current_setting('app.operator', true) = 'on')$q$, t);
    END LOOP;
END
$$;
