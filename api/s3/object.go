package s3

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
)

func (s *Surface) maxObject() int64 {
	if s.MaxObjectBytes > 0 {
		return s.MaxObjectBytes
	}
	return DefaultMaxObjectBytes
}

// metadataOf is a request's x-amz-meta-* headers, lowercase.
func metadataOf(h http.Header) map[string]string {
	var md map[string]string
	for k, v := range h {
		lk := strings.ToLower(k)
		if name, ok := strings.CutPrefix(lk, "x-amz-meta-"); ok && len(v) > 0 {
			if md == nil {
				md = map[string]string{}
			}
			md[name] = strings.Join(v, ",")
		}
	}
	return md
}

// sseHeaders are the answer headers naming an object's key, as S3 sends
// them for SSE-KMS.
func sseHeaders(h http.Header, keyARN string) {
	h.Set("X-Amz-Server-Side-Encryption", "aws:kms")
	h.Set("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", keyARN)
}

// objectHeaders are the headers of a GetObject or HeadObject answer.
func objectHeaders(h http.Header, o *artifact.Object) {
	ct := o.ContentType
	if ct == "" {
		ct = "binary/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("ETag", quote(o.ETag))
	h.Set("Last-Modified", o.LastModified.UTC().Format(http.TimeFormat))
	h.Set("Accept-Ranges", "bytes")
	sseHeaders(h, o.KeyARN)
	for k, v := range o.Metadata {
		h.Set("X-Amz-Meta-"+k, v)
	}
	if len(o.Tags) > 0 {
		h.Set("X-Amz-Tagging-Count", strconv.Itoa(len(o.Tags)))
	}
	if o.Parts > 0 {
		h.Set("X-Amz-Mp-Parts-Count", strconv.Itoa(o.Parts))
	}
}

// missing is the answer for a missing object of req.
func missing(req *request) error {
	if req.b == nil {
		return artifact.ErrNoSuchBucket()
	}
	return artifact.ErrNoSuchKey()
}

// body is a request body that remembers how reading it failed, so that a
// body cut short is told from a failure of the store.
type body struct {
	r   io.Reader
	err error
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// bodyError is the answer for a store error err after reading b: the
// verifier's own error (a payload not as signed), IncompleteBody for a
// body cut short (or a client gone), else err.
func (b *body) bodyError(ctx context.Context, err error) error {
	if err == nil || tenantml.AsError(err).Code != tenantml.EINTERNAL {
		return err
	}
	if b.err != nil && tenantml.AWSCodeOf(b.err) != "" {
		return b.err
	}
	if b.err != nil || ctx.Err() != nil {
		return &tenantml.Error{Code: tenantml.EINVALID, AWSCode: string(artifact.CodeIncompleteBody),
			Message: "You did not provide the number of bytes specified by the Content-Length HTTP header.", Err: err}
	}
	return err
}

// newObject reads what a new object (PutObject, CreateMultipartUpload)
// needs: its bucket (which must exist), the X-Amz-Tagging tags and the key
// it is encrypted under (kms:GenerateDataKey on it decided).
func (s *Surface) newObject(r *http.Request, c *authn.Principal) (*request, []artifact.Tag, artifact.KeyRef, error) {
	req := reqOf(r)
	if req.b == nil {
		return nil, nil, artifact.KeyRef{}, artifact.ErrNoSuchBucket()
	}
	tags, err := requestTags(r.Header.Get("X-Amz-Tagging"))
	if err != nil {
		return nil, nil, artifact.KeyRef{}, err
	}
	ref, err := s.chooseKey(r, c, req.b)
	if err != nil {
		return nil, nil, artifact.KeyRef{}, err
	}
	return req, tags, ref, nil
}

// putObject stores the body as it streams in, encrypted under the key
// the request, the bucket or the caller's tenant names (kms:GenerateDataKey
// on it decided first).
func (s *Surface) putObject(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	req, tags, ref, err := s.newObject(r, c)
	if err != nil {
		return err
	}
	in := &body{r: r.Body}
	obj, err := s.Store.PutObject(r.Context(), artifact.PutObjectInput{
		Bucket: req.bucket, Key: req.key, Encryption: ref, ContentType: r.Header.Get("Content-Type"),
		Metadata: metadataOf(r.Header), Tags: tags,
		Checks: artifact.Checks{ContentLength: r.ContentLength, ContentMD5: r.Header.Get("Content-Md5"), MaxSize: s.maxObject()},
	}, in)
	if err != nil {
		return in.bodyError(r.Context(), err)
	}
	api.ReportUsage(r.Context(), api.Usage{BytesIn: obj.Size})
	w.Header().Set("ETag", quote(obj.ETag))
	sseHeaders(w.Header(), obj.KeyARN)
	w.WriteHeader(http.StatusOK)
	return nil
}

// parseRange parses a Range header: nil for none or one this server
// ignores (several ranges), as HTTP allows.
func parseRange(h string) (*artifact.Range, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return nil, nil
	}
	first, last, ok := strings.Cut(spec, "-")
	if !ok {
		return nil, nil
	}
	invalid := artifact.Err(artifact.CodeInvalidRange, "The requested range is not satisfiable")
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return nil, nil
		}
		if n == 0 {
			return nil, invalid
		}
		return &artifact.Range{Suffix: n}, nil
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 {
		return nil, nil
	}
	if last == "" {
		return &artifact.Range{Start: start, End: -1}, nil
	}
	end, err := strconv.ParseInt(last, 10, 64)
	if err != nil || end < start {
		return nil, nil
	}
	return &artifact.Range{Start: start, End: end}, nil
}

// getObject streams an object, all of it or a Range, once the caller may
// decrypt it (kms:Decrypt on its key); the audit event is durable before
// the first byte.
func (s *Surface) getObject(r *http.Request, c *authn.Principal) (*api.Stream, error) {
	req := reqOf(r)
	if req.b == nil || req.obj == nil {
		return nil, missing(req)
	}
	rng, err := parseRange(r.Header.Get("Range"))
	if err != nil {
		return nil, err
	}
	or, err := s.Store.GetObject(r.Context(), req.bucket, req.key, rng)
	if err != nil {
		return nil, err
	}
	o := or.Object
	if c.TenantID != "" && owner(o.Tenant) != "" && o.Tenant != c.TenantID && req.b.Tenant == "" {
		or.Close() // replaced by another tenant's object since the target was resolved
		return nil, artifact.ErrNoSuchKey()
	}
	if _, err := s.authorizeKey(r, c, "kms:Decrypt", artifact.KeyRef{Tenant: o.Tenant, KeyID: o.KeyARN}); err != nil {
		or.Close()
		return nil, err
	}
	st := &api.Stream{Status: http.StatusOK, Header: http.Header{}, Body: or}
	objectHeaders(st.Header, o)
	st.Header.Set("Content-Length", strconv.FormatInt(or.Length, 10))
	if or.Ranged {
		st.Status = http.StatusPartialContent
		st.Header.Set("Content-Range", "bytes "+strconv.FormatInt(or.Offset, 10)+"-"+strconv.FormatInt(or.Offset+or.Length-1, 10)+"/"+strconv.FormatInt(o.Size, 10))
	}
	api.ReportUsage(r.Context(), api.Usage{BytesOut: or.Length})
	return st, nil
}

func (s *Surface) headObject(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	req := reqOf(r)
	if req.obj == nil {
		return missing(req)
	}
	objectHeaders(w.Header(), req.obj)
	w.Header().Set("Content-Length", strconv.FormatInt(req.obj.Size, 10))
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Surface) deleteObject(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	req := reqOf(r)
	if req.b == nil {
		return artifact.ErrNoSuchBucket()
	}
	if req.obj != nil {
		if err := s.Store.DeleteObject(r.Context(), req.bucket, req.key); err != nil && artifact.CodeOf(err) != artifact.CodeNoSuchKey {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// copySource parses x-amz-copy-source: "[/]bucket/key[?versionId=...]",
// URL-encoded.
func copySource(h string) (string, string, error) {
	h, _, _ = strings.Cut(h, "?")
	src, err := url.PathUnescape(h)
	if err != nil {
		return "", "", artifact.Err(artifact.CodeInvalidArgument, "Invalid copy source encoding")
	}
	bucket, key, ok := strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if !ok || bucket == "" || key == "" {
		return "", "", artifact.Err(artifact.CodeInvalidArgument, "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	return bucket, key, nil
}

// copyTarget is the destination of a CopyObject; the source is resolved
// and decided (s3:GetObject, as a GetObject would be) here too, so that
// another tenant's source is answered — as Target.Hide, flagged for the
// operator — exactly as a missing source would be: AccessDenied when the
// caller may not read it, else NoSuchKey (NoSuchBucket).
func (s *Surface) copyTarget(r *http.Request, c *authn.Principal) (*api.Target, error) {
	t, err := s.objectTarget(objectWrite)(r, c)
	if err != nil {
		return nil, err
	}
	sb, sk, err := copySource(r.Header.Get("X-Amz-Copy-Source"))
	if err != nil {
		return nil, err
	}
	t.Parameters["copySource"] = truncate(sb+"/"+sk, maxAuditedKey+256)
	_, _, st, err := s.objectResource(r.Context(), c, "s3:GetObject", sb, sk, objectRead)
	if err != nil {
		return nil, err
	}
	d, hidden, err := s.Pipeline.Check(r, c, "s3:GetObject", st.Resource, st.Context)
	if err != nil {
		return nil, err
	}
	req := reqOf(r)
	req.srcBucket, req.srcKey = sb, sk
	switch {
	case !d.Allowed():
		req.srcErr = api.Denied(c, "s3:GetObject", st.Resource.ARN)
	case hidden:
		req.srcErr = st.NotFound
	}
	if hidden {
		t.Hide = req.srcErr
	}
	return t, nil
}

// copyObject copies server-side: s3:GetObject on the source (copyTarget)
// and kms:Decrypt on its key, s3:PutObject on the destination (the
// pipeline) and kms:GenerateDataKey on its key.
func (s *Surface) copyObject(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	req := reqOf(r)
	if req.srcErr != nil {
		return req.srcErr
	}
	sb, sk := req.srcBucket, req.srcKey
	if req.b == nil {
		return artifact.ErrNoSuchBucket()
	}
	tags, err := requestTags(r.Header.Get("X-Amz-Tagging"))
	if err != nil {
		return err
	}
	ref, err := s.chooseKey(r, c, req.b)
	if err != nil {
		return err
	}
	in := artifact.CopyObjectInput{SourceBucket: sb, SourceKey: sk,
		PutObjectInput:  artifact.PutObjectInput{Bucket: req.bucket, Key: req.key, Encryption: ref, Checks: artifact.NoChecks},
		ReplaceMetadata: strings.EqualFold(r.Header.Get("X-Amz-Metadata-Directive"), "REPLACE"),
		ReplaceTags:     strings.EqualFold(r.Header.Get("X-Amz-Tagging-Directive"), "REPLACE"),
		CheckSource: func(o *artifact.Object) error {
			if c.TenantID != "" && owner(o.Tenant) != "" && o.Tenant != c.TenantID {
				return artifact.ErrNoSuchKey() // replaced by another tenant's object meanwhile
			}
			_, err := s.authorizeKey(r, c, "kms:Decrypt", artifact.KeyRef{Tenant: o.Tenant, KeyID: o.KeyARN})
			return err
		},
	}
	if in.ReplaceMetadata {
		in.ContentType, in.Metadata = r.Header.Get("Content-Type"), metadataOf(r.Header)
	}
	if in.ReplaceTags {
		in.Tags = tags
	}
	obj, err := s.Store.CopyObject(r.Context(), in)
	if err != nil {
		return err
	}
	sseHeaders(w.Header(), obj.KeyARN)
	return writeXML(w, copyResult{Xmlns: namespace, ETag: quote(obj.ETag), LastModified: xmlTime(obj.LastModified)})
}

func (s *Surface) getObjectTagging(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	req := reqOf(r)
	if req.obj == nil {
		return missing(req)
	}
	tags, err := s.Store.GetObjectTagging(r.Context(), req.bucket, req.key)
	if err != nil {
		return err
	}
	return writeXML(w, taggingOf(tags))
}

func (s *Surface) putObjectTagging(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	req := reqOf(r)
	if req.obj == nil {
		return missing(req)
	}
	if err := s.Store.PutObjectTagging(r.Context(), req.bucket, req.key, req.tags); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Surface) deleteObjectTagging(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	req := reqOf(r)
	if req.obj == nil {
		return missing(req)
	}
	if err := s.Store.DeleteObjectTagging(r.Context(), req.bucket, req.key); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
