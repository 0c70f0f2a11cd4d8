package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

// Objects returns the S3 object store's index (package artifact). Every
// per-bucket query filters by the bucket it is given and every tenant
// query by the tenant; an empty bucket, account or tenant is EINVALID.
func (s *DB) Objects() artifact.Index { return &objectIndex{db: s} }

type objectIndex struct{ db *DB }

var _ artifact.Index = (*objectIndex)(nil)

func need(vals ...string) error {
	for _, v := range vals {
		if v == "" {
			return tenantml.Errorf(tenantml.EINVALID, "bucket, account and tenant are required")
		}
	}
	return nil
}

func micros(t time.Time) int64     { return t.UnixMicro() }
func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func notFound(what string) error { return tenantml.Errorf(tenantml.ENOTFOUND, "%s not found", what) }
func conflict(what string) error {
	return tenantml.Errorf(tenantml.ECONFLICT, "%s exists or changed concurrently", what)
}

// isForeignKeyViolation reports a FOREIGN KEY constraint failure.
func isForeignKeyViolation(err error) bool {
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY constraint failed")
}

func (x *objectIndex) nextRevision(ctx context.Context, tx *sql.Tx) (int64, error) {
	var n int64
	if err := tx.QueryRowContext(ctx, `UPDATE s3_revision SET n = n + 1 RETURNING n`).Scan(&n); err != nil {
		return 0, fmt.Errorf("next revision: %w", err)
	}
	return n, nil
}

const bucketCols = `name, account_id, tenant_id, created, doc, revision`

func scanBucket(row interface{ Scan(...any) error }) (*artifact.BucketRecord, error) {
	var b artifact.BucketRecord
	var created int64
	if err := row.Scan(&b.Name, &b.Account, &b.Tenant, &created, &b.Doc, &b.Revision); err != nil {
		return nil, err
	}
	b.Created = fromMicros(created)
	return &b, nil
}

func (x *objectIndex) CreateBucket(ctx context.Context, b *artifact.BucketRecord) error {
	if err := need(b.Name, b.Account); err != nil {
		return err
	}
	_, err := x.db.db.ExecContext(ctx, `INSERT INTO s3_buckets (`+bucketCols+`) VALUES (?, ?, ?, ?, ?, 1)`,
		b.Name, b.Account, b.Tenant, micros(b.Created), nonNilBytes(b.Doc))
	if isUniqueViolation(err) {
		return conflict("bucket")
	}
	if err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	b.Revision = 1
	return nil
}

func (x *objectIndex) GetBucket(ctx context.Context, name string) (*artifact.BucketRecord, error) {
	if err := need(name); err != nil {
		return nil, err
	}
	b, err := scanBucket(x.db.db.QueryRowContext(ctx, `SELECT `+bucketCols+` FROM s3_buckets WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("bucket")
	}
	if err != nil {
		return nil, fmt.Errorf("get bucket: %w", err)
	}
	return b, nil
}

func (x *objectIndex) ListBuckets(ctx context.Context, account string) ([]*artifact.BucketRecord, error) {
	if err := need(account); err != nil {
		return nil, err
	}
	rows, err := x.db.db.QueryContext(ctx, `SELECT `+bucketCols+` FROM s3_buckets WHERE account_id = ? ORDER BY name`, account)
	if err != nil {
		return nil, fmt.Errorf("list buckets: %w", err)
	}
	defer rows.Close()
	var out []*artifact.BucketRecord
	for rows.Next() {
		b, err := scanBucket(rows)
		if err != nil {
			return nil, fmt.Errorf("list buckets: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

func (x *objectIndex) UpdateBucket(ctx context.Context, b *artifact.BucketRecord) (int64, error) {
	if err := need(b.Name); err != nil {
		return 0, err
	}
	next := b.Revision + 1
	err := x.db.inTx(ctx, func(tx *sql.Tx) error {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT revision FROM s3_buckets WHERE name = ?`, b.Name).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("bucket")
		}
		if err != nil {
			return fmt.Errorf("update bucket: %w", err)
		}
		if cur != b.Revision {
			return conflict("bucket")
		}
		_, err = tx.ExecContext(ctx, `UPDATE s3_buckets SET doc = ?, revision = ? WHERE name = ?`, nonNilBytes(b.Doc), next, b.Name)
		return err
	})
	if err != nil {
		return 0, err
	}
	return next, nil
}

func (x *objectIndex) DeleteBucket(ctx context.Context, name string) error {
	if err := need(name); err != nil {
		return err
	}
	return x.db.inTx(ctx, func(tx *sql.Tx) error {
		var busy bool
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM s3_objects WHERE bucket = ?) OR EXISTS (SELECT 1 FROM s3_uploads WHERE bucket = ?)`, name, name).Scan(&busy)
		if err != nil {
			return fmt.Errorf("delete bucket: %w", err)
		}
		if busy {
			return conflict("bucket")
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM s3_buckets WHERE name = ?`, name)
		if isForeignKeyViolation(err) {
			return conflict("bucket")
		}
		if err != nil {
			return fmt.Errorf("delete bucket: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return notFound("bucket")
		}
		return nil
	})
}

const objectCols = `bucket, object_key, tenant_id, size, etag, created, last_modified, doc, revision`

func scanObject(row interface{ Scan(...any) error }) (*artifact.ObjectRecord, error) {
	var o artifact.ObjectRecord
	var created, modified int64
	if err := row.Scan(&o.Bucket, &o.Key, &o.Tenant, &o.Size, &o.ETag, &created, &modified, &o.Doc, &o.Revision); err != nil {
		return nil, err
	}
	o.Created, o.LastModified = fromMicros(created), fromMicros(modified)
	return &o, nil
}

func getObject(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, bucket, key string) (*artifact.ObjectRecord, error) {
	o, err := scanObject(q.QueryRowContext(ctx, `SELECT `+objectCols+` FROM s3_objects WHERE bucket = ? AND object_key = ?`, bucket, key))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("object")
	}
	if err != nil {
		return nil, fmt.Errorf("get object: %w", err)
	}
	return o, nil
}

func (x *objectIndex) GetObject(ctx context.Context, bucket, key string) (*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	return getObject(ctx, x.db.db, bucket, key)
}

// putObject creates or replaces o inside tx and returns the replaced row.
func (x *objectIndex) putObject(ctx context.Context, tx *sql.Tx, o *artifact.ObjectRecord) (*artifact.ObjectRecord, error) {
	prev, err := getObject(ctx, tx, o.Bucket, o.Key)
	if err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		return nil, err
	}
	rev, err := x.nextRevision(ctx, tx)
	if err != nil {
		return nil, err
	}
	created := micros(o.Created)
	if prev != nil {
		created = micros(prev.Created)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO s3_objects (`+objectCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (bucket, object_key) DO UPDATE SET tenant_id = excluded.tenant_id, size = excluded.size, etag = excluded.etag,
		last_modified = excluded.last_modified, doc = excluded.doc, revision = excluded.revision`,
		o.Bucket, o.Key, o.Tenant, o.Size, o.ETag, created, micros(o.LastModified), nonNilBytes(o.Doc), rev)
	if isForeignKeyViolation(err) {
		return nil, notFound("bucket")
	}
	if err != nil {
		return nil, fmt.Errorf("put object: %w", err)
	}
	o.Revision, o.Created = rev, fromMicros(created)
	return prev, nil
}

func (x *objectIndex) PutObject(ctx context.Context, o *artifact.ObjectRecord) (*artifact.ObjectRecord, error) {
	if err := need(o.Bucket, o.Tenant); err != nil {
		return nil, err
	}
	var prev *artifact.ObjectRecord
	err := x.db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		prev, err = x.putObject(ctx, tx, o)
		return err
	})
	return prev, err
}

func (x *objectIndex) UpdateObject(ctx context.Context, o *artifact.ObjectRecord) (int64, error) {
	if err := need(o.Bucket); err != nil {
		return 0, err
	}
	var rev int64
	err := x.db.inTx(ctx, func(tx *sql.Tx) error {
		cur, err := getObject(ctx, tx, o.Bucket, o.Key)
		if err != nil {
			return err
		}
		if cur.Revision != o.Revision {
			return conflict("object")
		}
		if rev, err = x.nextRevision(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE s3_objects SET doc = ?, revision = ? WHERE bucket = ? AND object_key = ?`, nonNilBytes(o.Doc), rev, o.Bucket, o.Key)
		return err
	})
	return rev, err
}

func (x *objectIndex) DeleteObject(ctx context.Context, bucket, key string, revision int64) (*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var o *artifact.ObjectRecord
	err := x.db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if o, err = getObject(ctx, tx, bucket, key); err != nil {
			return err
		}
		if revision != 0 && o.Revision != revision {
			return conflict("object")
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM s3_objects WHERE bucket = ? AND object_key = ?`, bucket, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (x *objectIndex) ListObjects(ctx context.Context, bucket string, f artifact.ObjectFilter) ([]*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	// The rows from max(After, Prefix) on in key order, stopping at the
	// first one past the prefix: the index range is never scanned beyond
	// what the page needs.
	rows, err := x.db.db.QueryContext(ctx, `SELECT bucket, object_key, tenant_id, size, etag, created, last_modified, revision
		FROM s3_objects WHERE bucket = ? AND object_key > ? AND object_key >= ? ORDER BY object_key LIMIT ?`,
		bucket, f.After, f.Prefix, max(f.Limit, 0))
	if err != nil {
		return nil, fmt.Errorf("list objects: %w", err)
	}
	defer rows.Close()
	var out []*artifact.ObjectRecord
	for rows.Next() {
		var o artifact.ObjectRecord
		var created, modified int64
		if err := rows.Scan(&o.Bucket, &o.Key, &o.Tenant, &o.Size, &o.ETag, &created, &modified, &o.Revision); err != nil {
			return nil, fmt.Errorf("list objects: %w", err)
		}
		if !strings.HasPrefix(o.Key, f.Prefix) {
			break
		}
		o.Created, o.LastModified = fromMicros(created), fromMicros(modified)
		out = append(out, &o)
	}
	return out, rows.Err()
}

const uploadCols = `bucket, upload_id, object_key, tenant_id, initiated, doc`

func scanUpload(row interface{ Scan(...any) error }) (*artifact.UploadRecord, error) {
	var u artifact.UploadRecord
	var initiated int64
	if err := row.Scan(&u.Bucket, &u.UploadID, &u.Key, &u.Tenant, &initiated, &u.Doc); err != nil {
		return nil, err
	}
	u.Initiated = fromMicros(initiated)
	return &u, nil
}

func (x *objectIndex) CreateUpload(ctx context.Context, u *artifact.UploadRecord) error {
	if err := need(u.Bucket, u.UploadID, u.Tenant); err != nil {
		return err
	}
	_, err := x.db.db.ExecContext(ctx, `INSERT INTO s3_uploads (`+uploadCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		u.Bucket, u.UploadID, u.Key, u.Tenant, micros(u.Initiated), nonNilBytes(u.Doc))
	switch {
	case isUniqueViolation(err):
		return conflict("upload")
	case isForeignKeyViolation(err):
		return notFound("bucket")
	case err != nil:
		return fmt.Errorf("create upload: %w", err)
	}
	return nil
}

func (x *objectIndex) GetUpload(ctx context.Context, bucket, uploadID string) (*artifact.UploadRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	u, err := scanUpload(x.db.db.QueryRowContext(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE bucket = ? AND upload_id = ?`, bucket, uploadID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("upload")
	}
	if err != nil {
		return nil, fmt.Errorf("get upload: %w", err)
	}
	return u, nil
}

func (x *objectIndex) queryUploads(ctx context.Context, query string, args ...any) ([]*artifact.UploadRecord, error) {
	rows, err := x.db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list uploads: %w", err)
	}
	defer rows.Close()
	var out []*artifact.UploadRecord
	for rows.Next() {
		u, err := scanUpload(rows)
		if err != nil {
			return nil, fmt.Errorf("list uploads: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (x *objectIndex) ListUploads(ctx context.Context, bucket string, f artifact.UploadFilter) ([]*artifact.UploadRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	us, err := x.queryUploads(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE bucket = ? AND object_key >= ?
		AND (object_key > ? OR (? <> '' AND object_key = ? AND upload_id > ?)) ORDER BY object_key, upload_id LIMIT ?`,
		bucket, f.Prefix, f.AfterKey, f.AfterID, f.AfterKey, f.AfterID, max(f.Limit, 0))
	if err != nil {
		return nil, err
	}
	for i, u := range us {
		if !strings.HasPrefix(u.Key, f.Prefix) {
			return us[:i], nil
		}
	}
	return us, nil
}

const partCols = `bucket, upload_id, part_number, tenant_id, size, etag, body, last_modified, doc`

func scanPart(row interface{ Scan(...any) error }) (*artifact.PartRecord, error) {
	var p artifact.PartRecord
	var modified int64
	if err := row.Scan(&p.Bucket, &p.UploadID, &p.Number, &p.Tenant, &p.Size, &p.ETag, &p.Body, &modified, &p.Doc); err != nil {
		return nil, err
	}
	p.LastModified = fromMicros(modified)
	return &p, nil
}

func queryParts(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]*artifact.PartRecord, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list parts: %w", err)
	}
	defer rows.Close()
	var out []*artifact.PartRecord
	for rows.Next() {
		p, err := scanPart(rows)
		if err != nil {
			return nil, fmt.Errorf("list parts: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (x *objectIndex) PutPart(ctx context.Context, p *artifact.PartRecord) (*artifact.PartRecord, error) {
	if err := need(p.Bucket, p.UploadID, p.Tenant); err != nil {
		return nil, err
	}
	var prev *artifact.PartRecord
	err := x.db.inTx(ctx, func(tx *sql.Tx) error {
		ps, err := queryParts(ctx, tx, `SELECT `+partCols+` FROM s3_parts WHERE bucket = ? AND upload_id = ? AND part_number = ?`, p.Bucket, p.UploadID, p.Number)
		if err != nil {
			return err
		}
		if len(ps) == 1 {
			prev = ps[0]
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO s3_parts (`+partCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (bucket, upload_id, part_number) DO UPDATE SET tenant_id = excluded.tenant_id, size = excluded.size,
			etag = excluded.etag, body = excluded.body, last_modified = excluded.last_modified, doc = excluded.doc`,
			p.Bucket, p.UploadID, p.Number, p.Tenant, p.Size, p.ETag, p.Body, micros(p.LastModified), nonNilBytes(p.Doc))
		if isForeignKeyViolation(err) {
			return notFound("upload")
		}
		return err
	})
	return prev, err
}

func (x *objectIndex) ListParts(ctx context.Context, bucket, uploadID string, after, limit int) ([]*artifact.PartRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	return queryParts(ctx, x.db.db, `SELECT `+partCols+` FROM s3_parts WHERE bucket = ? AND upload_id = ? AND part_number > ? ORDER BY part_number LIMIT ?`,
		bucket, uploadID, after, max(limit, 0))
}

// takeUpload deletes an upload and its parts inside tx and returns the
// parts.
func takeUpload(ctx context.Context, tx *sql.Tx, bucket, uploadID string) ([]*artifact.PartRecord, error) {
	parts, err := queryParts(ctx, tx, `SELECT `+partCols+` FROM s3_parts WHERE bucket = ? AND upload_id = ? ORDER BY part_number`, bucket, uploadID)
	if err != nil {
		return nil, err
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM s3_uploads WHERE bucket = ? AND upload_id = ?`, bucket, uploadID)
	if err != nil {
		return nil, fmt.Errorf("delete upload: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, notFound("upload")
	}
	return parts, nil
}

func (x *objectIndex) CompleteUpload(ctx context.Context, bucket, uploadID string, o *artifact.ObjectRecord, use []artifact.PartRef) (*artifact.ObjectRecord, []*artifact.PartRecord, error) {
	if err := need(bucket, o.Tenant); err != nil {
		return nil, nil, err
	}
	var prev *artifact.ObjectRecord
	var parts []*artifact.PartRecord
	err := x.db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if parts, err = takeUpload(ctx, tx, bucket, uploadID); err != nil {
			return err
		}
		have := map[int]string{}
		for _, p := range parts {
			have[p.Number] = p.Body
		}
		for _, u := range use {
			if b, ok := have[u.Number]; !ok || b != u.Body {
				return conflict("part")
			}
		}
		prev, err = x.putObject(ctx, tx, o)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return prev, parts, nil
}

func (x *objectIndex) DeleteUpload(ctx context.Context, bucket, uploadID string) ([]*artifact.PartRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var parts []*artifact.PartRecord
	err := x.db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		parts, err = takeUpload(ctx, tx, bucket, uploadID)
		return err
	})
	return parts, err
}

func (x *objectIndex) ListTenantObjects(ctx context.Context, tenant string, after artifact.ObjectRef, limit int) ([]*artifact.ObjectRecord, error) {
	if err := need(tenant); err != nil {
		return nil, err
	}
	rows, err := x.db.db.QueryContext(ctx, `SELECT `+objectCols+` FROM s3_objects WHERE tenant_id = ? AND (bucket, object_key) > (?, ?)
		ORDER BY bucket, object_key LIMIT ?`, tenant, after.Bucket, after.Key, max(limit, 0))
	if err != nil {
		return nil, fmt.Errorf("list tenant objects: %w", err)
	}
	defer rows.Close()
	var out []*artifact.ObjectRecord
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, fmt.Errorf("list tenant objects: %w", err)
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (x *objectIndex) ListTenantUploads(ctx context.Context, tenant string) ([]*artifact.UploadRecord, []*artifact.PartRecord, error) {
	if err := need(tenant); err != nil {
		return nil, nil, err
	}
	us, err := x.queryUploads(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE tenant_id = ? ORDER BY upload_id`, tenant)
	if err != nil {
		return nil, nil, err
	}
	ps, err := queryParts(ctx, x.db.db, `SELECT `+partCols+` FROM s3_parts WHERE tenant_id = ? ORDER BY bucket, upload_id, part_number`, tenant)
	if err != nil {
		return nil, nil, err
	}
	return us, ps, nil
}

func (x *objectIndex) Usage(ctx context.Context, tenant string) (artifact.Usage, error) {
	if err := need(tenant); err != nil {
		return artifact.Usage{}, err
	}
	var u artifact.Usage
	err := x.db.db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM s3_objects WHERE tenant_id = ?), (SELECT coalesce(sum(size), 0) FROM s3_objects WHERE tenant_id = ?),
		(SELECT count(*) FROM s3_parts WHERE tenant_id = ?), (SELECT coalesce(sum(size), 0) FROM s3_parts WHERE tenant_id = ?)`,
		tenant, tenant, tenant, tenant).Scan(&u.Objects, &u.Bytes, &u.Parts, &u.PartBytes)
	if err != nil {
		return artifact.Usage{}, fmt.Errorf("usage: %w", err)
	}
	return u, nil
}

func (x *objectIndex) ListStaleUploads(ctx context.Context, before time.Time, limit int) ([]*artifact.UploadRecord, error) {
	return x.queryUploads(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE initiated < ? ORDER BY initiated, upload_id LIMIT ?`,
		micros(before), max(limit, 0))
}
