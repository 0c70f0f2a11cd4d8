-- Per-tenant customer master keys (package keys): the metadata document and
-- the KEK-wrapped Tink keyset, both opaque here. revision is the optimistic
-- concurrency token (1 on creation, +1 per replace).
CREATE TABLE kms_keys (
    tenant_id TEXT NOT NULL CHECK (tenant_id <> ''),
    key_id    TEXT NOT NULL CHECK (key_id <> ''),
    meta      BLOB NOT NULL,
    keyset    BLOB NOT NULL,
    revision  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key_id)
) STRICT;

-- Aliases ("alias/<name>") of one tenant's keys.
CREATE TABLE kms_aliases (
    tenant_id TEXT NOT NULL CHECK (tenant_id <> ''),
    name      TEXT NOT NULL CHECK (name <> ''),
    key_id    TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name)
) STRICT;
