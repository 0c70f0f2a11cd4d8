-- Tenant registry. Tags are a JSON object.
CREATE TABLE tenants (
    tenant_id             TEXT PRIMARY KEY,
    display_name          TEXT NOT NULL,
    isolation             TEXT NOT NULL CHECK (isolation IN ('silo', 'pool', 'bridge')),
    tier                  TEXT NOT NULL,
    home_region           TEXT NOT NULL,
    tags                  TEXT NOT NULL DEFAULT '{}',
    status                TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'pending_deletion')),
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    deletion_requested_at TEXT,
    version               INTEGER NOT NULL
) STRICT;

-- Platform-wide sealed secrets (operator root credentials). Not tenant-owned.
CREATE TABLE platform_secrets (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;
