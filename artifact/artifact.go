package artifact

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// Keys is the part of the key service the artifact store uses;
// *keys.Service implements it.
type Keys interface {
	GenerateDataKey(ctx context.Context, tenant string, in keys.GenerateDataKeyInput) (*keys.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, tenant string, in keys.DecryptInput) (*keys.DecryptOutput, error)
	ReEncrypt(ctx context.Context, tenant string, in keys.ReEncryptInput) (*keys.ReEncryptOutput, error)
}

var _ Keys = (*keys.Service)(nil)

// DefaultKeyAlias names the tenant key that wraps artifact data keys when
// Config.KeyID is empty. Onboarding creates it (keys.Service.EnsureKey).
const DefaultKeyAlias = "alias/tenantml/artifacts"

// Config configures a Store.
type Config struct {
	// Bucket is an opened bucket; when nil, Open opens URL.
	Bucket *blob.Bucket
	// URL is a gocloud blob URL: file:///var/lib/tenantml/blobs or
	// s3://bucket?endpoint=http://host:port&region=us-east-1&use_path_style=true
	// (s3blob v0.47 options: region, endpoint, profile, use_path_style,
	// disable_https, ssetype, kmskeyid, accelerate, ...). file:// URLs get
	// create_dir=true and no_tmp_dir=true unless they set them.
	URL string
	// Keys wraps and unwraps data keys. Required.
	Keys Keys
	// KeyID names the tenant key for new uploads; default DefaultKeyAlias.
	KeyID string
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Rand is the source of upload IDs; default crypto/rand.
	Rand io.Reader
	// S3PartSize is the multipart upload part size (default 5 MiB, the S3
	// minimum); uploads run one part at a time so memory stays bounded.
	S3PartSize int
	// RehashOnRead makes Get recompute the plaintext's SHA-256 and compare
	// it with the manifest's at the end of the stream. It is off by
	// default because it is redundant: the size and SHA-256 are bound into
	// the data key's encryption context (a manifest that alters them does
	// not unwrap its key) and the AEAD authenticates every segment and the
	// end of the stream under that key, so a body that decrypts is the one
	// whose digest was recorded. Turning it on is an independent check at
	// the cost of read throughput (SHA-256 runs on one core).
	RehashOnRead bool
	// DecryptWorkers is how many goroutines decrypt one read's segments;
	// default one per core (GOMAXPROCS) up to 4. Each holds about two
	// 1 MiB buffers.
	DecryptWorkers int
}

// Store is the per-tenant encrypted artifact store. It is safe for
// concurrent use.
type Store struct {
	cfg    Config
	bucket *blob.Bucket
	owned  bool // bucket opened by Open, closed by Close
}

// New returns a Store with cfg's defaults filled in; call Open before use.
func New(cfg Config) *Store {
	if cfg.KeyID == "" {
		cfg.KeyID = DefaultKeyAlias
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.S3PartSize == 0 {
		cfg.S3PartSize = 5 << 20
	}
	return &Store{cfg: cfg, bucket: cfg.Bucket}
}

// Open validates the configuration and opens the bucket.
func (s *Store) Open(ctx context.Context) error {
	if s.cfg.Keys == nil {
		return fmt.Errorf("open artifact store: keys service is required")
	}
	if s.bucket != nil {
		return nil
	}
	if s.cfg.URL == "" {
		return fmt.Errorf("open artifact store: bucket or url is required")
	}
	b, err := OpenBucket(ctx, s.cfg.URL)
	if err != nil {
		return fmt.Errorf("open artifact store: %w", err)
	}
	s.bucket, s.owned = b, true
	return nil
}

// Close closes the bucket if Open opened it.
func (s *Store) Close(context.Context) error {
	if s.owned && s.bucket != nil {
		err := s.bucket.Close()
		s.bucket = nil
		return err
	}
	return nil
}

// OpenBucket opens a file:// or s3:// bucket URL with an explicit URL mux
// (no reliance on gocloud's default mux).
func OpenBucket(ctx context.Context, rawURL string) (*blob.Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("parse blob url: %w", err)
	}
	if u.Scheme == fileblob.Scheme {
		// Create the directory, and write temporary files beside their
		// final names rather than in $TMPDIR, whose rename into place
		// fails when the data dir is on another file system.
		q := u.Query()
		for _, opt := range []string{"create_dir", "no_tmp_dir"} {
			if q.Get(opt) == "" {
				q.Set(opt, "true")
			}
		}
		u.RawQuery = q.Encode()
	}
	mux := new(blob.URLMux)
	mux.RegisterBucket(fileblob.Scheme, &fileblob.URLOpener{})
	mux.RegisterBucket(s3blob.Scheme, &s3blob.URLOpener{})
	return mux.OpenBucket(ctx, u.String())
}

// Info describes a stored artifact.
type Info struct {
	Tenant     string
	Key        string
	Version    string
	Size       int64  // plaintext bytes
	SHA256     string // hex SHA-256 of the plaintext
	Created    time.Time
	KeyARN     string // tenant key wrapping the data key
	KeyVersion int    // version of that key
	UploadID   string
}

var (
	segRE     = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	tenantRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	maxKeyLen = 512
)

// validSeg accepts a path segment. Names ending in ".tmp" are refused:
// fileblob (with no_tmp_dir) writes its temporary files next to the final
// ones under that suffix, and listings must not take them for artifacts.
func validSeg(s string) bool {
	return segRE.MatchString(s) && s != "." && s != ".." && !strings.HasSuffix(s, ".tmp")
}

// ref is a validated artifact name.
type ref struct {
	tenant, key, version string
	name, file           string
}

// errNotOpen is returned by a Store used before Open.
func errNotOpen() error {
	return tenantml.Errorf(tenantml.EUNAVAILABLE, "artifact store is not open")
}

// ref validates an artifact name on an open store.
func (s *Store) ref(tenant, key, version string) (ref, error) {
	if s.bucket == nil || s.cfg.Keys == nil {
		return ref{}, errNotOpen()
	}
	return newRef(tenant, key, version)
}

// checkTenant validates a tenant on an open store.
func (s *Store) checkTenant(tenant string) error {
	if s.bucket == nil || s.cfg.Keys == nil {
		return errNotOpen()
	}
	if !tenantRE.MatchString(tenant) {
		return tenantml.Errorf(tenantml.EINVALID, "invalid tenant")
	}
	return nil
}

func newRef(tenant, key, version string) (ref, error) {
	if !tenantRE.MatchString(tenant) {
		return ref{}, tenantml.Errorf(tenantml.EINVALID, "invalid tenant")
	}
	if !validSeg(version) || len(version) > 64 {
		return ref{}, tenantml.Errorf(tenantml.EINVALID, "invalid artifact version")
	}
	segs := strings.Split(key, "/")
	if len(key) > maxKeyLen || len(segs) < 2 {
		return ref{}, tenantml.Errorf(tenantml.EINVALID, "artifact key must be <model-name>/<file>")
	}
	for _, sg := range segs {
		if !validSeg(sg) {
			return ref{}, tenantml.Errorf(tenantml.EINVALID, "invalid artifact key segment %q", sg)
		}
	}
	return ref{tenant: tenant, key: key, version: version, name: segs[0], file: strings.Join(segs[1:], "/")}, nil
}

func tenantPrefix(tenant string) string { return "tenants/" + tenant + "/" }

func (r ref) manifestPath() string {
	return tenantPrefix(r.tenant) + "models/" + r.name + "/" + r.version + "/" + r.file
}

func (r ref) bodyDir() string {
	return tenantPrefix(r.tenant) + "blobs/" + r.name + "/" + r.version + "/" + r.file + "/"
}

// encryptionContext is the KMS context of an artifact's data key while
// its body is being written.
func (r ref) encryptionContext() map[string]string {
	return map[string]string{"tenantml:tenant": r.tenant, "tenantml:key": r.key, "tenantml:version": r.version}
}

// commitContext is the KMS context of a committed artifact's data key: it
// adds the plaintext size and SHA-256, so that a manifest whose size or
// digest was altered no longer unwraps its data key.
func (r ref) commitContext(size int64, sha256Hex string) map[string]string {
	ec := r.encryptionContext()
	ec["tenantml:size"] = strconv.FormatInt(size, 10)
	ec["tenantml:sha256"] = sha256Hex
	return ec
}

func (s *Store) newUploadID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("upload id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func notFound() error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "artifact not found")
}
