package artifact

import (
	"context"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
)

// The artifact API is a view of one bucket, Config.ArtifactBucket (owned
// by the platform account): artifact (tenant, "<model>/<file>", version)
// is the object "<tenant>/<model>/<version>/<file>" of that bucket,
// encrypted under the tenant's key (Config.KeyID, default
// DefaultKeyAlias). The same object is reachable through the S3 API as
// s3://tenantml-artifacts/<tenant>/<model>/<version>/<file>; there is one
// copy. Through the view, an object whose owner is not the tenant its key
// names (one written there through S3 under another tenant's key) answers
// like a missing one.

// Info describes an artifact.
type Info struct {
	Tenant     string
	Key        string // "<model>/<file>"
	Version    string
	Size       int64  // plaintext bytes
	SHA256     string // hex SHA-256 of the plaintext ("" if uploaded through S3 in parts)
	Created    time.Time
	KeyARN     string // tenant key wrapping the data key
	KeyVersion int    // version of that key
	UploadID   string // the object's body or upload ID
}

// PutOptions are optional checks on an artifact upload.
type PutOptions struct {
	// ExpectedSize, if positive, is the plaintext size the client declared
	// (its Content-Length): a shorter or longer stream is rejected.
	ExpectedSize int64
	// ExpectedSHA256, if set, is the hex SHA-256 the client declared.
	ExpectedSHA256 string
}

var (
	segRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)
	tenantRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

const maxArtifactKeyLen = 512

// validSeg accepts a path segment of an artifact name.
func validSeg(s string) bool {
	return segRE.MatchString(s) && s != "." && s != ".." && !strings.HasSuffix(s, ".tmp")
}

// ref is a validated artifact name.
type ref struct {
	tenant, key, version string
	name, file           string
}

func newRef(tenant, key, version string) (ref, error) {
	if !tenantRE.MatchString(tenant) {
		return ref{}, tenantml.Errorf(tenantml.EINVALID, "invalid tenant")
	}
	if !validSeg(version) || len(version) > 64 {
		return ref{}, tenantml.Errorf(tenantml.EINVALID, "invalid artifact version")
	}
	segs := strings.Split(key, "/")
	if len(key) > maxArtifactKeyLen || len(segs) < 2 {
		return ref{}, tenantml.Errorf(tenantml.EINVALID, "artifact key must be <model-name>/<file>")
	}
	for _, sg := range segs {
		if !validSeg(sg) {
			return ref{}, tenantml.Errorf(tenantml.EINVALID, "invalid artifact key segment %q", sg)
		}
	}
	return ref{tenant: tenant, key: key, version: version, name: segs[0], file: strings.Join(segs[1:], "/")}, nil
}

// objectKey is the artifact's key in the artifact bucket.
func (r ref) objectKey() string { return r.tenant + "/" + r.name + "/" + r.version + "/" + r.file }

// refFromKey parses an artifact bucket key "<tenant>/<name>/<version>/<file>".
func refFromKey(key string) (ref, bool) {
	t, rest, ok := strings.Cut(key, "/")
	if !ok {
		return ref{}, false
	}
	name, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return ref{}, false
	}
	version, file, ok := strings.Cut(rest, "/")
	if !ok {
		return ref{}, false
	}
	rf, err := newRef(t, name+"/"+file, version)
	return rf, err == nil
}

func notFound() error {
	return tenantml.Errorf(tenantml.ENOTFOUND, "artifact not found")
}

func (s *Store) artifactRef(tenant, key, version string) (ref, error) {
	if err := s.ready(); err != nil {
		return ref{}, err
	}
	return newRef(tenant, key, version)
}

func infoOf(rf ref, o *Object) *Info {
	return &Info{Tenant: rf.tenant, Key: rf.key, Version: rf.version, Size: o.Size, SHA256: o.SHA256,
		Created: o.LastModified, KeyARN: o.KeyARN, KeyVersion: o.KeyVersion}
}

// Put stores the artifact (tenant, key, version) read from r, encrypted
// under a fresh data key wrapped by the tenant's key, replacing any
// existing one. Nothing is visible until the whole stream was stored.
func (s *Store) Put(ctx context.Context, tenant, key, version string, r io.Reader) (*Info, error) {
	return s.PutWith(ctx, tenant, key, version, r, PutOptions{})
}

// PutWith is Put with checks on the stream's declared size and digest.
func (s *Store) PutWith(ctx context.Context, tenant, key, version string, r io.Reader, opts PutOptions) (*Info, error) {
	rf, err := s.artifactRef(tenant, key, version)
	if err != nil {
		return nil, err
	}
	c := Checks{ContentLength: -1, SHA256: opts.ExpectedSHA256}
	if opts.ExpectedSize > 0 {
		c.ContentLength = opts.ExpectedSize
	}
	o, err := s.PutObject(ctx, PutObjectInput{
		Bucket: s.cfg.ArtifactBucket, Key: rf.objectKey(), Encryption: KeyRef{Tenant: tenant, KeyID: s.cfg.KeyID},
		ContentType: "application/octet-stream", Checks: c,
	}, r)
	switch CodeOf(err) {
	case "":
	case CodeSHA256Mismatch:
		return nil, tenantml.Errorf(tenantml.EINVALID, "artifact upload does not match its declared SHA-256")
	case CodeIncompleteBody, CodeInvalidArgument:
		if c.ContentLength >= 0 {
			return nil, tenantml.Errorf(tenantml.EINVALID, "artifact upload truncated or overlong: declared %d bytes", c.ContentLength)
		}
		return nil, err
	default:
		return nil, err
	}
	info := infoOf(rf, o)
	info.UploadID = s.objectID(ctx, o)
	return info, nil
}

// objectID reads back the body or upload ID of a stored object.
func (s *Store) objectID(ctx context.Context, o *Object) string {
	r, d, err := s.loadObject(ctx, o.Bucket, o.Key)
	if err != nil || r.LastModified != o.LastModified {
		return ""
	}
	return d.ObjectID
}

// stat returns the artifact's object if the tenant owns it.
func (s *Store) stat(ctx context.Context, rf ref) (*ObjectRecord, *objectDoc, error) {
	r, d, err := s.loadObject(ctx, s.cfg.ArtifactBucket, rf.objectKey())
	if CodeOf(err) == CodeNoSuchKey || (err == nil && r.Tenant != rf.tenant) {
		return nil, nil, notFound()
	}
	return r, d, err
}

// Stat returns the artifact's description without reading its body.
func (s *Store) Stat(ctx context.Context, tenant, key, version string) (*Info, error) {
	rf, err := s.artifactRef(tenant, key, version)
	if err != nil {
		return nil, err
	}
	r, d, err := s.stat(ctx, rf)
	if err != nil {
		return nil, err
	}
	info := infoOf(rf, objectOf(r, d))
	info.UploadID = d.ObjectID
	return info, nil
}

// Get opens the artifact for streaming decryption (see GetObject): only a
// reader drained to io.EOF has delivered the artifact. Close it even after
// an error.
func (s *Store) Get(ctx context.Context, tenant, key, version string) (io.ReadCloser, *Info, error) {
	rf, err := s.artifactRef(tenant, key, version)
	if err != nil {
		return nil, nil, err
	}
	or, err := s.GetObject(ctx, s.cfg.ArtifactBucket, rf.objectKey(), nil)
	if CodeOf(err) == CodeNoSuchKey {
		return nil, nil, notFound()
	}
	if err != nil {
		return nil, nil, err
	}
	if or.Object.Tenant != tenant {
		or.Close()
		return nil, nil, notFound()
	}
	info := infoOf(rf, or.Object)
	info.UploadID = s.objectID(ctx, or.Object)
	return or, info, nil
}

// Delete removes an artifact.
func (s *Store) Delete(ctx context.Context, tenant, key, version string) error {
	rf, err := s.artifactRef(tenant, key, version)
	if err != nil {
		return err
	}
	r, _, err := s.stat(ctx, rf)
	if err != nil {
		return err
	}
	_, err = s.cfg.Index.DeleteObject(ctx, r.Bucket, r.Key, r.Revision)
	if isNotFound(err) || isConflict(err) {
		return notFound() // deleted or replaced meanwhile
	}
	if err != nil {
		return err
	}
	s.deleteBodies(ctx, r)
	return nil
}

// List describes the tenant's artifacts whose "<model>/<version>/<file>"
// starts with prefix, in that order.
func (s *Store) List(ctx context.Context, tenant, prefix string) ([]*Info, error) {
	if err := s.checkTenant(tenant); err != nil {
		return nil, err
	}
	var out []*Info
	in := ListObjectsInput{Prefix: tenant + "/" + prefix, MaxKeys: MaxListKeys}
	for {
		page, err := s.ListObjects(ctx, s.cfg.ArtifactBucket, in)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Objects {
			rf, ok := refFromKey(e.Key)
			if !ok || e.Tenant != tenant {
				continue
			}
			r, d, err := s.stat(ctx, rf)
			if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
				continue // deleted meanwhile
			}
			if err != nil {
				return nil, err
			}
			info := infoOf(rf, objectOf(r, d))
			info.UploadID = d.ObjectID
			out = append(out, info)
		}
		if !page.IsTruncated {
			return out, nil
		}
		in.ContinuationToken = page.NextContinuationToken
	}
}
