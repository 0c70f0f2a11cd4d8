package main

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The S3 surface in the attack scenario: the operator's platform bucket
// "tenant-models" holds acme's and globex's models under their keys (the
// classic one-bucket, per-tenant-prefix layout); each tenant's broker
// session (allowed everything by policy) creates its tenant's own bucket
// with an object, and globex's session starts a multipart upload in the
// platform bucket. Only the platform's invariant keeps acme out of
// globex's objects, bucket, upload and key.

// s3Fixture names the scenario's S3 resources.
type s3Fixture struct {
	platBucket         string // the operator's bucket
	bucket, ownBucket  string // globex's and acme's buckets
	objKey, ownObjKey  string // globex's and acme's objects in platBucket
	uploadKey, upload  string // globex's multipart upload in platBucket
	bucketObj          string // the object in each tenant's bucket
	globexKey, acmeKey string // the tenants' onboarding key ARNs
}

// s3Setup builds the S3 part of the scenario.
func (e *attackEnv) s3Setup(t *testing.T) {
	t.Helper()
	f := &e.s3f
	f.platBucket, f.bucket, f.ownBucket = "tenant-models", "globex-models", "acme-models"
	f.objKey, f.ownObjKey, f.uploadKey, f.bucketObj = "globex/model.tar.gz", "acme/model.tar.gz", "globex/big.bin", "model.bin"
	f.globexKey, f.acmeKey = e.tenants["globex"].onboardingKeyARN, e.tenants["acme"].onboardingKeyARN
	e.mustOK(t, e.root, s3Req("PUT", "/"+f.platBucket, nil))
	e.mustOK(t, e.root, s3Req("PUT", "/"+f.platBucket+"/"+f.objKey, []byte("globex model"), "X-Amz-Server-Side-Encryption", "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", f.globexKey))
	e.mustOK(t, e.root, s3Req("PUT", "/"+f.platBucket+"/"+f.ownObjKey, []byte("acme model"), "X-Amz-Server-Side-Encryption", "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", f.acmeKey))
	for id, b := range map[string]string{"globex": f.bucket, "acme": f.ownBucket} {
		s := e.tenants[id].session
		e.mustOK(t, s, s3Req("PUT", "/"+b, nil))
		e.mustOK(t, s, s3Req("PUT", "/"+b+"/"+f.bucketObj, []byte("model of "+id)))
	}
	r := e.mustOK(t, e.tenants["globex"].session, s3Req("POST", "/"+f.platBucket+"/"+f.uploadKey+"?uploads", nil))
	if f.upload = xmlField(r.body, "UploadId"); f.upload == "" {
		t.Fatalf("CreateMultipartUpload: %s", r.body)
	}
}

// s3Targets fills the S3 names of both sides.
func (e *attackEnv) s3Targets(other, missing *crossTarget, word func(n int) string) {
	f := e.s3f
	for _, x := range []*crossTarget{other, missing} {
		// The upload's key names the side's tenant, so that the two
		// sides' answers compare equal once names are replaced.
		x.platBucket, x.ownBucket, x.ownObjKey, x.uploadKey = f.platBucket, f.ownBucket, f.ownObjKey, x.tenant+"/big.bin"
	}
	other.bucket, other.objKey, other.upload = f.bucket, f.objKey, f.upload
	missing.bucket, missing.objKey = "globex-"+word(6), "globex/"+word(9)+".tar.gz"
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	missing.upload = hex.EncodeToString(b)
}

// s3Names are x's S3 names, in a fixed order (crossTarget.names).
func (x *crossTarget) s3Names() []string {
	return []string{x.bucket, x.objKey, x.upload}
}

// s3Cases are the S3 surface's templates: every operation on globex's
// bucket (NoSuchBucket, as a missing one), on globex's object in the
// platform bucket (NoSuchKey), on globex's upload (NoSuchUpload), with
// globex's key in the SSE header (KMS.NotFoundException) and with
// globex's object as a CopyObject source; listings name nothing of
// globex.
func s3Cases() []crossCase {
	op := func(name, variant string, kind crossKind, build func(x *crossTarget) signedRequest) crossCase {
		return crossCase{op: "s3:" + name, variant: variant, kind: kind, build: build}
	}
	inBucket := func(name, method, suffix, body string, kv ...string) crossCase {
		return op(name, "bucket", crossResource, func(x *crossTarget) signedRequest {
			return s3Req(method, "/"+x.bucket+suffix, []byte(strings.ReplaceAll(body, "BUCKET", x.bucket)), kv...)
		})
	}
	onObject := func(name, method, query, body string) crossCase {
		return op(name, "platform", crossResource, func(x *crossTarget) signedRequest {
			return s3Req(method, "/"+x.platBucket+"/"+x.objKey+query, []byte(body))
		})
	}
	onUpload := func(name, method, query, body string) crossCase {
		return op(name, "upload", crossResource, func(x *crossTarget) signedRequest {
			return s3Req(method, "/"+x.platBucket+"/"+x.uploadKey+"?uploadId="+x.upload+query, []byte(body))
		})
	}
	const (
		tags    = `<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`
		del     = `<Delete><Object><Key>model.bin</Key></Object></Delete>`
		enc     = `<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>`
		policy  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BUCKET/*"}]}`
		another = `<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"00000000000000000000000000000000"</ETag></Part></CompleteMultipartUpload>`
	)
	deleteQuiet := op("DeleteObject", "platform", crossScoped, func(x *crossTarget) signedRequest {
		return s3Req("DELETE", "/"+x.platBucket+"/"+x.objKey, nil)
	})
	sse := op("PutObject", "sse-key", crossResource, func(x *crossTarget) signedRequest {
		return s3Req("PUT", "/"+x.platBucket+"/acme/sse.bin", []byte("x"), "X-Amz-Server-Side-Encryption", "aws:kms",
			"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", x.keyARN)
	})
	sse.operator = opKMS
	copyPlat := op("CopyObject", "platform-source", crossResource, func(x *crossTarget) signedRequest {
		return s3Req("PUT", "/"+x.platBucket+"/acme/copy.bin", nil, "X-Amz-Copy-Source", "/"+x.platBucket+"/"+x.objKey)
	})
	copyPlat.operator = opRelated
	copyBucket := op("CopyObject", "bucket-source", crossResource, func(x *crossTarget) signedRequest {
		return s3Req("PUT", "/"+x.platBucket+"/acme/copy.bin", nil, "X-Amz-Copy-Source", "/"+x.bucket+"/model.bin")
	})
	copyBucket.operator = opRelated
	return []crossCase{
		op("ListBuckets", "", crossList, func(*crossTarget) signedRequest { return s3Req("GET", "/", nil) }),
		op("ListObjectsV2", "platform", crossList, func(x *crossTarget) signedRequest {
			return s3Req("GET", "/"+x.platBucket+"?list-type=2&delimiter=%2F", nil)
		}),
		op("ListObjects", "platform", crossList, func(x *crossTarget) signedRequest { return s3Req("GET", "/"+x.platBucket+"?prefix=", nil) }),
		op("ListMultipartUploads", "platform", crossList, func(x *crossTarget) signedRequest { return s3Req("GET", "/"+x.platBucket+"?uploads", nil) }),
		inBucket("HeadBucket", "HEAD", "", ""),
		inBucket("GetBucketLocation", "GET", "?location", ""),
		inBucket("DeleteBucket", "DELETE", "", ""),
		inBucket("ListObjectsV2", "GET", "?list-type=2", ""),
		inBucket("ListObjects", "GET", "", ""),
		inBucket("GetBucketPolicy", "GET", "?policy", ""),
		inBucket("PutBucketPolicy", "PUT", "?policy", policy),
		inBucket("DeleteBucketPolicy", "DELETE", "?policy", ""),
		inBucket("GetBucketEncryption", "GET", "?encryption", ""),
		inBucket("PutBucketEncryption", "PUT", "?encryption", enc),
		inBucket("DeleteBucketEncryption", "DELETE", "?encryption", ""),
		inBucket("GetBucketTagging", "GET", "?tagging", ""),
		inBucket("PutBucketTagging", "PUT", "?tagging", tags),
		inBucket("DeleteBucketTagging", "DELETE", "?tagging", ""),
		inBucket("ListMultipartUploads", "GET", "?uploads", ""),
		inBucket("DeleteObjects", "POST", "?delete", del, "Content-MD5", md5b64([]byte(del))),
		inBucket("PutObject", "PUT", "/model.bin", "acme's bytes"),
		inBucket("GetObject", "GET", "/model.bin", ""),
		inBucket("HeadObject", "HEAD", "/model.bin", ""),
		inBucket("DeleteObject", "DELETE", "/model.bin", ""),
		inBucket("GetObjectTagging", "GET", "/model.bin?tagging", ""),
		inBucket("PutObjectTagging", "PUT", "/model.bin?tagging", tags),
		inBucket("DeleteObjectTagging", "DELETE", "/model.bin?tagging", ""),
		inBucket("CreateMultipartUpload", "POST", "/model.bin?uploads", ""),
		onObject("GetObject", "GET", "", ""),
		onObject("HeadObject", "HEAD", "", ""),
		onObject("GetObjectTagging", "GET", "?tagging", ""),
		onObject("PutObjectTagging", "PUT", "?tagging", tags),
		onObject("DeleteObjectTagging", "DELETE", "?tagging", ""),
		deleteQuiet,
		op("DeleteObjects", "platform", crossScoped, func(x *crossTarget) signedRequest {
			body := `<Delete><Object><Key>` + x.objKey + `</Key></Object></Delete>`
			return s3Req("POST", "/"+x.platBucket+"?delete", []byte(body), "Content-MD5", md5b64([]byte(body)))
		}),
		sse,
		copyPlat,
		copyBucket,
		onUpload("UploadPart", "PUT", "&partNumber=1", "part bytes"),
		onUpload("CompleteMultipartUpload", "POST", "", another),
		onUpload("AbortMultipartUpload", "DELETE", "", ""),
		onUpload("ListParts", "GET", "", ""),
	}
}

// testRefusedS3 is what the template table cannot say: a write over
// another tenant's object (which a missing key would accept) is refused
// and changes nothing, another tenant's bucket name is taken without
// naming its owner, and a presigned URL of another tenant's object with
// one character changed is refused like any forged signature.
func testRefusedS3(t *testing.T, e *attackEnv) {
	f, s := e.s3f, e.tenants["acme"].session
	t.Run("OverwriteOtherTenantObject", func(t *testing.T) {
		for _, req := range []signedRequest{
			s3Req("PUT", "/"+f.platBucket+"/"+f.objKey, []byte("acme overwrites")),
			s3Req("POST", "/"+f.platBucket+"/"+f.objKey+"?uploads", nil),
			s3Req("PUT", "/"+f.platBucket+"/"+f.objKey, nil, "X-Amz-Copy-Source", "/"+f.platBucket+"/"+f.ownObjKey),
		} {
			r := send(t, e.ts, s, req)
			if r.status != http.StatusForbidden || s3Code(r.body) != "AccessDenied" || strings.Contains(string(r.body), "globex-") {
				t.Errorf("%s %s: %d %s", req.method, req.path, r.status, r.body)
			}
			if ev := e.oneEvent(t, "overwrite", r.requestID); ev.ErrorCode != "AccessDenied" {
				t.Errorf("event %+v", ev)
			}
		}
		r := send(t, e.ts, e.root, s3Req("GET", "/"+f.platBucket+"/"+f.objKey, nil))
		if string(r.body) != "globex model" {
			t.Fatalf("globex's object changed: %q", r.body)
		}
	})
	t.Run("DeleteOtherTenantObject", func(t *testing.T) {
		// Answered as for a missing key (204, Deleted) and left alone.
		del := `<Delete><Object><Key>` + f.objKey + `</Key></Object></Delete>`
		for _, req := range []signedRequest{
			s3Req("DELETE", "/"+f.platBucket+"/"+f.objKey, nil),
			s3Req("POST", "/"+f.platBucket+"?delete", []byte(del), "Content-MD5", md5b64([]byte(del))),
		} {
			r := send(t, e.ts, s, req)
			if r.status >= 300 || strings.Contains(string(r.body), "<Error>") {
				t.Errorf("%s %s: %d %s", req.method, req.path, r.status, r.body)
			}
		}
		r := send(t, e.ts, e.root, s3Req("GET", "/"+f.platBucket+"/"+f.objKey, nil))
		if string(r.body) != "globex model" {
			t.Fatalf("globex's object after acme's deletes: %d %q", r.status, r.body)
		}
	})
	t.Run("BucketNameTaken", func(t *testing.T) {
		r := send(t, e.ts, s, s3Req("PUT", "/"+f.bucket, nil))
		if r.status != http.StatusConflict || s3Code(r.body) != "BucketAlreadyExists" || strings.Contains(string(r.body), "globex\"") {
			t.Fatalf("CreateBucket %s: %d %s", f.bucket, r.status, r.body)
		}
		caller, operator := e.eventOf(t, r.requestID)
		if len(caller) != 1 || len(operator) != 1 || operator[0].AdditionalEventData["resourceTenantId"] != "globex" {
			t.Fatalf("events: caller %d operator %+v", len(caller), operator)
		}
	})
	t.Run("PresignedURLAltered", func(t *testing.T) {
		g := e.tenants["globex"].session
		hr, err := http.NewRequest("GET", e.ts.URL+"/"+f.platBucket+"/"+f.objKey+"?X-Amz-Expires=300", nil)
		if err != nil {
			t.Fatal(err)
		}
		u := presignFor(t, g, hr, e.ts.cfg.Region)
		if r := do(t, mustGet(t, u)); r.status != 200 || string(r.body) != "globex model" {
			t.Fatalf("globex's own presigned URL: %d %s", r.status, r.body)
		}
		i := strings.Index(u, "X-Amz-Signature=") + len("X-Amz-Signature=")
		c := byte('0')
		if u[i] == '0' {
			c = '1'
		}
		bad := u[:i] + string(c) + u[i+1:]
		r := do(t, mustGet(t, bad))
		if r.status != http.StatusForbidden || s3Code(r.body) != "SignatureDoesNotMatch" {
			t.Fatalf("altered presigned URL: %d %s", r.status, r.body)
		}
		if ev := e.oneEvent(t, "altered presign", r.requestID); ev.ErrorCode != "SignatureDoesNotMatch" {
			t.Fatalf("event %+v", ev)
		}
		// acme re-signing globex's URL with its own credentials is
		// refused as a missing object.
		hr2, _ := http.NewRequest("GET", e.ts.URL+"/"+f.platBucket+"/"+f.objKey+"?X-Amz-Expires=300", nil)
		if r := do(t, mustGet(t, presignFor(t, s, hr2, e.ts.cfg.Region))); r.status != http.StatusNotFound || s3Code(r.body) != "NoSuchKey" {
			t.Fatalf("acme's URL for globex's object: %d %s", r.status, r.body)
		}
	})
}

func mustGet(t *testing.T, u string) *http.Request {
	t.Helper()
	hr, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return hr
}

// presignFor presigns hr for s3 with p's credentials (its session token
// in the query), as the SDKs' presigners do.
func presignFor(t *testing.T, p *principal, hr *http.Request, region string) string {
	t.Helper()
	u, _, err := v4.NewSigner().PresignHTTP(t.Context(), p.awsCreds(), hr, "UNSIGNED-PAYLOAD", "s3", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return u
}
