-- The model registry (package registry; queries in registry/sqlstore,
-- shared with store/postgres, whose 0010_registry.sql has the same
-- tables). Every row carries account_id and tenant_id (the owning tenant,
-- '' for a platform group). name_lc and group_lc are lower-cased names:
-- group names are unique per account case-insensitively, as the ARN is.
-- latest_version is the highest version ever registered in the group, so
-- versions are never reused. Times are UTC text at millisecond precision.
CREATE TABLE registry_groups (
    account_id     TEXT NOT NULL,
    name_lc        TEXT NOT NULL,
    name           TEXT NOT NULL,
    arn            TEXT NOT NULL,
    tenant_id      TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    policy         TEXT NOT NULL DEFAULT '',
    tags           TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    latest_version INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, name_lc),
    UNIQUE (account_id, arn)
) STRICT;
CREATE INDEX registry_groups_created ON registry_groups (account_id, created_at, name_lc);

CREATE TABLE registry_packages (
    account_id           TEXT NOT NULL,
    group_lc             TEXT NOT NULL,
    version              INTEGER NOT NULL CHECK (version > 0),
    group_name           TEXT NOT NULL,
    arn                  TEXT NOT NULL,
    tenant_id            TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    description          TEXT NOT NULL DEFAULT '',
    inference            TEXT NOT NULL,
    metrics              TEXT NOT NULL,
    metadata             TEXT NOT NULL,
    approval_status      TEXT NOT NULL CHECK (approval_status IN ('PendingManualApproval', 'Approved', 'Rejected')),
    approval_description TEXT NOT NULL DEFAULT '',
    tags                 TEXT NOT NULL,
    created_by           TEXT NOT NULL,
    last_modified_at     TEXT,
    last_modified_by     TEXT NOT NULL,
    approval_modified_at TEXT NOT NULL,
    approval_modified_by TEXT NOT NULL,
    PRIMARY KEY (account_id, group_lc, version),
    UNIQUE (account_id, arn)
) STRICT;
CREATE INDEX registry_packages_created ON registry_packages (account_id, created_at, group_lc, version);
