package main

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func (e *s3Env) principal(creds [2]string) *principal {
	return &principal{kind: "user", keyID: creds[0], secret: creds[1]}
}

func (e *s3Env) rootPrincipal() *principal {
	return &principal{kind: "root", keyID: rootKeyID, secret: rootSecret}
}

// s3Req is a signed S3 request for send.
func s3Req(method, path string, body []byte, kv ...string) signedRequest {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return signedRequest{method: method, path: path, body: body, service: "s3", header: h}
}

// s3Code is the <Code> of an S3 error answer.
func s3Code(body []byte) string { return xmlField(body, "Code") }

// TestS3_AWSCLIOperations drives s3api with the real AWS CLI: put-object
// with SSE-KMS, multipart (with its errors), bucket policies and default
// encryption.
func TestS3_AWSCLIOperations(t *testing.T) {
	e := newS3Env(t)
	small := writeTemp(t, []byte("xgboost model bytes"))

	t.Run("PutObjectSSEKMS", func(t *testing.T) {
		var put struct{ ETag, ServerSideEncryption, SSEKMSKeyId string }
		out := e.as(t, e.acme, "s3api", "put-object", "--bucket", "models", "--key", "acme/m.json", "--body", small,
			"--server-side-encryption", "aws:kms", "--ssekms-key-id", e.acmeKey)
		if err := json.Unmarshal([]byte(out), &put); err != nil || put.ServerSideEncryption != "aws:kms" || put.SSEKMSKeyId != e.acmeKey {
			t.Fatalf("put-object = %s (%v)", out, err)
		}
	})
	t.Run("OperatorUnderTenantKey", func(t *testing.T) {
		e.root(t, "s3api", "put-object", "--bucket", "models", "--key", "globex/op.json", "--body", small,
			"--server-side-encryption", "aws:kms", "--ssekms-key-id", e.globexKey)
		out := e.as(t, e.globex, "s3api", "head-object", "--bucket", "models", "--key", "globex/op.json")
		if !strings.Contains(out, e.globexKey) {
			t.Fatalf("head-object: %s", out)
		}
	})
	t.Run("Multipart", func(t *testing.T) {
		part1, part2 := randomBytes(t, 5<<20), randomBytes(t, 1234)
		p1, p2 := writeTemp(t, part1), writeTemp(t, part2)
		var up struct{ UploadId string }
		out := e.as(t, e.acme, "s3api", "create-multipart-upload", "--bucket", "models", "--key", "acme/mp.bin",
			"--server-side-encryption", "aws:kms", "--ssekms-key-id", e.acmeKey)
		if err := json.Unmarshal([]byte(out), &up); err != nil || up.UploadId == "" {
			t.Fatalf("create-multipart-upload = %s", out)
		}
		etag := func(n int, f string) string {
			var r struct{ ETag string }
			out := e.as(t, e.acme, "s3api", "upload-part", "--bucket", "models", "--key", "acme/mp.bin", "--upload-id", up.UploadId,
				"--part-number", fmt.Sprint(n), "--body", f)
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err, out)
			}
			return r.ETag
		}
		e1, e2 := etag(1, p1), etag(2, p2)
		var parts struct{ Parts []struct{ PartNumber int } }
		out = e.as(t, e.acme, "s3api", "list-parts", "--bucket", "models", "--key", "acme/mp.bin", "--upload-id", up.UploadId)
		if err := json.Unmarshal([]byte(out), &parts); err != nil || len(parts.Parts) != 2 {
			t.Fatalf("list-parts = %s", out)
		}
		complete := func(parts string) (string, error) {
			return awsCLI(t, e.ts, e.acme[0], e.acme[1], "", "s3api", "complete-multipart-upload", "--bucket", "models", "--key", "acme/mp.bin",
				"--upload-id", up.UploadId, "--multipart-upload", parts)
		}
		for _, bad := range []struct{ name, parts, code string }{
			{"MissingPart", `{"Parts":[{"PartNumber":1,"ETag":` + jsonString(e1) + `},{"PartNumber":3,"ETag":` + jsonString(e2) + `}]}`, "InvalidPart"},
			{"WrongETag", `{"Parts":[{"PartNumber":1,"ETag":` + jsonString(e2) + `},{"PartNumber":2,"ETag":` + jsonString(e2) + `}]}`, "InvalidPart"},
			{"Order", `{"Parts":[{"PartNumber":2,"ETag":` + jsonString(e2) + `},{"PartNumber":1,"ETag":` + jsonString(e1) + `}]}`, "InvalidPartOrder"},
		} {
			if out, err := complete(bad.parts); err == nil || !strings.Contains(out, bad.code) {
				t.Errorf("%s: complete = %v %s, want %s", bad.name, err, out, bad.code)
			}
		}
		out, err := complete(`{"Parts":[{"PartNumber":1,"ETag":` + jsonString(e1) + `},{"PartNumber":2,"ETag":` + jsonString(e2) + `}]}`)
		if err != nil || !strings.Contains(out, `-2\"`) {
			t.Fatalf("complete = %v %s", err, out)
		}
		dst := filepath.Join(t.TempDir(), "mp")
		e.as(t, e.acme, "s3", "cp", "s3://models/acme/mp.bin", dst)
		if got, _ := os.ReadFile(dst); string(got) != string(part1)+string(part2) {
			t.Fatalf("multipart object: %d bytes", len(got))
		}
	})
	t.Run("PartTooSmall", func(t *testing.T) {
		var up struct{ UploadId string }
		out := e.as(t, e.acme, "s3api", "create-multipart-upload", "--bucket", "models", "--key", "acme/small.bin")
		_ = json.Unmarshal([]byte(out), &up)
		var r1, r2 struct{ ETag string }
		_ = json.Unmarshal([]byte(e.as(t, e.acme, "s3api", "upload-part", "--bucket", "models", "--key", "acme/small.bin", "--upload-id", up.UploadId, "--part-number", "1", "--body", small)), &r1)
		_ = json.Unmarshal([]byte(e.as(t, e.acme, "s3api", "upload-part", "--bucket", "models", "--key", "acme/small.bin", "--upload-id", up.UploadId, "--part-number", "2", "--body", small)), &r2)
		out, err := awsCLI(t, e.ts, e.acme[0], e.acme[1], "", "s3api", "complete-multipart-upload", "--bucket", "models", "--key", "acme/small.bin",
			"--upload-id", up.UploadId, "--multipart-upload", `{"Parts":[{"PartNumber":1,"ETag":`+jsonString(r1.ETag)+`},{"PartNumber":2,"ETag":`+jsonString(r2.ETag)+`}]}`)
		if err == nil || !strings.Contains(out, "EntityTooSmall") {
			t.Fatalf("complete = %v %s, want EntityTooSmall", err, out)
		}
		e.refused(t, e.acme, []string{"NoSuchKey", "404"}, "s3api", "head-object", "--bucket", "models", "--key", "acme/small.bin")
		e.as(t, e.acme, "s3api", "abort-multipart-upload", "--bucket", "models", "--key", "acme/small.bin", "--upload-id", up.UploadId)
		e.refused(t, e.acme, []string{"NoSuchUpload"}, "s3api", "upload-part", "--bucket", "models", "--key", "acme/small.bin", "--upload-id", up.UploadId, "--part-number", "3", "--body", small)
	})
	t.Run("BucketPolicy", func(t *testing.T) {
		e.root(t, "s3", "mb", "s3://shared")
		e.root(t, "s3", "cp", small, "s3://shared/acme/readme.json", "--sse", "aws:kms", "--sse-kms-key-id", e.acmeKey)
		e.refused(t, e.acme, []string{"AccessDenied", "403"}, "s3api", "get-object", "--bucket", "shared", "--key", "acme/readme.json", filepath.Join(t.TempDir(), "o"))
		userARN := "arn:aws:iam::" + e.ts.cfg.AccountID + ":user/acme-uploader"
		policy := `{"Version":"2012-10-17","Statement":[{"Sid":"AcmeReads","Effect":"Allow","Principal":{"AWS":"` + userARN + `"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::shared/acme/*"}]}`
		e.root(t, "s3api", "put-bucket-policy", "--bucket", "shared", "--policy", policy)
		if out := e.root(t, "s3api", "get-bucket-policy", "--bucket", "shared"); !strings.Contains(out, "AcmeReads") {
			t.Fatalf("get-bucket-policy = %s", out)
		}
		e.as(t, e.acme, "s3api", "get-object", "--bucket", "shared", "--key", "acme/readme.json", filepath.Join(t.TempDir(), "o"))
		out, err := awsCLI(t, e.ts, rootKeyID, rootSecret, "", "s3api", "put-bucket-policy", "--bucket", "shared", "--policy",
			`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::models/*"}]}`)
		if err == nil || !strings.Contains(out, "MalformedPolicy") {
			t.Fatalf("policy on another bucket's resource: %v %s", err, out)
		}
		e.root(t, "s3api", "delete-bucket-policy", "--bucket", "shared")
		e.refused(t, e.acme, []string{"AccessDenied", "403"}, "s3api", "get-object", "--bucket", "shared", "--key", "acme/readme.json", filepath.Join(t.TempDir(), "o"))
	})
	t.Run("BucketEncryption", func(t *testing.T) {
		e.root(t, "s3", "mb", "s3://enc")
		e.root(t, "s3api", "put-bucket-encryption", "--bucket", "enc", "--server-side-encryption-configuration",
			`{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms","KMSMasterKeyID":"`+e.acmeKey+`"}}]}`)
		if out := e.root(t, "s3api", "get-bucket-encryption", "--bucket", "enc"); !strings.Contains(out, e.acmeKey) {
			t.Fatalf("get-bucket-encryption = %s", out)
		}
		e.root(t, "s3", "cp", small, "s3://enc/default.json")
		if out := e.root(t, "s3api", "head-object", "--bucket", "enc", "--key", "default.json"); !strings.Contains(out, e.acmeKey) {
			t.Fatalf("object under the bucket's default key: %s", out)
		}
		e.root(t, "s3api", "delete-bucket-encryption", "--bucket", "enc")
		e.refused(t, [2]string{rootKeyID, rootSecret}, []string{"ServerSideEncryptionConfigurationNotFoundError"}, "s3api", "get-bucket-encryption", "--bucket", "enc")
	})
	t.Run("BucketLifecycle", func(t *testing.T) {
		e.root(t, "s3", "mb", "s3://scratch")
		if out, err := awsCLI(t, e.ts, rootKeyID, rootSecret, "", "s3", "mb", "s3://scratch"); err == nil || !strings.Contains(out, "BucketAlreadyOwnedByYou") {
			t.Fatalf("mb twice: %v %s", err, out)
		}
		e.root(t, "s3api", "put-bucket-tagging", "--bucket", "scratch", "--tagging", `{"TagSet":[{"Key":"team","Value":"ml"}]}`)
		if out := e.root(t, "s3api", "get-bucket-tagging", "--bucket", "scratch"); !strings.Contains(out, `"ml"`) {
			t.Fatalf("get-bucket-tagging = %s", out)
		}
		e.root(t, "s3", "cp", small, "s3://scratch/x")
		e.refused(t, [2]string{rootKeyID, rootSecret}, []string{"BucketNotEmpty"}, "s3", "rb", "s3://scratch")
		e.root(t, "s3", "rm", "s3://scratch/x")
		e.root(t, "s3", "rb", "s3://scratch")
		if out, err := awsCLI(t, e.ts, rootKeyID, rootSecret, "", "s3", "mb", "s3://api"); err == nil || !strings.Contains(out, "InvalidBucketName") {
			t.Fatalf("mb s3://api (a route's segment): %v %s", err, out)
		}
		if out := e.root(t, "s3", "ls"); !strings.Contains(out, "models") || strings.Contains(out, "scratch") {
			t.Fatalf("ls = %s", out)
		}
	})
	t.Run("ObjectTagging", func(t *testing.T) {
		e.as(t, e.acme, "s3api", "put-object", "--bucket", "models", "--key", "acme/tagged", "--body", small, "--tagging", "stage=dev")
		out := e.refused(t, e.acme, []string{"AccessDenied"}, "s3api", "get-object-tagging", "--bucket", "models", "--key", "acme/tagged")
		_ = out
		if out := e.root(t, "s3api", "get-object-tagging", "--bucket", "models", "--key", "acme/tagged"); !strings.Contains(out, `"dev"`) {
			t.Fatalf("get-object-tagging = %s", out)
		}
		e.root(t, "s3api", "put-object-tagging", "--bucket", "models", "--key", "acme/tagged", "--tagging", `{"TagSet":[{"Key":"stage","Value":"prod"}]}`)
		if out := e.root(t, "s3api", "get-object-tagging", "--bucket", "models", "--key", "acme/tagged"); !strings.Contains(out, `"prod"`) {
			t.Fatalf("get-object-tagging = %s", out)
		}
	})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestS3_BadInput: malformed and lying requests get S3's error (never a
// 5xx) and store nothing.
func TestS3_BadInput(t *testing.T) {
	e := newS3Env(t)
	acme := e.principal(e.acme)
	body := []byte("some model bytes")
	wrongMD5 := md5.Sum([]byte("other bytes"))
	tests := []struct {
		name, code string
		status     int
		req        signedRequest
		stored     string // a key that must not exist afterwards
	}{
		{"WrongContentMD5", "BadDigest", 400, s3Req("PUT", "/models/acme/md5", body, "Content-MD5", base64.StdEncoding.EncodeToString(wrongMD5[:])), "acme/md5"},
		{"MalformedContentMD5", "InvalidDigest", 400, s3Req("PUT", "/models/acme/md5b", body, "Content-MD5", "not base64!"), "acme/md5b"},
		{"HugeKey", "KeyTooLongError", 400, s3Req("PUT", "/models/acme/"+strings.Repeat("k", 1100), body), ""},
		{"MalformedXMLComplete", "MalformedXML", 400, s3Req("POST", "/models/acme/x?uploadId=UPLOAD", []byte("<CompleteMultipartUpload><Part>")), "acme/x"},
		{"MalformedTagging", "MalformedXML", 400, s3Req("PUT", "/models/acme/m.json?tagging", []byte("<Tagging><TagSet>")), ""},
		{"MalformedDelete", "MalformedXML", 400, s3Req("POST", "/models?delete", []byte("<Delete><Object>"), "Content-MD5", md5b64([]byte("<Delete><Object>"))), ""},
		{"UnknownSSE", "InvalidArgument", 400, s3Req("PUT", "/models/acme/sse", body, "X-Amz-Server-Side-Encryption", "aws:kms:dsse"), "acme/sse"},
		{"KeyWithoutSSE", "InvalidArgument", 400, s3Req("PUT", "/models/acme/sse2", body, "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", "x"), "acme/sse2"},
		{"NoSuchBucket", "AccessDenied", 403, s3Req("GET", "/no-such-bucket/x", nil), ""},
		{"BadRange", "InvalidRange", 416, s3Req("GET", "/models/acme/m.json", nil, "Range", "bytes=100000-"), ""},
		{"Unsupported", "MethodNotAllowed", 405, s3Req("GET", "/models/acme/m.json?acl", nil), ""},
	}
	e.as(t, e.acme, "s3api", "put-object", "--bucket", "models", "--key", "acme/m.json", "--body", writeTemp(t, body))
	var up struct{ UploadId string }
	_ = json.Unmarshal([]byte(e.as(t, e.acme, "s3api", "create-multipart-upload", "--bucket", "models", "--key", "acme/x")), &up)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.path = strings.Replace(tt.req.path, "UPLOAD", up.UploadId, 1)
			r := send(t, e.ts, acme, tt.req)
			if r.status != tt.status || s3Code(r.body) != tt.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tt.status, tt.code)
			}
			if tt.stored != "" {
				if r := send(t, e.ts, acme, s3Req("HEAD", "/models/"+tt.stored, nil)); r.status != 404 {
					t.Fatalf("%s stored: HEAD %d", tt.stored, r.status)
				}
			}
		})
	}
	t.Run("NoSuchBucketForRoot", func(t *testing.T) {
		if r := send(t, e.ts, e.rootPrincipal(), s3Req("GET", "/no-such-bucket/x", nil)); r.status != 404 || s3Code(r.body) != "NoSuchBucket" {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})
	t.Run("TruncatedBody", func(t *testing.T) {
		hr := signedHTTP(t, e.ts, acme, s3Req("PUT", "/models/acme/truncated", body))
		conn, err := net.Dial("tcp", strings.TrimPrefix(e.ts.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", hr.URL.RequestURI(), hr.Host, len(body))
		for k, vs := range hr.Header {
			for _, v := range vs {
				fmt.Fprintf(conn, "%s: %s\r\n", k, v)
			}
		}
		fmt.Fprintf(conn, "\r\n%s", body[:5])
		_ = conn.(*net.TCPConn).CloseWrite()
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), hr)
		if err == nil {
			defer resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				b, _ := io.ReadAll(resp.Body)
				t.Errorf("truncated body answered %d %s\n%s", resp.StatusCode, b, e.ts.logs.String())
			}
		}
		if r := send(t, e.ts, acme, s3Req("HEAD", "/models/acme/truncated", nil)); r.status != 404 {
			t.Fatalf("truncated upload stored: HEAD %d", r.status)
		}
	})
	t.Run("PresignExpired", func(t *testing.T) {
		u := presignS3(t, e, acme, "GET", "/models/acme/m.json", time.Now().Add(-2*time.Hour), time.Hour)
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("expired presigned URL: %d", resp.StatusCode)
		}
	})
	t.Run("PresignReevaluated", func(t *testing.T) {
		u := presignS3(t, e, acme, "GET", "/models/acme/m.json", time.Now(), time.Hour)
		if resp, err := http.Get(u); err != nil || resp.StatusCode != 200 {
			t.Fatalf("presigned GET: %v %v", resp, err)
		}
		e.root(t, "iam", "delete-user-policy", "--user-name", "acme-uploader", "--policy-name", "kms")
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Fatalf("presigned GET after the signer lost its permission: %d", resp.StatusCode)
		}
	})
}

func md5b64(b []byte) string {
	s := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

// presignS3 presigns method on path for by with aws-sdk-go-v2, as signed
// at when for ttl.
func presignS3(t *testing.T, e *s3Env, by *principal, method, path string, when time.Time, ttl time.Duration) string {
	t.Helper()
	hr, err := http.NewRequest(method, e.ts.URL+path+"?X-Amz-Expires="+fmt.Sprint(int(ttl.Seconds())), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, _, err := v4.NewSigner().PresignHTTP(t.Context(), by.awsCreds(), hr, "UNSIGNED-PAYLOAD", "s3", e.ts.cfg.Region, when)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestS3_MultipartRestart: a restart of the server in the middle of a
// multipart upload loses no completed part.
func TestS3_MultipartRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	ts := startServerAt(t, dir, rootEnv, time.Now)
	root := &principal{kind: "root", keyID: rootKeyID, secret: rootSecret}
	part1, part2 := randomBytes(t, 5<<20), []byte("the last part")
	for _, req := range []signedRequest{s3Req("PUT", "/restart", nil)} {
		if r := send(t, ts, root, req); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	r := send(t, ts, root, s3Req("POST", "/restart/model.bin?uploads", nil))
	id := xmlField(r.body, "UploadId")
	p1 := send(t, ts, root, s3Req("PUT", "/restart/model.bin?partNumber=1&uploadId="+id, part1))
	if p1.status != 200 {
		t.Fatalf("part 1: %d %s", p1.status, p1.body)
	}
	ts.stop()
	ts = startServerAt(t, dir, rootEnv, time.Now)
	p2 := send(t, ts, root, s3Req("PUT", "/restart/model.bin?partNumber=2&uploadId="+id, part2))
	done := send(t, ts, root, s3Req("POST", "/restart/model.bin?uploadId="+id, []byte(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>`+
		p1.header.Get("ETag")+`</ETag></Part><Part><PartNumber>2</PartNumber><ETag>`+p2.header.Get("ETag")+`</ETag></Part></CompleteMultipartUpload>`)))
	if done.status != 200 {
		t.Fatalf("complete after restart: %d %s", done.status, done.body)
	}
	got := send(t, ts, root, s3Req("GET", "/restart/model.bin", nil))
	if got.status != 200 || !bytes.Equal(got.body, append(part1, part2...)) {
		t.Fatalf("object after restart: %d, %d bytes", got.status, len(got.body))
	}
}
