-- Control-plane resources (package serving; the queries are in
-- serving/sqlstore and shared with the SQLite store, whose
-- 0004_serving.sql has the same tables). Every row carries account_id and
-- tenant_id: the owning tenant, '' for a platform resource (the pool
-- endpoint). name_lc is the lower-cased name (names are unique per account
-- and kind case-insensitively, as the ARN is), COLLATE "C" so pages order
-- exactly as in SQLite. Times are stored at millisecond precision.
--
-- Row-level security as on the IAM tables: a tenant-scoped transaction
-- (DB.InTenant, used by DB.ServingInTenant) sees and writes only rows of
-- its tenant; the operator path (DB.AsOperator, used by DB.Serving) sees
-- all. A transaction that sets neither sees nothing. NULLIF keeps a pooled
-- connection's '' app.tenant_id from matching the platform rows'
-- tenant_id '': platform rows are reachable only on the operator path.

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

ALTER TABLE serving_models ENABLE ROW LEVEL SECURITY;
ALTER TABLE serving_models FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON serving_models
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON serving_models
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE serving_endpoint_configs ENABLE ROW LEVEL SECURITY;
ALTER TABLE serving_endpoint_configs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON serving_endpoint_configs
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON serving_endpoint_configs
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE serving_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE serving_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON serving_endpoints
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON serving_endpoints
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE serving_tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE serving_tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON serving_tags
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON serving_tags
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
