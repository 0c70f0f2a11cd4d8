package artifact

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/s3blob"

	"github.com/tenantml/tenantml/keys"
)

// Keys is the part of the key service the store uses; *keys.Service
// implements it.
type Keys interface {
	GenerateDataKey(ctx context.Context, tenant string, in keys.GenerateDataKeyInput) (*keys.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, tenant string, in keys.DecryptInput) (*keys.DecryptOutput, error)
	ReEncrypt(ctx context.Context, tenant string, in keys.ReEncryptInput) (*keys.ReEncryptOutput, error)
	EnsureKey(ctx context.Context, tenant, alias, description string) (keys.KeyMetadata, error)
	// Account is the platform's account: it owns the artifact bucket.
	Account() string
}

var _ Keys = (*keys.Service)(nil)

// DefaultKeyAlias names each tenant's default key for object data keys
// (and the platform's, under PlatformTenant). Onboarding creates it
// (keys.Service.EnsureKey).
const DefaultKeyAlias = "alias/tenantml/artifacts"

// DefaultArtifactBucket is the bucket behind the artifact API.
const DefaultArtifactBucket = "tenantml-artifacts"

// Defaults and limits of multipart uploads (Amazon S3's).
const (
	DefaultMinPartSize = 5 << 20
	MaxPartSize        = 5 << 30
	MaxParts           = 10000
)

// Config configures a Store.
type Config struct {
	// Bucket is an opened blob bucket; when nil, Open opens URL.
	Bucket *blob.Bucket
	// URL is a gocloud blob URL: file:///var/lib/tenantml/blobs or
	// s3://bucket?endpoint=http://host:port&region=us-east-1&use_path_style=true
	// (s3blob v0.47 options: region, endpoint, profile, use_path_style,
	// disable_https, ssetype, kmskeyid, accelerate, ...). file:// URLs get
	// create_dir=true, no_tmp_dir=true and metadata=skip unless they set
	// them.
	URL string
	// Keys wraps and unwraps data keys. Required.
	Keys Keys
	// Index persists buckets, objects and uploads. Required.
	Index Index
	// KeyID names the tenant key of artifact-API uploads; default
	// DefaultKeyAlias.
	KeyID string
	// ArtifactBucket is the bucket the artifact API is a view of; default
	// DefaultArtifactBucket. Open creates it, owned by the platform
	// account, if it does not exist.
	ArtifactBucket string
	// TokenSecret keys the listing continuation tokens (at least 32
	// bytes). Give every gateway sharing an index the same secret, or
	// tokens only work on the gateway that issued them; default random.
	TokenSecret []byte
	// MinPartSize is the smallest part but the last of a multipart upload;
	// default DefaultMinPartSize.
	MinPartSize int64
	// Quota, when set, caps each tenant's stored bytes (see StorageQuota).
	Quota StorageQuota
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Rand is the source of body and upload IDs; default crypto/rand.
	Rand io.Reader
	// S3PartSize is the part size of body uploads to an S3 blob bucket
	// (default 5 MiB, the S3 minimum); one part at a time, so memory stays
	// bounded.
	S3PartSize int
	// RehashOnRead makes reads of whole single-part objects recompute the
	// plaintext's SHA-256 and compare it with the recorded one at the end
	// of the stream. It is off by default because it is redundant: the
	// size and SHA-256 are bound into the data key's encryption context
	// and the AEAD authenticates every segment and the end of the stream
	// under that key. Turning it on is an independent check at the cost of
	// read throughput (SHA-256 runs on one core).
	RehashOnRead bool
	// NoMmap makes reads of file bodies use pread instead of mapping the
	// file (the default, which decrypts straight from the page cache and
	// is about twice as fast from a warm cache). For file systems where
	// mapping is undesirable, and for the benchmark's comparison.
	NoMmap bool
	// DecryptWorkers is how many goroutines decrypt one read's segments
	// besides the reader, which opens segments itself whenever the next
	// one is not ready; default one per core (GOMAXPROCS) but one, from 1
	// to 3. Each worker adds two 1 MiB segment buffers to the reader's
	// two.
	DecryptWorkers int
}

// Store is the encrypted object store: S3 buckets and objects whose bodies
// are encrypted under their owning tenant's keys, and the artifact API as
// a view of one bucket. It is safe for concurrent use.
type Store struct {
	cfg    Config
	bucket *blob.Bucket
	owned  bool // bucket opened by Open, closed by Close
	tokens *tokenCodec
	open   bool
}

// New returns a Store with cfg's defaults filled in; call Open before use.
func New(cfg Config) *Store {
	if cfg.KeyID == "" {
		cfg.KeyID = DefaultKeyAlias
	}
	if cfg.ArtifactBucket == "" {
		cfg.ArtifactBucket = DefaultArtifactBucket
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
	if cfg.MinPartSize == 0 {
		cfg.MinPartSize = DefaultMinPartSize
	}
	return &Store{cfg: cfg, bucket: cfg.Bucket}
}

// Open validates the configuration, opens the blob bucket and creates the
// artifact bucket if it does not exist.
func (s *Store) Open(ctx context.Context) error {
	if s.cfg.Keys == nil || s.cfg.Index == nil {
		return fmt.Errorf("open artifact store: keys service and index are required")
	}
	if err := ValidateBucketName(s.cfg.ArtifactBucket); err != nil {
		return fmt.Errorf("open artifact store: artifact bucket: %w", err)
	}
	secret := s.cfg.TokenSecret
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := io.ReadFull(s.cfg.Rand, secret); err != nil {
			return fmt.Errorf("open artifact store: token secret: %w", err)
		}
	}
	tc, err := newTokenCodec(secret)
	if err != nil {
		return fmt.Errorf("open artifact store: %w", err)
	}
	if s.bucket == nil {
		if s.cfg.URL == "" {
			return fmt.Errorf("open artifact store: bucket or url is required")
		}
		b, err := OpenBucket(ctx, s.cfg.URL)
		if err != nil {
			return fmt.Errorf("open artifact store: %w", err)
		}
		s.bucket, s.owned = b, true
	}
	s.tokens, s.open = tc, true
	if err := s.ensureArtifactBucket(ctx); err != nil {
		_ = s.Close(ctx)
		return fmt.Errorf("open artifact store: %w", err)
	}
	return nil
}

// Close closes the blob bucket if Open opened it.
func (s *Store) Close(context.Context) error {
	s.open = false
	if s.owned && s.bucket != nil {
		err := s.bucket.Close()
		s.bucket = nil
		return err
	}
	return nil
}

// ready reports errNotOpen on a store used before Open or after Close.
func (s *Store) ready() error {
	if !s.open || s.bucket == nil {
		return errNotOpen()
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
		// Create the directory; write temporary files beside their final
		// names rather than in $TMPDIR, whose rename into place fails when
		// the data dir is on another file system; and skip the attribute
		// sidecars (and the MD5 of every body fileblob computes for them):
		// the index holds what the store needs.
		q := u.Query()
		for opt, val := range map[string]string{"create_dir": "true", "no_tmp_dir": "true", "metadata": "skip"} {
			if q.Get(opt) == "" {
				q.Set(opt, val)
			}
		}
		u.RawQuery = q.Encode()
	}
	mux := new(blob.URLMux)
	mux.RegisterBucket(fileblob.Scheme, &fileblob.URLOpener{})
	mux.RegisterBucket(s3blob.Scheme, &s3blob.URLOpener{})
	return mux.OpenBucket(ctx, u.String())
}

// newID returns 16 random bytes in hex: body and upload IDs.
func (s *Store) newID() (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// now is the store's clock in UTC at microsecond precision (what the
// index keeps).
func (s *Store) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }
