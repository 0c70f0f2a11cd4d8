-- Control-plane resources (package serving; queries in serving/sqlstore,
-- shared with store/postgres, whose 0004_serving.sql has the same tables).
-- Every row carries account_id and tenant_id (the owning tenant, '' for a
-- platform resource). name_lc is the lower-cased name: names are unique per
-- account and kind case-insensitively, as the ARN is. Times are UTC text
-- at millisecond precision, fixed-width so that they order as times.
CREATE TABLE serving_models (
    account_id         TEXT NOT NULL,
    name_lc            TEXT NOT NULL,
    name               TEXT NOT NULL,
    arn                TEXT NOT NULL,
    tenant_id          TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    primary_container  TEXT NOT NULL,
    execution_role_arn TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
) STRICT;
CREATE INDEX serving_models_created ON serving_models (account_id, created_at, name_lc);

CREATE TABLE serving_endpoint_configs (
    account_id          TEXT NOT NULL,
    name_lc             TEXT NOT NULL,
    name                TEXT NOT NULL,
    arn                 TEXT NOT NULL,
    tenant_id           TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    production_variants TEXT NOT NULL,
    kms_key_id          TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
) STRICT;
CREATE INDEX serving_endpoint_configs_created ON serving_endpoint_configs (account_id, created_at, name_lc);

-- version is the optimistic concurrency token (1 on creation, +1 per
-- update).
CREATE TABLE serving_endpoints (
    account_id       TEXT NOT NULL,
    name_lc          TEXT NOT NULL,
    name             TEXT NOT NULL,
    arn              TEXT NOT NULL,
    tenant_id        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    config_name      TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('Creating', 'Updating', 'InService', 'Deleting', 'Failed')),
    failure_reason   TEXT NOT NULL DEFAULT '',
    last_modified_at TEXT NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
) STRICT;
CREATE INDEX serving_endpoints_created ON serving_endpoints (account_id, created_at, name_lc);

-- Tags of the resources above, by ARN; tenant_id is the resource's.
CREATE TABLE serving_tags (
    account_id TEXT NOT NULL,
    arn        TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    PRIMARY KEY (account_id, arn, tag_key)
) STRICT;
