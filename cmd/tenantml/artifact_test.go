package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/identity"
)

// startServerClock is startServer with the server's clock set to now.
func startServerClock(t testing.TB, env map[string]string, now func() time.Time) *testServer {
	t.Helper()
	return startServerAt(t, filepath.Join(t.TempDir(), "data"), env, now)
}

// offsetClock is a clock tests move forward without sleeping.
type offsetClock struct{ offset atomic.Int64 }

func (c *offsetClock) now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *offsetClock) advance(d time.Duration) { c.offset.Add(int64(d)) }

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func artifactURL(ts *testServer, rest string) string { return ts.URL + "/api/v1/tenants/" + rest }

// writeTemp writes data to a fresh file and returns its path.
func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// mustCLI runs a command line and fails the test on error.
func (ts *testServer) mustCLI(t *testing.T, keyID, secret string, args ...string) string {
	t.Helper()
	out, err := ts.cli(t, keyID, secret, args...)
	if err != nil {
		t.Fatalf("tenantml %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// raw sends one request as root (Basic) or unauthenticated (keyID "") and
// returns the response with its body read as far as it goes.
func raw(t *testing.T, method, u, keyID, secret string, body []byte, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		t.Fatal(err)
	}
	if keyID != "" {
		req.SetBasicAuth(keyID, secret)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestServe_ArtifactCLI: a multi-MiB artifact goes up and comes back
// byte-identical through the CLI and the real server, is listed with its
// size and SHA-256, and is gone after rm; every request is audited.
func TestServe_ArtifactCLI(t *testing.T) {
	ts := startServer(t, rootEnv)
	ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", "acme")
	data := randomBytes(t, 5<<20+123)
	src := writeTemp(t, data)

	var put manage.ArtifactInfo
	out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "put", "--tenant", "acme", "churn/v1/model.tar.gz", src, "-o", "json")
	if err := json.Unmarshal([]byte(out), &put); err != nil {
		t.Fatalf("put output %q: %v", out, err)
	}
	if put.Size != int64(len(data)) || put.SHA256 != sha256Hex(data) || put.Tenant != "acme" || put.Model != "churn" || put.Version != "v1" || put.File != "model.tar.gz" {
		t.Fatalf("put = %+v", put)
	}

	t.Run("PutFromStdin", func(t *testing.T) {
		// Unknown length: a chunked, UNSIGNED-PAYLOAD SigV4 upload.
		t.Setenv("TENANTML_ENDPOINT", ts.URL)
		t.Setenv("TENANTML_ACCESS_KEY_ID", rootKeyID)
		t.Setenv("TENANTML_SECRET_ACCESS_KEY", rootSecret)
		t.Setenv("HOME", t.TempDir())
		root := newRootCmd()
		var out bytes.Buffer
		root.SetIn(io.MultiReader(bytes.NewReader(data)))
		root.SetOut(&out)
		root.SetErr(&out)
		root.SetArgs([]string{"artifact", "put", "--tenant", "acme", "churn/stdin/model.tar.gz", "-", "-o", "json"})
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("put -: %v\n%s", err, out.String())
		}
		var info manage.ArtifactInfo
		if err := json.Unmarshal(out.Bytes(), &info); err != nil || info.SHA256 != sha256Hex(data) || info.Size != int64(len(data)) {
			t.Fatalf("put - = %s (%v)", out.String(), err)
		}
		ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "rm", "--tenant", "acme", "churn/stdin/model.tar.gz")
	})
	t.Run("GetToFile", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "out.bin")
		out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "churn/v1/model.tar.gz", dst, "-o", "json")
		got, err := os.ReadFile(dst)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("downloaded %d bytes (err %v), want the %d uploaded", len(got), err, len(data))
		}
		var sum downloaded
		if err := json.Unmarshal([]byte(out), &sum); err != nil {
			t.Fatalf("summary %q: %v", out, err)
		}
		if want := (downloaded{File: dst, Bytes: int64(len(data)), SHA256: sha256Hex(data)}); sum != want {
			t.Fatalf("summary = %+v, want %+v", sum, want)
		}
	})
	t.Run("ErrOutputIsAFormat", func(t *testing.T) {
		// -o selects the output format everywhere; the file is LOCALFILE.
		dst := filepath.Join(t.TempDir(), "out.bin")
		_, err := ts.cli(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "churn/v1/model.tar.gz", "-o", dst)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != 2 || !strings.Contains(err.Error(), "must be table, json or yaml") {
			t.Fatalf("err = %v, want a usage error naming the formats", err)
		}
		if _, err := os.Stat(dst); !os.IsNotExist(err) {
			t.Fatalf("-o %s wrote a file (%v)", dst, err)
		}
	})
	t.Run("GetToStdout", func(t *testing.T) {
		got := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "churn/v1/model.tar.gz")
		if !bytes.Equal([]byte(got), data) {
			t.Fatalf("stdout: %d bytes, want the %d uploaded", len(got), len(data))
		}
	})
	t.Run("Head", func(t *testing.T) {
		resp, body, err := raw(t, http.MethodHead, artifactURL(ts, "acme/artifacts/churn/v1/model.tar.gz"), rootKeyID, rootSecret, nil)
		if err != nil || resp.StatusCode != 200 || len(body) != 0 || resp.ContentLength != int64(len(data)) || resp.Header.Get(manage.SHA256Header) != put.SHA256 {
			t.Fatalf("HEAD = %d, length %d, sha %q, body %d, err %v", resp.StatusCode, resp.ContentLength, resp.Header.Get(manage.SHA256Header), len(body), err)
		}
	})
	t.Run("List", func(t *testing.T) {
		table := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "ls", "--tenant", "acme")
		if !strings.Contains(table, "churn/v1/model.tar.gz") || !strings.Contains(table, put.SHA256) {
			t.Fatalf("ls table:\n%s", table)
		}
		var ls manage.ListArtifactsOutput
		out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "ls", "--tenant", "acme", "--prefix", "churn/", "-o", "json")
		if err := json.Unmarshal([]byte(out), &ls); err != nil || len(ls.Artifacts) != 1 || ls.Artifacts[0].Size != int64(len(data)) || ls.Artifacts[0].SHA256 != put.SHA256 {
			t.Fatalf("ls = %s (%v)", out, err)
		}
		out = ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "ls", "--tenant", "acme", "--prefix", "other/", "-o", "json")
		if err := json.Unmarshal([]byte(out), &ls); err != nil || len(ls.Artifacts) != 0 {
			t.Fatalf("ls other/ = %s (%v)", out, err)
		}
	})
	t.Run("Replace", func(t *testing.T) {
		resp, body, _ := raw(t, http.MethodPut, artifactURL(ts, "acme/artifacts/churn/v1/model.tar.gz"), rootKeyID, rootSecret, data[:1000])
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("replace = %d %s, want 200", resp.StatusCode, body)
		}
		if resp, body, _ := raw(t, http.MethodPut, artifactURL(ts, "acme/artifacts/churn/v1/model.tar.gz"), rootKeyID, rootSecret, data); resp.StatusCode != http.StatusOK {
			t.Fatalf("replace back = %d %s", resp.StatusCode, body)
		}
	})
	t.Run("Remove", func(t *testing.T) {
		ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "rm", "--tenant", "acme", "churn/v1/model.tar.gz")
		out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "ls", "--tenant", "acme", "-o", "json")
		if strings.Contains(out, "model.tar.gz") {
			t.Fatalf("ls after rm:\n%s", out)
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "churn/v1/model.tar.gz"); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("get after rm: %v, want 404", err)
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "artifact", "rm", "--tenant", "acme", "churn/v1/model.tar.gz"); err == nil || !strings.Contains(err.Error(), "404") {
			t.Fatalf("rm after rm: %v, want 404", err)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		names := map[string]int{}
		for _, ev := range ts.eventsByRequest(t) {
			if ev.TenantID == "acme" {
				names[ev.EventName]++
			}
		}
		for _, n := range []string{"PutArtifact", "GetArtifact", "ListArtifacts", "DeleteArtifact"} {
			if names[n] == 0 {
				t.Errorf("no %s event for acme; events: %v", n, names)
			}
		}
	})
}

// TestServe_ArtifactCrossTenant: a principal tagged TenantID=acme with the
// DataScientist built-in works on acme's artifacts and is refused every
// operation on globex's, with the same answer whether the artifact exists;
// the operator's root does both.
func TestServe_ArtifactCrossTenant(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	for _, id := range []string{"acme", "globex"} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", id)
	}
	data := randomBytes(t, 64<<10)
	src := writeTemp(t, data)
	ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "put", "--tenant", "globex", "churn/v1/model.bin", src)

	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("acme-ds"),
		Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}}}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := root.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: aws.String("acme-ds"), PolicyArn: aws.String(identity.BuiltinARNPrefix + identity.DataScientist)}); err != nil {
		t.Fatalf("AttachUserPolicy: %v", err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("acme-ds")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	id, secret := aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey)

	t.Run("OwnTenant", func(t *testing.T) {
		ts.mustCLI(t, id, secret, "artifact", "put", "--tenant", "acme", "churn/v1/model.bin", src)
		if got := ts.mustCLI(t, id, secret, "artifact", "get", "--tenant", "acme", "churn/v1/model.bin"); !bytes.Equal([]byte(got), data) {
			t.Fatal("own artifact does not round-trip")
		}
		if out := ts.mustCLI(t, id, secret, "artifact", "ls", "--tenant", "acme"); !strings.Contains(out, "churn/v1/model.bin") {
			t.Fatalf("ls:\n%s", out)
		}
		if out := ts.mustCLI(t, id, secret, "artifact", "presign", "--tenant", "acme", "churn/v1/model.bin"); !strings.Contains(out, "X-Tenantml-Signature=") {
			t.Fatalf("presign:\n%s", out)
		}
	})
	t.Run("OtherTenantRefused", func(t *testing.T) {
		strip := func(err error) string {
			msg := strings.ReplaceAll(err.Error(), "absent.bin", "model.bin")
			return msg[:strings.Index(msg, "request ")] // request IDs differ
		}
		for _, c := range []struct {
			name string
			args func(file string) []string
		}{
			{"put", func(f string) []string { return []string{"put", "--tenant", "globex", "churn/v1/" + f, src} }},
			{"get", func(f string) []string { return []string{"get", "--tenant", "globex", "churn/v1/" + f} }},
			{"rm", func(f string) []string { return []string{"rm", "--tenant", "globex", "churn/v1/" + f} }},
			{"presign", func(f string) []string { return []string{"presign", "--tenant", "globex", "churn/v1/" + f} }},
			{"presignPut", func(f string) []string {
				return []string{"presign", "--method", "PUT", "--tenant", "globex", "churn/v1/" + f}
			}},
		} {
			t.Run(c.name, func(t *testing.T) {
				outE, errExisting := ts.cli(t, id, secret, append([]string{"artifact"}, c.args("model.bin")...)...)
				_, errMissing := ts.cli(t, id, secret, append([]string{"artifact"}, c.args("absent.bin")...)...)
				if errExisting == nil || !strings.Contains(errExisting.Error(), "403") || errMissing == nil {
					t.Fatalf("existing: %v (%q); missing: %v; want 403 for both", errExisting, outE, errMissing)
				}
				if a, b := strip(errExisting), strip(errMissing); a != b {
					t.Fatalf("an existing and a missing artifact answer differently:\n%s\n%s", a, b)
				}
			})
		}
		if _, err := ts.cli(t, id, secret, "artifact", "ls", "--tenant", "globex"); err == nil || !strings.Contains(err.Error(), "403") {
			t.Fatalf("ls globex: %v, want 403", err)
		}
		// The refused put stored nothing, and globex's artifact is intact.
		if got := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "globex", "churn/v1/model.bin"); !bytes.Equal([]byte(got), data) {
			t.Fatal("globex's artifact changed")
		}
		if out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "ls", "--tenant", "globex"); strings.Contains(out, "absent.bin") {
			t.Fatalf("a refused put stored an artifact:\n%s", out)
		}
	})
	t.Run("RootBoth", func(t *testing.T) {
		for _, tn := range []string{"acme", "globex"} {
			if got := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", tn, "churn/v1/model.bin"); !bytes.Equal([]byte(got), data) {
				t.Fatalf("root get %s: wrong bytes", tn)
			}
		}
	})
	t.Run("SuspendedTenant", func(t *testing.T) {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "suspend", "acme")
		// The tenant's own principal is refused before authorization...
		_, err := ts.cli(t, id, secret, "artifact", "get", "--tenant", "acme", "churn/v1/model.bin")
		if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "not active") {
			t.Fatalf("get by a suspended tenant's principal: %v, want 403 not active", err)
		}
		// ...and the artifacts themselves are frozen, even for the operator.
		_, err = ts.cli(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "churn/v1/model.bin")
		if err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "suspended") {
			t.Fatalf("root get from a suspended tenant: %v, want 409 suspended", err)
		}
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "resume", "acme")
	})
	t.Run("Audited", func(t *testing.T) {
		// Each refused request is in acme's trail, reading like a request
		// for a missing artifact, and in an operator-only platform event
		// that names globex.
		var page manage.LookupEventsOutput
		ts.rootJSON(t, "/api/v1/audit/events?limit=1000", &page)
		own, operator := map[string]bool{}, map[string]bool{}
		for _, ev := range page.Events {
			switch {
			case ev.EventName == "CrossTenantAccessAttempt":
				if ev.TenantID != "" || !ev.CrossTenant || ev.AdditionalEventData["resourceTenantId"] != "globex" {
					t.Fatalf("operator event %+v", ev)
				}
				operator[ev.RequestID] = true
			case ev.UserIdentity.ARN == "arn:aws:iam::"+ts.cfg.AccountID+":user/acme-ds" && strings.HasSuffix(ev.EventName, "Artifact") &&
				len(ev.Resources) == 1 && strings.Contains(ev.Resources[0].ARN, ":artifact/globex/"):
				if ev.TenantID != "acme" || ev.CrossTenant || strings.Contains(fmt.Sprint(ev.AdditionalEventData), "globex") {
					t.Fatalf("acme's event reveals globex: %+v", ev)
				}
				own[ev.RequestID] = true
			}
		}
		if len(own) < 10 {
			t.Fatalf("%d refused globex artifact events, want at least 10", len(own))
		}
		for id := range own {
			if !operator[id] {
				t.Fatalf("request %s has no operator cross-tenant event", id)
			}
		}
	})
	if strings.Contains(ts.logs.String(), secret) {
		t.Fatal("the user's secret appears in the logs")
	}
}

// TestServe_ArtifactPresigned: a presigned GET URL downloads with plain
// net/http, is refused for another method, version, tenant or signature and
// after it expires, and a presigned PUT uploads; the requests are audited as
// their issuer's.
func TestServe_ArtifactPresigned(t *testing.T) {
	clock := &offsetClock{}
	ts := startServerClock(t, rootEnv, clock.now)
	for _, id := range []string{"acme", "globex"} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", id)
	}
	data := randomBytes(t, 2<<20+5)
	ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "put", "--tenant", "acme", "churn/v1/model.bin", writeTemp(t, data))
	var ps manage.PresignArtifactOutput
	out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "presign", "--tenant", "acme", "churn/v1/model.bin", "--expires", "10m", "-o", "json")
	if err := json.Unmarshal([]byte(out), &ps); err != nil || ps.Method != "GET" {
		t.Fatalf("presign = %s (%v)", out, err)
	}

	resp, body, err := raw(t, http.MethodGet, ps.URL, "", "", nil)
	if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, data) {
		t.Fatalf("presigned GET = %d, %d bytes, err %v", resp.StatusCode, len(body), err)
	}
	getID := resp.Header.Get("X-Request-Id")

	u, _ := url.Parse(ps.URL)
	flipped := *u
	q := u.Query()
	sig := []byte(q.Get("X-Tenantml-Signature"))
	if sig[0] == '0' {
		sig[0] = '1'
	} else {
		sig[0] = '0'
	}
	q.Set("X-Tenantml-Signature", string(sig))
	flipped.RawQuery = q.Encode()
	for _, c := range []struct {
		name, method, url string
	}{
		{"ErrOtherMethod", http.MethodPut, ps.URL},
		{"ErrHead", http.MethodHead, ps.URL},
		{"ErrOtherVersion", http.MethodGet, strings.Replace(ps.URL, "/churn/v1/", "/churn/v2/", 1)},
		{"ErrOtherTenant", http.MethodGet, strings.Replace(ps.URL, "/acme/", "/globex/", 1)},
		{"ErrOtherFile", http.MethodGet, strings.Replace(ps.URL, "/model.bin", "/other.bin", 1)},
		{"ErrFlippedSignature", http.MethodGet, flipped.String()},
		{"ErrOtherExpiry", http.MethodGet, strings.Replace(ps.URL, "X-Tenantml-Expires=", "X-Tenantml-Expires=1", 1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b []byte
			if c.method == http.MethodPut {
				b = []byte("overwrite")
			}
			resp, body, _ := raw(t, c.method, c.url, "", "", b)
			if resp.StatusCode != http.StatusForbidden || bytes.Contains(body, data[:32]) {
				t.Fatalf("%s %s = %d %s, want 403", c.method, c.url, resp.StatusCode, body)
			}
		})
	}
	t.Run("PresignedPut", func(t *testing.T) {
		var pp manage.PresignArtifactOutput
		out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "presign", "--method", "PUT", "--tenant", "acme", "churn/v2/model.bin", "-o", "json")
		if err := json.Unmarshal([]byte(out), &pp); err != nil {
			t.Fatal(err)
		}
		v2 := randomBytes(t, 300<<10)
		resp, body, _ := raw(t, http.MethodPut, pp.URL, "", "", v2, manage.SHA256Header, sha256Hex(v2))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("presigned PUT = %d %s", resp.StatusCode, body)
		}
		if got := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "churn/v2/model.bin"); !bytes.Equal([]byte(got), v2) {
			t.Fatal("presigned upload does not round-trip")
		}
		// The PUT URL does not download.
		if resp, _, _ := raw(t, http.MethodGet, pp.URL, "", "", nil); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("GET with a PUT URL = %d, want 403", resp.StatusCode)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		var short manage.PresignArtifactOutput
		out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "presign", "--tenant", "acme", "churn/v1/model.bin", "--expires", "1s", "-o", "json")
		if err := json.Unmarshal([]byte(out), &short); err != nil {
			t.Fatal(err)
		}
		clock.advance(2 * time.Second)
		resp, body, _ := raw(t, http.MethodGet, short.URL, "", "", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "presigned URL expired") {
			t.Fatalf("expired URL = %d %s, want 403 expired", resp.StatusCode, body)
		}
	})
	t.Run("SurvivesRestart", func(t *testing.T) {
		secret, err := bootstrapPresignSecret(context.Background(), ts.store.Secrets(), ts.kek, rand.Reader)
		if err != nil || len(secret) != 32 {
			t.Fatalf("presign secret: %d bytes, %v", len(secret), err)
		}
		again, err := bootstrapPresignSecret(context.Background(), ts.store.Secrets(), ts.kek, rand.Reader)
		if err != nil || !bytes.Equal(secret, again) {
			t.Fatal("a second start would use another presign secret")
		}
		db, err := os.ReadFile(filepath.Join(ts.cfg.DataDir, "metadata.db"))
		if err != nil || bytes.Contains(db, secret) {
			t.Fatalf("metadata.db holds the presign secret in clear (err %v)", err)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		ev, ok := ts.eventsByRequest(t)[getID]
		if !ok {
			t.Fatalf("no audit event for the presigned GET %s", getID)
		}
		// A presigned request is its issuer's (here the operator's root).
		if ev.EventName != "GetArtifact" || ev.TenantID != "acme" || string(ev.Decision.Effect) != "Allowed" ||
			!strings.HasSuffix(ev.UserIdentity.ARN, ":root") {
			t.Fatalf("presigned GET event = %+v", ev)
		}
	})
}

// TestServe_ArtifactTampered: a byte flipped in the stored body cuts the
// download short; the client cannot take it for complete, the CLI leaves
// no file, and the server logs the integrity error.
func TestServe_ArtifactTampered(t *testing.T) {
	ts := startServer(t, rootEnv)
	ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", "acme")
	data := randomBytes(t, 6<<20)
	ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "put", "--tenant", "acme", "churn/v1/model.bin", writeTemp(t, data))
	var bodies []string
	_ = filepath.WalkDir(filepath.Join(ts.cfg.DataDir, "blobs", "tenants", "acme", "bodies"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(p, ".attrs") {
			bodies = append(bodies, p)
		}
		return nil
	})
	if len(bodies) != 1 {
		t.Fatalf("stored bodies: %v", bodies)
	}
	blob, err := os.ReadFile(bodies[0])
	if err != nil {
		t.Fatal(err)
	}
	blob[4<<20] ^= 0x40 // in the fifth segment: headers and earlier segments go out first
	if err := os.WriteFile(bodies[0], blob, 0o600); err != nil {
		t.Fatal(err)
	}

	resp, body, err := raw(t, http.MethodGet, artifactURL(ts, "acme/artifacts/churn/v1/model.bin"), rootKeyID, rootSecret, nil)
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(data)) {
		t.Fatalf("GET = %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	if err == nil || len(body) >= len(data) {
		t.Fatalf("tampered download: %d of %d bytes, err %v; want a short read and an error", len(body), len(data), err)
	}
	if !bytes.Equal(body, data[:len(body)]) {
		t.Fatal("bytes served before the failure differ from the plaintext")
	}
	logs := ts.logs.String()
	if !strings.Contains(logs, "integrity") || !strings.Contains(logs, resp.Header.Get("X-Request-Id")) {
		t.Fatalf("the integrity failure is not logged with the request ID:\n%s", logs)
	}

	dst := filepath.Join(t.TempDir(), "out.bin")
	if _, err := ts.cli(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", "churn/v1/model.bin", dst); err == nil {
		t.Fatal("the CLI took a tampered download for complete")
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Fatalf("a failed download left %s (%v)", dst, err)
	}
}

// TestServe_ArtifactBadInput: bad names, a missing body, a wrong digest and
// an upload over max-artifact-bytes answer clear 4xx JSON errors and store
// nothing.
func TestServe_ArtifactBadInput(t *testing.T) {
	env := map[string]string{"TENANTML_MAX_ARTIFACT_BYTES": "4096"}
	for k, v := range rootEnv {
		env[k] = v
	}
	ts := startServer(t, env)
	ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", "acme")
	small := randomBytes(t, 1000)
	base := artifactURL(ts, "acme/artifacts/")
	tests := []struct {
		name     string
		method   string
		url      string
		body     []byte
		hdr      []string
		status   int
		contains string
	}{
		{"ErrDotDot", "PUT", base + "churn/%2E%2E/model.bin", small, nil, 400, "invalid artifact name"},
		{"ErrDot", "PUT", base + "churn/v1/%2E", small, nil, 400, "invalid artifact name"},
		{"ErrSlashInName", "PUT", base + "churn/v1/a%2Fb", small, nil, 400, "invalid artifact name"},
		{"ErrSpace", "PUT", base + "churn/v1/a%20b", small, nil, 400, "invalid artifact name"},
		{"ErrTmpSuffix", "PUT", base + "churn/v1/model.tmp", small, nil, 400, "invalid artifact name"},
		{"ErrTooLong", "PUT", base + "churn/v1/" + strings.Repeat("a", 129), small, nil, 400, "invalid artifact name"},
		{"ErrVersionTooLong", "PUT", base + "churn/" + strings.Repeat("v", 65) + "/model.bin", small, nil, 400, "version"},
		{"ErrMissingBody", "PUT", base + "churn/v1/model.bin", nil, nil, 400, "body is empty"},
		{"ErrBadDigestHeader", "PUT", base + "churn/v1/model.bin", small, []string{manage.SHA256Header, "xyz"}, 400, "SHA-256"},
		{"ErrWrongDigest", "PUT", base + "churn/v1/model.bin", small, []string{manage.SHA256Header, sha256Hex([]byte("other"))}, 400, "SHA-256"},
		{"ErrOverLimit", "PUT", base + "churn/v1/model.bin", randomBytes(t, 5000), nil, 413, "limit"},
		{"ErrBadPrefix", "GET", base[:len(base)-1] + "?prefix=../globex", nil, nil, 400, "prefix"},
		{"ErrGetBadName", "GET", base + "churn/v1/%2E%2E", nil, nil, 400, "invalid artifact name"},
		{"ErrUnknownTenant", "PUT", artifactURL(ts, "nobody/artifacts/churn/v1/model.bin"), small, nil, 404, "not found"},
		{"ErrPresignMethod", "POST", base + "churn/v1/model.bin/presign", []byte(`{"method":"DELETE"}`), []string{"Content-Type", "application/json"}, 400, "GET or PUT"},
		{"ErrPresignExpiry", "POST", base + "churn/v1/model.bin/presign", []byte(`{"method":"GET","expiresIn":999999999}`), []string{"Content-Type", "application/json"}, 400, "expiresIn"},
		{"ErrUnauthenticated", "GET", base + "churn/v1/model.bin", nil, []string{"X-No-Auth", "1"}, 401, "credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keyID := rootKeyID
			if len(tc.hdr) == 2 && tc.hdr[0] == "X-No-Auth" {
				keyID = ""
			}
			resp, body, err := raw(t, tc.method, tc.url, keyID, rootSecret, tc.body, tc.hdr...)
			if err != nil {
				t.Fatal(err)
			}
			var e struct {
				Error struct{ Code, Message, RequestID string } `json:"error"`
			}
			if resp.StatusCode != tc.status || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error.Message, tc.contains) || e.Error.RequestID == "" {
				t.Fatalf("%s %s = %d %s; want %d JSON error containing %q", tc.method, tc.url, resp.StatusCode, body, tc.status, tc.contains)
			}
		})
	}
	t.Run("ErrOverLimitChunked", func(t *testing.T) {
		// No Content-Length: the limit stops the stream.
		req, err := http.NewRequest(http.MethodPut, base+"churn/v1/chunked.bin", io.MultiReader(bytes.NewReader(randomBytes(t, 5000))))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(rootKeyID, rootSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "limit") {
			t.Fatalf("chunked upload over the limit = %d %s, want 413", resp.StatusCode, body)
		}
	})
	t.Run("ErrCLIOverLimit", func(t *testing.T) {
		_, err := ts.cli(t, rootKeyID, rootSecret, "artifact", "put", "--tenant", "acme", "churn/v1/big.bin", writeTemp(t, randomBytes(t, 300<<10)))
		if err == nil || !strings.Contains(err.Error(), "413") {
			t.Fatalf("put over the limit: %v, want 413", err)
		}
	})
	t.Run("NothingStored", func(t *testing.T) {
		out := ts.mustCLI(t, rootKeyID, rootSecret, "artifact", "ls", "--tenant", "acme", "-o", "json")
		var ls manage.ListArtifactsOutput
		if err := json.Unmarshal([]byte(out), &ls); err != nil || len(ls.Artifacts) != 0 {
			t.Fatalf("after refused uploads: %s (%v)", out, err)
		}
		var left []string
		_ = filepath.WalkDir(filepath.Join(ts.cfg.DataDir, "blobs"), func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				left = append(left, p)
			}
			return nil
		})
		if len(left) != 0 {
			t.Fatalf("refused uploads left blobs: %v", left)
		}
	})
	t.Run("ErrCLIName", func(t *testing.T) {
		for _, name := range []string{"churn//model.bin", "churn/v1", "a/b/c/d"} {
			if _, err := ts.cli(t, rootKeyID, rootSecret, "artifact", "get", "--tenant", "acme", name); err == nil || !strings.Contains(err.Error(), "MODEL/VERSION/FILE") {
				t.Fatalf("get %q: %v", name, err)
			}
		}
	})
}

// BenchmarkServe_ArtifactGet compares downloading an artifact through the
// server (SigV4-free Basic auth, audit, key unwrap, parallel decryption,
// loopback HTTP) with reading the same bytes from a plain file, both into a
// 256 KiB buffer. Run: go test -run X -bench ArtifactGet -benchtime 5x ./cmd/tenantml/
// (TENANTML_BENCH_MIB sets the size, default 256).
func BenchmarkServe_ArtifactGet(b *testing.B) {
	mib := 256
	if v := os.Getenv("TENANTML_BENCH_MIB"); v != "" {
		if _, err := fmt.Sscan(v, &mib); err != nil {
			b.Fatal(err)
		}
	}
	size := int64(mib) << 20
	dir := b.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "tenantml-bench-"); err == nil {
		dir = d
		b.Cleanup(func() { os.RemoveAll(d) })
	}
	// no_tmp_dir: fileblob otherwise writes to os.TempDir() and renames,
	// which fails across file systems (/tmp → /dev/shm).
	env := map[string]string{"TENANTML_DATA_DIR": filepath.Join(dir, "data"), "TENANTML_LOG_LEVEL": "error",
		"TENANTML_BLOB": "file://" + filepath.ToSlash(filepath.Join(dir, "blobs")) + "?no_tmp_dir=true"}
	for k, v := range rootEnv {
		env[k] = v
	}
	ts := startServerClock(b, env, time.Now)
	plain := filepath.Join(dir, "plain.bin")
	f, err := os.Create(plain)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	do := func(method, path string, body io.Reader, n int64) *http.Response {
		req, err := http.NewRequest(method, ts.URL+path, body)
		if err != nil {
			b.Fatal(err)
		}
		req.ContentLength = n
		req.SetBasicAuth(rootKeyID, rootSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		return resp
	}
	resp := do(http.MethodPost, "/api/v1/tenants", strings.NewReader(`{"id":"acme"}`), -1)
	resp.Body.Close()
	src, err := os.Open(plain)
	if err != nil {
		b.Fatal(err)
	}
	resp = do(http.MethodPut, "/api/v1/tenants/acme/artifacts/bench/v1/model.bin", src, size)
	resp.Body.Close()
	src.Close()
	if resp.StatusCode != http.StatusCreated {
		b.Fatalf("put = %d\n%s", resp.StatusCode, ts.logs.String())
	}
	buf := make([]byte, 256<<10)
	drain := func(r io.Reader) {
		n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{r}, buf)
		if err != nil || n != size {
			b.Fatalf("read %d of %d bytes: %v", n, size, err)
		}
	}
	b.Run("Server", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			resp := do(http.MethodGet, "/api/v1/tenants/acme/artifacts/bench/v1/model.bin", nil, 0)
			drain(resp.Body)
			resp.Body.Close()
		}
	})
	b.Run("PlainFile", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			f, err := os.Open(plain)
			if err != nil {
				b.Fatal(err)
			}
			drain(f)
			f.Close()
		}
	})
}
