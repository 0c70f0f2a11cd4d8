package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

// Objects returns the S3 object store's index (package artifact). Per-bucket
// methods run in InBucket, so row-level security confines them to that
// bucket's rows; the tenant methods (ListTenantObjects, ListTenantUploads,
// Usage) run in InTenant; ListBuckets in InAccount; ListStaleUploads, the
// abandoned-upload sweep, AsOperator.
func (db *DB) Objects() artifact.Index { return &objectIndex{db: db} }

type objectIndex struct{ db *DB }

var _ artifact.Index = (*objectIndex)(nil)

// InBucket runs fn in one transaction scoped to a bucket (app.bucket):
// row-level security shows and accepts only that bucket's rows of the S3
// index. An empty bucket is refused.
func (db *DB) InBucket(ctx context.Context, bucket string, fn func(pgx.Tx) error) error {
	if bucket == "" {
		return tenantml.Errorf(tenantml.EINVALID, "a bucket-scoped transaction needs a bucket")
	}
	return db.scoped(ctx, "app.bucket", bucket, fn)
}

// InAccount runs fn in one transaction that may read the account's
// buckets (app.account). An empty account is refused.
func (db *DB) InAccount(ctx context.Context, account string, fn func(pgx.Tx) error) error {
	if account == "" {
		return tenantml.Errorf(tenantml.EINVALID, "an account-scoped transaction needs an account")
	}
	return db.scoped(ctx, "app.account", account, fn)
}

func need(vals ...string) error {
	for _, v := range vals {
		if v == "" {
			return tenantml.Errorf(tenantml.EINVALID, "bucket, account and tenant are required")
		}
	}
	return nil
}

func pgTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func notFound(what string) error { return tenantml.Errorf(tenantml.ENOTFOUND, "%s not found", what) }
func conflict(what string) error {
	return tenantml.Errorf(tenantml.ECONFLICT, "%s exists or changed concurrently", what)
}

// isForeignKeyViolation reports SQLSTATE 23503.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

type scanner interface{ Scan(...any) error }

const bucketCols = `name, account_id, tenant_id, created, doc, revision`

func scanBucket(row scanner) (*artifact.BucketRecord, error) {
	var b artifact.BucketRecord
	if err := row.Scan(&b.Name, &b.Account, &b.Tenant, &b.Created, &b.Doc, &b.Revision); err != nil {
		return nil, err
	}
	b.Created = b.Created.UTC()
	return &b, nil
}

func (x *objectIndex) CreateBucket(ctx context.Context, b *artifact.BucketRecord) error {
	if err := need(b.Name, b.Account); err != nil {
		return err
	}
	err := x.db.InBucket(ctx, b.Name, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO s3_buckets (`+bucketCols+`) VALUES ($1, $2, $3, $4, $5, 1)`,
			b.Name, b.Account, b.Tenant, pgTime(b.Created), nonNilBytes(b.Doc))
		return err
	})
	if isUniqueViolation(err) {
		return conflict("bucket")
	}
	if err != nil {
		return wrapUnlessCoded("create bucket", err)
	}
	b.Revision = 1
	return nil
}

func (x *objectIndex) GetBucket(ctx context.Context, name string) (*artifact.BucketRecord, error) {
	if err := need(name); err != nil {
		return nil, err
	}
	var b *artifact.BucketRecord
	err := x.db.InBucket(ctx, name, func(tx pgx.Tx) error {
		var err error
		b, err = scanBucket(tx.QueryRow(ctx, `SELECT `+bucketCols+` FROM s3_buckets WHERE name = $1`, name))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("bucket")
	}
	return b, wrapUnlessCoded("get bucket", err)
}

func (x *objectIndex) ListBuckets(ctx context.Context, account string) ([]*artifact.BucketRecord, error) {
	if err := need(account); err != nil {
		return nil, err
	}
	var out []*artifact.BucketRecord
	err := x.db.InAccount(ctx, account, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+bucketCols+` FROM s3_buckets WHERE account_id = $1 ORDER BY name`, account)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			b, err := scanBucket(rows)
			if err != nil {
				return err
			}
			out = append(out, b)
		}
		return rows.Err()
	})
	return out, wrapUnlessCoded("list buckets", err)
}

func (x *objectIndex) UpdateBucket(ctx context.Context, b *artifact.BucketRecord) (int64, error) {
	if err := need(b.Name); err != nil {
		return 0, err
	}
	next := b.Revision + 1
	err := x.db.InBucket(ctx, b.Name, func(tx pgx.Tx) error {
		var cur int64
		err := tx.QueryRow(ctx, `SELECT revision FROM s3_buckets WHERE name = $1 FOR UPDATE`, b.Name).Scan(&cur)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("bucket")
		}
		if err != nil {
			return err
		}
		if cur != b.Revision {
			return conflict("bucket")
		}
		_, err = tx.Exec(ctx, `UPDATE s3_buckets SET doc = $1, revision = $2 WHERE name = $3`, nonNilBytes(b.Doc), next, b.Name)
		return err
	})
	if err != nil {
		return 0, wrapUnlessCoded("update bucket", err)
	}
	return next, nil
}

func (x *objectIndex) DeleteBucket(ctx context.Context, name string) error {
	if err := need(name); err != nil {
		return err
	}
	err := x.db.InBucket(ctx, name, func(tx pgx.Tx) error {
		var busy bool
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM s3_objects WHERE bucket = $1) OR EXISTS (SELECT 1 FROM s3_uploads WHERE bucket = $1)`, name).Scan(&busy)
		if err != nil {
			return err
		}
		if busy {
			return conflict("bucket")
		}
		tag, err := tx.Exec(ctx, `DELETE FROM s3_buckets WHERE name = $1`, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return notFound("bucket")
		}
		return nil
	})
	if isForeignKeyViolation(err) {
		return conflict("bucket")
	}
	return wrapUnlessCoded("delete bucket", err)
}

const objectCols = `bucket, object_key, tenant_id, size, etag, created, last_modified, doc, revision`

func scanObject(row scanner) (*artifact.ObjectRecord, error) {
	var o artifact.ObjectRecord
	if err := row.Scan(&o.Bucket, &o.Key, &o.Tenant, &o.Size, &o.ETag, &o.Created, &o.LastModified, &o.Doc, &o.Revision); err != nil {
		return nil, err
	}
	o.Created, o.LastModified = o.Created.UTC(), o.LastModified.UTC()
	return &o, nil
}

// getObject reads (and, with lock, locks) an object in tx.
func getObject(ctx context.Context, tx pgx.Tx, bucket, key string, lock bool) (*artifact.ObjectRecord, error) {
	q := `SELECT ` + objectCols + ` FROM s3_objects WHERE bucket = $1 AND object_key = $2`
	if lock {
		q += ` FOR UPDATE`
	}
	o, err := scanObject(tx.QueryRow(ctx, q, bucket, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("object")
	}
	return o, err
}

func (x *objectIndex) GetObject(ctx context.Context, bucket, key string) (*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var o *artifact.ObjectRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
		var err error
		o, err = getObject(ctx, tx, bucket, key, false)
		return err
	})
	return o, wrapUnlessCoded("get object", err)
}

// putObject creates or replaces o inside tx (scoped to its bucket) and
// returns the replaced row.
func putObject(ctx context.Context, tx pgx.Tx, o *artifact.ObjectRecord) (*artifact.ObjectRecord, error) {
	prev, err := getObject(ctx, tx, o.Bucket, o.Key, true)
	if err != nil && tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
		return nil, err
	}
	created := pgTime(o.Created)
	if prev != nil {
		created = prev.Created
	}
	var rev int64
	err = tx.QueryRow(ctx, `INSERT INTO s3_objects (`+objectCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('s3_revision'))
		ON CONFLICT (bucket, object_key) DO UPDATE SET tenant_id = excluded.tenant_id, size = excluded.size, etag = excluded.etag,
		last_modified = excluded.last_modified, doc = excluded.doc, revision = excluded.revision RETURNING revision`,
		o.Bucket, o.Key, o.Tenant, o.Size, o.ETag, created, pgTime(o.LastModified), nonNilBytes(o.Doc)).Scan(&rev)
	if isForeignKeyViolation(err) {
		return nil, notFound("bucket")
	}
	if err != nil {
		return nil, err
	}
	o.Revision, o.Created = rev, created
	return prev, nil
}

func (x *objectIndex) PutObject(ctx context.Context, o *artifact.ObjectRecord) (*artifact.ObjectRecord, error) {
	if err := need(o.Bucket, o.Tenant); err != nil {
		return nil, err
	}
	var prev *artifact.ObjectRecord
	err := x.db.InBucket(ctx, o.Bucket, func(tx pgx.Tx) error {
		var err error
		prev, err = putObject(ctx, tx, o)
		return err
	})
	if isForeignKeyViolation(err) {
		return nil, notFound("bucket")
	}
	return prev, wrapUnlessCoded("put object", err)
}

func (x *objectIndex) UpdateObject(ctx context.Context, o *artifact.ObjectRecord) (int64, error) {
	if err := need(o.Bucket); err != nil {
		return 0, err
	}
	var rev int64
	err := x.db.InBucket(ctx, o.Bucket, func(tx pgx.Tx) error {
		cur, err := getObject(ctx, tx, o.Bucket, o.Key, true)
		if err != nil {
			return err
		}
		if cur.Revision != o.Revision {
			return conflict("object")
		}
		return tx.QueryRow(ctx, `UPDATE s3_objects SET doc = $1, revision = nextval('s3_revision') WHERE bucket = $2 AND object_key = $3 RETURNING revision`,
			nonNilBytes(o.Doc), o.Bucket, o.Key).Scan(&rev)
	})
	return rev, wrapUnlessCoded("update object", err)
}

func (x *objectIndex) DeleteObject(ctx context.Context, bucket, key string, revision int64) (*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var o *artifact.ObjectRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
		var err error
		if o, err = getObject(ctx, tx, bucket, key, true); err != nil {
			return err
		}
		if revision != 0 && o.Revision != revision {
			return conflict("object")
		}
		_, err = tx.Exec(ctx, `DELETE FROM s3_objects WHERE bucket = $1 AND object_key = $2`, bucket, key)
		return err
	})
	if err != nil {
		return nil, wrapUnlessCoded("delete object", err)
	}
	return o, nil
}

func (x *objectIndex) ListObjects(ctx context.Context, bucket string, f artifact.ObjectFilter) ([]*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var out []*artifact.ObjectRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
		// The rows from max(After, Prefix) on in key order, stopping at
		// the first one past the prefix: the index range is never scanned
		// beyond what the page needs.
		rows, err := tx.Query(ctx, `SELECT bucket, object_key, tenant_id, size, etag, created, last_modified, revision
			FROM s3_objects WHERE bucket = $1 AND object_key > $2 AND object_key >= $3 ORDER BY object_key LIMIT $4`,
			bucket, f.After, f.Prefix, max(f.Limit, 0))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var o artifact.ObjectRecord
			if err := rows.Scan(&o.Bucket, &o.Key, &o.Tenant, &o.Size, &o.ETag, &o.Created, &o.LastModified, &o.Revision); err != nil {
				return err
			}
			if !strings.HasPrefix(o.Key, f.Prefix) {
				break
			}
			o.Created, o.LastModified = o.Created.UTC(), o.LastModified.UTC()
			out = append(out, &o)
		}
		return rows.Err()
	})
	return out, wrapUnlessCoded("list objects", err)
}

const uploadCols = `bucket, upload_id, object_key, tenant_id, initiated, doc`

func scanUploads(rows pgx.Rows) ([]*artifact.UploadRecord, error) {
	defer rows.Close()
	var out []*artifact.UploadRecord
	for rows.Next() {
		var u artifact.UploadRecord
		if err := rows.Scan(&u.Bucket, &u.UploadID, &u.Key, &u.Tenant, &u.Initiated, &u.Doc); err != nil {
			return nil, err
		}
		u.Initiated = u.Initiated.UTC()
		out = append(out, &u)
	}
	return out, rows.Err()
}

func (x *objectIndex) CreateUpload(ctx context.Context, u *artifact.UploadRecord) error {
	if err := need(u.Bucket, u.UploadID, u.Tenant); err != nil {
		return err
	}
	err := x.db.InBucket(ctx, u.Bucket, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO s3_uploads (`+uploadCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			u.Bucket, u.UploadID, u.Key, u.Tenant, pgTime(u.Initiated), nonNilBytes(u.Doc))
		return err
	})
	switch {
	case isUniqueViolation(err):
		return conflict("upload")
	case isForeignKeyViolation(err):
		return notFound("bucket")
	}
	return wrapUnlessCoded("create upload", err)
}

func (x *objectIndex) GetUpload(ctx context.Context, bucket, uploadID string) (*artifact.UploadRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var us []*artifact.UploadRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE bucket = $1 AND upload_id = $2`, bucket, uploadID)
		if err != nil {
			return err
		}
		us, err = scanUploads(rows)
		return err
	})
	if err != nil {
		return nil, wrapUnlessCoded("get upload", err)
	}
	if len(us) == 0 {
		return nil, notFound("upload")
	}
	return us[0], nil
}

func (x *objectIndex) ListUploads(ctx context.Context, bucket string, f artifact.UploadFilter) ([]*artifact.UploadRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var us []*artifact.UploadRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE bucket = $1 AND object_key >= $2
			AND (object_key > $3 OR ($4 <> '' AND object_key = $3 AND upload_id > $4)) ORDER BY object_key, upload_id LIMIT $5`,
			bucket, f.Prefix, f.AfterKey, f.AfterID, max(f.Limit, 0))
		if err != nil {
			return err
		}
		us, err = scanUploads(rows)
		return err
	})
	if err != nil {
		return nil, wrapUnlessCoded("list uploads", err)
	}
	for i, u := range us {
		if !strings.HasPrefix(u.Key, f.Prefix) {
			return us[:i], nil
		}
	}
	return us, nil
}

const partCols = `bucket, upload_id, part_number, tenant_id, size, etag, body, last_modified, doc`

func queryParts(ctx context.Context, tx pgx.Tx, q string, args ...any) ([]*artifact.PartRecord, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*artifact.PartRecord
	for rows.Next() {
		var p artifact.PartRecord
		if err := rows.Scan(&p.Bucket, &p.UploadID, &p.Number, &p.Tenant, &p.Size, &p.ETag, &p.Body, &p.LastModified, &p.Doc); err != nil {
			return nil, err
		}
		p.LastModified = p.LastModified.UTC()
		out = append(out, &p)
	}
	return out, rows.Err()
}

func (x *objectIndex) PutPart(ctx context.Context, p *artifact.PartRecord) (*artifact.PartRecord, error) {
	if err := need(p.Bucket, p.UploadID, p.Tenant); err != nil {
		return nil, err
	}
	var prev *artifact.PartRecord
	err := x.db.InBucket(ctx, p.Bucket, func(tx pgx.Tx) error {
		// Lock the upload so a concurrent complete or abort waits for us
		// (or we find it gone).
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM s3_uploads WHERE bucket = $1 AND upload_id = $2 FOR SHARE`, p.Bucket, p.UploadID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("upload")
		}
		if err != nil {
			return err
		}
		ps, err := queryParts(ctx, tx, `SELECT `+partCols+` FROM s3_parts WHERE bucket = $1 AND upload_id = $2 AND part_number = $3 FOR UPDATE`,
			p.Bucket, p.UploadID, p.Number)
		if err != nil {
			return err
		}
		if len(ps) == 1 {
			prev = ps[0]
		}
		_, err = tx.Exec(ctx, `INSERT INTO s3_parts (`+partCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (bucket, upload_id, part_number) DO UPDATE SET tenant_id = excluded.tenant_id, size = excluded.size,
			etag = excluded.etag, body = excluded.body, last_modified = excluded.last_modified, doc = excluded.doc`,
			p.Bucket, p.UploadID, p.Number, p.Tenant, p.Size, p.ETag, p.Body, pgTime(p.LastModified), nonNilBytes(p.Doc))
		return err
	})
	if isForeignKeyViolation(err) {
		return nil, notFound("upload")
	}
	return prev, wrapUnlessCoded("put part", err)
}

func (x *objectIndex) ListParts(ctx context.Context, bucket, uploadID string, after, limit int) ([]*artifact.PartRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var ps []*artifact.PartRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
		var err error
		ps, err = queryParts(ctx, tx, `SELECT `+partCols+` FROM s3_parts WHERE bucket = $1 AND upload_id = $2 AND part_number > $3 ORDER BY part_number LIMIT $4`,
			bucket, uploadID, after, max(limit, 0))
		return err
	})
	return ps, wrapUnlessCoded("list parts", err)
}

// takeUpload deletes an upload (locked first) and its parts inside tx and
// returns the parts.
func takeUpload(ctx context.Context, tx pgx.Tx, bucket, uploadID string) ([]*artifact.PartRecord, error) {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM s3_uploads WHERE bucket = $1 AND upload_id = $2 FOR UPDATE`, bucket, uploadID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("upload")
	}
	if err != nil {
		return nil, err
	}
	parts, err := queryParts(ctx, tx, `SELECT `+partCols+` FROM s3_parts WHERE bucket = $1 AND upload_id = $2 ORDER BY part_number`, bucket, uploadID)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM s3_parts WHERE bucket = $1 AND upload_id = $2`, bucket, uploadID); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM s3_uploads WHERE bucket = $1 AND upload_id = $2`, bucket, uploadID); err != nil {
		return nil, err
	}
	return parts, nil
}

func (x *objectIndex) CompleteUpload(ctx context.Context, bucket, uploadID string, o *artifact.ObjectRecord, use []artifact.PartRef) (*artifact.ObjectRecord, []*artifact.PartRecord, error) {
	if err := need(bucket, o.Tenant); err != nil {
		return nil, nil, err
	}
	var prev *artifact.ObjectRecord
	var parts []*artifact.PartRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
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
		prev, err = putObject(ctx, tx, o)
		return err
	})
	if err != nil {
		return nil, nil, wrapUnlessCoded("complete upload", err)
	}
	return prev, parts, nil
}

func (x *objectIndex) DeleteUpload(ctx context.Context, bucket, uploadID string) ([]*artifact.PartRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	var parts []*artifact.PartRecord
	err := x.db.InBucket(ctx, bucket, func(tx pgx.Tx) error {
		var err error
		parts, err = takeUpload(ctx, tx, bucket, uploadID)
		return err
	})
	return parts, wrapUnlessCoded("delete upload", err)
}

func (x *objectIndex) ListTenantObjects(ctx context.Context, tenant string, after artifact.ObjectRef, limit int) ([]*artifact.ObjectRecord, error) {
	if err := need(tenant); err != nil {
		return nil, err
	}
	var out []*artifact.ObjectRecord
	err := x.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+objectCols+` FROM s3_objects WHERE tenant_id = $1 AND (bucket, object_key) > ($2, $3)
			ORDER BY bucket, object_key LIMIT $4`, tenant, after.Bucket, after.Key, max(limit, 0))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			o, err := scanObject(rows)
			if err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, wrapUnlessCoded("list tenant objects", err)
}

func (x *objectIndex) ListTenantUploads(ctx context.Context, tenant string) ([]*artifact.UploadRecord, []*artifact.PartRecord, error) {
	if err := need(tenant); err != nil {
		return nil, nil, err
	}
	var us []*artifact.UploadRecord
	var ps []*artifact.PartRecord
	err := x.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE tenant_id = $1 ORDER BY upload_id`, tenant)
		if err != nil {
			return err
		}
		if us, err = scanUploads(rows); err != nil {
			return err
		}
		ps, err = queryParts(ctx, tx, `SELECT `+partCols+` FROM s3_parts WHERE tenant_id = $1 ORDER BY bucket, upload_id, part_number`, tenant)
		return err
	})
	if err != nil {
		return nil, nil, wrapUnlessCoded("list tenant uploads", err)
	}
	return us, ps, nil
}

func (x *objectIndex) Usage(ctx context.Context, tenant string) (artifact.Usage, error) {
	if err := need(tenant); err != nil {
		return artifact.Usage{}, err
	}
	var u artifact.Usage
	err := x.db.InTenant(ctx, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM s3_objects WHERE tenant_id = $1), (SELECT coalesce(sum(size), 0)::bigint FROM s3_objects WHERE tenant_id = $1),
			(SELECT count(*) FROM s3_parts WHERE tenant_id = $1), (SELECT coalesce(sum(size), 0)::bigint FROM s3_parts WHERE tenant_id = $1)`,
			tenant).Scan(&u.Objects, &u.Bytes, &u.Parts, &u.PartBytes)
	})
	return u, wrapUnlessCoded("usage", err)
}

func (x *objectIndex) ListStaleUploads(ctx context.Context, before time.Time, limit int) ([]*artifact.UploadRecord, error) {
	var us []*artifact.UploadRecord
	err := x.db.AsOperator(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+uploadCols+` FROM s3_uploads WHERE initiated < $1 ORDER BY initiated, upload_id LIMIT $2`,
			pgTime(before), max(limit, 0))
		if err != nil {
			return err
		}
		us, err = scanUploads(rows)
		return err
	})
	return us, wrapUnlessCoded("list stale uploads", err)
}
