package artifacttest

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
)

// MemIndex is an in-memory artifact.Index for tests. The zero value is not
// usable; call NewMemIndex.
type MemIndex struct {
	mu      sync.Mutex
	buckets map[string]artifact.BucketRecord
	objects map[artifact.ObjectRef]artifact.ObjectRecord
	uploads map[[2]string]artifact.UploadRecord // bucket, upload ID
	parts   map[[2]string]map[int]artifact.PartRecord
	rev     int64
}

var _ artifact.Index = (*MemIndex)(nil)

// NewMemIndex returns an empty MemIndex.
func NewMemIndex() *MemIndex {
	return &MemIndex{
		buckets: map[string]artifact.BucketRecord{},
		objects: map[artifact.ObjectRef]artifact.ObjectRecord{},
		uploads: map[[2]string]artifact.UploadRecord{},
		parts:   map[[2]string]map[int]artifact.PartRecord{},
	}
}

func need(vals ...string) error {
	for _, v := range vals {
		if v == "" {
			return tenantml.Errorf(tenantml.EINVALID, "bucket, account and tenant are required")
		}
	}
	return nil
}

func notFound(what string) error { return tenantml.Errorf(tenantml.ENOTFOUND, "%s not found", what) }
func conflict(what string) error {
	return tenantml.Errorf(tenantml.ECONFLICT, "%s changed or exists", what)
}

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func (m *MemIndex) next() int64 { m.rev++; return m.rev }

// CreateBucket implements artifact.Index.
func (m *MemIndex) CreateBucket(_ context.Context, b *artifact.BucketRecord) error {
	if err := need(b.Name, b.Account); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.buckets[b.Name]; ok {
		return conflict("bucket")
	}
	c := *b
	c.Doc, c.Revision, c.Created = clone(b.Doc), 1, b.Created.UTC().Truncate(time.Microsecond)
	m.buckets[b.Name] = c
	b.Revision = 1
	return nil
}

// GetBucket implements artifact.Index.
func (m *MemIndex) GetBucket(_ context.Context, name string) (*artifact.BucketRecord, error) {
	if err := need(name); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[name]
	if !ok {
		return nil, notFound("bucket")
	}
	b.Doc = clone(b.Doc)
	return &b, nil
}

// ListBuckets implements artifact.Index.
func (m *MemIndex) ListBuckets(_ context.Context, account string) ([]*artifact.BucketRecord, error) {
	if err := need(account); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*artifact.BucketRecord
	for _, b := range m.buckets {
		if b.Account == account {
			b.Doc = clone(b.Doc)
			out = append(out, &b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UpdateBucket implements artifact.Index.
func (m *MemIndex) UpdateBucket(_ context.Context, b *artifact.BucketRecord) (int64, error) {
	if err := need(b.Name); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.buckets[b.Name]
	if !ok {
		return 0, notFound("bucket")
	}
	if cur.Revision != b.Revision {
		return 0, conflict("bucket")
	}
	cur.Doc, cur.Revision = clone(b.Doc), cur.Revision+1
	m.buckets[b.Name] = cur
	return cur.Revision, nil
}

// DeleteBucket implements artifact.Index.
func (m *MemIndex) DeleteBucket(_ context.Context, name string) error {
	if err := need(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.buckets[name]; !ok {
		return notFound("bucket")
	}
	for k := range m.objects {
		if k.Bucket == name {
			return conflict("bucket")
		}
	}
	for k := range m.uploads {
		if k[0] == name {
			return conflict("bucket")
		}
	}
	delete(m.buckets, name)
	return nil
}

// GetObject implements artifact.Index.
func (m *MemIndex) GetObject(_ context.Context, bucket, key string) (*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[artifact.ObjectRef{Bucket: bucket, Key: key}]
	if !ok {
		return nil, notFound("object")
	}
	o.Doc = clone(o.Doc)
	return &o, nil
}

func (m *MemIndex) putObject(o *artifact.ObjectRecord) *artifact.ObjectRecord {
	ref := artifact.ObjectRef{Bucket: o.Bucket, Key: o.Key}
	c := *o
	c.Doc, c.Revision = clone(o.Doc), m.next()
	c.Created, c.LastModified = o.Created.UTC().Truncate(time.Microsecond), o.LastModified.UTC().Truncate(time.Microsecond)
	var prev *artifact.ObjectRecord
	if p, ok := m.objects[ref]; ok {
		prev = &p
		c.Created = p.Created
	}
	m.objects[ref] = c
	o.Revision, o.Created = c.Revision, c.Created
	return prev
}

// PutObject implements artifact.Index.
func (m *MemIndex) PutObject(_ context.Context, o *artifact.ObjectRecord) (*artifact.ObjectRecord, error) {
	if err := need(o.Bucket, o.Tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.buckets[o.Bucket]; !ok {
		return nil, notFound("bucket")
	}
	return m.putObject(o), nil
}

// UpdateObject implements artifact.Index.
func (m *MemIndex) UpdateObject(_ context.Context, o *artifact.ObjectRecord) (int64, error) {
	if err := need(o.Bucket); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := artifact.ObjectRef{Bucket: o.Bucket, Key: o.Key}
	cur, ok := m.objects[ref]
	if !ok {
		return 0, notFound("object")
	}
	if cur.Revision != o.Revision {
		return 0, conflict("object")
	}
	cur.Doc, cur.Revision = clone(o.Doc), m.next()
	m.objects[ref] = cur
	return cur.Revision, nil
}

// DeleteObject implements artifact.Index.
func (m *MemIndex) DeleteObject(_ context.Context, bucket, key string, revision int64) (*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ref := artifact.ObjectRef{Bucket: bucket, Key: key}
	o, ok := m.objects[ref]
	if !ok {
		return nil, notFound("object")
	}
	if revision != 0 && o.Revision != revision {
		return nil, conflict("object")
	}
	delete(m.objects, ref)
	return &o, nil
}

// ListObjects implements artifact.Index.
func (m *MemIndex) ListObjects(_ context.Context, bucket string, f artifact.ObjectFilter) ([]*artifact.ObjectRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*artifact.ObjectRecord
	for _, o := range m.objects {
		if o.Bucket == bucket && o.Key > f.After && strings.HasPrefix(o.Key, f.Prefix) {
			o.Doc = nil
			out = append(out, &o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out[:min(len(out), max(f.Limit, 0))], nil
}

// CreateUpload implements artifact.Index.
func (m *MemIndex) CreateUpload(_ context.Context, u *artifact.UploadRecord) error {
	if err := need(u.Bucket, u.UploadID, u.Tenant); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.buckets[u.Bucket]; !ok {
		return notFound("bucket")
	}
	k := [2]string{u.Bucket, u.UploadID}
	if _, ok := m.uploads[k]; ok {
		return conflict("upload")
	}
	c := *u
	c.Doc, c.Initiated = clone(u.Doc), u.Initiated.UTC().Truncate(time.Microsecond)
	m.uploads[k] = c
	m.parts[k] = map[int]artifact.PartRecord{}
	return nil
}

// GetUpload implements artifact.Index.
func (m *MemIndex) GetUpload(_ context.Context, bucket, uploadID string) (*artifact.UploadRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.uploads[[2]string{bucket, uploadID}]
	if !ok {
		return nil, notFound("upload")
	}
	u.Doc = clone(u.Doc)
	return &u, nil
}

// ListUploads implements artifact.Index.
func (m *MemIndex) ListUploads(_ context.Context, bucket string, f artifact.UploadFilter) ([]*artifact.UploadRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*artifact.UploadRecord
	for _, u := range m.uploads {
		after := u.Key > f.AfterKey || (f.AfterID != "" && u.Key == f.AfterKey && u.UploadID > f.AfterID)
		if u.Bucket == bucket && after && strings.HasPrefix(u.Key, f.Prefix) {
			u.Doc = clone(u.Doc)
			out = append(out, &u)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].UploadID < out[j].UploadID
	})
	return out[:min(len(out), max(f.Limit, 0))], nil
}

// PutPart implements artifact.Index.
func (m *MemIndex) PutPart(_ context.Context, p *artifact.PartRecord) (*artifact.PartRecord, error) {
	if err := need(p.Bucket, p.UploadID, p.Tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	ps, ok := m.parts[[2]string{p.Bucket, p.UploadID}]
	if !ok {
		return nil, notFound("upload")
	}
	var prev *artifact.PartRecord
	if old, ok := ps[p.Number]; ok {
		prev = &old
	}
	c := *p
	c.Doc, c.LastModified = clone(p.Doc), p.LastModified.UTC().Truncate(time.Microsecond)
	ps[p.Number] = c
	return prev, nil
}

// ListParts implements artifact.Index.
func (m *MemIndex) ListParts(_ context.Context, bucket, uploadID string, after, limit int) ([]*artifact.PartRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*artifact.PartRecord
	for _, p := range m.parts[[2]string{bucket, uploadID}] {
		if p.Number > after {
			p.Doc = clone(p.Doc)
			out = append(out, &p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out[:min(len(out), max(limit, 0))], nil
}

// CompleteUpload implements artifact.Index.
func (m *MemIndex) CompleteUpload(_ context.Context, bucket, uploadID string, o *artifact.ObjectRecord, use []artifact.PartRef) (*artifact.ObjectRecord, []*artifact.PartRecord, error) {
	if err := need(bucket, o.Tenant); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{bucket, uploadID}
	ps, ok := m.parts[k]
	if !ok {
		return nil, nil, notFound("upload")
	}
	for _, u := range use {
		if p, ok := ps[u.Number]; !ok || p.Body != u.Body {
			return nil, nil, conflict("part")
		}
	}
	all := sortedParts(ps)
	delete(m.parts, k)
	delete(m.uploads, k)
	return m.putObject(o), all, nil
}

// DeleteUpload implements artifact.Index.
func (m *MemIndex) DeleteUpload(_ context.Context, bucket, uploadID string) ([]*artifact.PartRecord, error) {
	if err := need(bucket); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := [2]string{bucket, uploadID}
	ps, ok := m.parts[k]
	if !ok {
		return nil, notFound("upload")
	}
	all := sortedParts(ps)
	delete(m.parts, k)
	delete(m.uploads, k)
	return all, nil
}

// ListTenantObjects implements artifact.Index.
func (m *MemIndex) ListTenantObjects(_ context.Context, tenant string, after artifact.ObjectRef, limit int) ([]*artifact.ObjectRecord, error) {
	if err := need(tenant); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*artifact.ObjectRecord
	for _, o := range m.objects {
		if o.Tenant == tenant && (o.Bucket > after.Bucket || (o.Bucket == after.Bucket && o.Key > after.Key)) {
			o.Doc = clone(o.Doc)
			out = append(out, &o)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bucket != out[j].Bucket {
			return out[i].Bucket < out[j].Bucket
		}
		return out[i].Key < out[j].Key
	})
	return out[:min(len(out), max(limit, 0))], nil
}

// ListTenantUploads implements artifact.Index.
func (m *MemIndex) ListTenantUploads(_ context.Context, tenant string) ([]*artifact.UploadRecord, []*artifact.PartRecord, error) {
	if err := need(tenant); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var us []*artifact.UploadRecord
	var ps []*artifact.PartRecord
	for k, u := range m.uploads {
		if u.Tenant != tenant {
			continue
		}
		u.Doc = clone(u.Doc)
		us = append(us, &u)
		for _, p := range m.parts[k] {
			p.Doc = clone(p.Doc)
			ps = append(ps, &p)
		}
	}
	sort.Slice(us, func(i, j int) bool { return us[i].UploadID < us[j].UploadID })
	return us, ps, nil
}

// Usage implements artifact.Index.
func (m *MemIndex) Usage(_ context.Context, tenant string) (artifact.Usage, error) {
	if err := need(tenant); err != nil {
		return artifact.Usage{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var u artifact.Usage
	for _, o := range m.objects {
		if o.Tenant == tenant {
			u.Objects++
			u.Bytes += o.Size
		}
	}
	for _, ps := range m.parts {
		for _, p := range ps {
			if p.Tenant == tenant {
				u.Parts++
				u.PartBytes += p.Size
			}
		}
	}
	return u, nil
}

// ListStaleUploads implements artifact.Index.
func (m *MemIndex) ListStaleUploads(_ context.Context, before time.Time, limit int) ([]*artifact.UploadRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*artifact.UploadRecord
	for _, u := range m.uploads {
		if u.Initiated.Before(before) {
			u.Doc = clone(u.Doc)
			out = append(out, &u)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Initiated.Equal(out[j].Initiated) {
			return out[i].Initiated.Before(out[j].Initiated)
		}
		return out[i].UploadID < out[j].UploadID
	})
	return out[:min(len(out), max(limit, 0))], nil
}

// sortedParts returns ps by part number.
func sortedParts(ps map[int]artifact.PartRecord) []*artifact.PartRecord {
	var all []*artifact.PartRecord
	for _, p := range ps {
		all = append(all, &p)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Number < all[j].Number })
	return all
}
