-- The deployment's further accounts (package identity, Accounts; the
-- queries are in identity/sqlstore, shared with store/postgres, whose
-- 0009_accounts.sql has the same table). The primary account (the
-- configured account ID) is not stored. name_lc is the lower-cased name,
-- unique; root_key_id names the root user's access key, whose secret is the
-- platform secret root-credentials/<account_id>, sealed under the master key.
CREATE TABLE accounts (
    account_id  TEXT PRIMARY KEY CHECK (length(account_id) = 12),
    name        TEXT NOT NULL,
    name_lc     TEXT NOT NULL UNIQUE,
    root_key_id TEXT NOT NULL UNIQUE,
    created_at  TEXT NOT NULL
) STRICT;

-- The network path (a named listener's VPC endpoint and VPC) of the request
-- that created or last updated an endpoint: its deployments, resumed ones
-- included, read the models from there (aws:SourceVpce, aws:SourceVpc).
ALTER TABLE serving_endpoints ADD COLUMN source_vpce TEXT NOT NULL DEFAULT '';
ALTER TABLE serving_endpoints ADD COLUMN source_vpc TEXT NOT NULL DEFAULT '';
