-- IAM entities (package identity; the queries are in identity/sqlstore and
-- shared with the SQLite store, whose 0002_identity.sql has the same
-- tables). Every row carries account_id and tenant_id: the entity's
-- TenantID tag at creation ('' for platform principals), and for
-- memberships, attachments, inline policies, policy versions and access keys
-- the owning principal's or policy's tenant. name_lc is the lower-cased name
-- (names are unique per account case-insensitively), COLLATE "C" so pages
-- order exactly as in SQLite.
--
-- Row-level security as on tenants: a tenant-scoped transaction
-- (DB.InTenant, used by DB.IdentityInTenant) sees and writes only rows of
-- its tenant; the operator path (DB.AsOperator, used by DB.Identity and so
-- by authentication-time lookups: GetAccessKey, PoliciesForUser/Role) sees
-- all. A transaction that sets neither sees nothing. Platform rows have
-- tenant_id '', and a pooled connection reports app.tenant_id as '' (not
-- NULL) once any earlier transaction on it set it; NULLIF keeps '' from
-- ever matching, so platform rows are reachable only on the operator path.

CREATE TABLE iam_users (
    account_id   TEXT COLLATE "C" NOT NULL,
    name_lc      TEXT COLLATE "C" NOT NULL,
    name         TEXT NOT NULL,
    path         TEXT COLLATE "C" NOT NULL,
    user_id      TEXT NOT NULL UNIQUE,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    tags         JSONB NOT NULL DEFAULT '{}',
    boundary_arn TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name_lc)
);

CREATE TABLE iam_groups (
    account_id TEXT COLLATE "C" NOT NULL,
    name_lc    TEXT COLLATE "C" NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT COLLATE "C" NOT NULL,
    group_id   TEXT NOT NULL UNIQUE,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name_lc)
);

CREATE TABLE iam_group_members (
    account_id TEXT COLLATE "C" NOT NULL,
    group_lc   TEXT COLLATE "C" NOT NULL,
    user_lc    TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, group_lc, user_lc),
    FOREIGN KEY (account_id, group_lc) REFERENCES iam_groups (account_id, name_lc),
    FOREIGN KEY (account_id, user_lc) REFERENCES iam_users (account_id, name_lc)
);

CREATE TABLE iam_roles (
    account_id              TEXT COLLATE "C" NOT NULL,
    name_lc                 TEXT COLLATE "C" NOT NULL,
    name                    TEXT NOT NULL,
    path                    TEXT COLLATE "C" NOT NULL,
    role_id                 TEXT NOT NULL UNIQUE,
    tenant_id               TEXT COLLATE "C" NOT NULL,
    trust_policy            TEXT NOT NULL,
    description             TEXT NOT NULL DEFAULT '',
    max_session_duration    INTEGER NOT NULL CHECK (max_session_duration BETWEEN 3600 AND 43200),
    boundary_arn            TEXT COLLATE "C" NOT NULL DEFAULT '',
    tags                    JSONB NOT NULL DEFAULT '{}',
    created_at              TIMESTAMPTZ NOT NULL,
    sessions_revoked_before TIMESTAMPTZ,
    PRIMARY KEY (account_id, name_lc)
);

CREATE TABLE iam_policies (
    account_id      TEXT COLLATE "C" NOT NULL,
    name_lc         TEXT COLLATE "C" NOT NULL,
    name            TEXT NOT NULL,
    path            TEXT COLLATE "C" NOT NULL,
    policy_id       TEXT NOT NULL UNIQUE,
    arn             TEXT COLLATE "C" NOT NULL UNIQUE,
    tenant_id       TEXT COLLATE "C" NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    default_version INTEGER NOT NULL,
    next_version    INTEGER NOT NULL,
    tags            JSONB NOT NULL DEFAULT '{}',
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, name_lc)
);

CREATE TABLE iam_policy_versions (
    account_id TEXT COLLATE "C" NOT NULL,
    policy_arn TEXT COLLATE "C" NOT NULL REFERENCES iam_policies (arn),
    version    INTEGER NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    document   TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (policy_arn, version)
);

CREATE TABLE iam_inline_policies (
    account_id   TEXT COLLATE "C" NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lc TEXT COLLATE "C" NOT NULL,
    name         TEXT COLLATE "C" NOT NULL,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, principal_lc, name)
);

CREATE TABLE iam_attachments (
    account_id   TEXT COLLATE "C" NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lc TEXT COLLATE "C" NOT NULL,
    policy_arn   TEXT COLLATE "C" NOT NULL,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (account_id, kind, principal_lc, policy_arn)
);

CREATE TABLE iam_access_keys (
    key_id       TEXT COLLATE "C" PRIMARY KEY,
    account_id   TEXT COLLATE "C" NOT NULL,
    user_lc      TEXT COLLATE "C" NOT NULL,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    secret       BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,
    FOREIGN KEY (account_id, user_lc) REFERENCES iam_users (account_id, name_lc)
);

CREATE TABLE iam_oidc_providers (
    account_id  TEXT COLLATE "C" NOT NULL,
    arn         TEXT COLLATE "C" PRIMARY KEY,
    url         TEXT COLLATE "C" NOT NULL,
    client_ids  JSONB NOT NULL DEFAULT '[]',
    thumbprints JSONB NOT NULL DEFAULT '[]',
    claim_tags  JSONB NOT NULL DEFAULT '{}',
    tags        JSONB NOT NULL DEFAULT '{}',
    tenant_id   TEXT COLLATE "C" NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (account_id, url)
);

CREATE INDEX iam_group_members_user ON iam_group_members (account_id, user_lc);
CREATE INDEX iam_attachments_policy ON iam_attachments (account_id, policy_arn);
CREATE INDEX iam_access_keys_user ON iam_access_keys (account_id, user_lc);

ALTER TABLE iam_users ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_users
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_users
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_groups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_groups
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_groups
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_group_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_group_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_group_members
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_group_members
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_roles FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_roles
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_roles
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_policies
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_policies
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_policy_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_policy_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_policy_versions
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_policy_versions
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_inline_policies ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_inline_policies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_inline_policies
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_inline_policies
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_attachments ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_attachments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_attachments
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_attachments
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_access_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_access_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_access_keys
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_access_keys
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE iam_oidc_providers ENABLE ROW LEVEL SECURITY;
ALTER TABLE iam_oidc_providers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON iam_oidc_providers
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON iam_oidc_providers
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
