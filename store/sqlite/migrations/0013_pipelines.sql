-- Promotion pipelines (package promotion; queries in promotion/sqlstore,
-- shared with store/postgres, whose 0013_pipelines.sql has the same
-- tables). Every row carries account_id and tenant_id (the pipeline's
-- tenant). spec is the applied spec as JSON; history a run's transitions.
-- active is 1 for a run a restarted server resumes (neither finished nor
-- awaiting approval). Times are UTC text at millisecond precision.
CREATE TABLE promotion_pipelines (
    account_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    group_name  TEXT NOT NULL,
    spec        TEXT NOT NULL,
    applied_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) STRICT;
CREATE INDEX promotion_pipelines_group ON promotion_pipelines (account_id, group_name);

CREATE TABLE promotion_runs (
    account_id  TEXT NOT NULL,
    pipeline    TEXT NOT NULL,
    id          TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    package_arn TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    active      INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    approved_by TEXT NOT NULL DEFAULT '',
    history     TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, pipeline, id)
) STRICT;
CREATE INDEX promotion_runs_active ON promotion_runs (active);
CREATE INDEX promotion_runs_created ON promotion_runs (account_id, pipeline, created_at);
