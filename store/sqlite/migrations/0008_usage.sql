-- Usage records (package metering; queries in metering/sqlstore, shared
-- with store/postgres, whose 0008_usage.sql has the same tables). One row
-- per tenant, hour (UTC text, fixed width, the hour's start) and
-- dimension; value is in the dimension's stored unit and only grows.
CREATE TABLE usage_records (
    tenant_id TEXT NOT NULL,
    hour      TEXT NOT NULL,
    dimension TEXT NOT NULL,
    value     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hour, dimension)
) STRICT;
CREATE INDEX usage_records_hour ON usage_records (hour, tenant_id);

-- Where each usage source has been metered up to (an audit seq, or a time
-- in Unix milliseconds), moved in the transaction that adds its usage.
CREATE TABLE usage_watermarks (
    source   TEXT PRIMARY KEY,
    position INTEGER NOT NULL
) STRICT;
