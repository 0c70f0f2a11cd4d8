-- Control-plane resources (package serving; the queries are in
-- serving/sqlstore and shared with the SQLite store, whose
-- 0004_serving.sql has the same tables). Every row carries account_id and
-- tenant_id: the owning tenant, '' for a platform resource (the pool
-- endpoint). name_lc is the lower-cased name (names are unique per account
-- and kind case-insensitively, as the ARN is), COLLATE "C" so pages order
-- exactly as in SQLite. Times are stored at millisecond precision.
-- DB.Serving runs on the operator path, DB.ServingInTenant in one tenant's
-- scope (the policies at the end).

CREATE TABLE serving_models (
    account_id         TEXT COLLATE "C" NOT NULL,
    name_lc            TEXT COLLATE "C" NOT NULL,
    name               TEXT NOT NULL,
    arn                TEXT COLLATE "C" NOT NULL,
    tenant_id          TEXT COLLATE "C" NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    primary_container  JSONB NOT NULL,
    execution_role_arn TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
);
CREATE INDEX serving_models_created ON serving_models (account_id, created_at, name_lc);

CREATE TABLE serving_endpoint_configs (
    account_id          TEXT COLLATE "C" NOT NULL,
    name_lc             TEXT COLLATE "C" NOT NULL,
    name                TEXT NOT NULL,
    arn                 TEXT COLLATE "C" NOT NULL,
    tenant_id           TEXT COLLATE "C" NOT NULL,
    created_at          TIMESTAMPTZ NOT NULL,
    production_variants JSONB NOT NULL,
    kms_key_id          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
);
CREATE INDEX serving_endpoint_configs_created ON serving_endpoint_configs (account_id, created_at, name_lc);

-- version is the optimistic concurrency token (1 on creation, +1 per
-- update).
CREATE TABLE serving_endpoints (
    account_id       TEXT COLLATE "C" NOT NULL,
    name_lc          TEXT COLLATE "C" NOT NULL,
    name             TEXT NOT NULL,
    arn              TEXT COLLATE "C" NOT NULL,
    tenant_id        TEXT COLLATE "C" NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    config_name      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('Creating', 'Updating', 'InService', 'Deleting', 'Failed')),
    failure_reason   TEXT NOT NULL DEFAULT '',
    last_modified_at TIMESTAMPTZ NOT NULL,
    version          BIGINT NOT NULL,
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
);
CREATE INDEX serving_endpoints_created ON serving_endpoints (account_id, created_at, name_lc);

-- Tags of the resources above, by ARN; tenant_id is the resource's.
CREATE TABLE serving_tags (
    account_id TEXT COLLATE "C" NOT NULL,
    arn        TEXT COLLATE "C" NOT NULL,
    tag_key    TEXT COLLATE "C" NOT NULL,
    tag_value  TEXT NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, arn, tag_key)
);

-- Row-level security, the same on the four tables. scope is the
-- transaction's tenant: NULL unless DB.InTenant set app.tenant_id (a pooled
-- connection reports '' once any earlier transaction set it; NULLIF keeps
-- that from matching the platform rows' tenant_id '').
--
--   tenant_read    a tenant-scoped transaction reads its tenant's rows and
--                  the platform's (the controller shows platform resources,
--                  such as the pool endpoint, to every tenant);
--   tenant_insert, tenant_update, tenant_delete
--                  it writes only its tenant's rows: a platform row or
--                  another tenant's is neither updated nor deleted, and
--                  inserting one fails (EFORBIDDEN);
--   operator_access
--                  the operator path (DB.AsOperator) reads and writes all.
--
-- A transaction that sets neither sees nothing.
DO $$
DECLARE
    t text;
    scope constant text := $q$NULLIF(current_setting('app.tenant_id', true), '')$q$;
BEGIN
    FOREACH t IN ARRAY ARRAY['serving_models', 'serving_endpoint_configs', 'serving_endpoints', 'serving_tags'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_read ON %I FOR SELECT USING (tenant_id = %s OR (tenant_id = %L AND %s IS NOT NULL))', t, scope, '', scope);
        EXECUTE format('CREATE POLICY tenant_insert ON %I FOR INSERT WITH CHECK (tenant_id = %s)', t, scope);
        EXECUTE format('CREATE POLICY tenant_update ON %I FOR UPDATE USING (tenant_id = %s) WITH CHECK (tenant_id = %s)', t, scope, scope);
        EXECUTE format('CREATE POLICY tenant_delete ON %I FOR DELETE USING (tenant_id = %s)', t, scope);
        EXECUTE format($q$CREATE POLICY operator_access ON %I USING (current_setting('app.operator', true) = 'on') WITH CHECK (current_setting('app.operator', true) = 'on')$q$, t);
    END LOOP;
END
$$;
