package artifact

import "context"

// StorageQuota caps the bytes a tenant stores (Usage.StoredBytes: objects
// and parts of uploads in progress). The store asks it at each write
// before the body is written, when its size is declared, and again once
// the body is written, before the index row that commits it. cmd/tenantml
// adapts the quota service to it; the platform's own objects are not
// capped. Two writes of one tenant racing past the check may together
// exceed the limit by at most their own sizes.
type StorageQuota interface {
	// CheckStored returns nil when tenant may store total bytes in all,
	// else the error to answer (the write stores nothing).
	CheckStored(ctx context.Context, tenant string, total int64) error
}

// checkStored asks the quota whether tenant may add bytes to what it
// stores, replaced bytes being freed by the write.
func (s *Store) checkStored(ctx context.Context, tenant string, add, replaced int64) error {
	if s.cfg.Quota == nil || tenant == PlatformTenant || add <= 0 {
		return nil
	}
	u, err := s.Usage(ctx, tenant)
	if err != nil {
		return err
	}
	return s.cfg.Quota.CheckStored(ctx, tenant, u.StoredBytes-replaced+add)
}

// replacedSize is the size of the object a write of (bucket, key) by
// tenant replaces: 0 when there is none, or it is another tenant's.
func (s *Store) replacedSize(ctx context.Context, tenant, bucket, key string) int64 {
	if s.cfg.Quota == nil {
		return 0
	}
	r, _, err := s.loadObject(ctx, bucket, key)
	if err != nil || r.Tenant != tenant {
		return 0
	}
	return r.Size
}
