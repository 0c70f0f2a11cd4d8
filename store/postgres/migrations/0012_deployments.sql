-- Blue/green endpoint updates and the alarms that roll them back
-- (packages serving and alarm; queries in serving/sqlstore and
-- alarm/sqlstore, shared with store/sqlite, whose 0012_deployments.sql has
-- the same tables). See the SQLite migration for the columns.
CREATE TABLE serving_rollouts (
    account_id TEXT COLLATE "C" NOT NULL,
    name_lc    TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    state      TEXT NOT NULL,
    rollout    TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name_lc)
);

CREATE TABLE cloudwatch_alarms (
    account_id        TEXT COLLATE "C" NOT NULL,
    name              TEXT COLLATE "C" NOT NULL,
    tenant_id         TEXT COLLATE "C" NOT NULL,
    arn               TEXT NOT NULL,
    definition        TEXT NOT NULL,
    state_value       TEXT NOT NULL CHECK (state_value IN ('OK', 'ALARM', 'INSUFFICIENT_DATA')),
    state_reason      TEXT NOT NULL,
    state_updated_at  TIMESTAMPTZ NOT NULL,
    config_updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE INDEX cloudwatch_alarms_tenant ON cloudwatch_alarms (account_id, tenant_id, name);

-- Row-level security, as on the serving tables (0004_serving.sql): a
-- tenant-scoped transaction reads and writes only its tenant's rows (and
-- reads the platform's), the operator path reads and writes all, a
-- transaction that sets neither sees nothing.
DO $$
DECLARE
    t text;
    scope constant text := $q$NULLIF(current_setting('app.tenant_id', true), '')$q$;
BEGIN
    FOREACH t IN ARRAY ARRAY['serving_rollouts', 'cloudwatch_alarms'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_read ON %I FOR SELECT USING (tenant_id = %s OR (tenant_id = %L AND %s IS NOT NULL))', t, scope, '', scope);
        EXECUTE format('CREATE POLICY tenant_insert ON %I FOR INSERT WITH CHECK (tenant_id = %s)', t, scope);
        EXECUTE format('CREATE POLICY tenant_update ON %I FOR UPDATE USING (tenant_id = %s) WITH CHECK (tenant_id = %s)', t, scope, scope);
        EXECUTE format('CREATE POLICY tenant_delete ON %I FOR DELETE USING (tenant_id = %s)', t, scope);
        EXECUTE format($q$CREATE POLICY operator_access ON %I USING (current_setting('app.operator', true) = 'on') WITH CHECK (current_setting('app.operator', true) = 'on')$q$, t);
    END LOOP;
END
$$;
