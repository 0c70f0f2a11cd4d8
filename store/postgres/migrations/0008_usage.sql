-- Usage records (package metering; queries in metering/sqlstore, shared
-- with store/sqlite, whose 0008_usage.sql has the same tables). One row
-- per tenant, hour (the hour's start) and dimension; value is in the
-- dimension's stored unit and only grows.
CREATE TABLE usage_records (
    tenant_id TEXT COLLATE "C" NOT NULL,
    hour      TIMESTAMPTZ NOT NULL,
    dimension TEXT COLLATE "C" NOT NULL,
    value     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hour, dimension)
);
CREATE INDEX usage_records_hour ON usage_records (hour, tenant_id);

-- Where each usage source has been metered up to (an audit seq, or a time
-- in Unix milliseconds), moved in the transaction that adds its usage.
CREATE TABLE usage_watermarks (
    source   TEXT COLLATE "C" PRIMARY KEY,
    position BIGINT NOT NULL
);

-- Row-level security. A tenant-scoped transaction (DB.UsageInTenant)
-- reads only its tenant's records and writes none; the meters write on
-- the operator path (DB.Usage), which reads and writes all. Watermarks
-- belong to no tenant: operator only. A transaction that sets neither
-- sees nothing.
ALTER TABLE usage_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON usage_records FOR SELECT
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON usage_records
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE usage_watermarks ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_watermarks FORCE ROW LEVEL SECURITY;
CREATE POLICY operator_access ON usage_watermarks
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
