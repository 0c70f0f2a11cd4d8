package s3

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/tenantml/tenantml/artifact"
)

func TestOperation(t *testing.T) {
	tests := []struct {
		method, target string
		copySource     bool
		want           string
	}{
		{"GET", "/", false, "ListBuckets"},
		{"POST", "/", false, opUnknown},
		{"GET", "http://host//key", false, opUnknown},
		{"PUT", "/b", false, "CreateBucket"},
		{"HEAD", "/b", false, "HeadBucket"},
		{"DELETE", "/b", false, "DeleteBucket"},
		{"GET", "/b?list-type=2&prefix=a", false, "ListObjectsV2"},
		{"GET", "/b", false, "ListObjects"},
		{"GET", "/b?prefix=a&marker=x", false, "ListObjects"},
		{"GET", "/b?location", false, "GetBucketLocation"},
		{"GET", "/b?versioning", false, opUnknown},
		{"PUT", "/b?policy", false, "PutBucketPolicy"},
		{"GET", "/b?encryption", false, "GetBucketEncryption"},
		{"DELETE", "/b?tagging", false, "DeleteBucketTagging"},
		{"GET", "/b?uploads", false, "ListMultipartUploads"},
		{"POST", "/b?delete", false, "DeleteObjects"},
		{"PUT", "/b/k", false, "PutObject"},
		{"PUT", "/b/k", true, "CopyObject"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", false, "UploadPart"},
		{"PUT", "/b/k?partNumber=1&uploadId=u", true, opUnknown},
		{"GET", "/b/k", false, "GetObject"},
		{"GET", "/b/k?acl", false, opUnknown},
		{"HEAD", "/b/k", false, "HeadObject"},
		{"DELETE", "/b/k", false, "DeleteObject"},
		{"GET", "/b/k?tagging", false, "GetObjectTagging"},
		{"PUT", "/b/k?tagging", false, "PutObjectTagging"},
		{"POST", "/b/k?uploads", false, "CreateMultipartUpload"},
		{"POST", "/b/k?uploadId=u", false, "CompleteMultipartUpload"},
		{"DELETE", "/b/k?uploadId=u", false, "AbortMultipartUpload"},
		{"GET", "/b/k?uploadId=u", false, "ListParts"},
		{"GET", "/b/a/../k", false, "GetObject"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			req := &request{query: u.Query()}
			req.bucket, req.key, _ = cut(u.Path)
			h := http.Header{}
			if tt.copySource {
				h.Set("X-Amz-Copy-Source", "/src/key")
			}
			if got := operation(tt.method, req, h); got != tt.want {
				t.Fatalf("operation = %s, want %s", got, tt.want)
			}
		})
	}
}

func cut(path string) (string, string, bool) {
	p := path
	if len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			return p[:i], p[i+1:], true
		}
	}
	return p, "", false
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in      string
		want    *artifact.Range
		invalid bool
	}{
		{"", nil, false},
		{"bytes=0-9", &artifact.Range{Start: 0, End: 9}, false},
		{"bytes=5-", &artifact.Range{Start: 5, End: -1}, false},
		{"bytes=-3", &artifact.Range{Suffix: 3}, false},
		{"bytes=-0", nil, true},
		{"bytes=0-1,5-6", nil, false},
		{"bytes=9-1", nil, false},
		{"items=0-1", nil, false},
		{"bytes=x-1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseRange(tt.in)
			if (err != nil) != tt.invalid {
				t.Fatalf("err = %v, want invalid %v", err, tt.invalid)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Fatalf("range = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCopySource(t *testing.T) {
	tests := []struct {
		in, bucket, key string
		ok              bool
	}{
		{"/src/a/b.bin", "src", "a/b.bin", true},
		{"src/a%20b", "src", "a b", true},
		{"/src/k?versionId=3", "src", "k", true},
		{"/src", "", "", false},
		{"/src/", "", "", false},
		{"%zz", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			b, k, err := copySource(tt.in)
			if (err == nil) != tt.ok || b != tt.bucket || k != tt.key {
				t.Fatalf("copySource = %q %q %v", b, k, err)
			}
		})
	}
}

func TestPolicyInBucket(t *testing.T) {
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"Objects", `{"Statement":[{"Resource":"arn:aws:s3:::b/*"}]}`, true},
		{"BucketAndList", `{"Statement":[{"Resource":["arn:aws:s3:::b","arn:aws:s3:::b/x/*"]}]}`, true},
		{"OneStatement", `{"Statement":{"NotResource":"arn:aws:s3:::b/private/*"}}`, true},
		{"ErrOtherBucket", `{"Statement":[{"Resource":"arn:aws:s3:::other/*"}]}`, false},
		{"ErrPrefixBucket", `{"Statement":[{"Resource":"arn:aws:s3:::bb/*"}]}`, false},
		{"ErrEverything", `{"Statement":[{"Resource":"*"}]}`, false},
		{"ErrNotJSON", `not json`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := policyInBucket([]byte(tt.doc), "b")
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if err != nil && artifact.CodeOf(err) != artifact.CodeMalformedPolicy {
				t.Fatalf("code %s", artifact.CodeOf(err))
			}
		})
	}
}
