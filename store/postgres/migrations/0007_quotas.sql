-- Quotas (package quota; the queries are in quota/sqlstore, shared with
-- the SQLite store, whose 0007_quotas.sql has the same tables).
-- quota_tiers are platform rows: the operator path only. tenant_quotas
-- hold each tenant's overrides: a tenant-scoped transaction (InTenant)
-- sees and writes only its own row; the operator path reads and writes
-- all.
CREATE TABLE quota_tiers (
    name       TEXT COLLATE "C" PRIMARY KEY,
    limits     JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    version    BIGINT NOT NULL
);

ALTER TABLE quota_tiers ENABLE ROW LEVEL SECURITY;
ALTER TABLE quota_tiers FORCE ROW LEVEL SECURITY;

CREATE POLICY operator_only ON quota_tiers
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

CREATE TABLE tenant_quotas (
    tenant_id  TEXT COLLATE "C" PRIMARY KEY CHECK (tenant_id <> ''),
    limits     JSONB NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE tenant_quotas ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_quotas FORCE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON tenant_quotas
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));

CREATE POLICY operator_access ON tenant_quotas
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
