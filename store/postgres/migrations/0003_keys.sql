-- Per-tenant customer master keys (package keys): the metadata document and
-- the KEK-wrapped Tink keyset, both opaque here. revision is the optimistic
-- concurrency token (1 on creation, +1 per replace). IDs and names sort
-- bytewise (COLLATE "C") as on SQLite.
CREATE TABLE kms_keys (
    tenant_id TEXT COLLATE "C" NOT NULL CHECK (tenant_id <> ''),
    key_id    TEXT COLLATE "C" NOT NULL CHECK (key_id <> ''),
    meta      BYTEA NOT NULL,
    keyset    BYTEA NOT NULL,
    revision  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key_id)
);

CREATE TABLE kms_aliases (
    tenant_id TEXT COLLATE "C" NOT NULL CHECK (tenant_id <> ''),
    name      TEXT COLLATE "C" NOT NULL CHECK (name <> ''),
    key_id    TEXT COLLATE "C" NOT NULL,
    revision  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

-- A tenant-scoped transaction (InTenant) sees and writes only its own rows;
-- a pooled connection's empty app.tenant_id matches nothing. The operator
-- path (AsOperator) is used only by the sweeps' ListTenants.
ALTER TABLE kms_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE kms_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kms_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON kms_keys
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE kms_aliases ENABLE ROW LEVEL SECURITY;
ALTER TABLE kms_aliases FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON kms_aliases
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON kms_aliases
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
