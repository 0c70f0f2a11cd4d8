package artifact

import (
	"context"
	"io"
	"time"
)

// Blobs is the artifact API's view of the store as its consumers (the
// management API, registry, serving) see it; *Store implements it. Depend
// on Blobs to fake it in tests.
type Blobs interface {
	Put(ctx context.Context, tenant, key, version string, r io.Reader) (*Info, error)
	PutWith(ctx context.Context, tenant, key, version string, r io.Reader, opts PutOptions) (*Info, error)
	Get(ctx context.Context, tenant, key, version string) (io.ReadCloser, *Info, error)
	Stat(ctx context.Context, tenant, key, version string) (*Info, error)
	List(ctx context.Context, tenant, prefix string) ([]*Info, error)
	Delete(ctx context.Context, tenant, key, version string) error
	Rewrap(ctx context.Context, tenant, prefix string) (RewrapReport, error)
	Sweep(ctx context.Context, tenant string, grace time.Duration) (int, error)
	DeleteTenant(ctx context.Context, tenant string) (int, error)
}

var _ Blobs = (*Store)(nil)
