package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"go/build"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// s3Server is one S3 implementation the conformance table runs against.
type s3Server struct {
	name, url string
	creds     aws.Credentials
}

// s3Answer is what a conformance step compares: the status, the S3
// error code, and the answer's fields that matter for the step.
type s3Answer struct {
	status int
	header http.Header
	body   []byte
}

func (s *s3Server) call(t *testing.T, method, path string, body []byte, kv ...string) s3Answer {
	t.Helper()
	hr, err := http.NewRequest(method, s.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		hr.Header.Set(kv[i], kv[i+1])
	}
	sum := sha256.Sum256(body)
	hr.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if err := v4.NewSigner().SignHTTP(context.Background(), s.creds, hr, hex.EncodeToString(sum[:]), "s3", "us-east-1", time.Now(), func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", s.name, method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return s3Answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// startVersitygwS3 runs versitygw (posix backend, scripts/test-deps.sh
// installs it) on a free loopback port until the test ends.
func startVersitygwS3(t *testing.T) *s3Server {
	t.Helper()
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		bin = filepath.Join(build.Default.GOPATH, "bin", "versitygw")
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("versitygw not found: run scripts/test-deps.sh")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	key := make([]byte, 20)
	_, _ = rand.Read(key)
	access, secret := "VGW"+hex.EncodeToString(key[:8]), hex.EncodeToString(key)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--access", access, "--secret", secret, "--port", addr, "--quiet", "posix", t.TempDir())
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cancel(); <-exited })
	s := &s3Server{name: "versitygw", url: "http://" + addr, creds: aws.Credentials{AccessKeyID: access, SecretAccessKey: secret}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.url + "/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		select {
		case err := <-exited:
			t.Fatalf("versitygw exited: %v\n%s", err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw not ready: %v\n%s", err, logs.String())
		}
	}
}

// listing is the comparable part of a ListObjectsV2 page.
type listing struct {
	Keys           []string `xml:"Contents>Key"`
	Sizes          []int64  `xml:"Contents>Size"`
	ETags          []string `xml:"Contents>ETag"`
	CommonPrefixes []string `xml:"CommonPrefixes>Prefix"`
	KeyCount       int      `xml:"KeyCount"`
	IsTruncated    bool     `xml:"IsTruncated"`
	Next           string   `xml:"NextContinuationToken"`
}

// conformance objects: keys exercising prefixes and delimiters.
var conformanceKeys = []string{"a/1", "a/2", "a/b/3", "a/b/4", "b/5", "c", "d/e/f", "d/g", "z z"}

// TestS3_Conformance runs the same calls against our server and versitygw
// and asserts that the answers agree: ListObjectsV2 (prefix, delimiter,
// start-after, pagination), PutObject, GetObject with ranges, HeadObject,
// and multipart uploads with their errors.
func TestS3_Conformance(t *testing.T) {
	ts := startServer(t, rootEnv)
	servers := []*s3Server{
		{name: "tenantml", url: ts.URL, creds: aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}},
		startVersitygwS3(t),
	}
	const bucket = "conformance"
	for _, s := range servers {
		if a := s.call(t, "PUT", "/"+bucket, nil); a.status != 200 {
			t.Fatalf("%s: CreateBucket %d %s", s.name, a.status, a.body)
		}
		for _, k := range conformanceKeys {
			if a := s.call(t, "PUT", "/"+bucket+"/"+escapeKey(k), []byte("body of "+k)); a.status != 200 {
				t.Fatalf("%s: PutObject %s: %d %s", s.name, k, a.status, a.body)
			}
		}
	}
	// each step's answer on every server must agree.
	agree := func(t *testing.T, step func(s *s3Server) string) {
		t.Helper()
		var first string
		for i, s := range servers {
			got := step(s)
			if i == 0 {
				first = got
				continue
			}
			if got != first {
				t.Errorf("answers differ:\n %s: %s\n %s: %s", servers[0].name, first, s.name, got)
			}
		}
	}
	list := func(s *s3Server, query string) listing {
		a := s.call(t, "GET", "/"+bucket+"?list-type=2"+query, nil)
		if a.status != 200 {
			t.Fatalf("%s: ListObjectsV2 %s: %d %s", s.name, query, a.status, a.body)
		}
		var l listing
		if err := xml.Unmarshal(a.body, &l); err != nil {
			t.Fatal(err)
		}
		return l
	}
	for _, q := range []string{"", "&prefix=a/", "&delimiter=/", "&prefix=a/&delimiter=/", "&prefix=d/&delimiter=/", "&start-after=a/b/3",
		"&prefix=nothing", "&max-keys=3", "&delimiter=/&max-keys=2", "&prefix=a/b/&start-after=a/b/3"} {
		t.Run("ListObjectsV2"+q, func(t *testing.T) {
			agree(t, func(s *s3Server) string {
				l := list(s, q)
				return fmt.Sprintf("keys %v sizes %v etags %v prefixes %v count %d truncated %v", l.Keys, l.Sizes, l.ETags, l.CommonPrefixes, l.KeyCount, l.IsTruncated)
			})
		})
	}
	for _, q := range []string{"&max-keys=2", "&max-keys=1&delimiter=/", "&max-keys=2&prefix=a/"} {
		t.Run("Paginate"+q, func(t *testing.T) {
			agree(t, func(s *s3Server) string {
				var pages []string
				token := ""
				for range 20 {
					l := list(s, q+token)
					pages = append(pages, fmt.Sprintf("%v%v", l.Keys, l.CommonPrefixes))
					if !l.IsTruncated {
						break
					}
					token = "&continuation-token=" + urlQuery(l.Next)
				}
				return strings.Join(pages, " | ")
			})
		})
	}
	get := func(s *s3Server, key string, kv ...string) string {
		a := s.call(t, "GET", "/"+bucket+"/"+escapeKey(key), nil, kv...)
		if a.status >= 300 {
			return fmt.Sprintf("%d %s", a.status, s3Code(a.body))
		}
		return fmt.Sprintf("%d len=%s range=%q etag=%s body=%q", a.status, a.header.Get("Content-Length"),
			a.header.Get("Content-Range"), a.header.Get("ETag"), a.body)
	}
	for _, r := range []string{"", "bytes=0-3", "bytes=2-5", "bytes=4-", "bytes=-3", "bytes=0-1000", "bytes=100-200"} {
		t.Run("GetObjectRange="+r, func(t *testing.T) {
			agree(t, func(s *s3Server) string {
				if r == "" {
					return get(s, "a/b/3")
				}
				return get(s, "a/b/3", "Range", r)
			})
		})
	}
	t.Run("GetObjectMissing", func(t *testing.T) { agree(t, func(s *s3Server) string { return get(s, "no/such/key") }) })
	t.Run("HeadObject", func(t *testing.T) {
		agree(t, func(s *s3Server) string {
			a, m := s.call(t, "HEAD", "/"+bucket+"/c", nil), s.call(t, "HEAD", "/"+bucket+"/missing", nil)
			return fmt.Sprintf("%d %s %s / %d", a.status, a.header.Get("Content-Length"), a.header.Get("ETag"), m.status)
		})
	})
	t.Run("PutObjectBadDigest", func(t *testing.T) {
		agree(t, func(s *s3Server) string {
			sum := md5.Sum([]byte("other"))
			a := s.call(t, "PUT", "/"+bucket+"/md5", []byte("body"), "Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
			h := s.call(t, "HEAD", "/"+bucket+"/md5", nil)
			return fmt.Sprintf("%d %s stored=%d", a.status, s3Code(a.body), h.status)
		})
	})
	t.Run("PutObjectReplace", func(t *testing.T) {
		agree(t, func(s *s3Server) string {
			a := s.call(t, "PUT", "/"+bucket+"/c", []byte("new body"))
			return fmt.Sprintf("%d %s / %s", a.status, a.header.Get("ETag"), get(s, "c"))
		})
	})
	t.Run("Multipart", func(t *testing.T) {
		part1, part2 := bytes.Repeat([]byte("p"), 5<<20), []byte("tail")
		agree(t, func(s *s3Server) string {
			return multipartSteps(t, s, bucket, part1, part2)
		})
	})
}

// multipartSteps is the multipart part of the conformance table: errors
// first, then a complete upload read back.
func multipartSteps(t *testing.T, s *s3Server, bucket string, part1, part2 []byte) string {
	var out []string
	create := func(key string) string {
		a := s.call(t, "POST", "/"+bucket+"/"+key+"?uploads", nil)
		if a.status != 200 {
			t.Fatalf("%s: CreateMultipartUpload %d %s", s.name, a.status, a.body)
		}
		return xmlField(a.body, "UploadId")
	}
	part := func(key, id string, n int, b []byte) string {
		a := s.call(t, "PUT", fmt.Sprintf("/%s/%s?partNumber=%d&uploadId=%s", bucket, key, n, id), b)
		out = append(out, fmt.Sprintf("part%d %d %s", n, a.status, a.header.Get("ETag")))
		return a.header.Get("ETag")
	}
	complete := func(key, id string, parts ...string) s3Answer {
		var b strings.Builder
		b.WriteString("<CompleteMultipartUpload>")
		for i := 0; i+1 < len(parts); i += 2 {
			fmt.Fprintf(&b, "<Part><PartNumber>%s</PartNumber><ETag>%s</ETag></Part>", parts[i], parts[i+1])
		}
		b.WriteString("</CompleteMultipartUpload>")
		a := s.call(t, "POST", "/"+bucket+"/"+key+"?uploadId="+id, []byte(b.String()))
		out = append(out, fmt.Sprintf("complete %d %s", a.status, s3Code(a.body)))
		return a
	}
	id := create("mp")
	e1, e2 := part("mp", id, 1, part1), part("mp", id, 2, part2)
	complete("mp", id, "1", e1, "3", e2)                                   // missing part: InvalidPart
	complete("mp", id, "1", `"00000000000000000000000000000000"`, "2", e2) // wrong ETag: InvalidPart
	a := complete("mp", id, "1", e1, "2", e2)
	out = append(out, "etag "+xmlField(a.body, "ETag"))
	g := s.call(t, "GET", "/"+bucket+"/mp", nil, "Range", "bytes=5242878-5242881")
	out = append(out, fmt.Sprintf("range %d %q %s", g.status, g.body, g.header.Get("Content-Range")))
	// Order, with parts that all pass the size check (versitygw checks
	// sizes first, S3 the order).
	ord := create("order")
	o1, o2 := part("order", ord, 1, part1), part("order", ord, 2, part1)
	complete("order", ord, "2", o2, "1", o1) // InvalidPartOrder
	small := create("small")
	s1, s2 := part("small", small, 1, []byte("tiny")), part("small", small, 2, []byte("tiny"))
	complete("small", small, "1", s1, "2", s2) // EntityTooSmall
	ab := s.call(t, "DELETE", "/"+bucket+"/small?uploadId="+small, nil)
	out = append(out, fmt.Sprintf("abort %d", ab.status))
	part("small", small, 3, []byte("after abort")) // NoSuchUpload
	np := s.call(t, "PUT", "/"+bucket+"/small?partNumber=1&uploadId="+small, []byte("x"))
	out = append(out, fmt.Sprintf("no such upload %d %s", np.status, s3Code(np.body)))
	return strings.Join(out, "; ")
}

// escapeKey escapes a key for a path.
func escapeKey(k string) string { return strings.ReplaceAll(k, " ", "%20") }

func urlQuery(s string) string {
	r := strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D")
	return r.Replace(s)
}
