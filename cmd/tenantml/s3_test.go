package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/artifact"
)

// s3Prefix is the classic AWS per-tenant prefix policy, verbatim, with
// the use of the tenant's keys.
const s3Prefix = `{"Version":"2012-10-17","Statement":[
{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject","s3:DeleteObject","s3:AbortMultipartUpload","s3:ListMultipartUploadParts"],"Resource":"arn:aws:s3:::models/${aws:PrincipalTag/TenantID}/*"},
{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::models","Condition":{"StringLike":{"s3:prefix":"${aws:PrincipalTag/TenantID}/*"}}},
{"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"*"}]}`

// s3Env is a server with tenants acme and globex, the platform bucket
// "models" and a user of each tenant holding the prefix policy.
type s3Env struct {
	ts                 *testServer
	acme, globex       [2]string // access key ID, secret
	acmeKey, globexKey string    // the tenants' artifact key ARNs
}

func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	ts := startServer(t, rootEnv)
	e := &s3Env{ts: ts}
	for _, id := range []string{"acme", "globex"} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", id)
	}
	e.acme[0], e.acme[1] = kmsUser(t, ts, "acme-uploader", "acme", s3Prefix)
	e.globex[0], e.globex[1] = kmsUser(t, ts, "globex-uploader", "globex", s3Prefix)
	e.acmeKey, e.globexKey = e.keyARN(t, "acme"), e.keyARN(t, "globex")
	e.root(t, "s3", "mb", "s3://models")
	return e
}

func (e *s3Env) keyARN(t *testing.T, tenant string) string {
	t.Helper()
	m, err := e.ts.kp.keys.DescribeKey(context.Background(), tenant, artifact.DefaultKeyAlias)
	if err != nil {
		t.Fatal(err)
	}
	return m.Arn
}

// root runs the AWS CLI as the operator's root and fails on error.
func (e *s3Env) root(t *testing.T, args ...string) string {
	t.Helper()
	out, err := awsCLI(t, e.ts, rootKeyID, rootSecret, "", args...)
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// as runs the AWS CLI with creds and fails on error.
func (e *s3Env) as(t *testing.T, creds [2]string, args ...string) string {
	t.Helper()
	out, err := awsCLI(t, e.ts, creds[0], creds[1], "", args...)
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// refused runs the AWS CLI with creds and fails unless it fails with one
// of the codes.
func (e *s3Env) refused(t *testing.T, creds [2]string, codes []string, args ...string) string {
	t.Helper()
	out, err := awsCLI(t, e.ts, creds[0], creds[1], "", args...)
	if err == nil {
		t.Fatalf("aws %s succeeded, want %v:\n%s", strings.Join(args, " "), codes, out)
	}
	for _, c := range codes {
		if strings.Contains(out, c) {
			return out
		}
	}
	t.Fatalf("aws %s: %v\n%s\nwant one of %v", strings.Join(args, " "), err, out, codes)
	return out
}

func TestS3_AWSCLI(t *testing.T) {
	e := newS3Env(t)
	dir := t.TempDir()
	model := randomBytes(t, 3<<20+17)
	src := filepath.Join(dir, "model.tar.gz")
	if err := os.WriteFile(src, model, 0o600); err != nil {
		t.Fatal(err)
	}
	// The operator uploads acme's model under acme's key.
	e.root(t, "s3", "cp", src, "s3://models/acme/model.tar.gz", "--sse", "aws:kms", "--sse-kms-key-id", e.acmeKey)
	e.root(t, "s3", "cp", src, "s3://models/globex/model.tar.gz", "--sse", "aws:kms", "--sse-kms-key-id", e.globexKey)

	t.Run("HeadObjectNamesTheKey", func(t *testing.T) {
		var h struct {
			ContentLength        int64
			ServerSideEncryption string
			SSEKMSKeyId          string
			ETag                 string
		}
		out := e.as(t, e.acme, "s3api", "head-object", "--bucket", "models", "--key", "acme/model.tar.gz")
		if err := json.Unmarshal([]byte(out), &h); err != nil {
			t.Fatal(err, out)
		}
		if h.ContentLength != int64(len(model)) || h.ServerSideEncryption != "aws:kms" || h.SSEKMSKeyId != e.acmeKey || h.ETag != `"`+md5Hex(model)+`"` {
			t.Fatalf("head-object = %+v", h)
		}
	})
	t.Run("DownloadByteIdentical", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "back")
		e.as(t, e.acme, "s3", "cp", "s3://models/acme/model.tar.gz", dst)
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, model) {
			t.Fatalf("downloaded %d bytes (%v), want %d", len(got), err, len(model))
		}
	})
	t.Run("ListOwnPrefix", func(t *testing.T) {
		out := e.as(t, e.acme, "s3", "ls", "s3://models/acme/")
		if !strings.Contains(out, "model.tar.gz") {
			t.Fatalf("ls: %s", out)
		}
	})
	t.Run("ErrListOtherPrefix", func(t *testing.T) {
		e.refused(t, e.acme, []string{"AccessDenied"}, "s3", "ls", "s3://models/globex/")
	})
	t.Run("ErrReadOtherTenant", func(t *testing.T) {
		e.refused(t, e.acme, []string{"403", "404"}, "s3", "cp", "s3://models/globex/model.tar.gz", filepath.Join(t.TempDir(), "x"))
	})
	t.Run("ErrOtherTenantKey", func(t *testing.T) {
		e.refused(t, e.acme, []string{"KMS.NotFoundException"}, "s3api", "put-object", "--bucket", "models", "--key", "acme/evil", "--body", src,
			"--server-side-encryption", "aws:kms", "--ssekms-key-id", e.globexKey)
	})
	t.Run("SyncAndRemove", func(t *testing.T) {
		tree := t.TempDir()
		for _, f := range []string{"a.json", "sub/b.json", "sub/deeper/c.ubj"} {
			p := filepath.Join(tree, f)
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("content of "+f), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		e.as(t, e.acme, "s3", "sync", tree, "s3://models/acme/tree/")
		out := e.as(t, e.acme, "s3", "ls", "--recursive", "s3://models/acme/tree/")
		for _, f := range []string{"tree/a.json", "tree/sub/b.json", "tree/sub/deeper/c.ubj"} {
			if !strings.Contains(out, f) {
				t.Fatalf("ls --recursive lacks %s:\n%s", f, out)
			}
		}
		e.as(t, e.acme, "s3", "rm", "--recursive", "s3://models/acme/tree/")
		// aws s3 ls exits 1 when nothing matches.
		if out, err := awsCLI(t, e.ts, e.acme[0], e.acme[1], "", "s3", "ls", "--recursive", "s3://models/acme/tree/"); err == nil || strings.TrimSpace(out) != "" {
			t.Fatalf("after rm: %v %s", err, out)
		}
	})
	t.Run("OneStoreWithTheArtifactAPI", func(t *testing.T) {
		// An artifact is the object s3://tenantml-artifacts/<tenant>/<model>/<version>/<file>,
		// and an object written there under the tenant's key is its artifact.
		e.ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "put", "--tenant", "acme", "churn/v1/model.tar.gz", src)
		dst := filepath.Join(t.TempDir(), "via-s3")
		e.root(t, "s3", "cp", "s3://tenantml-artifacts/acme/churn/v1/model.tar.gz", dst)
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, model) {
			t.Fatalf("artifact read through S3: %d bytes (%v)", len(got), err)
		}
		e.root(t, "s3", "cp", src, "s3://tenantml-artifacts/acme/uploaded/v2/model.tar.gz", "--sse", "aws:kms", "--sse-kms-key-id", e.acmeKey)
		back := filepath.Join(t.TempDir(), "via-artifact")
		e.ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "uploaded/v2/model.tar.gz", back)
		if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, model) {
			t.Fatalf("S3 object read as an artifact: %d bytes (%v)", len(got), err)
		}
	})
	t.Run("Presign", func(t *testing.T) {
		url := strings.TrimSpace(e.as(t, e.acme, "s3", "presign", "s3://models/acme/model.tar.gz", "--expires-in", "300"))
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		if resp.StatusCode != 200 || !bytes.Equal(buf.Bytes(), model) {
			t.Fatalf("GET presigned: %d, %d bytes", resp.StatusCode, buf.Len())
		}
	})
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}
