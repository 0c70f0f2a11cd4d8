-- Application Auto Scaling (package autoscale; queries in
-- autoscale/sqlstore, shared with store/sqlite, whose 0011_autoscaling.sql
-- has the same tables). Every row carries the TenantID of the endpoint the
-- variant belongs to ('' for the platform's pool endpoint).
CREATE TABLE autoscaling_targets (
    account_id   TEXT COLLATE "C" NOT NULL,
    resource_id  TEXT COLLATE "C" NOT NULL,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    min_capacity INTEGER NOT NULL,
    max_capacity INTEGER NOT NULL,
    role_arn     TEXT NOT NULL,
    arn          TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, resource_id)
);
CREATE INDEX autoscaling_targets_tenant ON autoscaling_targets (tenant_id, account_id, resource_id);

CREATE TABLE autoscaling_policies (
    account_id  TEXT COLLATE "C" NOT NULL,
    resource_id TEXT COLLATE "C" NOT NULL,
    policy_name TEXT COLLATE "C" NOT NULL,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    arn         TEXT NOT NULL,
    policy_type TEXT NOT NULL,
    config      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, resource_id, policy_name),
    FOREIGN KEY (account_id, resource_id) REFERENCES autoscaling_targets (account_id, resource_id) ON DELETE CASCADE
);
CREATE INDEX autoscaling_policies_tenant ON autoscaling_policies (tenant_id, account_id, resource_id);

CREATE TABLE autoscaling_activities (
    account_id     TEXT COLLATE "C" NOT NULL,
    activity_id    TEXT COLLATE "C" NOT NULL,
    tenant_id      TEXT COLLATE "C" NOT NULL,
    resource_id    TEXT COLLATE "C" NOT NULL,
    from_count     INTEGER NOT NULL,
    to_count       INTEGER NOT NULL,
    description    TEXT NOT NULL,
    cause          TEXT NOT NULL,
    status_code    TEXT NOT NULL,
    status_message TEXT NOT NULL,
    start_time     TIMESTAMPTZ NOT NULL,
    end_time       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, activity_id)
);
CREATE INDEX autoscaling_activities_tenant ON autoscaling_activities (tenant_id, account_id, resource_id, start_time);

-- Row-level security. A tenant-scoped transaction (DB.AutoscalingInTenant)
-- reads and writes only its tenant's rows; the API (which authorizes every
-- request and names the tenant in every query) and the scaler use the
-- operator path (DB.Autoscaling). A transaction that sets neither sees
-- nothing.
DO $$
DECLARE t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['autoscaling_targets', 'autoscaling_policies', 'autoscaling_activities'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format($q$CREATE POLICY tenant_isolation ON %I
            USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
            WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))$q$, t);
        EXECUTE format($q$CREATE POLICY operator_access ON %I
            USING (current_setting('app.operator', true) = 'on')
            WITH CHECK (current_setting('app.operator', true) = 'on')$q$, t);
    END LOOP;
END $$;
