-- The S3 object store's index (package artifact): buckets, objects,
-- multipart uploads and parts. doc columns are opaque JSON written by
-- package artifact; keys and names sort bytewise (COLLATE "C") as on
-- SQLite and S3. Foreign keys make a write into a bucket being deleted, or
-- the deletion of a non-empty bucket, fail atomically.
CREATE TABLE s3_buckets (
    name       TEXT COLLATE "C" NOT NULL PRIMARY KEY CHECK (name <> ''),
    account_id TEXT COLLATE "C" NOT NULL CHECK (account_id <> ''),
    tenant_id  TEXT COLLATE "C" NOT NULL,
    created    TIMESTAMPTZ NOT NULL,
    doc        BYTEA NOT NULL,
    revision   BIGINT NOT NULL
);
CREATE INDEX s3_buckets_account ON s3_buckets (account_id, name);

CREATE TABLE s3_objects (
    bucket        TEXT COLLATE "C" NOT NULL REFERENCES s3_buckets (name),
    object_key    TEXT COLLATE "C" NOT NULL,
    tenant_id     TEXT COLLATE "C" NOT NULL CHECK (tenant_id <> ''),
    size          BIGINT NOT NULL,
    etag          TEXT NOT NULL,
    created       TIMESTAMPTZ NOT NULL,
    last_modified TIMESTAMPTZ NOT NULL,
    doc           BYTEA NOT NULL,
    revision      BIGINT NOT NULL,
    PRIMARY KEY (bucket, object_key)
);
CREATE INDEX s3_objects_tenant ON s3_objects (tenant_id, bucket, object_key);

CREATE TABLE s3_uploads (
    bucket     TEXT COLLATE "C" NOT NULL REFERENCES s3_buckets (name),
    upload_id  TEXT COLLATE "C" NOT NULL,
    object_key TEXT COLLATE "C" NOT NULL,
    tenant_id  TEXT COLLATE "C" NOT NULL CHECK (tenant_id <> ''),
    initiated  TIMESTAMPTZ NOT NULL,
    doc        BYTEA NOT NULL,
    PRIMARY KEY (bucket, upload_id)
);
CREATE INDEX s3_uploads_key ON s3_uploads (bucket, object_key, upload_id);
CREATE INDEX s3_uploads_initiated ON s3_uploads (initiated, upload_id);
CREATE INDEX s3_uploads_tenant ON s3_uploads (tenant_id);

CREATE TABLE s3_parts (
    bucket        TEXT COLLATE "C" NOT NULL,
    upload_id     TEXT COLLATE "C" NOT NULL,
    part_number   INTEGER NOT NULL,
    tenant_id     TEXT COLLATE "C" NOT NULL CHECK (tenant_id <> ''),
    size          BIGINT NOT NULL,
    etag          TEXT NOT NULL,
    body          TEXT NOT NULL,
    last_modified TIMESTAMPTZ NOT NULL,
    doc           BYTEA NOT NULL,
    PRIMARY KEY (bucket, upload_id, part_number),
    FOREIGN KEY (bucket, upload_id) REFERENCES s3_uploads (bucket, upload_id) ON DELETE CASCADE
);
CREATE INDEX s3_parts_tenant ON s3_parts (tenant_id);

-- Object revisions are never reused (a key deleted and written again gets
-- a new one).
CREATE SEQUENCE s3_revision;

-- Row-level security. The S3 index's unit of isolation is the bucket, the
-- resource S3's authorization decides on: per-bucket work runs in
-- DB.InBucket (app.bucket), so it sees and writes only that bucket's rows
-- whatever tenants own them. Rows that carry an owning tenant are also
-- visible to a tenant-scoped transaction of that tenant (DB.InTenant:
-- usage, rotation, erasure); ListBuckets runs in DB.InAccount
-- (app.account); the abandoned-upload sweep on the operator path.
ALTER TABLE s3_buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE s3_buckets FORCE ROW LEVEL SECURITY;
CREATE POLICY bucket_scope ON s3_buckets
    USING (name = NULLIF(current_setting('app.bucket', true), ''))
    WITH CHECK (name = NULLIF(current_setting('app.bucket', true), ''));
CREATE POLICY account_scope ON s3_buckets FOR SELECT
    USING (account_id = NULLIF(current_setting('app.account', true), ''));
CREATE POLICY operator_access ON s3_buckets
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE s3_objects ENABLE ROW LEVEL SECURITY;
ALTER TABLE s3_objects FORCE ROW LEVEL SECURITY;
CREATE POLICY bucket_scope ON s3_objects
    USING (bucket = NULLIF(current_setting('app.bucket', true), ''))
    WITH CHECK (bucket = NULLIF(current_setting('app.bucket', true), ''));
CREATE POLICY tenant_isolation ON s3_objects
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON s3_objects
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE s3_uploads ENABLE ROW LEVEL SECURITY;
ALTER TABLE s3_uploads FORCE ROW LEVEL SECURITY;
CREATE POLICY bucket_scope ON s3_uploads
    USING (bucket = NULLIF(current_setting('app.bucket', true), ''))
    WITH CHECK (bucket = NULLIF(current_setting('app.bucket', true), ''));
CREATE POLICY tenant_isolation ON s3_uploads
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON s3_uploads
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');

ALTER TABLE s3_parts ENABLE ROW LEVEL SECURITY;
ALTER TABLE s3_parts FORCE ROW LEVEL SECURITY;
CREATE POLICY bucket_scope ON s3_parts
    USING (bucket = NULLIF(current_setting('app.bucket', true), ''))
    WITH CHECK (bucket = NULLIF(current_setting('app.bucket', true), ''));
CREATE POLICY tenant_isolation ON s3_parts
    USING (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''))
    WITH CHECK (tenant_id = NULLIF(current_setting('app.tenant_id', true), ''));
CREATE POLICY operator_access ON s3_parts
    USING (current_setting('app.operator', true) = 'on')
    WITH CHECK (current_setting('app.operator', true) = 'on');
