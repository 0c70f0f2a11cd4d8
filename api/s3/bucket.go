package s3

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
)

// listBuckets answers the buckets of the caller's account that it may
// list (s3:ListBucket on each): for a tenant principal, only its tenant's
// and the platform's, never another tenant's.
func (s *Surface) listBuckets(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	bs, err := s.Store.ListBuckets(r.Context(), c.Account)
	if err != nil {
		return err
	}
	out := listAllMyBucketsResult{Xmlns: namespace, Owner: ownerXML{ID: c.Account}, Buckets: []bucketInfo{}}
	for _, b := range bs {
		if c.TenantID != "" && b.Tenant != "" && b.Tenant != c.TenantID {
			continue
		}
		_, res, err := s.bucketResource(r.Context(), b.Name)
		if err != nil {
			return err
		}
		d, hidden, err := s.Pipeline.Check(r, c, "s3:ListBucket", res, nil)
		if err != nil {
			return err
		}
		if hidden || !d.Allowed() {
			continue
		}
		out.Buckets = append(out.Buckets, bucketInfo{Name: b.Name, CreationDate: xmlTime(b.Created)})
	}
	return writeXML(w, out)
}

// createBucket creates the bucket for the caller's account and tenant.
func (s *Surface) createBucket(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	req := reqOf(r)
	if _, err := readBody(r); err != nil { // CreateBucketConfiguration: the server's region
		return err
	}
	if slices.Contains(s.Reserved, req.bucket) {
		return artifact.Err(artifact.CodeInvalidBucketName, "The specified bucket is not valid: %q is reserved by this server's other APIs.", req.bucket)
	}
	if b := req.b; b != nil && c.TenantID != "" && b.Tenant != c.TenantID {
		return errBucketExists()
	}
	if _, err := s.Store.CreateBucket(r.Context(), artifact.CreateBucketInput{Name: req.bucket, Account: c.Account, Tenant: c.TenantID}); err != nil {
		return err
	}
	w.Header().Set("Location", "/"+req.bucket)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Surface) headBucket(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	w.Header().Set("X-Amz-Bucket-Region", s.Pipeline.Region)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Surface) getBucketLocation(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	region := s.Pipeline.Region
	if region == "us-east-1" {
		region = "" // S3's answer for us-east-1
	}
	return writeXML(w, locationConstraint{Xmlns: namespace, Region: region})
}

func (s *Surface) deleteBucket(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	if err := s.Store.DeleteBucket(r.Context(), reqOf(r).bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listObjects is ListObjectsV2 (and version 1: marker for start-after).
// A tenant principal sees, in a bucket not its tenant's, only its
// tenant's objects, and only the common prefixes under which it has one.
func (s *Surface) listObjects(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	req := reqOf(r)
	q := req.query
	v2 := q.Get("list-type") == "2"
	n, err := maxKeys(q, "max-keys", artifact.MaxListKeys)
	if err != nil {
		return err
	}
	if et := q.Get("encoding-type"); et != "" && et != "url" {
		return artifact.Err(artifact.CodeInvalidArgument, "Invalid Encoding Method specified in Request")
	}
	in := artifact.ListObjectsInput{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), MaxKeys: n,
		ContinuationToken: q.Get("continuation-token"), StartAfter: q.Get("start-after")}
	if !v2 {
		in.StartAfter, in.ContinuationToken = q.Get("marker"), ""
	}
	page, err := s.Store.ListObjects(r.Context(), req.bucket, in)
	if err != nil {
		return err
	}
	filter := c.TenantID != "" && req.b != nil && req.b.Tenant != c.TenantID
	enc := q.Get("encoding-type") == "url"
	out := listBucketResult{Xmlns: namespace, Name: req.bucket, Prefix: encodeKey(in.Prefix, enc), MaxKeys: n,
		Delimiter: encodeKey(in.Delimiter, enc), IsTruncated: page.IsTruncated, Contents: []content{}}
	if enc {
		out.EncodingType = "url"
	}
	last := ""
	for _, o := range page.Objects {
		if filter && o.Tenant != c.TenantID {
			continue
		}
		last = o.Key
		out.Contents = append(out.Contents, content{Key: encodeKey(o.Key, enc), LastModified: xmlTime(o.LastModified), ETag: quote(o.ETag), Size: o.Size, StorageClass: "STANDARD"})
	}
	for _, p := range page.CommonPrefixes {
		if filter {
			mine, err := s.ownsUnder(r, c, req.bucket, p)
			if err != nil {
				return err
			}
			if !mine {
				continue
			}
		}
		last = max(last, p)
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: encodeKey(p, enc)})
	}
	if v2 {
		kc := len(out.Contents) + len(out.CommonPrefixes)
		out.KeyCount = &kc
		out.ContinuationToken = in.ContinuationToken
		out.NextContinuationToken = page.NextContinuationToken
		out.StartAfter = encodeKey(q.Get("start-after"), enc)
	} else {
		marker := encodeKey(in.StartAfter, enc)
		out.Marker = &marker
		if page.IsTruncated && in.Delimiter != "" {
			out.NextMarker = encodeKey(last, enc)
		}
	}
	return writeXML(w, out)
}

// ownsUnder reports whether the caller's tenant owns an object under
// prefix (looking at the first listing page only: a prefix whose first
// 1,000 objects are others' is not shown).
func (s *Surface) ownsUnder(r *http.Request, c *authn.Principal, bucket, prefix string) (bool, error) {
	page, err := s.Store.ListObjects(r.Context(), bucket, artifact.ListObjectsInput{Prefix: prefix, MaxKeys: artifact.MaxListKeys})
	if err != nil {
		return false, err
	}
	for _, o := range page.Objects {
		if o.Tenant == c.TenantID {
			return true, nil
		}
	}
	return false, nil
}

func (s *Surface) getBucketPolicy(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	doc, err := s.Store.GetBucketPolicy(r.Context(), reqOf(r).bucket)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(doc))
	return nil
}

// putBucketPolicy stores a bucket policy: a resource-based policy the IAM
// engine parses, whose every Resource names the bucket or its objects.
func (s *Surface) putBucketPolicy(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	req := reqOf(r)
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if _, err := s.Policies.Parse(string(body), iam.KindResource); err != nil {
		return artifact.Err(artifact.CodeMalformedPolicy, "%s", tenantml.ErrorMessage(err))
	}
	if err := policyInBucket(body, req.bucket); err != nil {
		return err
	}
	if err := s.Store.PutBucketPolicy(r.Context(), req.bucket, string(body)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// policyInBucket refuses a bucket policy with a Resource outside the
// bucket, as S3 does ("Policy has invalid resource").
func policyInBucket(doc []byte, bucket string) error {
	var p struct {
		Statement json.RawMessage
	}
	if err := json.Unmarshal(doc, &p); err != nil {
		return artifact.Err(artifact.CodeMalformedPolicy, "Policies must be valid JSON and the first byte must be '{'")
	}
	var sts []map[string]json.RawMessage
	if err := json.Unmarshal(p.Statement, &sts); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(p.Statement, &one); err != nil {
			return artifact.Err(artifact.CodeMalformedPolicy, "Missing required field Statement")
		}
		sts = []map[string]json.RawMessage{one}
	}
	for _, st := range sts {
		for _, field := range []string{"Resource", "NotResource"} {
			raw, ok := st[field]
			if !ok {
				continue
			}
			var list []string
			if err := json.Unmarshal(raw, &list); err != nil {
				var one string
				if err := json.Unmarshal(raw, &one); err != nil {
					return artifact.Err(artifact.CodeMalformedPolicy, "Policy has invalid resource")
				}
				list = []string{one}
			}
			for _, res := range list {
				if res != bucketARN(bucket) && !strings.HasPrefix(res, bucketARN(bucket)+"/") {
					return artifact.Err(artifact.CodeMalformedPolicy, "Policy has invalid resource")
				}
			}
		}
	}
	return nil
}

func (s *Surface) deleteBucketPolicy(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	if err := s.Store.DeleteBucketPolicy(r.Context(), reqOf(r).bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getBucketEncryption answers the bucket's default key (aws:kms, its
// ARN).
func (s *Surface) getBucketEncryption(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	ref, err := s.Store.GetBucketEncryption(r.Context(), reqOf(r).bucket)
	if err != nil {
		return err
	}
	return writeXML(w, sseConfiguration{Xmlns: namespace, Rules: []sseRule{{Default: &sseDefault{SSEAlgorithm: "aws:kms", KMSMasterKeyID: ref.KeyID}}}})
}

// putBucketEncryption sets the bucket's default key: SSE-KMS with a key
// the caller names (resolved as a request's SSE header: a tenant's within
// its tenant), or AES256 / aws:kms without a key, which removes the
// default (every object is then encrypted under its writer's tenant's
// key, ChooseKey).
func (s *Surface) putBucketEncryption(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	req := reqOf(r)
	var in sseConfiguration
	if err := decodeXML(r, &in); err != nil {
		return err
	}
	if len(in.Rules) != 1 || in.Rules[0].Default == nil {
		return artifact.Err(artifact.CodeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	d := in.Rules[0].Default
	switch {
	case d.SSEAlgorithm == "AES256" && d.KMSMasterKeyID == "", d.SSEAlgorithm == "aws:kms" && d.KMSMasterKeyID == "":
		if err := s.Store.DeleteBucketEncryption(r.Context(), req.bucket); err != nil {
			return err
		}
	case d.SSEAlgorithm == "aws:kms":
		ref, err := s.resolveKey(r.Context(), c, d.KMSMasterKeyID)
		if err != nil {
			return err
		}
		if err := s.Store.PutBucketEncryption(r.Context(), req.bucket, ref); err != nil {
			return err
		}
	default:
		return artifact.Err(artifact.CodeInvalidArgument, "The encryption method specified is not supported")
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Surface) deleteBucketEncryption(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	if err := s.Store.DeleteBucketEncryption(r.Context(), reqOf(r).bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Surface) getBucketTagging(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	tags, err := s.Store.GetBucketTagging(r.Context(), reqOf(r).bucket)
	if err != nil {
		return err
	}
	return writeXML(w, taggingOf(tags))
}

func (s *Surface) putBucketTagging(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	var in tagging
	if err := decodeXML(r, &in); err != nil {
		return err
	}
	if err := s.Store.PutBucketTagging(r.Context(), reqOf(r).bucket, in.tags()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Surface) deleteBucketTagging(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	if err := s.Store.DeleteBucketTagging(r.Context(), reqOf(r).bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listUploads is ListMultipartUploads; a tenant principal sees, in a
// bucket not its tenant's, only its tenant's uploads.
func (s *Surface) listUploads(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	if reqOf(r).b == nil {
		return artifact.ErrNoSuchBucket()
	}
	req := reqOf(r)
	q := req.query
	n, err := maxKeys(q, "max-uploads", artifact.MaxListKeys)
	if err != nil {
		return err
	}
	in := artifact.ListUploadsInput{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"), KeyMarker: q.Get("key-marker"),
		UploadIDMarker: q.Get("upload-id-marker"), MaxUploads: n}
	if n == 0 {
		in.MaxUploads = 1
	}
	filter := c.TenantID != "" && req.b.Tenant != c.TenantID
	if filter {
		return s.listOwnUploads(w, r, c, in, n)
	}
	page, err := s.Store.ListMultipartUploads(r.Context(), req.bucket, in)
	if err != nil {
		return err
	}
	enc := q.Get("encoding-type") == "url"
	out := listUploadsResult{Xmlns: namespace, Bucket: req.bucket, KeyMarker: in.KeyMarker, UploadIDMarker: in.UploadIDMarker,
		Prefix: encodeKey(in.Prefix, enc), Delimiter: in.Delimiter, MaxUploads: n, IsTruncated: page.IsTruncated}
	if page.IsTruncated {
		out.NextKeyMarker, out.NextUploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
	for _, u := range page.Uploads {
		out.Uploads = append(out.Uploads, uploadInfo{Key: encodeKey(u.Key, enc), UploadID: u.UploadID, Initiated: xmlTime(u.Initiated), StorageClass: "STANDARD"})
	}
	for _, p := range page.CommonPrefixes {
		out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{Prefix: encodeKey(p, enc)})
	}
	return writeXML(w, out)
}

// listOwnUploads is ListMultipartUploads for a tenant principal in a
// bucket not its tenant's: only its tenant's uploads, without common
// prefixes, paged by its own uploads alone (the markers name only what
// the page shows), reading the store's pages until n are found.
func (s *Surface) listOwnUploads(w http.ResponseWriter, r *http.Request, c *authn.Principal, in artifact.ListUploadsInput, n int) error {
	req := reqOf(r)
	enc := req.query.Get("encoding-type") == "url"
	out := listUploadsResult{Xmlns: namespace, Bucket: req.bucket, KeyMarker: in.KeyMarker, UploadIDMarker: in.UploadIDMarker,
		Prefix: encodeKey(in.Prefix, enc), MaxUploads: n}
	var own []*artifact.Upload
	scan := artifact.ListUploadsInput{Prefix: in.Prefix, KeyMarker: in.KeyMarker, UploadIDMarker: in.UploadIDMarker, MaxUploads: artifact.MaxListKeys}
	for len(own) <= n {
		page, err := s.Store.ListMultipartUploads(r.Context(), req.bucket, scan)
		if err != nil {
			return err
		}
		for _, u := range page.Uploads {
			if u.Tenant == c.TenantID {
				own = append(own, u)
			}
		}
		if !page.IsTruncated {
			break
		}
		scan.KeyMarker, scan.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
	if len(own) > n {
		own, out.IsTruncated = own[:n], true
		if n > 0 {
			out.NextKeyMarker, out.NextUploadIDMarker = encodeKey(own[n-1].Key, enc), own[n-1].UploadID
		}
	}
	for _, u := range own {
		out.Uploads = append(out.Uploads, uploadInfo{Key: encodeKey(u.Key, enc), UploadID: u.UploadID, Initiated: xmlTime(u.Initiated), StorageClass: "STANDARD"})
	}
	return writeXML(w, out)
}

// deleteObjects deletes up to 1,000 keys, each authorized as
// s3:DeleteObject on its object: a key the caller may not delete is an
// AccessDenied entry; another tenant's object is reported deleted and left
// alone, as a missing key is.
func (s *Surface) deleteObjects(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	req := reqOf(r)
	if r.Header.Get("Content-Md5") == "" && r.Header.Get("X-Amz-Checksum-Crc32") == "" && r.Header.Get("X-Amz-Checksum-Crc32c") == "" &&
		r.Header.Get("X-Amz-Checksum-Sha256") == "" && r.Header.Get("X-Amz-Checksum-Sha1") == "" && r.Header.Get("X-Amz-Sdk-Checksum-Algorithm") == "" {
		return artifact.Err(artifact.CodeInvalidArgument, "Missing required header for this request: Content-MD5")
	}
	var in deleteRequest
	if err := decodeXML(r, &in); err != nil {
		return err
	}
	if len(in.Objects) > 1000 {
		return artifact.Err(artifact.CodeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	if req.b == nil {
		return artifact.ErrNoSuchBucket()
	}
	out := deleteResult{Xmlns: namespace}
	var del []string
	for _, o := range in.Objects {
		_, obj, t, err := s.objectResource(r.Context(), c, "s3:DeleteObject", req.bucket, o.Key, objectDelete)
		if err != nil {
			e := (&api.S3Protocol{}).Describe(err)
			out.Errors = append(out.Errors, deleteError{Key: o.Key, Code: e.Code, Message: e.Message})
			continue
		}
		d, hidden, err := s.Pipeline.Check(r, c, "s3:DeleteObject", t.Resource, t.Context)
		if err != nil {
			return err
		}
		switch {
		case !d.Allowed():
			out.Errors = append(out.Errors, deleteError{Key: o.Key, Code: "AccessDenied", Message: "Access Denied"})
		case hidden || obj == nil:
			if !in.Quiet {
				out.Deleted = append(out.Deleted, deletedInfo{Key: o.Key})
			}
		default:
			del = append(del, o.Key)
		}
	}
	if len(del) > 0 {
		res, err := s.Store.DeleteObjects(r.Context(), req.bucket, del)
		if err != nil {
			return err
		}
		for _, d := range res {
			if d.Err != nil {
				e := (&api.S3Protocol{}).Describe(d.Err)
				out.Errors = append(out.Errors, deleteError{Key: d.Key, Code: e.Code, Message: e.Message})
			} else if !in.Quiet {
				out.Deleted = append(out.Deleted, deletedInfo{Key: d.Key})
			}
		}
	}
	return writeXML(w, out)
}
