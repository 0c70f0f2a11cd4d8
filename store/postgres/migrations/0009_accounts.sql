-- The deployment's further accounts (package identity, Accounts; the
-- queries are in identity/sqlstore, shared with the SQLite store, whose
-- 0009_accounts.sql has the same table). The primary account is not
-- stored. A platform table: only the operator path reads or writes it
-- (accounts span tenants; a tenant-scoped transaction sees none).
CREATE TABLE accounts (
    account_id  TEXT COLLATE "C" PRIMARY KEY CHECK (length(account_id) = 12),
    name        TEXT NOT NULL,
    name_lc     TEXT COLLATE "C" NOT NULL UNIQUE,
    root_key_id TEXT COLLATE "C" NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

ALTER TABLE accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE accounts FORCE ROW LEVEL SECURITY;

CREATE POLICY operator_only ON accounts
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

-- The network path (a named listener's VPC endpoint and VPC) of the request
-- that created or last updated an endpoint: its deployments, resumed ones
-- included, read the models from there (aws:SourceVpce, aws:SourceVpc).
ALTER TABLE serving_endpoints ADD COLUMN source_vpce TEXT NOT NULL DEFAULT '';
ALTER TABLE serving_endpoints ADD COLUMN source_vpc TEXT NOT NULL DEFAULT '';
