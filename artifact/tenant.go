package artifact

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/tenant"
)

// checkTenant validates a tenant on an open store: a registered TenantID
// or PlatformTenant.
func (s *Store) checkTenant(t string) error {
	if err := s.ready(); err != nil {
		return err
	}
	if t != PlatformTenant && tenant.ValidateID(t) != nil {
		return tenantml.Errorf(tenantml.EINVALID, "invalid tenant")
	}
	return nil
}

// Usage returns what tenant stores — its objects (in every bucket) and
// the parts of its uploads in progress — derived from the index in one
// query, so it is exact after any crash. The quota issue caps
// Usage.StoredBytes.
func (s *Store) Usage(ctx context.Context, tenant string) (Usage, error) {
	if err := s.checkTenant(tenant); err != nil {
		return Usage{}, err
	}
	u, err := s.cfg.Index.Usage(ctx, tenant)
	if err != nil {
		return Usage{}, fmt.Errorf("usage: %w", err)
	}
	u.StoredBytes = u.Bytes + u.PartBytes
	return u, nil
}

// eachTenantObject calls fn for every object owned by tenant.
func (s *Store) eachTenantObject(ctx context.Context, tenant string, fn func(*ObjectRecord) error) error {
	var after ObjectRef
	for {
		rs, err := s.cfg.Index.ListTenantObjects(ctx, tenant, after, 100)
		if err != nil {
			return fmt.Errorf("list tenant objects: %w", err)
		}
		for _, r := range rs {
			if err := fn(r); err != nil {
				return err
			}
			after = ObjectRef{Bucket: r.Bucket, Key: r.Key}
		}
		if len(rs) < 100 {
			return nil
		}
	}
}

// RewrapReport tells what Rewrap did.
type RewrapReport struct {
	Rewrapped int `json:"rewrapped"` // objects whose data key moved to its key's current version
	Current   int `json:"current"`   // objects already at the current version
}

// Rewrap moves the wrapped data key of every object owned by tenant whose
// "bucket/key" starts with prefix to the current version of its KMS key
// (ReEncrypt) and rewrites its manifest. Bodies are never read or
// rewritten. An object replaced meanwhile is left to its new version.
// Multipart uploads in progress keep their key version until completed.
func (s *Store) Rewrap(ctx context.Context, tenant, prefix string) (RewrapReport, error) {
	var rep RewrapReport
	if err := s.checkTenant(tenant); err != nil {
		return rep, err
	}
	err := s.eachTenantObject(ctx, tenant, func(r *ObjectRecord) error {
		if !strings.HasPrefix(r.Bucket+"/"+r.Key, prefix) {
			return nil
		}
		d, err := checkRecord(r)
		if err != nil {
			return fmt.Errorf("rewrap %s/%s: %w", r.Bucket, r.Key, err)
		}
		ec := commitContext(r.Tenant, r.Bucket, r.Key, d)
		out, err := s.cfg.Keys.ReEncrypt(ctx, tenant, keys.ReEncryptInput{
			CiphertextBlob: d.WrappedKey, SourceEncryptionContext: ec, DestinationKeyID: d.KeyARN, DestinationEncryptionContext: ec,
		})
		if err != nil {
			return fmt.Errorf("rewrap %s/%s: %w", r.Bucket, r.Key, err)
		}
		if out.KeyVersion == d.KeyVersion && out.KeyID == d.KeyARN {
			rep.Current++
			return nil
		}
		d.WrappedKey, d.KeyARN, d.KeyVersion = out.CiphertextBlob, out.KeyID, out.KeyVersion
		r.Doc = mustJSON(d)
		_, err = s.cfg.Index.UpdateObject(ctx, r)
		switch {
		case isConflict(err) || isNotFound(err):
			return nil // replaced or deleted meanwhile
		case err != nil:
			return fmt.Errorf("rewrap %s/%s: %w", r.Bucket, r.Key, err)
		}
		rep.Rewrapped++
		return nil
	})
	return rep, err
}

// DeleteTenant deletes everything tenant owns: its objects in every
// bucket, its uploads in progress and every blob under its prefix
// (orphans included), and returns the number of blobs deleted. Run it
// after the tenant's keys are destroyed (keys.Service.EraseTenant): the
// bodies are already undecryptable; this reclaims the space and the index
// rows.
func (s *Store) DeleteTenant(ctx context.Context, tenant string) (int, error) {
	if err := s.checkTenant(tenant); err != nil {
		return 0, err
	}
	err := s.eachTenantObject(ctx, tenant, func(r *ObjectRecord) error {
		_, err := s.cfg.Index.DeleteObject(ctx, r.Bucket, r.Key, r.Revision)
		if err != nil && !isNotFound(err) && !isConflict(err) {
			return fmt.Errorf("delete %s/%s: %w", r.Bucket, r.Key, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	ups, _, err := s.cfg.Index.ListTenantUploads(ctx, tenant)
	if err != nil {
		return 0, fmt.Errorf("list tenant uploads: %w", err)
	}
	for _, u := range ups {
		if _, err := s.cfg.Index.DeleteUpload(ctx, u.Bucket, u.UploadID); err != nil && !isNotFound(err) {
			return 0, fmt.Errorf("delete upload: %w", err)
		}
	}
	return s.deletePrefixIf(ctx, tenantPrefix(tenant), func(*blob.ListObject) bool { return true })
}

// Sweep deletes tenant's bodies that no object or part references and
// that are older than grace — the bodies of uploads that failed between
// writing a body and indexing it, and of replaced objects whose deletion
// failed — and returns how many it deleted. grace must exceed the longest
// upload (a body is written before it is indexed); a day is ample.
func (s *Store) Sweep(ctx context.Context, tenant string, grace time.Duration) (int, error) {
	if err := s.checkTenant(tenant); err != nil {
		return 0, err
	}
	cutoff := s.cfg.Now().Add(-grace)
	live := map[string]bool{}
	err := s.eachTenantObject(ctx, tenant, func(r *ObjectRecord) error {
		d, err := decodeObjectDoc(r.Doc)
		if err != nil {
			return nil // unreadable: keep whatever it may reference
		}
		for _, b := range d.Bodies {
			live[bodyPath(r.Tenant, r.Bucket, b.ID)] = true
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	_, parts, err := s.cfg.Index.ListTenantUploads(ctx, tenant)
	if err != nil {
		return 0, fmt.Errorf("list tenant uploads: %w", err)
	}
	for _, p := range parts {
		live[bodyPath(p.Tenant, p.Bucket, p.Body)] = true
	}
	// Bodies indexed after the listing above are younger than the cutoff
	// (grace exceeds any upload), so they are never taken for orphans.
	return s.deletePrefixIf(ctx, tenantPrefix(tenant)+"bodies/", func(obj *blob.ListObject) bool {
		return obj.ModTime.Before(cutoff) && !live[obj.Key]
	})
}

// deletePrefixIf deletes the blobs under prefix that del selects.
func (s *Store) deletePrefixIf(ctx context.Context, prefix string, del func(*blob.ListObject) bool) (int, error) {
	it := s.bucket.List(&blob.ListOptions{Prefix: prefix})
	n := 0
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("list %s: %w", prefix, err)
		}
		if obj.IsDir || !del(obj) {
			continue
		}
		if err := s.bucket.Delete(ctx, obj.Key); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return n, fmt.Errorf("delete %s: %w", obj.Key, err)
		}
		n++
	}
}
