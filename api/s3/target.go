package s3

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam"
)

// maxAuditedKey bounds an object key recorded in an audit event.
const maxAuditedKey = 1024

func bucketARN(bucket string) string      { return "arn:aws:s3:::" + bucket }
func objectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// owner is the tenant a resource owned by t belongs to for the tenant
// boundary: the platform's own objects (under the platform key) are
// platform resources, governed by IAM alone (their key, the platform's,
// is refused to every tenant principal).
func owner(t string) string {
	if t == artifact.PlatformTenant {
		return ""
	}
	return t
}

// bucketResource looks up a bucket: nil and a resource of its ARN alone
// when it does not exist (or its name is not valid).
func (s *Surface) bucketResource(ctx context.Context, name string) (*artifact.Bucket, authz.Resource, error) {
	res := authz.Resource{ARN: bucketARN(name)}
	b, err := s.Store.GetBucket(ctx, name)
	switch artifact.CodeOf(err) {
	case "":
	case artifact.CodeNoSuchBucket, artifact.CodeInvalidBucketName:
		return nil, res, nil
	default:
		return nil, res, fmt.Errorf("look up bucket: %w", err)
	}
	res.Tenant, res.Account, res.Tags = b.Tenant, b.Account, tagMap(b.Tags)
	if b.Policy != "" {
		pol, err := s.Policies.Parse(b.Policy, iam.KindResource)
		if err != nil {
			return nil, res, fmt.Errorf("bucket policy of %s: %w", name, err)
		}
		res.Policy = pol
	}
	return b, res, nil
}

func tagMap(tags []artifact.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[t.Key] = t.Value
	}
	return m
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

type bucketKind int

const (
	bucketRead bucketKind = iota
	bucketCreate
)

// bucketTarget resolves the bucket a bucket operation names. Another
// tenant's bucket answers NoSuchBucket, as a missing one; for
// CreateBucket, BucketAlreadyExists (names are global, as on S3, and the
// answer names no owner).
func (s *Surface) bucketTarget(kind bucketKind) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return func(r *http.Request, _ *authn.Principal) (*api.Target, error) {
		req := reqOf(r)
		b, res, err := s.bucketResource(r.Context(), req.bucket)
		if err != nil {
			return nil, err
		}
		req.b = b
		t := &api.Target{Resource: res, NotFound: artifact.ErrNoSuchBucket(), Parameters: map[string]any{"bucketName": truncate(req.bucket, 255)}}
		if kind == bucketCreate {
			t.NotFound = errBucketExists()
		}
		return t, nil
	}
}

func errBucketExists() error {
	return artifact.Err(artifact.CodeBucketAlreadyExists, "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")
}

// listTarget is the bucket of a listing with its condition keys:
// s3:prefix, s3:delimiter and s3:max-keys, each when the request has it.
func (s *Surface) listTarget(r *http.Request, c *authn.Principal) (*api.Target, error) {
	t, err := s.bucketTarget(bucketRead)(r, c)
	if err != nil {
		return nil, err
	}
	q := reqOf(r).query
	for _, k := range []string{"prefix", "delimiter", "max-keys"} {
		if q.Has(k) {
			t.Context = append(t.Context, iam.Single("s3:"+k, q.Get(k)))
			t.Parameters[k] = truncate(q.Get(k), maxAuditedKey)
		}
	}
	return t, nil
}

type objectKind int

const (
	objectRead objectKind = iota
	objectWrite
	objectDelete
	objectTagging
)

// objectResource resolves an object for caller c: its bucket (nil when
// missing), the object (nil when missing or another tenant's) and the
// target to decide action on, whose NotFound is what a missing object of
// the same shape answers: NoSuchBucket in a tenant's bucket (the bucket is
// what is hidden), NoSuchKey in a platform bucket — or, there, for a
// write, AccessDenied (a missing key would be written) and for a delete
// 204 (S3 deletes a missing key silently).
func (s *Surface) objectResource(ctx context.Context, c *authn.Principal, action, bucket, key string, kind objectKind) (*artifact.Bucket, *artifact.Object, *api.Target, error) {
	b, res, err := s.bucketResource(ctx, bucket)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := artifact.ValidateKey(key); err != nil {
		return nil, nil, nil, err
	}
	res.ARN = objectARN(bucket, key)
	t := &api.Target{Resource: res, NotFound: artifact.ErrNoSuchBucket(), Parameters: map[string]any{"bucketName": truncate(bucket, 255), "key": truncate(key, maxAuditedKey)}}
	if b == nil {
		return nil, nil, t, nil
	}
	obj, err := s.Store.HeadObject(ctx, bucket, key)
	switch artifact.CodeOf(err) {
	case "":
	case artifact.CodeNoSuchKey:
		obj = nil
	default:
		return nil, nil, nil, fmt.Errorf("look up object: %w", err)
	}
	if b.Tenant == "" {
		if obj != nil {
			t.Resource.Tenant = owner(obj.Tenant)
		}
		switch kind {
		case objectWrite:
			t.NotFound = api.Denied(c, action, res.ARN)
		case objectDelete:
			t.NotFound = &api.QuietAnswer{Status: http.StatusNoContent}
		default:
			t.NotFound = artifact.ErrNoSuchKey()
		}
	}
	if c.TenantID != "" && t.Resource.Tenant != "" && t.Resource.Tenant != c.TenantID {
		return b, nil, t, nil // decided as a missing object: nothing of it is used
	}
	if obj != nil {
		for _, tag := range obj.Tags {
			t.Context = append(t.Context, iam.Single("s3:ExistingObjectTag/"+tag.Key, tag.Value))
		}
	}
	return b, obj, t, nil
}

// objectTarget resolves the object an object operation names, with the
// request's condition keys.
func (s *Surface) objectTarget(kind objectKind) func(*http.Request, *authn.Principal) (*api.Target, error) {
	return func(r *http.Request, c *authn.Principal) (*api.Target, error) {
		req := reqOf(r)
		action := "s3:PutObject"
		b, obj, t, err := s.objectResource(r.Context(), c, action, req.bucket, req.key, kind)
		if err != nil {
			return nil, err
		}
		req.b, req.obj = b, obj
		switch kind {
		case objectWrite:
			keys, err := s.sseConditions(r.Context(), c, r.Header)
			if err != nil {
				return nil, err
			}
			t.Context = append(t.Context, keys...)
			tags, err := requestTags(r.Header.Get("X-Amz-Tagging"))
			if err != nil {
				return nil, err
			}
			t.Context = append(t.Context, tagConditions(tags)...)
		case objectTagging:
			var in tagging
			if err := decodeXML(r, &in); err != nil {
				return nil, err
			}
			reqOf(r).tags = in.tags()
			t.Context = append(t.Context, tagConditions(reqOf(r).tags)...)
		}
		return t, nil
	}
}

// uploadTarget resolves the multipart upload an operation names
// (uploadId): its resource is the object's ARN, its tenant the upload's
// owner. Another tenant's upload answers NoSuchUpload (NoSuchBucket in
// its tenant's bucket), as a missing one.
func (s *Surface) uploadTarget(r *http.Request, c *authn.Principal) (*api.Target, error) {
	req := reqOf(r)
	b, res, err := s.bucketResource(r.Context(), req.bucket)
	if err != nil {
		return nil, err
	}
	if err := artifact.ValidateKey(req.key); err != nil {
		return nil, err
	}
	id := req.query.Get("uploadId")
	res.ARN = objectARN(req.bucket, req.key)
	t := &api.Target{Resource: res, NotFound: artifact.ErrNoSuchBucket(),
		Parameters: map[string]any{"bucketName": truncate(req.bucket, 255), "key": truncate(req.key, maxAuditedKey), "uploadId": truncate(id, 128)}}
	if n := req.query.Get("partNumber"); n != "" {
		t.Parameters["partNumber"] = truncate(n, 16)
	}
	req.b = b
	if b == nil {
		return t, nil
	}
	lp, err := s.Store.ListParts(r.Context(), req.bucket, req.key, id, 0, 1)
	switch artifact.CodeOf(err) {
	case "":
		req.upload = lp.Upload
	case artifact.CodeNoSuchUpload:
	default:
		return nil, fmt.Errorf("look up upload: %w", err)
	}
	if b.Tenant == "" {
		t.NotFound = artifact.ErrNoSuchUpload()
		if req.upload != nil {
			t.Resource.Tenant = owner(req.upload.Tenant)
		}
	}
	if c.TenantID != "" && t.Resource.Tenant != "" && t.Resource.Tenant != c.TenantID {
		req.upload = nil
	}
	return t, nil
}

// requestTags parses an x-amz-tagging header (URL query encoding).
func requestTags(h string) ([]artifact.Tag, error) {
	if h == "" {
		return nil, nil
	}
	v, err := url.ParseQuery(h)
	if err != nil {
		return nil, artifact.Err(artifact.CodeInvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
	}
	var out []artifact.Tag
	for k, vs := range v {
		if len(vs) != 1 {
			return nil, artifact.Err(artifact.CodeInvalidArgument, "The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters without tag name duplicates.")
		}
		out = append(out, artifact.Tag{Key: k, Value: vs[0]})
	}
	return out, nil
}

func tagConditions(tags []artifact.Tag) iam.Context {
	var ctx iam.Context
	for _, t := range tags {
		ctx = append(ctx, iam.Single("s3:RequestObjectTag/"+t.Key, t.Value))
	}
	return ctx
}

// sse is a write's x-amz-server-side-encryption headers.
type sse struct {
	algorithm string // "aws:kms", "AES256" or ""
	keyID     string // as the request names it
}

func sseOf(h http.Header) (sse, error) {
	e := sse{algorithm: h.Get("X-Amz-Server-Side-Encryption"), keyID: h.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id")}
	switch e.algorithm {
	case "aws:kms":
	case "", "AES256":
		if e.keyID != "" {
			return sse{}, artifact.Err(artifact.CodeInvalidArgument, "Server Side Encryption with KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms")
		}
	default:
		return sse{}, artifact.Err(artifact.CodeInvalidArgument, "The encryption method specified is not supported")
	}
	return e, nil
}

// sseConditions are s3:x-amz-server-side-encryption and, when the request
// names a key, s3:x-amz-server-side-encryption-aws-kms-key-id (the key's
// ARN when the caller's tenant has that key, else the name as given).
func (s *Surface) sseConditions(ctx context.Context, c *authn.Principal, h http.Header) (iam.Context, error) {
	e, err := sseOf(h)
	if err != nil {
		return nil, err
	}
	var out iam.Context
	if e.algorithm != "" {
		out = append(out, iam.Single("s3:x-amz-server-side-encryption", e.algorithm))
	}
	if e.keyID != "" {
		id := e.keyID
		if ref, err := s.resolveKey(ctx, c, e.keyID); err == nil {
			id = ref.KeyID
		}
		out = append(out, iam.Single("s3:x-amz-server-side-encryption-aws-kms-key-id", id))
	}
	return out, nil
}

// resolveKey resolves a key the request names to its owner and ARN: a
// tenant principal's within its own tenant only (another tenant's key is
// then KMS.NotFoundException, as a missing one); a platform caller's key
// ID or ARN in whichever tenant owns it, an alias among the platform's.
func (s *Surface) resolveKey(ctx context.Context, c *authn.Principal, id string) (artifact.KeyRef, error) {
	t := c.TenantID
	if t == "" {
		owner, err := s.Keys.KeyOwner(ctx, id)
		switch tenantml.ErrorCode(err) {
		case "":
			t = owner
		case tenantml.ENOTFOUND, tenantml.EINVALID:
			t = artifact.PlatformTenant
		default:
			return artifact.KeyRef{}, fmt.Errorf("find key owner: %w", err)
		}
	}
	m, err := s.Keys.DescribeKey(ctx, t, id)
	switch tenantml.ErrorCode(err) {
	case "":
		return artifact.KeyRef{Tenant: t, KeyID: m.Arn}, nil
	case tenantml.ENOTFOUND, tenantml.EINVALID:
		return artifact.KeyRef{}, errKeyNotFound(id)
	}
	return artifact.KeyRef{}, fmt.Errorf("describe key: %w", err)
}

func errKeyNotFound(id string) error {
	return tenantml.AWSErrorf(tenantml.EINVALID, "KMS.NotFoundException", "Invalid keyId %s", truncate(id, 256))
}

// chooseKey is the key of a write into b (artifact.ChooseKey) and checks
// that the caller may use it (kms:GenerateDataKey); it returns the key
// with its ARN.
func (s *Surface) chooseKey(r *http.Request, c *authn.Principal, b *artifact.Bucket) (artifact.KeyRef, error) {
	e, err := sseOf(r.Header)
	if err != nil {
		return artifact.KeyRef{}, err
	}
	var requested artifact.KeyRef
	if e.keyID != "" {
		if requested, err = s.resolveKey(r.Context(), c, e.keyID); err != nil {
			return artifact.KeyRef{}, err
		}
	}
	ref, err := artifact.ChooseKey(artifact.KeyChoice{Requested: requested, Bucket: b, CallerTenant: c.TenantID})
	if err != nil {
		return artifact.KeyRef{}, err
	}
	return s.authorizeKey(r, c, "kms:GenerateDataKey", ref)
}

// authorizeKey decides action on the key ref names, by its key policy and
// the caller's policies, the tenant boundary included; it returns the key
// with its ARN. Another tenant's key is refused without being named.
func (s *Surface) authorizeKey(r *http.Request, c *authn.Principal, action string, ref artifact.KeyRef) (artifact.KeyRef, error) {
	ctx := r.Context()
	if ref.Tenant == artifact.PlatformTenant && strings.EqualFold(ref.KeyID, artifact.DefaultKeyAlias) {
		if _, err := s.Keys.EnsureKey(ctx, artifact.PlatformTenant, artifact.DefaultKeyAlias, "tenantml platform object key"); err != nil {
			return artifact.KeyRef{}, fmt.Errorf("platform key: %w", err)
		}
	}
	res, err := authz.KeyResource(ctx, s.Keys, s.Policies, ref.Tenant, ref.KeyID)
	if tenantml.ErrorCode(err) == tenantml.ENOTFOUND {
		if c.TenantID != "" && ref.Tenant != c.TenantID {
			return artifact.KeyRef{}, errKeyDenied()
		}
		return artifact.KeyRef{}, errKeyNotFound(ref.KeyID)
	}
	if err != nil {
		return artifact.KeyRef{}, err
	}
	d, hidden, err := s.Pipeline.Check(r, c, action, res, nil)
	if err != nil {
		return artifact.KeyRef{}, err
	}
	if !d.Allowed() || hidden {
		if hidden || (c.TenantID != "" && ref.Tenant != c.TenantID) {
			return artifact.KeyRef{}, errKeyDenied()
		}
		return artifact.KeyRef{}, api.Denied(c, action, res.ARN)
	}
	return artifact.KeyRef{Tenant: ref.Tenant, KeyID: res.ARN}, nil
}

// errKeyDenied refuses the use of a key the caller may not learn of.
func errKeyDenied() error {
	return tenantml.AWSErrorf(tenantml.EFORBIDDEN, "AccessDenied", "Access Denied: the caller may not use the KMS key that encrypts this object")
}

// maxKeys parses a max-keys style parameter: def when absent.
func maxKeys(q url.Values, name string, def int) (int, error) {
	v := q.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, artifact.Err(artifact.CodeInvalidArgument, "Provided %s not an integer or within integer range", name)
	}
	return min(n, def), nil
}
