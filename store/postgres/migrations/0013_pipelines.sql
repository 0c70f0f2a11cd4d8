-- Promotion pipelines (package promotion; queries in promotion/sqlstore,
-- shared with the SQLite store, whose 0013_pipelines.sql has the same
-- tables). Every row carries account_id and tenant_id (the pipeline's
-- tenant). spec is the applied spec; history a run's transitions. active
-- is 1 for a run a restarted server resumes. DB.Pipelines runs on the
-- operator path (the runner, and the API after it authorized and scoped a
-- call), DB.PipelinesInTenant in one tenant's scope.

CREATE TABLE promotion_pipelines (
    account_id  TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    group_name  TEXT COLLATE "C" NOT NULL,
    spec        JSONB NOT NULL,
    applied_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name)
);
CREATE INDEX promotion_pipelines_group ON promotion_pipelines (account_id, group_name);

CREATE TABLE promotion_runs (
    account_id  TEXT COLLATE "C" NOT NULL,
    pipeline    TEXT COLLATE "C" NOT NULL,
    id          TEXT COLLATE "C" NOT NULL,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    package_arn TEXT NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    active      INTEGER NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    approved_by TEXT NOT NULL DEFAULT '',
    history     JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, pipeline, id)
);
CREATE INDEX promotion_runs_active ON promotion_runs (active);
CREATE INDEX promotion_runs_created ON promotion_runs (account_id, pipeline, created_at);

-- Row-level security, as on the registry tables: a tenant-scoped
-- transaction reads and writes only its tenant's rows; the operator path
-- (DB.AsOperator) reads and writes all; a transaction that sets neither
-- sees nothing.
DO $$
DECLARE
    t text;
    scope constant text := $q$NULLIF(current_setting('app.tenant_id', true), '')$q$;
BEGIN
    FOREACH t IN ARRAY ARRAY['promotion_pipelines', 'promotion_runs'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_read ON %I FOR SELECT USING (tenant_id = %s)', t, scope);
        EXECUTE format('CREATE POLICY tenant_insert ON %I FOR INSERT WITH CHECK (tenant_id = %s)', t, scope);
        EXECUTE format('CREATE POLICY tenant_update ON %I FOR UPDATE USING (tenant_id = %s) WITH CHECK (tenant_id = %s)', t, scope, scope);
        EXECUTE format('CREATE POLICY tenant_delete ON %I FOR DELETE USING (tenant_id = %s)', t, scope);
        EXECUTE format($q$CREATE POLICY operator_access ON %I USING (current_setting('app.operator', true) = 'on') WITH CHECK (current_setting('app.operator', true) = 'on')$q$, t);
    END LOOP;
END
$$;
