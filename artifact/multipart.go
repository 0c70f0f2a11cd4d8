package artifact

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/tenantml/tenantml/keys"
)

// Multipart layout. An upload holds one data key, generated at
// CreateMultipartUpload and kept wrapped (context: owner, bucket, key,
// upload ID) in the upload's record. Each part is encrypted as it arrives
// into its own body (its own Tink stream under that data key, associated
// data naming its body ID) and is durable once UploadPart returns: the
// part's index row is written after its body. Completing writes no bytes:
// the object's manifest lists the part bodies in order, and the data key
// is re-wrapped with the list's digest bound into its context, so a
// reordered, dropped or substituted part no longer decrypts. A read (or a
// range) streams the bodies in order, opening each only when reached.

// Upload is a multipart upload in progress.
type Upload struct {
	Bucket    string
	Key       string
	UploadID  string
	Tenant    string // owner of the upload's key, and of the object
	Initiated time.Time
	KeyARN    string
}

// Part is one uploaded part.
type Part struct {
	Number       int
	Size         int64
	ETag         string // hex MD5 of the part, unquoted
	LastModified time.Time
}

// CreateUploadInput is CreateMultipartUpload's request.
type CreateUploadInput struct {
	Bucket      string
	Key         string
	Encryption  KeyRef // as PutObjectInput.Encryption
	ContentType string
	Metadata    map[string]string
	Tags        []Tag
}

var uploadIDRE = regexp.MustCompile(`^[0-9a-f]{48}$`)

// newUploadID is 8 bytes of the time (so IDs sort by initiation, as S3
// lists them) and 16 random bytes, in hex.
func (s *Store) newUploadID(now time.Time) (string, error) {
	id, err := s.newID()
	if err != nil {
		return "", err
	}
	var t [8]byte
	binary.BigEndian.PutUint64(t[:], uint64(now.UnixNano()))
	return hex.EncodeToString(t[:]) + id, nil
}

// CreateMultipartUpload starts a multipart upload.
func (s *Store) CreateMultipartUpload(ctx context.Context, in CreateUploadInput) (*Upload, error) {
	tags, err := s.checkNew(ctx, in.Bucket, in.Key, in.Encryption, in.ContentType, in.Metadata, in.Tags)
	if err != nil {
		return nil, err
	}
	now := s.now()
	id, err := s.newUploadID(now)
	if err != nil {
		return nil, err
	}
	tenant := in.Encryption.Tenant
	dk, err := s.generateDataKey(ctx, in.Encryption, writeContext(tenant, in.Bucket, in.Key, id))
	if err != nil {
		return nil, err
	}
	clear(dk.Plaintext)
	doc := uploadDoc{WrappedKey: dk.CiphertextBlob, KeyARN: dk.KeyID, KeyVersion: dk.KeyVersion,
		ContentType: in.ContentType, Metadata: in.Metadata, Tags: tags}
	u := &UploadRecord{Bucket: in.Bucket, Key: in.Key, UploadID: id, Tenant: tenant, Initiated: now, Doc: mustJSON(doc)}
	err = s.cfg.Index.CreateUpload(ctx, u)
	if isNotFound(err) {
		return nil, errNoSuchBucket()
	}
	if err != nil {
		return nil, fmt.Errorf("create upload: %w", err)
	}
	return uploadOf(u, &doc), nil
}

func uploadOf(u *UploadRecord, d *uploadDoc) *Upload {
	return &Upload{Bucket: u.Bucket, Key: u.Key, UploadID: u.UploadID, Tenant: u.Tenant, Initiated: u.Initiated, KeyARN: d.KeyARN}
}

// loadUpload returns the upload (bucket, uploadID) if it is key's.
// Anything else — a malformed ID, another key's upload, a completed or
// aborted one — is NoSuchUpload.
func (s *Store) loadUpload(ctx context.Context, bucket, key, uploadID string) (*UploadRecord, *uploadDoc, error) {
	if err := s.ready(); err != nil {
		return nil, nil, err
	}
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return nil, nil, err
	}
	if !uploadIDRE.MatchString(uploadID) {
		return nil, nil, errNoSuchUpload()
	}
	u, err := s.cfg.Index.GetUpload(ctx, bucket, uploadID)
	if isNotFound(err) || (err == nil && u.Key != key) {
		return nil, nil, errNoSuchUpload()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get upload: %w", err)
	}
	var d uploadDoc
	if err := json.Unmarshal(u.Doc, &d); err != nil {
		return nil, nil, fmt.Errorf("%w: decode upload: %w", ErrIntegrity, err)
	}
	return u, &d, nil
}

// UploadPartInput is UploadPart's request.
type UploadPartInput struct {
	Bucket     string
	Key        string
	UploadID   string
	PartNumber int // 1..10000
	Checks
}

// UploadPart stores part in.PartNumber of an upload, read from body and
// encrypted as it arrives, replacing a part of that number. The part is
// durable when UploadPart returns; a failed or mismatched body leaves
// nothing.
func (s *Store) UploadPart(ctx context.Context, in UploadPartInput, body io.Reader) (*Part, error) {
	if in.PartNumber < 1 || in.PartNumber > MaxParts {
		return nil, s3Err(CodeInvalidArgument, "Part number must be an integer between 1 and %d, inclusive", MaxParts)
	}
	u, d, err := s.loadUpload(ctx, in.Bucket, in.Key, in.UploadID)
	if err != nil {
		return nil, err
	}
	if in.MaxSize <= 0 || in.MaxSize > MaxPartSize {
		in.MaxSize = MaxPartSize
	}
	if err := in.Checks.validate(); err != nil {
		return nil, err
	}
	if err := s.checkStored(ctx, u.Tenant, in.Checks.ContentLength, 0); err != nil {
		return nil, err
	}
	dk, err := s.cfg.Keys.Decrypt(ctx, u.Tenant, keys.DecryptInput{
		CiphertextBlob: d.WrappedKey, EncryptionContext: writeContext(u.Tenant, u.Bucket, u.Key, u.UploadID)})
	if err != nil {
		return nil, fmt.Errorf("unwrap data key: %w", err)
	}
	id, err := s.newID()
	if err != nil {
		clear(dk.Plaintext)
		return nil, err
	}
	w, err := s.writeBody(ctx, u.Tenant, u.Bucket, u.Key, id, dk.Plaintext, body, in.MaxSize)
	clear(dk.Plaintext)
	if err != nil {
		return nil, err
	}
	path := bodyPath(u.Tenant, u.Bucket, id)
	if err := in.Checks.verify(w); err != nil {
		s.deleteQuietly(ctx, path)
		return nil, err
	}
	if err := s.checkStored(ctx, u.Tenant, w.size, 0); err != nil {
		s.deleteQuietly(ctx, path)
		return nil, err
	}
	p := &PartRecord{Bucket: u.Bucket, UploadID: u.UploadID, Number: in.PartNumber, Tenant: u.Tenant,
		Size: w.size, ETag: w.md5, Body: id, LastModified: s.now(),
		Doc: mustJSON(partDoc{CiphertextSize: w.ctSize, SHA256: w.sha256})}
	prev, err := s.cfg.Index.PutPart(ctx, p)
	if err != nil {
		s.deleteQuietly(ctx, path)
		if isNotFound(err) {
			return nil, errNoSuchUpload() // completed or aborted meanwhile
		}
		return nil, fmt.Errorf("index part: %w", err)
	}
	if prev != nil {
		s.deleteQuietly(ctx, bodyPath(prev.Tenant, prev.Bucket, prev.Body))
	}
	return &Part{Number: p.Number, Size: p.Size, ETag: p.ETag, LastModified: p.LastModified}, nil
}

// CompletedPart is one part named in CompleteMultipartUpload.
type CompletedPart struct {
	Number int
	ETag   string // as UploadPart returned it, quoted or not
}

// CompleteMultipartUpload makes the object of an upload from the parts
// named, in ascending order (InvalidPartOrder), each as uploaded
// (InvalidPart: missing or another ETag), all but the last at least
// Config.MinPartSize (EntityTooSmall). Parts uploaded but not named are
// deleted. No part is re-encrypted: see the multipart layout above.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []CompletedPart) (*Object, error) {
	u, ud, err := s.loadUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, s3Err(CodeMalformedXML, "The XML you provided was not well-formed or did not validate against our published schema")
	}
	if len(parts) > MaxParts {
		return nil, s3Err(CodeInvalidArgument, "A multipart upload has at most %d parts", MaxParts)
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return nil, s3Err(CodeInvalidPartOrder, "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
		}
	}
	stored, err := s.allParts(ctx, bucket, uploadID)
	if err != nil {
		return nil, err
	}
	bodies := make([]bodyRef, 0, len(parts))
	md5s := make([][]byte, 0, len(parts))
	use := make([]PartRef, 0, len(parts))
	for i, cp := range parts {
		p, ok := stored[cp.Number]
		if !ok || !strings.EqualFold(strings.Trim(cp.ETag, `"`), p.ETag) {
			return nil, s3Err(CodeInvalidPart, "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")
		}
		if i < len(parts)-1 && p.Size < s.cfg.MinPartSize {
			return nil, s3Err(CodeEntityTooSmall, "Your proposed upload is smaller than the minimum allowed object size.")
		}
		var pd partDoc
		if err := json.Unmarshal(p.Doc, &pd); err != nil {
			return nil, fmt.Errorf("%w: decode part: %w", ErrIntegrity, err)
		}
		sum, err := hex.DecodeString(p.ETag)
		if err != nil {
			return nil, fmt.Errorf("%w: part etag: %w", ErrIntegrity, err)
		}
		md5s = append(md5s, sum)
		bodies = append(bodies, bodyRef{ID: p.Body, Part: p.Number, Size: p.Size, CiphertextSize: pd.CiphertextSize, SHA256: pd.SHA256, MD5: p.ETag})
		use = append(use, PartRef{Number: p.Number, Body: p.Body})
	}
	d := &objectDoc{Format: formatV2, Algorithm: algorithm, ObjectID: uploadID, Multipart: true, Bodies: bodies,
		ContentType: ud.ContentType, Metadata: ud.Metadata, Tags: ud.Tags}
	wctx := writeContext(u.Tenant, bucket, key, uploadID)
	return s.commit(ctx, bucket, key, u.Tenant, ud.WrappedKey, ud.KeyARN, wctx, d, multipartETag(md5s),
		func(r *ObjectRecord) (*ObjectRecord, error) {
			prev, all, err := s.cfg.Index.CompleteUpload(ctx, bucket, uploadID, r, use)
			switch {
			case isNotFound(err):
				return nil, errNoSuchUpload()
			case isConflict(err):
				return nil, s3Err(CodeInvalidPart, "A part changed while the upload was being completed; complete it again.")
			case err != nil:
				return nil, fmt.Errorf("complete upload: %w", err)
			}
			used := map[string]bool{}
			for _, p := range use {
				used[p.Body] = true
			}
			for _, p := range all {
				if !used[p.Body] {
					s.deleteQuietly(ctx, bodyPath(p.Tenant, p.Bucket, p.Body))
				}
			}
			return prev, nil
		})
}

// allParts reads every part of an upload.
func (s *Store) allParts(ctx context.Context, bucket, uploadID string) (map[int]*PartRecord, error) {
	out := map[int]*PartRecord{}
	after := 0
	for {
		ps, err := s.cfg.Index.ListParts(ctx, bucket, uploadID, after, MaxListKeys)
		if err != nil {
			return nil, fmt.Errorf("list parts: %w", err)
		}
		for _, p := range ps {
			out[p.Number] = p
			after = p.Number
		}
		if len(ps) < MaxListKeys {
			return out, nil
		}
	}
}

// AbortMultipartUpload deletes an upload and its parts.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	if _, _, err := s.loadUpload(ctx, bucket, key, uploadID); err != nil {
		return err
	}
	return s.abort(ctx, bucket, uploadID)
}

func (s *Store) abort(ctx context.Context, bucket, uploadID string) error {
	parts, err := s.cfg.Index.DeleteUpload(ctx, bucket, uploadID)
	if isNotFound(err) {
		return errNoSuchUpload()
	}
	if err != nil {
		return fmt.Errorf("abort upload: %w", err)
	}
	for _, p := range parts {
		s.deleteQuietly(ctx, bodyPath(p.Tenant, p.Bucket, p.Body))
	}
	return nil
}

// ListPartsOutput is one page of ListParts.
type ListPartsOutput struct {
	Upload               *Upload
	Parts                []Part
	IsTruncated          bool
	NextPartNumberMarker int
}

// ListParts lists an upload's parts numbered above marker, at most max
// (1..1000; 0 means 1000).
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, marker, max int) (*ListPartsOutput, error) {
	u, d, err := s.loadUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, err
	}
	if marker < 0 || max < 0 {
		return nil, s3Err(CodeInvalidArgument, "part-number-marker and max-parts must not be negative")
	}
	if max == 0 || max > MaxListKeys {
		max = MaxListKeys
	}
	ps, err := s.cfg.Index.ListParts(ctx, bucket, uploadID, marker, max+1)
	if err != nil {
		return nil, fmt.Errorf("list parts: %w", err)
	}
	out := &ListPartsOutput{Upload: uploadOf(u, d)}
	for i, p := range ps {
		if i == max {
			out.IsTruncated = true
			break
		}
		out.Parts = append(out.Parts, Part{Number: p.Number, Size: p.Size, ETag: p.ETag, LastModified: p.LastModified})
		out.NextPartNumberMarker = p.Number
	}
	return out, nil
}

// ListUploadsInput is ListMultipartUploads' request.
type ListUploadsInput struct {
	Prefix         string
	Delimiter      string
	KeyMarker      string
	UploadIDMarker string // with KeyMarker: uploads of KeyMarker after this ID
	MaxUploads     int    // 1..1000; 0 means 1000
}

// ListUploadsOutput is one page of ListMultipartUploads.
type ListUploadsOutput struct {
	Uploads            []*Upload
	CommonPrefixes     []string
	IsTruncated        bool
	NextKeyMarker      string
	NextUploadIDMarker string
}

// ListMultipartUploads lists the bucket's uploads in progress by key, then
// initiation.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string, in ListUploadsInput) (*ListUploadsOutput, error) {
	if _, err := s.GetBucket(ctx, bucket); err != nil {
		return nil, err
	}
	for what, v := range map[string]string{"prefix": in.Prefix, "delimiter": in.Delimiter, "key-marker": in.KeyMarker} {
		if err := validListString(v, what); err != nil {
			return nil, err
		}
	}
	if in.UploadIDMarker != "" && (in.KeyMarker == "" || !uploadIDRE.MatchString(in.UploadIDMarker)) {
		return nil, s3Err(CodeInvalidArgument, "Invalid uploadId marker")
	}
	if in.MaxUploads < 0 {
		return nil, s3Err(CodeInvalidArgument, "max-uploads must not be negative")
	}
	limit := in.MaxUploads
	if limit == 0 || limit > MaxListKeys {
		limit = MaxListKeys
	}
	out := &ListUploadsOutput{}
	f := UploadFilter{Prefix: in.Prefix, AfterKey: in.KeyMarker, AfterID: in.UploadIDMarker}
	skip, count := "", 0
	for {
		f.Limit = limit - count + 1
		us, err := s.cfg.Index.ListUploads(ctx, bucket, f)
		if err != nil {
			return nil, fmt.Errorf("list uploads: %w", err)
		}
		for _, u := range us {
			f.AfterKey, f.AfterID = u.Key, u.UploadID
			if skip != "" && strings.HasPrefix(u.Key, skip) {
				continue
			}
			cp := ""
			if in.Delimiter != "" {
				if i := strings.Index(u.Key[len(in.Prefix):], in.Delimiter); i >= 0 {
					cp = u.Key[:len(in.Prefix)+i+len(in.Delimiter)]
				}
			}
			if count == limit {
				out.IsTruncated = true
				return out, nil
			}
			count++
			if cp != "" {
				out.CommonPrefixes = append(out.CommonPrefixes, cp)
				skip = cp
				out.NextKeyMarker, out.NextUploadIDMarker = skipPast(cp, u.Key), ""
				continue
			}
			var d uploadDoc
			if err := json.Unmarshal(u.Doc, &d); err != nil {
				return nil, fmt.Errorf("%w: decode upload: %w", ErrIntegrity, err)
			}
			out.Uploads = append(out.Uploads, uploadOf(u, &d))
			out.NextKeyMarker, out.NextUploadIDMarker = u.Key, u.UploadID
		}
		if len(us) < f.Limit {
			return out, nil
		}
		if skip != "" && strings.HasPrefix(f.AfterKey, skip) {
			f.AfterKey, f.AfterID = skipPast(skip, f.AfterKey), ""
		}
	}
}

// SweepUploads aborts every multipart upload (of every bucket and tenant)
// initiated more than maxAge ago and returns how many it aborted. Run it
// periodically (S3's lifecycle rule AbortIncompleteMultipartUpload, here
// for all buckets).
func (s *Store) SweepUploads(ctx context.Context, maxAge time.Duration) (int, error) {
	if err := s.ready(); err != nil {
		return 0, err
	}
	before := s.now().Add(-maxAge)
	n := 0
	for {
		us, err := s.cfg.Index.ListStaleUploads(ctx, before, 100)
		if err != nil {
			return n, fmt.Errorf("list stale uploads: %w", err)
		}
		for _, u := range us {
			err := s.abort(ctx, u.Bucket, u.UploadID)
			if err != nil && CodeOf(err) != CodeNoSuchUpload {
				return n, err
			}
			n++
		}
		if len(us) < 100 {
			return n, nil
		}
	}
}
