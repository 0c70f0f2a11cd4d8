package s3

import (
	"net/http"
	"strconv"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
)

// missingUpload is the answer for a missing upload of req.
func missingUpload(req *request) error {
	if req.b == nil {
		return artifact.ErrNoSuchBucket()
	}
	return artifact.ErrNoSuchUpload()
}

// createUpload starts a multipart upload under the key a PutObject would
// use (kms:GenerateDataKey on it).
func (s *Surface) createUpload(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	req, tags, ref, err := s.newObject(r, c)
	if err != nil {
		return err
	}
	u, err := s.Store.CreateMultipartUpload(r.Context(), artifact.CreateUploadInput{Bucket: req.bucket, Key: req.key, Encryption: ref,
		ContentType: r.Header.Get("Content-Type"), Metadata: metadataOf(r.Header), Tags: tags})
	if err != nil {
		return err
	}
	sseHeaders(w.Header(), u.KeyARN)
	return writeXML(w, initiateResult{Xmlns: namespace, Bucket: u.Bucket, Key: u.Key, UploadID: u.UploadID})
}

// useUploadKey checks kms:GenerateDataKey on an upload's key: every part
// is encrypted under the upload's data key, which that key wraps.
func (s *Surface) useUploadKey(r *http.Request, c *authn.Principal, u *artifact.Upload) error {
	_, err := s.authorizeKey(r, c, "kms:GenerateDataKey", artifact.KeyRef{Tenant: u.Tenant, KeyID: u.KeyARN})
	return err
}

func (s *Surface) uploadPart(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	req := reqOf(r)
	if req.upload == nil {
		return missingUpload(req)
	}
	n, err := strconv.Atoi(req.query.Get("partNumber"))
	if err != nil || n < 1 || n > artifact.MaxParts {
		return artifact.Err(artifact.CodeInvalidArgument, "Part number must be an integer between 1 and %d, inclusive", artifact.MaxParts)
	}
	if err := s.useUploadKey(r, c, req.upload); err != nil {
		return err
	}
	in := &body{r: r.Body}
	p, err := s.Store.UploadPart(r.Context(), artifact.UploadPartInput{Bucket: req.bucket, Key: req.key, UploadID: req.upload.UploadID, PartNumber: n,
		Checks: artifact.Checks{ContentLength: r.ContentLength, ContentMD5: r.Header.Get("Content-Md5"), MaxSize: artifact.MaxPartSize}}, in)
	if err != nil {
		return in.bodyError(r.Context(), err)
	}
	api.ReportUsage(r.Context(), api.Usage{BytesIn: p.Size})
	w.Header().Set("ETag", quote(p.ETag))
	sseHeaders(w.Header(), req.upload.KeyARN)
	w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Surface) completeUpload(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	req := reqOf(r)
	if req.upload == nil {
		return missingUpload(req)
	}
	var in completeRequest
	if err := decodeXML(r, &in); err != nil {
		return err
	}
	if len(in.Parts) == 0 {
		return artifact.Err(artifact.CodeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	if err := s.useUploadKey(r, c, req.upload); err != nil {
		return err
	}
	parts := make([]artifact.CompletedPart, 0, len(in.Parts))
	for _, p := range in.Parts {
		parts = append(parts, artifact.CompletedPart{Number: p.PartNumber, ETag: p.ETag})
	}
	obj, err := s.Store.CompleteMultipartUpload(r.Context(), req.bucket, req.key, req.upload.UploadID, parts)
	if err != nil {
		return err
	}
	sseHeaders(w.Header(), obj.KeyARN)
	return writeXML(w, completeResult{Xmlns: namespace, Location: "/" + req.bucket + "/" + req.key, Bucket: req.bucket, Key: req.key, ETag: quote(obj.ETag)})
}

func (s *Surface) abortUpload(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	req := reqOf(r)
	if req.upload == nil {
		return missingUpload(req)
	}
	if err := s.Store.AbortMultipartUpload(r.Context(), req.bucket, req.key, req.upload.UploadID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Surface) listParts(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	req := reqOf(r)
	if req.upload == nil {
		return missingUpload(req)
	}
	n, err := maxKeys(req.query, "max-parts", artifact.MaxListKeys)
	if err != nil {
		return err
	}
	marker := 0
	if m := req.query.Get("part-number-marker"); m != "" {
		if marker, err = strconv.Atoi(m); err != nil || marker < 0 {
			return artifact.Err(artifact.CodeInvalidArgument, "Provided part-number-marker not an integer or within integer range")
		}
	}
	page, err := s.Store.ListParts(r.Context(), req.bucket, req.key, req.upload.UploadID, marker, max(n, 1))
	if err != nil {
		return err
	}
	out := listPartsResult{Xmlns: namespace, Bucket: req.bucket, Key: req.key, UploadID: req.upload.UploadID, PartNumberMarker: marker,
		NextPartNumberMarker: page.NextPartNumberMarker, MaxParts: n, IsTruncated: page.IsTruncated, StorageClass: "STANDARD"}
	for _, p := range page.Parts {
		out.Parts = append(out.Parts, partInfo{PartNumber: p.Number, LastModified: xmlTime(p.LastModified), ETag: quote(p.ETag), Size: p.Size})
	}
	return writeXML(w, out)
}
