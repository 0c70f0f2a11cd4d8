-- Application Auto Scaling (package autoscale; queries in
-- autoscale/sqlstore, shared with store/postgres, whose
-- 0011_autoscaling.sql has the same tables). Every row carries the TenantID
-- of the endpoint the variant belongs to ('' for the platform's pool
-- endpoint). Times are UTC text, fixed width.
CREATE TABLE autoscaling_targets (
    account_id   TEXT NOT NULL,
    resource_id  TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    min_capacity INTEGER NOT NULL,
    max_capacity INTEGER NOT NULL,
    role_arn     TEXT NOT NULL,
    arn          TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, resource_id)
) STRICT;
CREATE INDEX autoscaling_targets_tenant ON autoscaling_targets (tenant_id, account_id, resource_id);

CREATE TABLE autoscaling_policies (
    account_id  TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    policy_name TEXT NOT NULL,
    tenant_id   TEXT NOT NULL,
    arn         TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, resource_id, policy_name),
    FOREIGN KEY (account_id, resource_id) REFERENCES autoscaling_targets (account_id, resource_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX autoscaling_policies_tenant ON autoscaling_policies (tenant_id, account_id, resource_id);

CREATE TABLE autoscaling_activities (
    account_id     TEXT NOT NULL,
    activity_id    TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    resource_id    TEXT NOT NULL,
    from_count     INTEGER NOT NULL,
    to_count       INTEGER NOT NULL,
    description    TEXT NOT NULL,
    cause          TEXT NOT NULL,
    status_code    TEXT NOT NULL,
    status_message TEXT NOT NULL,
    start_time     TEXT NOT NULL,
    end_time       TEXT NOT NULL,
    PRIMARY KEY (account_id, activity_id)
) STRICT;
CREATE INDEX autoscaling_activities_tenant ON autoscaling_activities (tenant_id, account_id, resource_id, start_time);
