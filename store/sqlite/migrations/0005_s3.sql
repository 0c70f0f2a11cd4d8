-- The S3 object store's index (package artifact): buckets, objects,
-- multipart uploads and parts. doc columns are opaque JSON written by
-- package artifact; times are Unix microseconds; keys compare bytewise
-- (SQLite's BINARY collation). Foreign keys make a write into a bucket
-- being deleted, or the deletion of a non-empty bucket, fail atomically.
CREATE TABLE s3_buckets (
    name       TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
    account_id TEXT NOT NULL CHECK (account_id <> ''),
    tenant_id  TEXT NOT NULL,
    created    INTEGER NOT NULL,
    doc        BLOB NOT NULL,
    revision   INTEGER NOT NULL
) STRICT;
CREATE INDEX s3_buckets_account ON s3_buckets (account_id, name);

CREATE TABLE s3_objects (
    bucket        TEXT NOT NULL REFERENCES s3_buckets (name),
    object_key    TEXT NOT NULL,
    tenant_id     TEXT NOT NULL CHECK (tenant_id <> ''),
    size          INTEGER NOT NULL,
    etag          TEXT NOT NULL,
    created       INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    doc           BLOB NOT NULL,
    revision      INTEGER NOT NULL,
    PRIMARY KEY (bucket, object_key)
) STRICT;
CREATE INDEX s3_objects_tenant ON s3_objects (tenant_id, bucket, object_key);

CREATE TABLE s3_uploads (
    bucket     TEXT NOT NULL REFERENCES s3_buckets (name),
    upload_id  TEXT NOT NULL,
    object_key TEXT NOT NULL,
    tenant_id  TEXT NOT NULL CHECK (tenant_id <> ''),
    initiated  INTEGER NOT NULL,
    doc        BLOB NOT NULL,
    PRIMARY KEY (bucket, upload_id)
) STRICT;
CREATE INDEX s3_uploads_key ON s3_uploads (bucket, object_key, upload_id);
CREATE INDEX s3_uploads_initiated ON s3_uploads (initiated, upload_id);
CREATE INDEX s3_uploads_tenant ON s3_uploads (tenant_id);

CREATE TABLE s3_parts (
    bucket        TEXT NOT NULL,
    upload_id     TEXT NOT NULL,
    part_number   INTEGER NOT NULL,
    tenant_id     TEXT NOT NULL CHECK (tenant_id <> ''),
    size          INTEGER NOT NULL,
    etag          TEXT NOT NULL,
    body          TEXT NOT NULL,
    last_modified INTEGER NOT NULL,
    doc           BLOB NOT NULL,
    PRIMARY KEY (bucket, upload_id, part_number),
    FOREIGN KEY (bucket, upload_id) REFERENCES s3_uploads (bucket, upload_id) ON DELETE CASCADE
) STRICT;
CREATE INDEX s3_parts_tenant ON s3_parts (tenant_id);

-- One counter for object revisions, so a revision is never reused (a key
-- deleted and written again gets a new one).
CREATE TABLE s3_revision (n INTEGER NOT NULL) STRICT;
INSERT INTO s3_revision (n) VALUES (0);
