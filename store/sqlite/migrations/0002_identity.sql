-- IAM entities (package identity; queries in identity/sqlstore). Every row
-- carries account_id and tenant_id (the entity's TenantID tag at creation,
-- '' for platform principals). name_lc is the lower-cased name: names are
-- unique per account case-insensitively. Tags and lists are JSON text.
CREATE TABLE iam_users (
    account_id   TEXT NOT NULL,
    name_lc      TEXT NOT NULL,
    name         TEXT NOT NULL,
    path         TEXT NOT NULL,
    user_id      TEXT NOT NULL UNIQUE,
    tenant_id    TEXT NOT NULL,
    tags         TEXT NOT NULL DEFAULT '{}',
    boundary_arn TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, name_lc)
) STRICT;

CREATE TABLE iam_groups (
    account_id TEXT NOT NULL,
    name_lc    TEXT NOT NULL,
    name       TEXT NOT NULL,
    path       TEXT NOT NULL,
    group_id   TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (account_id, name_lc)
) STRICT;

CREATE TABLE iam_group_members (
    account_id TEXT NOT NULL,
    group_lc   TEXT NOT NULL,
    user_lc    TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    PRIMARY KEY (account_id, group_lc, user_lc),
    FOREIGN KEY (account_id, group_lc) REFERENCES iam_groups (account_id, name_lc),
    FOREIGN KEY (account_id, user_lc) REFERENCES iam_users (account_id, name_lc)
) STRICT;
CREATE INDEX iam_group_members_user ON iam_group_members (account_id, user_lc);

CREATE TABLE iam_roles (
    account_id              TEXT NOT NULL,
    name_lc                 TEXT NOT NULL,
    name                    TEXT NOT NULL,
    path                    TEXT NOT NULL,
    role_id                 TEXT NOT NULL UNIQUE,
    tenant_id               TEXT NOT NULL,
    trust_policy            TEXT NOT NULL,
    description             TEXT NOT NULL DEFAULT '',
    max_session_duration    INTEGER NOT NULL CHECK (max_session_duration BETWEEN 3600 AND 43200),
    boundary_arn            TEXT NOT NULL DEFAULT '',
    tags                    TEXT NOT NULL DEFAULT '{}',
    created_at              TEXT NOT NULL,
    sessions_revoked_before TEXT,
    PRIMARY KEY (account_id, name_lc)
) STRICT;

CREATE TABLE iam_policies (
    account_id      TEXT NOT NULL,
    name_lc         TEXT NOT NULL,
    name            TEXT NOT NULL,
    path            TEXT NOT NULL,
    policy_id       TEXT NOT NULL UNIQUE,
    arn             TEXT NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    default_version INTEGER NOT NULL,
    next_version    INTEGER NOT NULL,
    tags            TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (account_id, name_lc)
) STRICT;

CREATE TABLE iam_policy_versions (
    account_id TEXT NOT NULL,
    policy_arn TEXT NOT NULL REFERENCES iam_policies (arn),
    version    INTEGER NOT NULL,
    tenant_id  TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (policy_arn, version)
) STRICT;

-- Inline policies of users, roles and groups (kind), by principal.
CREATE TABLE iam_inline_policies (
    account_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lc TEXT NOT NULL,
    name         TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    document     TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, principal_lc, name)
) STRICT;

-- Managed policy attachments; policy_arn is a policy of the account or a
-- built-in one (arn:aws:iam::aws:policy/tenantml/...), which has no row.
CREATE TABLE iam_attachments (
    account_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('user', 'role', 'group')),
    principal_lc TEXT NOT NULL,
    policy_arn   TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    PRIMARY KEY (account_id, kind, principal_lc, policy_arn)
) STRICT;
CREATE INDEX iam_attachments_policy ON iam_attachments (account_id, policy_arn);

-- Long-term access keys; secret is sealed by the caller (never clear text).
CREATE TABLE iam_access_keys (
    key_id       TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    user_lc      TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('Active', 'Inactive')),
    secret       BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    FOREIGN KEY (account_id, user_lc) REFERENCES iam_users (account_id, name_lc)
) STRICT;
CREATE INDEX iam_access_keys_user ON iam_access_keys (account_id, user_lc);

CREATE TABLE iam_oidc_providers (
    account_id  TEXT NOT NULL,
    arn         TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    client_ids  TEXT NOT NULL DEFAULT '[]',
    thumbprints TEXT NOT NULL DEFAULT '[]',
    claim_tags  TEXT NOT NULL DEFAULT '{}',
    tags        TEXT NOT NULL DEFAULT '{}',
    tenant_id   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (account_id, url)
) STRICT;
