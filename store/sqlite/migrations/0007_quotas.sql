-- Quotas (package quota; the queries are in quota/sqlstore, shared with
-- the PostgreSQL store). quota_tiers are the operator's tiers (the
-- built-in ones are stored on their first change); tenant_quotas hold a
-- tenant's overrides. Limits are JSON objects (quota.Limits).
CREATE TABLE quota_tiers (
    name       TEXT PRIMARY KEY,
    limits     TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version    INTEGER NOT NULL
) STRICT;

CREATE TABLE tenant_quotas (
    tenant_id  TEXT PRIMARY KEY,
    limits     TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;
