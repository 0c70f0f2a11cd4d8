package sigv4_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authn/sigv4/sigv4test"
)

// s3Request is what the S3 test server saw: the raw request (to replay it
// altered) and what reading the verified body gave.
type s3Request struct {
	method, target string
	header         http.Header
	raw            []byte
	mode           string
	digest         string // SHA-256 of the decoded body read to io.EOF
	err            error  // what ended the body instead of io.EOF, or Verify's error
}

// s3Server is a loopback S3 stand-in: it authenticates every request with
// the verifier, reads the body the verifier hands over to its end, and
// answers enough of S3 (PutObject, UploadPart, multipart create and
// complete) for the AWS CLI, boto3 and minio-go to finish.
type s3Server struct {
	*httptest.Server
	v    *sigv4.Verifier
	mu   sync.Mutex
	seen []*s3Request
}

func newS3Server(t *testing.T) *s3Server {
	t.Helper()
	s := &s3Server{v: sigv4.NewVerifier(testCreds())}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *s3Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	rec := &s3Request{method: r.Method, target: r.URL.RequestURI(), header: r.Header.Clone(), raw: raw}
	s.mu.Lock()
	s.seen = append(s.seen, rec)
	s.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(raw))
	digest, md5sum, mode, err := verifyAndRead(s.v, r)
	rec.digest, rec.mode, rec.err = digest, mode, err
	if err != nil {
		e := tenantml.AsError(err)
		code, status := authn.ErrorCode(err), e.Status
		if status == 0 {
			status = tenantml.StatusOf(e.Code)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%v</Message></Error>`, code, err)
		return
	}
	w.Header().Set("ETag", `"`+md5sum+`"`)
	q := r.URL.Query()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>up1</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><ETag>"x-2"</ETag></CompleteMultipartUploadResult>`)
	}
}

// verifyAndRead verifies r and reads its body to the end: the body's
// SHA-256 and MD5 if it ended with io.EOF, else the error.
func verifyAndRead(v *sigv4.Verifier, r *http.Request) (digest, md5sum, mode string, err error) {
	res, err := v.Verify(r)
	if err != nil {
		return "", "", "", err
	}
	if res.Payload != nil {
		mode = res.Payload.Mode
	}
	h, m := sha256.New(), md5.New()
	if _, err := io.Copy(io.MultiWriter(h, m), r.Body); err != nil {
		return "", "", mode, err
	}
	return hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(m.Sum(nil)), mode, nil
}

// puts returns the requests that carried object bytes.
func (s *s3Server) puts(prefix string) []*s3Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*s3Request
	for _, r := range s.seen {
		if r.method == http.MethodPut && strings.HasPrefix(r.target, prefix) {
			out = append(out, r)
		}
	}
	return out
}

// checkUpload asserts every request for prefix verified and read cleanly,
// in mode, and that the decoded parts in order are data.
func checkUpload(t *testing.T, reqs []*s3Request, data []byte, mode func(string) bool) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("no upload request seen")
	}
	var total int
	for _, r := range reqs {
		if r.err != nil {
			t.Fatalf("%s %s: %v", r.method, r.target, r.err)
		}
		if !mode(r.mode) {
			t.Fatalf("%s %s: payload mode %q", r.method, r.target, r.mode)
		}
		total++
	}
	if len(reqs) == 1 && reqs[0].digest != sha(string(data)) {
		t.Fatalf("decoded body hashes to %s, want %s", reqs[0].digest, sha(string(data)))
	}
}

func isHex(m string) bool { return len(m) == 64 && strings.Trim(m, "0123456789abcdef") == "" }

func writeTemp(t *testing.T, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i/4096)
	}
	p := filepath.Join(t.TempDir(), fmt.Sprintf("file-%d.bin", n))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// The Debian AWS CLI over plain HTTP signs a hex SHA-256 of every body
// (PutObject and each UploadPart) and sends Content-MD5: the verifier
// checks the hash as the body streams past, never buffering it.
func TestVerifier_S3_awsCLI(t *testing.T) {
	srv := newS3Server(t)
	small, smallData := writeTemp(t, 3<<20+5)
	big, _ := writeTemp(t, 20<<20)
	if _, stderr, err := sigv4test.RunCLI(t, goodKeys, srv.URL, "s3", "cp", small, "s3://bkt/small.bin"); err != nil {
		t.Fatalf("aws s3 cp: %v\n%s", err, stderr)
	}
	checkUpload(t, srv.puts("/bkt/small.bin"), smallData, isHex)
	if _, stderr, err := sigv4test.RunCLI(t, goodKeys, srv.URL, "s3", "cp", big, "s3://bkt/big.bin"); err != nil {
		t.Fatalf("aws s3 cp (multipart): %v\n%s", err, stderr)
	}
	parts := srv.puts("/bkt/big.bin?")
	if len(parts) != 3 {
		t.Fatalf("saw %d parts, want 3 (8 MiB parts)", len(parts))
	}
	checkUpload(t, parts, nil, isHex)

	t.Run("ErrBodyAltered", func(t *testing.T) {
		// Replay the CLI's PutObject with one byte of the body changed:
		// the signature (over the declared hash) holds, the body does not.
		rec := srv.puts("/bkt/small.bin")[0]
		raw := bytes.Clone(rec.raw)
		raw[len(raw)/2] ^= 1
		_, _, _, err := verifyAndRead(srv.v, replay(srv.URL, rec, raw))
		if authn.ErrorCode(err) != authn.CodeXAmzContentSHA256Mismatch {
			t.Fatalf("err = %v, want XAmzContentSHA256Mismatch", err)
		}
	})
	t.Run("ErrBodyTruncated", func(t *testing.T) {
		rec := srv.puts("/bkt/small.bin")[0]
		_, _, _, err := verifyAndRead(srv.v, replay(srv.URL, rec, rec.raw[:len(rec.raw)-1]))
		if authn.ErrorCode(err) != authn.CodeXAmzContentSHA256Mismatch {
			t.Fatalf("err = %v, want XAmzContentSHA256Mismatch", err)
		}
	})
}

// boto3 signs like the CLI; its presigned PUT (SigV4, which Debian's
// botocore uses for S3 only when configured with signature_version
// "s3v4") is UNSIGNED-PAYLOAD.
const boto3S3Script = `
import sys, urllib.request, boto3
from botocore.config import Config
url, small, big = sys.argv[1], sys.argv[2], sys.argv[3]
# Debian's botocore presigns S3 with SigV2 unless told s3v4.
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", config=Config(signature_version="s3v4"))
s3.put_object(Bucket="bkt", Key="boto-put", Body=open(small, "rb").read())
s3.upload_file(big, "bkt", "boto-multipart")
u = s3.generate_presigned_url("put_object", Params={"Bucket": "bkt", "Key": "presigned"}, ExpiresIn=300)
req = urllib.request.Request(u, data=b"presigned body", method="PUT")
print(urllib.request.urlopen(req).status)
`

func TestVerifier_S3_boto3(t *testing.T) {
	srv := newS3Server(t)
	small, smallData := writeTemp(t, 1<<20+3)
	big, _ := writeTemp(t, 17<<20)
	out, stderr, err := sigv4test.RunPython(t, goodKeys, boto3S3Script, srv.URL, small, big)
	if err != nil || strings.TrimSpace(out) != "200" {
		for _, r := range srv.seen {
			t.Logf("%s %s: %v", r.method, r.target, r.err)
		}
		t.Fatalf("boto3: %q %v\n%s", out, err, stderr)
	}
	checkUpload(t, srv.puts("/bkt/boto-put"), smallData, isHex)
	if parts := srv.puts("/bkt/boto-multipart?"); len(parts) != 3 {
		t.Fatalf("saw %d parts, want 3", len(parts))
	} else {
		checkUpload(t, parts, nil, isHex)
	}
	checkUpload(t, srv.puts("/bkt/presigned"), []byte("presigned body"), func(m string) bool { return m == sigv4.UnsignedPayload })
}

// minio-go signs every 64 KiB chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD,
// aws-chunked): the verifier checks each chunk's signature, chained from
// the seed, before serving its bytes.
func TestVerifier_S3_minioGo(t *testing.T) {
	srv := newS3Server(t)
	u, _ := url.Parse(srv.URL)
	mc, err := minio.New(u.Host, &minio.Options{Creds: credentials.NewStaticV4(testKeyID, testSecret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := make([]byte, 300_000)
	for i := range data {
		data[i] = byte(i % 251)
	}
	if _, err := mc.PutObject(ctx, "bkt", "chunked", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	streaming := func(m string) bool { return m == sigv4.StreamingSigned }
	checkUpload(t, srv.puts("/bkt/chunked"), data, streaming)
	if _, err := mc.PutObject(ctx, "bkt", "unknown-size", io.MultiReader(bytes.NewReader(data)), -1, minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	checkUpload(t, srv.puts("/bkt/unknown-size?"), data, streaming)
	if _, err := mc.PutObject(ctx, "bkt", "empty", bytes.NewReader(nil), 0, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	checkUpload(t, srv.puts("/bkt/empty"), nil, func(string) bool { return true })

	rec := srv.puts("/bkt/chunked")[0]
	first := bytes.Index(rec.raw, []byte("\r\n")) + 2 // first byte of chunk 1's data
	tamper := map[string]struct {
		body func([]byte) []byte
		hdr  func(http.Header)
		code string
	}{
		"ErrChunkDataFlipped":     {body: func(b []byte) []byte { b[first+10] ^= 1; return b }, code: authn.CodeSignatureDoesNotMatch},
		"ErrLastChunkDataFlipped": {body: func(b []byte) []byte { b[len(b)-200] ^= 1; return b }, code: authn.CodeSignatureDoesNotMatch},
		"ErrChunkSignatureFlipped": {body: func(b []byte) []byte {
			i := bytes.Index(b, []byte("chunk-signature=")) + 20
			b[i] = "01"[b[i]&1]
			return b
		}, code: authn.CodeSignatureDoesNotMatch},
		"ErrTruncatedMidChunk":     {body: func(b []byte) []byte { return b[:first+1000] }, code: authn.CodeIncompleteBody},
		"ErrTruncatedBeforeFinal":  {body: func(b []byte) []byte { return b[:bytes.LastIndex(b, []byte("0;chunk-signature="))] }, code: authn.CodeIncompleteBody},
		"ErrTrailingGarbage":       {body: func(b []byte) []byte { return append(b, "x"...) }, code: authn.CodeIncompleteBody},
		"ErrChunksReordered":       {body: swapChunks, code: authn.CodeSignatureDoesNotMatch},
		"ErrDecodedLengthChanged":  {hdr: func(h http.Header) { h.Set("X-Amz-Decoded-Content-Length", "299999") }, code: authn.CodeSignatureDoesNotMatch},
		"ErrNoDecodedLength":       {hdr: func(h http.Header) { h.Del("X-Amz-Decoded-Content-Length") }, code: authn.CodeMissingContentLength},
		"ErrModeChangedToUnsigned": {hdr: func(h http.Header) { h.Set("X-Amz-Content-Sha256", sigv4.UnsignedPayload) }, code: authn.CodeSignatureDoesNotMatch},
	}
	for name, tc := range tamper {
		t.Run(name, func(t *testing.T) {
			raw := bytes.Clone(rec.raw)
			if tc.body != nil {
				raw = tc.body(raw)
			}
			r := replay(srv.URL, rec, raw)
			if tc.hdr != nil {
				tc.hdr(r.Header)
			}
			digest, _, _, err := verifyAndRead(srv.v, r)
			if authn.ErrorCode(err) != tc.code || digest != "" {
				t.Fatalf("err = %v (digest %q), want %s before the end", err, digest, tc.code)
			}
		})
	}
}

// swapChunks exchanges the first two chunks of an aws-chunked body.
func swapChunks(b []byte) []byte {
	var chunks [][]byte
	rest := b
	for len(chunks) < 2 {
		line := bytes.Index(rest, []byte("\r\n"))
		var size int
		fmt.Sscanf(string(rest[:bytes.IndexByte(rest, ';')]), "%x", &size)
		end := line + 2 + size + 2
		chunks = append(chunks, rest[:end])
		rest = rest[end:]
	}
	return append(append(append([]byte(nil), chunks[1]...), chunks[0]...), rest...)
}

// replay rebuilds a recorded request with body raw.
func replay(base string, rec *s3Request, raw []byte) *http.Request {
	r := httptest.NewRequest(rec.method, base+rec.target, bytes.NewReader(raw))
	r.Header = rec.header.Clone()
	u, _ := url.Parse(base)
	r.Host = u.Host
	r.ContentLength = int64(len(raw))
	return r
}
