-- Blue/green endpoint updates and the alarms that roll them back
-- (packages serving and alarm; queries in serving/sqlstore and
-- alarm/sqlstore, shared with store/postgres, whose 0012_deployments.sql
-- has the same tables).
--
-- serving_rollouts: each endpoint's current or last blue/green update, one
-- row per endpoint, keyed as serving_endpoints (account_id, name_lc);
-- tenant_id is the endpoint's. rollout is the Rollout as JSON (its
-- DeploymentConfig, old and new config, state, step, reason, times).
CREATE TABLE serving_rollouts (
    account_id TEXT NOT NULL,
    name_lc    TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    state      TEXT NOT NULL,
    rollout    TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, name_lc)
) STRICT;

-- cloudwatch_alarms: metric alarms, names unique per account (case
-- sensitive, as CloudWatch's). definition is the alarm's definition as
-- JSON; the state columns change on evaluation only.
CREATE TABLE cloudwatch_alarms (
    account_id        TEXT NOT NULL,
    name              TEXT NOT NULL,
    tenant_id         TEXT NOT NULL,
    arn               TEXT NOT NULL,
    definition        TEXT NOT NULL,
    state_value       TEXT NOT NULL CHECK (state_value IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
    state_reason      TEXT NOT NULL,
    state_updated_at  TEXT NOT NULL,
    config_updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
) STRICT;
CREATE INDEX cloudwatch_alarms_tenant ON cloudwatch_alarms (account_id, tenant_id, name);
