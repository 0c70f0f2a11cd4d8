package s3

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/keys"
)

// Limits of the surface.
const (
	// MaxXMLBytes bounds an XML (or policy JSON) request body.
	MaxXMLBytes = 1 << 20
	// DefaultMaxObjectBytes is S3's limit of a single PUT: 5 GiB.
	DefaultMaxObjectBytes = 5 << 30
)

// Surface serves S3's REST API, path-style, over Store. Build it, then
// Register it on the server.
type Surface struct {
	Store *artifact.Store
	Keys  *keys.Service
	// Pipeline runs every operation; its Protocol is replaced by
	// api.S3Protocol. Its authenticator must verify S3 payloads as they
	// stream (the SigV4 verifier does for scope service s3).
	Pipeline *api.Pipeline
	// Policies parses bucket and key policies; *authz.Engine implements it.
	Policies authz.Parser
	// MaxObjectBytes bounds a PutObject body; 0 means
	// DefaultMaxObjectBytes.
	MaxObjectBytes int64
	// Reserved are bucket names CreateBucket refuses: the first path
	// segments of the server's other routes.
	Reserved []string

	handlers map[string]http.Handler
}

// Register adds the surface to srv for requests signed for s3 that no
// other route takes.
func (s *Surface) Register(srv *api.Server) {
	p := s.Pipeline.WithProtocol(&api.S3Protocol{})
	s.handlers = map[string]http.Handler{}
	for _, o := range s.operations() {
		op := o.op
		op.Service = "s3"
		if op.Action == "" {
			op.Action = "s3:" + o.name
		}
		if op.Audited == "" && op.Action != "s3:"+o.name {
			op.Audited = "s3:" + o.name
		}
		s.handlers[o.name] = p.Handler(op)
	}
	srv.HandleSigned("s3", 0, s)
}

// Operations returns the names of the operations the surface serves,
// sorted, prefixed "s3:" ("s3:GetObject"), for suites that must cover
// every one.
func (s *Surface) Operations() []string {
	var out []string
	for _, o := range s.operations() {
		if o.name != opUnknown {
			out = append(out, "s3:"+o.name)
		}
	}
	slices.Sort(out)
	return out
}

// request is what the path and query of an S3 request name.
type request struct {
	bucket, key string
	query       url.Values
	// Filled by the target: the bucket and object as looked up (nil when
	// missing), and the key chosen for a write.
	b      *artifact.Bucket
	obj    *artifact.Object
	upload *artifact.Upload
	// tags are a PutObjectTagging's tags, read by the target for
	// s3:RequestObjectTag.
	tags []artifact.Tag
	// A CopyObject's source, and the answer for it when it may not be
	// read (copyTarget).
	srcBucket, srcKey string
	srcErr            error
}

type requestKey struct{}

// reqOf returns the request's parsed S3 request.
func reqOf(r *http.Request) *request {
	if v, ok := r.Context().Value(requestKey{}).(*request); ok {
		return v
	}
	return &request{query: url.Values{}}
}

// ServeHTTP implements http.Handler: it names the operation from the
// method, path, query and headers and runs it through the pipeline.
func (s *Surface) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{query: r.URL.Query()}
	path := strings.TrimPrefix(r.URL.Path, "/")
	req.bucket, req.key, _ = strings.Cut(path, "/")
	name := operation(r.Method, req, r.Header)
	h, ok := s.handlers[name]
	if !ok {
		h = s.handlers[opUnknown]
	}
	h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, req)))
}

const opUnknown = "Unknown"

// operation names the S3 operation of a request.
func operation(method string, req *request, h http.Header) string {
	q := req.query
	has := q.Has
	switch {
	case req.bucket == "":
		if method == http.MethodGet && req.key == "" {
			return "ListBuckets"
		}
	case req.key == "":
		switch method {
		case http.MethodGet:
			switch {
			case has("policy"):
				return "GetBucketPolicy"
			case has("encryption"):
				return "GetBucketEncryption"
			case has("tagging"):
				return "GetBucketTagging"
			case has("uploads"):
				return "ListMultipartUploads"
			case has("location"):
				return "GetBucketLocation"
			case q.Get("list-type") == "2":
				return "ListObjectsV2"
			case len(q) == 0 || onlyListParams(q):
				return "ListObjects"
			}
		case http.MethodHead:
			return "HeadBucket"
		case http.MethodPut:
			switch {
			case has("policy"):
				return "PutBucketPolicy"
			case has("encryption"):
				return "PutBucketEncryption"
			case has("tagging"):
				return "PutBucketTagging"
			case len(q) == 0:
				return "CreateBucket"
			}
		case http.MethodDelete:
			switch {
			case has("policy"):
				return "DeleteBucketPolicy"
			case has("encryption"):
				return "DeleteBucketEncryption"
			case has("tagging"):
				return "DeleteBucketTagging"
			case len(q) == 0:
				return "DeleteBucket"
			}
		case http.MethodPost:
			if has("delete") {
				return "DeleteObjects"
			}
		}
	default:
		switch method {
		case http.MethodGet:
			switch {
			case has("uploadId"):
				return "ListParts"
			case has("tagging"):
				return "GetObjectTagging"
			case !has("acl") && !has("attributes") && !has("retention") && !has("legal-hold") && !has("torrent"):
				return "GetObject"
			}
		case http.MethodHead:
			return "HeadObject"
		case http.MethodPut:
			switch {
			case has("uploadId") && has("partNumber"):
				if h.Get("X-Amz-Copy-Source") != "" {
					return opUnknown
				}
				return "UploadPart"
			case has("tagging"):
				return "PutObjectTagging"
			case h.Get("X-Amz-Copy-Source") != "":
				return "CopyObject"
			case !has("acl") && !has("retention") && !has("legal-hold"):
				return "PutObject"
			}
		case http.MethodDelete:
			switch {
			case has("uploadId"):
				return "AbortMultipartUpload"
			case has("tagging"):
				return "DeleteObjectTagging"
			case !has("acl"):
				return "DeleteObject"
			}
		case http.MethodPost:
			switch {
			case has("uploads"):
				return "CreateMultipartUpload"
			case has("uploadId"):
				return "CompleteMultipartUpload"
			}
		}
	}
	return opUnknown
}

// onlyListParams reports a ListObjects (version 1) query.
func onlyListParams(q url.Values) bool {
	for k := range q {
		switch k {
		case "prefix", "delimiter", "marker", "max-keys", "encoding-type":
		default:
			return false
		}
	}
	return true
}

// def is one operation of the surface.
type def struct {
	name string
	op   api.Op
}

// operations is the surface's operation table.
func (s *Surface) operations() []def {
	return []def{
		{"ListBuckets", api.Op{Action: "s3:ListAllMyBuckets", Target: api.At("arn:aws:s3:::*"), Handle: s.listBuckets}},
		{"CreateBucket", api.Op{Target: s.bucketTarget(bucketCreate), Handle: s.createBucket}},
		{"HeadBucket", api.Op{Action: "s3:ListBucket", Target: s.bucketTarget(bucketRead), Handle: s.headBucket}},
		{"GetBucketLocation", api.Op{Target: s.bucketTarget(bucketRead), Handle: s.getBucketLocation}},
		{"DeleteBucket", api.Op{Target: s.bucketTarget(bucketRead), Handle: s.deleteBucket}},
		{"ListObjectsV2", api.Op{Action: "s3:ListBucket", Audited: "s3:ListObjects", Target: s.listTarget, Handle: s.listObjects}},
		{"ListObjects", api.Op{Action: "s3:ListBucket", Target: s.listTarget, Handle: s.listObjects}},
		{"GetBucketPolicy", api.Op{Target: s.bucketTarget(bucketRead), Handle: s.getBucketPolicy}},
		{"PutBucketPolicy", api.Op{Target: s.bucketTarget(bucketRead), Handle: s.putBucketPolicy}},
		{"DeleteBucketPolicy", api.Op{Target: s.bucketTarget(bucketRead), Handle: s.deleteBucketPolicy}},
		{"GetBucketEncryption", api.Op{Action: "s3:GetEncryptionConfiguration", Target: s.bucketTarget(bucketRead), Handle: s.getBucketEncryption}},
		{"PutBucketEncryption", api.Op{Action: "s3:PutEncryptionConfiguration", Target: s.bucketTarget(bucketRead), Handle: s.putBucketEncryption}},
		{"DeleteBucketEncryption", api.Op{Action: "s3:PutEncryptionConfiguration", Target: s.bucketTarget(bucketRead), Handle: s.deleteBucketEncryption}},
		{"GetBucketTagging", api.Op{Target: s.bucketTarget(bucketRead), Handle: s.getBucketTagging}},
		{"PutBucketTagging", api.Op{Target: s.bucketTarget(bucketRead), Handle: s.putBucketTagging}},
		{"DeleteBucketTagging", api.Op{Action: "s3:PutBucketTagging", Target: s.bucketTarget(bucketRead), Handle: s.deleteBucketTagging}},
		{"ListMultipartUploads", api.Op{Action: "s3:ListBucketMultipartUploads", Target: s.bucketTarget(bucketRead), Handle: s.listUploads}},
		{"DeleteObjects", api.Op{Action: "s3:DeleteObject", AlwaysAllowed: "DeleteObjects is authorized per key as s3:DeleteObject", Target: s.bucketTarget(bucketRead), Handle: s.deleteObjects}},
		{"PutObject", api.Op{Target: s.objectTarget(objectWrite), Handle: s.putObject}},
		{"GetObject", api.Op{Target: s.objectTarget(objectRead), Stream: s.getObject}},
		{"HeadObject", api.Op{Action: "s3:GetObject", Target: s.objectTarget(objectRead), Handle: s.headObject}},
		{"DeleteObject", api.Op{Target: s.objectTarget(objectDelete), Handle: s.deleteObject}},
		{"CopyObject", api.Op{Action: "s3:PutObject", Target: s.copyTarget, Handle: s.copyObject}},
		{"GetObjectTagging", api.Op{Target: s.objectTarget(objectRead), Handle: s.getObjectTagging}},
		{"PutObjectTagging", api.Op{Target: s.objectTarget(objectTagging), Handle: s.putObjectTagging}},
		{"DeleteObjectTagging", api.Op{Target: s.objectTarget(objectRead), Handle: s.deleteObjectTagging}},
		{"CreateMultipartUpload", api.Op{Action: "s3:PutObject", Target: s.objectTarget(objectWrite), Handle: s.createUpload}},
		{"UploadPart", api.Op{Action: "s3:PutObject", Target: s.uploadTarget, Handle: s.uploadPart}},
		{"CompleteMultipartUpload", api.Op{Action: "s3:PutObject", Target: s.uploadTarget, Handle: s.completeUpload}},
		{"AbortMultipartUpload", api.Op{Target: s.uploadTarget, Handle: s.abortUpload}},
		{"ListParts", api.Op{Action: "s3:ListMultipartUploadParts", Target: s.uploadTarget, Handle: s.listParts}},
		{opUnknown, api.Op{Action: "s3:Unknown", Refuse: "an S3 operation this server does not implement", Handle: func(http.ResponseWriter, *http.Request, *authn.Principal) error {
			e := tenantml.AWSErrorf(tenantml.EINVALID, "MethodNotAllowed", "The specified method is not allowed against this resource: this server does not implement the operation.")
			e.Status = http.StatusMethodNotAllowed
			return e
		}}},
	}
}
