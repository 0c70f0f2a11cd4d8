package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
)

func TestDB_Objects(t *testing.T) {
	artifacttest.Run(t, func(t *testing.T) artifact.Index {
		e := newEnv(t)
		return open(t, postgresConfig(e.appURL(), e.adminURL())).Objects()
	})
}

// Row-level security on the S3 index: a bucket-scoped transaction sees and
// changes only its bucket's rows, whatever tenants own them; a
// tenant-scoped one only its tenant's rows, in every bucket; an account
// scope reads only its account's buckets; an unscoped transaction reaches
// nothing.
func TestDB_ObjectsRLS(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	db := open(t, postgresConfig(e.appURL(), e.adminURL()))
	ix := db.Objects()
	now := time.Now()
	for _, b := range []struct{ name, account string }{{"alpha", "111122223333"}, {"beta", "444455556666"}} {
		if err := ix.CreateBucket(ctx, &artifact.BucketRecord{Name: b.name, Account: b.account, Created: now, Doc: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	for _, o := range []struct{ bucket, key, tenant string }{{"alpha", "a1", "acme"}, {"alpha", "a2", "globex"}, {"beta", "b1", "acme"}} {
		if _, err := ix.PutObject(ctx, &artifact.ObjectRecord{Bucket: o.bucket, Key: o.key, Tenant: o.tenant, Size: 1, ETag: "e",
			Created: now, LastModified: now, Doc: []byte("{}")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.CreateUpload(ctx, &artifact.UploadRecord{Bucket: "beta", Key: "u", UploadID: "up", Tenant: "globex", Initiated: now}); err != nil {
		t.Fatal(err)
	}
	type scope struct{ kind, value string }
	tests := []struct {
		name     string
		scope    scope
		stmt     string
		query    bool
		want     int64
		wantCode string
		wantRLS  bool
	}{
		{name: "BucketSeesItsObjects", scope: scope{"bucket", "alpha"}, stmt: `SELECT count(*) FROM s3_objects`, query: true, want: 2},
		{name: "BucketSeesItsBucketOnly", scope: scope{"bucket", "alpha"}, stmt: `SELECT count(*) FROM s3_buckets`, query: true, want: 1},
		{name: "BucketSeesNoOtherUploads", scope: scope{"bucket", "alpha"}, stmt: `SELECT count(*) FROM s3_uploads`, query: true, want: 0},
		{name: "BucketDeleteOther", scope: scope{"bucket", "alpha"}, stmt: `DELETE FROM s3_objects WHERE bucket = 'beta'`, want: 0},
		{name: "ErrBucketInsertIntoOther", scope: scope{"bucket", "alpha"}, stmt: `INSERT INTO s3_objects (bucket, object_key, tenant_id, size, etag, created, last_modified, doc, revision)
			VALUES ('beta', 'evil', 'acme', 1, 'e', now(), now(), '', 1)`, wantCode: tenantml.EFORBIDDEN},
		{name: "ErrBucketMoveObject", scope: scope{"bucket", "alpha"}, stmt: `UPDATE s3_objects SET bucket = 'beta'`, wantCode: tenantml.EFORBIDDEN},
		{name: "TenantSeesItsObjectsEverywhere", scope: scope{"tenant", "acme"}, stmt: `SELECT count(*) FROM s3_objects`, query: true, want: 2},
		{name: "TenantSeesNoBuckets", scope: scope{"tenant", "acme"}, stmt: `SELECT count(*) FROM s3_buckets`, query: true, want: 0},
		{name: "TenantSeesNoOtherUploads", scope: scope{"tenant", "acme"}, stmt: `SELECT count(*) FROM s3_uploads`, query: true, want: 0},
		{name: "TenantDeleteOther", scope: scope{"tenant", "acme"}, stmt: `DELETE FROM s3_objects WHERE tenant_id = 'globex'`, want: 0},
		{name: "ErrTenantGiveAway", scope: scope{"tenant", "acme"}, stmt: `UPDATE s3_objects SET tenant_id = 'globex'`, wantCode: tenantml.EFORBIDDEN},
		{name: "AccountSeesItsBuckets", scope: scope{"account", "111122223333"}, stmt: `SELECT count(*) FROM s3_buckets`, query: true, want: 1},
		{name: "AccountSeesNoObjects", scope: scope{"account", "111122223333"}, stmt: `SELECT count(*) FROM s3_objects`, query: true, want: 0},
		{name: "AccountCannotDelete", scope: scope{"account", "111122223333"}, stmt: `DELETE FROM s3_buckets`, want: 0},
		{name: "UnscopedSeesNothing", stmt: `SELECT (SELECT count(*) FROM s3_objects) + (SELECT count(*) FROM s3_buckets) + (SELECT count(*) FROM s3_uploads)`, query: true, want: 0},
		{name: "UnscopedDeletesNothing", stmt: `DELETE FROM s3_objects`, want: 0},
		{name: "ErrUnscopedInsert", stmt: `INSERT INTO s3_buckets (name, account_id, tenant_id, created, doc, revision) VALUES ('gamma', '111122223333', '', now(), '', 1)`, wantRLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int64
			run := func(tx pgx.Tx) error {
				if tt.query {
					return tx.QueryRow(ctx, tt.stmt).Scan(&n)
				}
				tag, err := tx.Exec(ctx, tt.stmt)
				n = tag.RowsAffected()
				return err
			}
			var err error
			switch tt.scope.kind {
			case "bucket":
				err = db.InBucket(ctx, tt.scope.value, run)
			case "tenant":
				err = db.InTenant(ctx, tt.scope.value, run)
			case "account":
				err = db.InAccount(ctx, tt.scope.value, run)
			default:
				err = pgx.BeginFunc(ctx, db.PoolForTest(), run)
			}
			switch {
			case tt.wantCode != "":
				if code := tenantml.ErrorCode(err); code != tt.wantCode {
					t.Fatalf("err = %v (code %q), want %q", err, code, tt.wantCode)
				}
			case tt.wantRLS:
				if err == nil || !strings.Contains(err.Error(), "row-level security") {
					t.Fatalf("err = %v, want a row-level security violation", err)
				}
			case err != nil:
				t.Fatal(err)
			case n != tt.want:
				t.Fatalf("rows = %d, want %d", n, tt.want)
			}
		})
	}
	u, err := ix.Usage(ctx, "acme")
	if err != nil || u.Objects != 2 {
		t.Fatalf("acme's usage after the statements = %+v, %v; want its 2 objects", u, err)
	}
}
