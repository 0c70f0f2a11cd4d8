-- Tenant registry. The tenants table is tenant-owned: a tenant's own row has
-- tenant_id = its ID. IDs sort bytewise (COLLATE "C") so that pagination
-- orders exactly as the SQLite store does.
CREATE TABLE tenants (
    tenant_id             TEXT COLLATE "C" PRIMARY KEY CHECK (tenant_id <> ''),
    display_name          TEXT NOT NULL,
    isolation             TEXT NOT NULL CHECK (isolation IN ('silo', 'pool', 'bridge')),
    tier                  TEXT NOT NULL,
    home_region           TEXT NOT NULL,
    tags                  JSONB NOT NULL DEFAULT '{}',
    status                TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'pending_deletion')),
    created_at            TIMESTAMPTZ NOT NULL,
    updated_at            TIMESTAMPTZ NOT NULL,
    deletion_requested_at TIMESTAMPTZ,
    version               BIGINT NOT NULL
);

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;

-- A tenant-scoped transaction (InTenant) sees and writes only its own rows.
CREATE POLICY tenant_isolation ON tenants
    USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));

-- The operator path (AsOperator) lists tenants and creates them.
CREATE POLICY operator_access ON tenants
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

-- Platform-wide sealed secrets (operator root credentials). Not tenant-owned:
-- reachable only through the operator path.
CREATE TABLE platform_secrets (
    name  TEXT COLLATE "C" PRIMARY KEY,
    value BYTEA NOT NULL
);

ALTER TABLE platform_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_secrets FORCE ROW LEVEL SECURITY;

CREATE POLICY operator_only ON platform_secrets
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
