package manage_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
	"github.com/tenantml/tenantml/tenant"
)

// actionAuthz allows the X-Test-Caller "tenant:<id>" principals the actions
// listed in the X-Test-Allow header (comma-separated, carried by the test
// principal's test-allow tag) on their own
// tenant's artifacts, and root everything.
type actionAuthz struct{}

func (actionAuthz) Authorize(_ context.Context, req *authz.Request) (authz.Decision, error) {
	c := req.Caller
	if c.Type == authn.Root {
		return authz.Allow("test"), nil
	}
	own := strings.Contains(req.Resource.ARN, ":artifact/"+c.TenantID+"/")
	for _, a := range strings.Split(c.Tags["test-allow"], ",") {
		if own && a == req.Action {
			return authz.Allow("test"), nil
		}
	}
	return authz.Deny("test"), nil
}

// memTenants is a tenant registry of fixed tenants.
type memTenants map[string]tenant.Status

func (m memTenants) FindTenant(_ context.Context, id string) (*tenant.Tenant, error) {
	st, ok := m[id]
	if !ok {
		return nil, tenantml.Errorf(tenantml.ENOTFOUND, "tenant %q not found", id)
	}
	return &tenant.Tenant{ID: id, Status: st}, nil
}

// memAuditor keeps every audit record.
type memAuditor struct {
	mu   sync.Mutex
	recs []api.AuditRecord
}

func (a *memAuditor) Record(_ context.Context, rec *api.AuditRecord) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, *rec)
	return nil
}

func (a *memAuditor) byRequest(id string) (api.AuditRecord, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, r := range a.recs {
		if r.RequestID == id {
			return r, true
		}
	}
	return api.AuditRecord{}, false
}

type artifactFixture struct {
	url   string
	audit *memAuditor
	clock atomic.Int64 // seconds added to the presigner's clock
	creds *keyCreds
}

// keyCreds gives each test caller an access key (its X-Test-Caller name)
// and resolves it again as a presigned URL's issuer: as the caller was
// last authenticated, with the permissions set by allow, or not at all
// once revoked.
type keyCreds struct {
	mu      sync.Mutex
	next    api.Authenticator
	byKey   map[string]*authn.Principal
	revoked map[string]bool
}

func (k *keyCreds) Authenticate(r *http.Request) (*authn.Principal, error) {
	p, err := k.next.Authenticate(r)
	if err != nil {
		return nil, err
	}
	p.AccessKeyID = "AKIA-" + r.Header.Get("X-Test-Caller")
	k.mu.Lock()
	defer k.mu.Unlock()
	cp := *p
	k.byKey[p.AccessKeyID] = &cp
	return p, nil
}

func (k *keyCreds) Credential(_ context.Context, accessKeyID, _ string) (*authn.Credential, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.byKey[accessKeyID]
	if !ok || k.revoked[accessKeyID] {
		return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}
	cp := *p
	return &authn.Credential{AccessKeyID: accessKeyID, Principal: &cp}, nil
}

// allow changes what the caller's key may do from now on.
func (k *keyCreds) allow(caller, actions string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := k.byKey["AKIA-"+caller]
	cp := *p
	cp.Tags = map[string]string{"test-allow": actions}
	k.byKey["AKIA-"+caller] = &cp
}

func (k *keyCreds) revoke(caller string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.revoked["AKIA-"+caller] = true
}

func newArtifactFixture(t *testing.T) *artifactFixture {
	t.Helper()
	ctx := context.Background()
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := keys.New(keys.Config{Store: keystest.NewMemStore(), KEK: kek})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{"acme", "globex", "paused"} {
		if _, err := ks.EnsureKey(ctx, tn, artifact.DefaultKeyAlias, "artifacts"); err != nil {
			t.Fatal(err)
		}
	}
	store := artifact.New(artifact.Config{URL: "file://" + filepath.ToSlash(t.TempDir()), Keys: ks, Index: artifacttest.NewMemIndex()})
	if err := store.Open(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(ctx) })
	f := &artifactFixture{audit: &memAuditor{}, creds: &keyCreds{next: headerAuthn{}, byKey: map[string]*authn.Principal{}, revoked: map[string]bool{}}}
	presigner, err := artifact.NewPresigner(bytes.Repeat([]byte{7}, 32), func() time.Time { return time.Now().Add(time.Duration(f.clock.Load()) * time.Second) })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := api.NewServer(log, nil)
	p := &api.Pipeline{Authn: f.creds, Authz: actionAuthz{}, Audit: f.audit, Log: log, Now: time.Now}
	(&manage.Artifacts{
		Tenants: memTenants{"acme": tenant.Active, "globex": tenant.Active, "paused": tenant.Suspended},
		Store:   store, Presigner: presigner, Pipeline: p, MaxUploadBytes: 1 << 20, Region: "us-east-1", AccountID: testAccount,
		Credentials: f.creds,
	}).Register(srv)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	f.url = hs.URL + "/api/v1/tenants/"
	return f
}

// do sends one request as caller (X-Test-Caller, "" for none) allowed the
// given actions.
func (f *artifactFixture) do(t *testing.T, method, url, caller, allow string, body []byte) (*http.Response, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if caller != "" {
		req.Header.Set("X-Test-Caller", caller)
	}
	req.Header.Set("X-Test-Allow", allow)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func (f *artifactFixture) presign(t *testing.T, object, caller, allow, body string) (int, manage.PresignArtifactOutput, string) {
	t.Helper()
	resp, b := f.do(t, http.MethodPost, f.url+object+"/presign", caller, allow, []byte(body))
	var out manage.PresignArtifactOutput
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, out, string(b)
}

const acmeModel = "acme/artifacts/churn/v1/model.bin"

// TestArtifacts_PresignNeverExceedsCaller: a presign needs
// tenantml:PresignArtifact and the action the URL grants.
func TestArtifacts_PresignNeverExceedsCaller(t *testing.T) {
	f := newArtifactFixture(t)
	tests := []struct {
		name   string
		allow  string
		method string
		want   int
	}{
		{"GetWithGet", "tenantml:PresignArtifact,tenantml:GetArtifact", "GET", 200},
		{"PutWithPut", "tenantml:PresignArtifact,tenantml:PutArtifact", "PUT", 200},
		{"ErrPutWithGetOnly", "tenantml:PresignArtifact,tenantml:GetArtifact", "PUT", 403},
		{"ErrGetWithPutOnly", "tenantml:PresignArtifact,tenantml:PutArtifact", "GET", 403},
		{"ErrPresignOnly", "tenantml:PresignArtifact", "GET", 403},
		{"ErrGetWithoutPresign", "tenantml:GetArtifact", "GET", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := f.presign(t, acmeModel, "tenant:acme", tc.allow, `{"method":"`+tc.method+`","expiresIn":60}`)
			if code != tc.want {
				t.Fatalf("presign = %d %s, want %d", code, body, tc.want)
			}
		})
	}
}

// TestArtifacts_Presigned: presigned URLs authenticate only their method on
// their artifact until they expire, on GET/PUT only, as their issuer (who
// is audited).
func TestArtifacts_Presigned(t *testing.T) {
	f := newArtifactFixture(t)
	data := []byte("model bytes")
	if resp, b := f.do(t, http.MethodPut, f.url+acmeModel, "root", "", data); resp.StatusCode != http.StatusCreated {
		t.Fatalf("put = %d %s", resp.StatusCode, b)
	}
	code, get, body := f.presign(t, acmeModel, "root", "", `{"method":"GET","expiresIn":30}`)
	if code != 200 || get.Method != "GET" || !get.Expires.After(time.Now()) {
		t.Fatalf("presign = %d %s", code, body)
	}

	resp, b := f.do(t, http.MethodGet, get.URL, "", "", nil)
	if resp.StatusCode != 200 || !bytes.Equal(b, data) {
		t.Fatalf("presigned GET = %d %q", resp.StatusCode, b)
	}
	rec, ok := f.audit.byRequest(resp.Header.Get("X-Request-Id"))
	if !ok || rec.Caller == nil || rec.Caller.Type != authn.Root || rec.Action != "tenantml:GetArtifact" ||
		rec.Caller.ARN != "arn:aws:iam::"+testAccount+":root" || !rec.Decision.Allowed() || rec.TenantID != "acme" {
		t.Fatalf("audit record = %+v (caller %+v)", rec, rec.Caller)
	}
	ev := api.EventFor(&rec)
	if ev.UserIdentity.ARN != "arn:aws:iam::"+testAccount+":root" {
		t.Fatalf("audit event identity = %+v", ev.UserIdentity)
	}

	query := get.URL[strings.Index(get.URL, "?"):]
	tests := []struct {
		name, method, url string
		want              int
		contains          string
	}{
		{"ErrDelete", http.MethodDelete, get.URL, 401, "credentials"},
		{"ErrList", http.MethodGet, f.url + "acme/artifacts" + query, 401, "credentials"},
		{"ErrPresignRoute", http.MethodPost, f.url + acmeModel + "/presign" + query, 401, "credentials"},
		{"ErrPut", http.MethodPut, get.URL, 403, "signature does not match"},
		{"ErrOtherObject", http.MethodGet, f.url + "acme/artifacts/churn/v2/model.bin" + query, 403, "signature does not match"},
		{"ErrMixedWithCredentials", http.MethodGet, get.URL, 400, "not both"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			caller := ""
			if tc.name == "ErrMixedWithCredentials" {
				caller = "root"
			}
			var body []byte
			if tc.method == http.MethodPut {
				body = []byte("x")
			}
			req, _ := http.NewRequest(tc.method, tc.url, bytes.NewReader(body))
			if caller != "" {
				req.Header.Set("Authorization", "Bearer x")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want || !strings.Contains(string(b), tc.contains) {
				t.Fatalf("%s = %d %s, want %d %q", tc.method, resp.StatusCode, b, tc.want, tc.contains)
			}
		})
	}

	t.Run("ErrExpired", func(t *testing.T) {
		f.clock.Store(31)
		defer f.clock.Store(0)
		resp, b := f.do(t, http.MethodGet, get.URL, "", "", nil)
		if resp.StatusCode != 403 || !strings.Contains(string(b), "presigned URL expired") {
			t.Fatalf("expired = %d %s", resp.StatusCode, b)
		}
	})
	t.Run("ErrSuspendedTenant", func(t *testing.T) {
		code, _, body := f.presign(t, "paused/artifacts/churn/v1/model.bin", "root", "", `{"method":"GET"}`)
		if code != http.StatusConflict || !strings.Contains(body, "suspended") {
			t.Fatalf("presign on a suspended tenant = %d %s", code, body)
		}
	})
}

// TestArtifacts_PresignedReauthorized: a presigned URL grants only what
// its issuer holds when it is used: it stops working when the issuer loses
// the permission or its key, and works again only for a fresh grant.
func TestArtifacts_PresignedReauthorized(t *testing.T) {
	f := newArtifactFixture(t)
	data := []byte("model bytes")
	if resp, b := f.do(t, http.MethodPut, f.url+acmeModel, "root", "", data); resp.StatusCode != http.StatusCreated {
		t.Fatalf("put = %d %s", resp.StatusCode, b)
	}
	code, get, body := f.presign(t, acmeModel, "tenant:acme", "tenantml:PresignArtifact,tenantml:GetArtifact", `{"method":"GET","expiresIn":60}`)
	if code != 200 {
		t.Fatalf("presign = %d %s", code, body)
	}
	if !strings.Contains(get.URL, artifact.QueryCredential+"=AKIA-tenant") {
		t.Fatalf("the URL names no issuer: %s", get.URL)
	}
	use := func(want int, contains string) {
		t.Helper()
		resp, b := f.do(t, http.MethodGet, get.URL, "", "", nil)
		if resp.StatusCode != want || !strings.Contains(string(b), contains) {
			t.Fatalf("presigned GET = %d %s, want %d %q", resp.StatusCode, b, want, contains)
		}
	}
	use(200, "model bytes")
	f.creds.allow("tenant:acme", "tenantml:PresignArtifact") // GetArtifact detached
	use(403, "")
	f.creds.allow("tenant:acme", "tenantml:GetArtifact")
	use(200, "model bytes")
	f.creds.revoke("tenant:acme") // the key deactivated
	use(403, "no longer valid")
}

// TestArtifacts_TenantState: a missing tenant is 404 and a suspended one
// 409 for every operation; another tenant's caller is refused by the
// authorizer before either is looked up.
func TestArtifacts_TenantState(t *testing.T) {
	f := newArtifactFixture(t)
	all := "tenantml:PutArtifact,tenantml:GetArtifact,tenantml:ListArtifacts,tenantml:DeleteArtifact"
	for _, c := range []struct {
		name, method, path, caller string
		want                       int
	}{
		{"MissingPut", http.MethodPut, "nobody/artifacts/m/v/f", "root", 404},
		{"MissingGet", http.MethodGet, "nobody/artifacts/m/v/f", "root", 404},
		{"MissingList", http.MethodGet, "nobody/artifacts", "root", 404},
		{"SuspendedPut", http.MethodPut, "paused/artifacts/m/v/f", "root", 409},
		{"SuspendedGet", http.MethodGet, "paused/artifacts/m/v/f", "root", 409},
		{"SuspendedHead", http.MethodHead, "paused/artifacts/m/v/f", "root", 409},
		{"SuspendedList", http.MethodGet, "paused/artifacts", "root", 409},
		{"SuspendedDelete", http.MethodDelete, "paused/artifacts/m/v/f", "root", 409},
		{"OtherTenantMissing", http.MethodGet, "nobody/artifacts/m/v/f", "tenant:acme", 403},
		{"OtherTenantSuspended", http.MethodGet, "paused/artifacts/m/v/f", "tenant:acme", 403},
		{"OtherTenantList", http.MethodGet, "globex/artifacts", "tenant:acme", 403},
		{"OwnTenantMissingArtifact", http.MethodGet, "acme/artifacts/m/v/f", "tenant:acme", 404},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.method == http.MethodPut {
				body = []byte("x")
			}
			resp, b := f.do(t, c.method, f.url+c.path, c.caller, all, body)
			if resp.StatusCode != c.want {
				t.Fatalf("%s %s = %d %s, want %d", c.method, c.path, resp.StatusCode, b, c.want)
			}
		})
	}
}
