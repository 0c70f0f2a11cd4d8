package artifacttest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

// Run runs the contract suite. newIndex must return an empty index; Run
// never closes it (the caller's cleanup does).
func Run(t *testing.T, newIndex func(t *testing.T) artifact.Index) {
	t.Run("Buckets", func(t *testing.T) { testBuckets(t, newIndex(t)) })
	t.Run("Objects", func(t *testing.T) { testObjects(t, newIndex(t)) })
	t.Run("ListObjects", func(t *testing.T) { testListObjects(t, newIndex(t)) })
	t.Run("Uploads", func(t *testing.T) { testUploads(t, newIndex(t)) })
	t.Run("Tenants", func(t *testing.T) { testTenants(t, newIndex(t)) })
	t.Run("ErrEmptyScope", func(t *testing.T) { testEmptyScope(t, newIndex(t)) })
}

// t0 is a time with sub-microsecond digits: the index keeps microseconds.
var t0 = time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tenantml.ErrorCode(err); got != code {
		t.Fatalf("error = %v (code %q), want %q", err, got, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func bucket(name, account string) *artifact.BucketRecord {
	return &artifact.BucketRecord{Name: name, Account: account, Tenant: "acme", Created: t0, Doc: []byte(`{"b":"` + name + `"}`)}
}

func object(b, key, tenant string, size int64) *artifact.ObjectRecord {
	return &artifact.ObjectRecord{Bucket: b, Key: key, Tenant: tenant, Size: size, ETag: "etag-" + key,
		Created: t0, LastModified: t0, Doc: []byte(`{"k":"` + fmt.Sprint(len(key)) + `"}`)}
}

func keysOf(rs []*artifact.ObjectRecord) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Key
	}
	return out
}

func testBuckets(t *testing.T, ix artifact.Index) {
	ctx := context.Background()
	must(t, ix.CreateBucket(ctx, bucket("models", "111122223333")))
	must(t, ix.CreateBucket(ctx, bucket("data", "111122223333")))
	must(t, ix.CreateBucket(ctx, bucket("other", "444455556666")))
	t.Run("ErrDuplicate", func(t *testing.T) {
		wantCode(t, ix.CreateBucket(ctx, bucket("models", "444455556666")), tenantml.ECONFLICT)
	})
	t.Run("Get", func(t *testing.T) {
		b, err := ix.GetBucket(ctx, "models")
		must(t, err)
		if b.Account != "111122223333" || b.Tenant != "acme" || string(b.Doc) != `{"b":"models"}` || b.Revision != 1 ||
			!b.Created.Equal(t0.Truncate(time.Microsecond)) {
			t.Fatalf("bucket = %+v", b)
		}
		_, err = ix.GetBucket(ctx, "missing")
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("ListByAccount", func(t *testing.T) {
		bs, err := ix.ListBuckets(ctx, "111122223333")
		must(t, err)
		if len(bs) != 2 || bs[0].Name != "data" || bs[1].Name != "models" {
			t.Fatalf("buckets = %v", bs)
		}
	})
	t.Run("Update", func(t *testing.T) {
		b, err := ix.GetBucket(ctx, "models")
		must(t, err)
		b.Doc = []byte(`{"policy":"x"}`)
		rev, err := ix.UpdateBucket(ctx, b)
		must(t, err)
		if rev != b.Revision+1 {
			t.Fatalf("revision = %d, want %d", rev, b.Revision+1)
		}
		_, err = ix.UpdateBucket(ctx, b) // stale
		wantCode(t, err, tenantml.ECONFLICT)
		got, _ := ix.GetBucket(ctx, "models")
		if string(got.Doc) != `{"policy":"x"}` {
			t.Fatalf("doc = %s", got.Doc)
		}
		_, err = ix.UpdateBucket(ctx, bucket("missing", "111122223333"))
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("DeleteNotEmpty", func(t *testing.T) {
		_, err := ix.PutObject(ctx, object("data", "k", "acme", 1))
		must(t, err)
		wantCode(t, ix.DeleteBucket(ctx, "data"), tenantml.ECONFLICT)
		_, err = ix.DeleteObject(ctx, "data", "k", 0)
		must(t, err)
		must(t, ix.CreateUpload(ctx, &artifact.UploadRecord{Bucket: "data", Key: "u", UploadID: "up1", Tenant: "acme", Initiated: t0}))
		wantCode(t, ix.DeleteBucket(ctx, "data"), tenantml.ECONFLICT)
		_, err = ix.DeleteUpload(ctx, "data", "up1")
		must(t, err)
		must(t, ix.DeleteBucket(ctx, "data"))
		wantCode(t, ix.DeleteBucket(ctx, "data"), tenantml.ENOTFOUND)
		_, err = ix.GetBucket(ctx, "data")
		wantCode(t, err, tenantml.ENOTFOUND)
	})
}

func testObjects(t *testing.T, ix artifact.Index) {
	ctx := context.Background()
	must(t, ix.CreateBucket(ctx, bucket("models", "111122223333")))
	t.Run("ErrNoBucket", func(t *testing.T) {
		_, err := ix.PutObject(ctx, object("missing", "k", "acme", 1))
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	o := object("models", "acme/model.tar.gz", "acme", 42)
	prev, err := ix.PutObject(ctx, o)
	must(t, err)
	if prev != nil || o.Revision == 0 {
		t.Fatalf("first put: prev %v, revision %d", prev, o.Revision)
	}
	t.Run("Get", func(t *testing.T) {
		got, err := ix.GetObject(ctx, "models", "acme/model.tar.gz")
		must(t, err)
		if got.Tenant != "acme" || got.Size != 42 || got.ETag != o.ETag || string(got.Doc) != string(o.Doc) ||
			got.Revision != o.Revision || !got.LastModified.Equal(t0.Truncate(time.Microsecond)) {
			t.Fatalf("object = %+v, want %+v", got, o)
		}
		_, err = ix.GetObject(ctx, "models", "acme/other")
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("ReplaceKeepsCreated", func(t *testing.T) {
		n := object("models", "acme/model.tar.gz", "globex", 7)
		n.Created, n.LastModified = t0.Add(time.Hour), t0.Add(time.Hour)
		prev, err := ix.PutObject(ctx, n)
		must(t, err)
		if prev == nil || prev.Tenant != "acme" || prev.Size != 42 || string(prev.Doc) != string(o.Doc) {
			t.Fatalf("prev = %+v", prev)
		}
		got, _ := ix.GetObject(ctx, "models", "acme/model.tar.gz")
		if got.Tenant != "globex" || got.Size != 7 || !got.Created.Equal(t0.Truncate(time.Microsecond)) ||
			!got.LastModified.Equal(t0.Add(time.Hour).Truncate(time.Microsecond)) || got.Revision == o.Revision {
			t.Fatalf("replaced = %+v", got)
		}
		o = got
	})
	t.Run("UpdateAtRevision", func(t *testing.T) {
		o.Doc = []byte(`{"tags":1}`)
		rev, err := ix.UpdateObject(ctx, o)
		must(t, err)
		_, err = ix.UpdateObject(ctx, o)
		wantCode(t, err, tenantml.ECONFLICT)
		got, _ := ix.GetObject(ctx, "models", "acme/model.tar.gz")
		if string(got.Doc) != `{"tags":1}` || got.Revision != rev || got.Size != 7 {
			t.Fatalf("updated = %+v", got)
		}
		o = got
	})
	t.Run("DeleteAtRevision", func(t *testing.T) {
		_, err := ix.DeleteObject(ctx, "models", "acme/model.tar.gz", o.Revision+1000)
		wantCode(t, err, tenantml.ECONFLICT)
		del, err := ix.DeleteObject(ctx, "models", "acme/model.tar.gz", o.Revision)
		must(t, err)
		if del.Size != 7 || string(del.Doc) != `{"tags":1}` {
			t.Fatalf("deleted = %+v", del)
		}
		_, err = ix.DeleteObject(ctx, "models", "acme/model.tar.gz", 0)
		wantCode(t, err, tenantml.ENOTFOUND)
	})
}

func testListObjects(t *testing.T, ix artifact.Index) {
	ctx := context.Background()
	must(t, ix.CreateBucket(ctx, bucket("models", "111122223333")))
	must(t, ix.CreateBucket(ctx, bucket("next", "111122223333")))
	// Byte order: uppercase before lowercase, "-" (0x2d) before "/" (0x2f),
	// multi-byte UTF-8 after ASCII; LIKE and GLOB metacharacters literal.
	keys := []string{"B", "a", "a-b", "a/b", "a/c", "a%", "a_", "a\\", "a*", "é", "日本", "z" + strings.Repeat("x", 1000)}
	for _, k := range keys {
		_, err := ix.PutObject(ctx, object("models", k, "acme", int64(len(k))))
		must(t, err)
	}
	_, err := ix.PutObject(ctx, object("next", "a/a", "acme", 1))
	must(t, err)
	all := []string{"B", "a", "a%", "a*", "a-b", "a/b", "a/c", "a\\", "a_", "z" + strings.Repeat("x", 1000), "é", "日本"}
	cases := []struct {
		name string
		f    artifact.ObjectFilter
		want []string
	}{
		{"All", artifact.ObjectFilter{Limit: 100}, all},
		{"Limit", artifact.ObjectFilter{Limit: 3}, all[:3]},
		{"After", artifact.ObjectFilter{After: "a-b", Limit: 3}, []string{"a/b", "a/c", "a\\"}},
		{"Prefix", artifact.ObjectFilter{Prefix: "a/", Limit: 100}, []string{"a/b", "a/c"}},
		{"PrefixPercentIsLiteral", artifact.ObjectFilter{Prefix: "a%", Limit: 100}, []string{"a%"}},
		{"PrefixUnderscoreIsLiteral", artifact.ObjectFilter{Prefix: "a_", Limit: 100}, []string{"a_"}},
		{"PrefixStarIsLiteral", artifact.ObjectFilter{Prefix: "a*", Limit: 100}, []string{"a*"}},
		{"PrefixBackslash", artifact.ObjectFilter{Prefix: "a\\", Limit: 100}, []string{"a\\"}},
		{"PrefixAndAfter", artifact.ObjectFilter{Prefix: "a/", After: "a/b", Limit: 100}, []string{"a/c"}},
		{"AfterBeforePrefix", artifact.ObjectFilter{Prefix: "a/", After: "A", Limit: 100}, []string{"a/b", "a/c"}},
		{"AfterPastPrefix", artifact.ObjectFilter{Prefix: "a/", After: "a/z", Limit: 100}, nil},
		{"MultiByte", artifact.ObjectFilter{After: "z", Limit: 100}, all[9:]},
		{"PrefixMultiByte", artifact.ObjectFilter{Prefix: "日", Limit: 100}, []string{"日本"}},
		{"AfterMaxRune", artifact.ObjectFilter{After: "a/\U0010FFFF", Limit: 2}, []string{"a\\", "a_"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := ix.ListObjects(ctx, "models", tc.f)
			must(t, err)
			if got := keysOf(rs); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("keys = %q, want %q", got, tc.want)
			}
			for _, r := range rs {
				if r.Doc != nil || r.Size != int64(len(r.Key)) || r.ETag != "etag-"+r.Key || r.Tenant != "acme" {
					t.Fatalf("entry = %+v: want columns and no Doc", r)
				}
			}
		})
	}
}

func testUploads(t *testing.T, ix artifact.Index) {
	ctx := context.Background()
	must(t, ix.CreateBucket(ctx, bucket("models", "111122223333")))
	up := func(key, id string, at time.Time) *artifact.UploadRecord {
		return &artifact.UploadRecord{Bucket: "models", Key: key, UploadID: id, Tenant: "acme", Initiated: at, Doc: []byte(`{"u":"` + id + `"}`)}
	}
	must(t, ix.CreateUpload(ctx, up("b", "02", t0)))
	must(t, ix.CreateUpload(ctx, up("a", "03", t0.Add(time.Second))))
	must(t, ix.CreateUpload(ctx, up("b", "01", t0.Add(2*time.Second))))
	t.Run("ErrDuplicate", func(t *testing.T) {
		wantCode(t, ix.CreateUpload(ctx, up("c", "01", t0)), tenantml.ECONFLICT)
	})
	t.Run("ErrNoBucket", func(t *testing.T) {
		u := up("c", "09", t0)
		u.Bucket = "missing"
		wantCode(t, ix.CreateUpload(ctx, u), tenantml.ENOTFOUND)
	})
	t.Run("Get", func(t *testing.T) {
		u, err := ix.GetUpload(ctx, "models", "03")
		must(t, err)
		if u.Key != "a" || u.Tenant != "acme" || string(u.Doc) != `{"u":"03"}` || !u.Initiated.Equal(t0.Add(time.Second).Truncate(time.Microsecond)) {
			t.Fatalf("upload = %+v", u)
		}
		_, err = ix.GetUpload(ctx, "models", "99")
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("List", func(t *testing.T) {
		cases := []struct {
			name string
			f    artifact.UploadFilter
			want string
		}{
			{"All", artifact.UploadFilter{Limit: 10}, "a/03 b/01 b/02"},
			{"Limit", artifact.UploadFilter{Limit: 2}, "a/03 b/01"},
			{"AfterKey", artifact.UploadFilter{AfterKey: "a", Limit: 10}, "b/01 b/02"},
			{"AfterKeyAndID", artifact.UploadFilter{AfterKey: "b", AfterID: "01", Limit: 10}, "b/02"},
			{"Prefix", artifact.UploadFilter{Prefix: "a", Limit: 10}, "a/03"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				us, err := ix.ListUploads(ctx, "models", tc.f)
				must(t, err)
				var got []string
				for _, u := range us {
					got = append(got, u.Key+"/"+u.UploadID)
				}
				if strings.Join(got, " ") != tc.want {
					t.Fatalf("uploads = %v, want %s", got, tc.want)
				}
			})
		}
	})
	part := func(id string, n int, body string) *artifact.PartRecord {
		return &artifact.PartRecord{Bucket: "models", UploadID: id, Number: n, Tenant: "acme", Size: int64(n * 10),
			ETag: "e" + body, Body: body, LastModified: t0, Doc: []byte(`{"p":1}`)}
	}
	t.Run("Parts", func(t *testing.T) {
		for n := 1; n <= 3; n++ {
			prev, err := ix.PutPart(ctx, part("02", n, fmt.Sprint("body", n)))
			must(t, err)
			if prev != nil {
				t.Fatalf("prev = %+v", prev)
			}
		}
		prev, err := ix.PutPart(ctx, part("02", 2, "body2b"))
		must(t, err)
		if prev == nil || prev.Body != "body2" {
			t.Fatalf("replaced part = %+v", prev)
		}
		ps, err := ix.ListParts(ctx, "models", "02", 1, 1)
		must(t, err)
		if len(ps) != 1 || ps[0].Number != 2 || ps[0].Body != "body2b" || ps[0].ETag != "ebody2b" || ps[0].Size != 20 || string(ps[0].Doc) != `{"p":1}` {
			t.Fatalf("parts = %+v", ps)
		}
		_, err = ix.PutPart(ctx, part("99", 1, "x"))
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("CompleteChecksParts", func(t *testing.T) {
		o := object("models", "b", "acme", 40)
		_, _, err := ix.CompleteUpload(ctx, "models", "02", o, []artifact.PartRef{{Number: 1, Body: "body1"}, {Number: 2, Body: "body2"}})
		wantCode(t, err, tenantml.ECONFLICT)
		_, _, err = ix.CompleteUpload(ctx, "models", "02", o, []artifact.PartRef{{Number: 4, Body: "body4"}})
		wantCode(t, err, tenantml.ECONFLICT)
		if _, err := ix.GetUpload(ctx, "models", "02"); err != nil {
			t.Fatalf("a refused complete removed the upload: %v", err)
		}
	})
	t.Run("Complete", func(t *testing.T) {
		_, err := ix.PutObject(ctx, object("models", "b", "acme", 5))
		must(t, err)
		o := object("models", "b", "acme", 30)
		prev, all, err := ix.CompleteUpload(ctx, "models", "02", o, []artifact.PartRef{{Number: 1, Body: "body1"}, {Number: 2, Body: "body2b"}})
		must(t, err)
		if prev == nil || prev.Size != 5 {
			t.Fatalf("prev = %+v", prev)
		}
		if len(all) != 3 || all[0].Body != "body1" || all[1].Body != "body2b" || all[2].Body != "body3" {
			t.Fatalf("deleted parts = %+v", all)
		}
		got, err := ix.GetObject(ctx, "models", "b")
		must(t, err)
		if got.Size != 30 || got.Revision != o.Revision {
			t.Fatalf("object = %+v", got)
		}
		_, err = ix.GetUpload(ctx, "models", "02")
		wantCode(t, err, tenantml.ENOTFOUND)
		ps, err := ix.ListParts(ctx, "models", "02", 0, 10)
		must(t, err)
		if len(ps) != 0 {
			t.Fatalf("parts left: %v", ps)
		}
		_, err = ix.PutPart(ctx, part("02", 4, "late"))
		wantCode(t, err, tenantml.ENOTFOUND)
		_, _, err = ix.CompleteUpload(ctx, "models", "02", o, nil)
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("Delete", func(t *testing.T) {
		_, err := ix.PutPart(ctx, part("03", 1, "p31"))
		must(t, err)
		ps, err := ix.DeleteUpload(ctx, "models", "03")
		must(t, err)
		if len(ps) != 1 || ps[0].Body != "p31" {
			t.Fatalf("deleted parts = %+v", ps)
		}
		_, err = ix.DeleteUpload(ctx, "models", "03")
		wantCode(t, err, tenantml.ENOTFOUND)
	})
	t.Run("Stale", func(t *testing.T) {
		must(t, ix.CreateUpload(ctx, up("c", "04", t0.Add(-time.Hour))))
		us, err := ix.ListStaleUploads(ctx, t0.Add(time.Minute), 10)
		must(t, err)
		var got []string
		for _, u := range us {
			got = append(got, u.UploadID)
		}
		if strings.Join(got, " ") != "04 01" {
			t.Fatalf("stale = %v, want 04 01 (oldest first)", got)
		}
		us, err = ix.ListStaleUploads(ctx, t0.Add(time.Minute), 1)
		must(t, err)
		if len(us) != 1 || us[0].UploadID != "04" {
			t.Fatalf("limited stale = %v", us)
		}
	})
}

func testTenants(t *testing.T, ix artifact.Index) {
	ctx := context.Background()
	for _, b := range []string{"alpha", "beta"} {
		must(t, ix.CreateBucket(ctx, bucket(b, "111122223333")))
	}
	for _, o := range []*artifact.ObjectRecord{
		object("alpha", "k1", "acme", 10), object("alpha", "k2", "globex", 20), object("beta", "k0", "acme", 30),
		object("beta", "k3", "acme", 40),
	} {
		_, err := ix.PutObject(ctx, o)
		must(t, err)
	}
	must(t, ix.CreateUpload(ctx, &artifact.UploadRecord{Bucket: "beta", Key: "big", UploadID: "u1", Tenant: "acme", Initiated: t0}))
	must(t, ix.CreateUpload(ctx, &artifact.UploadRecord{Bucket: "beta", Key: "big", UploadID: "u2", Tenant: "globex", Initiated: t0}))
	for n, up := range map[int]string{1: "u1", 2: "u1", 3: "u2"} {
		_, err := ix.PutPart(ctx, &artifact.PartRecord{Bucket: "beta", UploadID: up, Number: n, Tenant: map[string]string{"u1": "acme", "u2": "globex"}[up],
			Size: 100, ETag: "e", Body: fmt.Sprint("b", n), LastModified: t0})
		must(t, err)
	}
	t.Run("ListTenantObjects", func(t *testing.T) {
		rs, err := ix.ListTenantObjects(ctx, "acme", artifact.ObjectRef{}, 2)
		must(t, err)
		if len(rs) != 2 || rs[0].Bucket+"/"+rs[0].Key != "alpha/k1" || rs[1].Bucket+"/"+rs[1].Key != "beta/k0" || rs[0].Doc == nil {
			t.Fatalf("page 1 = %+v", rs)
		}
		rs, err = ix.ListTenantObjects(ctx, "acme", artifact.ObjectRef{Bucket: "beta", Key: "k0"}, 2)
		must(t, err)
		if len(rs) != 1 || rs[0].Key != "k3" {
			t.Fatalf("page 2 = %+v", rs)
		}
	})
	t.Run("ListTenantUploads", func(t *testing.T) {
		us, ps, err := ix.ListTenantUploads(ctx, "acme")
		must(t, err)
		if len(us) != 1 || us[0].UploadID != "u1" || len(ps) != 2 {
			t.Fatalf("uploads %+v parts %+v", us, ps)
		}
		for _, p := range ps {
			if p.Tenant != "acme" || (p.Body != "b1" && p.Body != "b2") {
				t.Fatalf("part of another tenant: %+v", p)
			}
		}
	})
	t.Run("Usage", func(t *testing.T) {
		u, err := ix.Usage(ctx, "acme")
		must(t, err)
		if u != (artifact.Usage{Objects: 3, Bytes: 80, Parts: 2, PartBytes: 200}) {
			t.Fatalf("usage = %+v", u)
		}
		u, err = ix.Usage(ctx, "initech")
		must(t, err)
		if u != (artifact.Usage{}) {
			t.Fatalf("usage of a tenant with nothing = %+v", u)
		}
	})
}

func testEmptyScope(t *testing.T, ix artifact.Index) {
	ctx := context.Background()
	calls := map[string]error{
		"GetBucket":         func() error { _, err := ix.GetBucket(ctx, ""); return err }(),
		"ListBuckets":       func() error { _, err := ix.ListBuckets(ctx, ""); return err }(),
		"GetObject":         func() error { _, err := ix.GetObject(ctx, "", "k"); return err }(),
		"PutObjectTenant":   func() error { _, err := ix.PutObject(ctx, object("b", "k", "", 1)); return err }(),
		"ListObjects":       func() error { _, err := ix.ListObjects(ctx, "", artifact.ObjectFilter{Limit: 1}); return err }(),
		"ListTenantObjects": func() error { _, err := ix.ListTenantObjects(ctx, "", artifact.ObjectRef{}, 1); return err }(),
		"ListTenantUploads": func() error { _, _, err := ix.ListTenantUploads(ctx, ""); return err }(),
		"Usage":             func() error { _, err := ix.Usage(ctx, ""); return err }(),
	}
	for name, err := range calls {
		t.Run(name, func(t *testing.T) { wantCode(t, err, tenantml.EINVALID) })
	}
}
