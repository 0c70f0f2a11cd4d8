package sts_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	apists "github.com/tenantml/tenantml/api/sts"
	"github.com/tenantml/tenantml/authn/oidc/oidctest"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/sts"
)

// recordingAudit keeps the pipeline's audit records.
type recordingAudit struct {
	mu   sync.Mutex
	recs []api.AuditRecord
}

func (a *recordingAudit) Record(_ context.Context, rec *api.AuditRecord) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.recs = append(a.recs, *rec)
	return nil
}

type webFixture struct {
	url      string
	idp      *oidctest.Issuer
	provider string // issuer without scheme
	issuer   *sts.Issuer
	audit    *recordingAudit
	now      time.Time
}

// newWebFixture serves AssumeRoleWithWebIdentity for one TLS issuer with the
// tenant_id → TenantID mapping and a role "web" trusting it on aud and the
// TenantID tag.
func newWebFixture(t testing.TB) *webFixture {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &webFixture{idp: oidctest.NewIssuer(t, true), now: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC), audit: &recordingAudit{}}
	f.provider = strings.TrimPrefix(f.idp.URL, "https://")
	p := &identity.OIDCProvider{URL: f.idp.URL, ClientIDs: []string{"app"}, ClaimTags: map[string]string{"tenant_id": "TenantID"}}
	if err := db.Identity().CreateOpenIDConnectProvider(ctx, acct, p); err != nil {
		t.Fatal(err)
	}
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + p.ARN + `"},
		"Action":["sts:AssumeRoleWithWebIdentity","sts:TagSession"],
		"Condition":{"StringEquals":{"` + f.provider + `:aud":"app","aws:RequestTag/TenantID":"acme"},"StringLike":{"` + f.provider + `:sub":"user-*"}}}]}`
	notag := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"` + p.ARN + `"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	for _, r := range []*identity.Role{{Name: "web", AssumeRolePolicyDocument: trust}, {Name: "notag", AssumeRolePolicyDocument: notag}} {
		if err := db.Identity().CreateRole(ctx, acct, r); err != nil {
			t.Fatal(err)
		}
	}
	ring, err := sts.NewKeyRing(1, map[uint32][]byte{1: bytes.Repeat([]byte{7}, sts.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return f.now }
	f.issuer = &sts.Issuer{Keys: ring, Now: clock}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	engine := &authz.Engine{AccountID: acct, Identity: db.Identity(), Now: clock}
	pl := &api.Pipeline{Authn: headerAuthn{}, Authz: engine, Audit: f.audit, Log: log, Now: clock}
	protocol := apists.Protocol()
	router := api.NewAWSRouter(pl, protocol)
	(&apists.WebIdentity{AccountID: acct, Identity: db.Identity(), Policies: engine, Issuer: f.issuer, Pipeline: pl, Protocol: protocol,
		HTTPClient: f.idp.Client(), Now: clock}).Register(router)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *webFixture) token(t testing.TB, claims map[string]any) string {
	t.Helper()
	c := map[string]any{"iss": f.idp.URL, "sub": "user-1", "aud": "app", "tenant_id": "acme",
		"iat": f.now.Add(-time.Minute).Unix(), "exp": f.now.Add(time.Hour).Unix()}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return f.idp.Sign(t, c)
}

func (f *webFixture) call(t testing.TB, params ...string) (int, string) {
	t.Helper()
	form := url.Values{"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"}}
	for i := 0; i+1 < len(params); i += 2 {
		form.Set(params[i], params[i+1])
	}
	resp, err := http.Post(f.url+"/", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

type webIdentityResponse struct {
	Result apists.AssumeRoleWithWebIdentityResult `xml:"AssumeRoleWithWebIdentityResult"`
}

func TestWebIdentity_Register(t *testing.T) {
	f := newWebFixture(t)
	web := "arn:aws:iam::" + acct + ":role/web"
	other := oidctest.NewIssuer(t, true)
	tests := []struct {
		name   string
		params []string
		status int
		code   string
	}{
		{"OK", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", f.token(t, nil)}, 200, ""},
		{"OKNoTagsWithoutTagSession", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/notag", "RoleSessionName", "s1", "WebIdentityToken", f.token(t, map[string]any{"tenant_id": nil})}, 200, ""},
		{"ErrTagsWithoutTagSession", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/notag", "RoleSessionName", "s1", "WebIdentityToken", f.token(t, nil)}, 403, "AccessDenied"},
		{"ErrTenantNotAllowed", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", f.token(t, map[string]any{"tenant_id": "globex"})}, 403, "AccessDenied"},
		{"ErrSubjectNotAllowed", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", f.token(t, map[string]any{"sub": "robot-1"})}, 403, "AccessDenied"},
		{"ErrWrongAudience", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", f.token(t, map[string]any{"aud": "other"})}, 400, "InvalidIdentityToken"},
		{"ErrExpired", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", f.token(t, map[string]any{"exp": f.now.Add(-time.Minute).Unix()})}, 400, "ExpiredTokenException"},
		{"ErrUnknownIssuer", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", other.Sign(t, map[string]any{"iss": other.URL, "sub": "user-1", "aud": "app", "exp": f.now.Add(time.Hour).Unix()})}, 400, "InvalidIdentityToken"},
		{"ErrForgedSignature", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", other.Sign(t, map[string]any{"iss": f.idp.URL, "sub": "user-1", "aud": "app", "tenant_id": "acme", "exp": f.now.Add(time.Hour).Unix()})}, 400, "InvalidIdentityToken"},
		{"ErrNotAJWT", []string{"RoleArn", web, "RoleSessionName", "s1", "WebIdentityToken", "a.b.c"}, 400, "InvalidIdentityToken"},
		{"ErrMissingToken", []string{"RoleArn", web, "RoleSessionName", "s1"}, 400, "ValidationError"},
		{"ErrNoSuchRole", []string{"RoleArn", "arn:aws:iam::" + acct + ":role/ghost", "RoleSessionName", "s1", "WebIdentityToken", f.token(t, nil)}, 403, "AccessDenied"},
		{"ErrMissingRoleArn", []string{"RoleSessionName", "s1", "WebIdentityToken", f.token(t, nil)}, 400, "ValidationError"},
		{"ErrBadSessionName", []string{"RoleArn", web, "RoleSessionName", "bad name!", "WebIdentityToken", f.token(t, nil)}, 400, "ValidationError"},
		{"ErrDurationTooLong", []string{"RoleArn", web, "RoleSessionName", "s1", "DurationSeconds", "86400", "WebIdentityToken", f.token(t, nil)}, 400, "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := f.call(t, tt.params...)
			if status != tt.status || (tt.code != "" && !strings.Contains(body, "<Code>"+tt.code+"</Code>")) {
				t.Fatalf("status %d, body %s; want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
}

func TestWebIdentity_Credentials(t *testing.T) {
	f := newWebFixture(t)
	tok := f.token(t, nil)
	status, body := f.call(t, "RoleArn", "arn:aws:iam::"+acct+":role/web", "RoleSessionName", "s1", "WebIdentityToken", tok)
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	var resp webIdentityResponse
	if err := xml.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatal(err)
	}
	r := resp.Result
	if r.SubjectFromWebIdentityToken != "user-1" || r.Audience != "app" || r.Provider != "arn:aws:iam::"+acct+":oidc-provider/"+f.provider ||
		r.AssumedRoleUser.Arn != "arn:aws:sts::"+acct+":assumed-role/web/s1" || !strings.HasPrefix(r.Credentials.AccessKeyID, "ASIA") {
		t.Fatalf("result = %+v", r)
	}
	opened, err := f.issuer.Open(r.Credentials.SessionToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := opened.Session.Tags["TenantID"]; got != "acme" {
		t.Errorf("session tag TenantID = %q, want acme (from the tenant_id claim)", got)
	}
	if opened.Session.FederatedProvider != f.provider {
		t.Errorf("FederatedProvider = %q, want %q", opened.Session.FederatedProvider, f.provider)
	}
	if want := f.now.Add(time.Hour); !opened.Session.Expiration.Equal(want) {
		t.Errorf("expiration = %s, want %s (the role's default 1 hour)", opened.Session.Expiration, want)
	}

	t.Run("KeysCached", func(t *testing.T) {
		before := f.idp.JWKSFetches()
		if status, body := f.call(t, "RoleArn", "arn:aws:iam::"+acct+":role/web", "RoleSessionName", "s2", "WebIdentityToken", f.token(t, nil)); status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		if got := f.idp.JWKSFetches(); got != before {
			t.Errorf("JWKS fetched %d more times, want the cached keys", got-before)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		f.audit.mu.Lock()
		defer f.audit.mu.Unlock()
		if len(f.audit.recs) == 0 {
			t.Fatal("no audit record")
		}
		rec := f.audit.recs[0]
		if rec.Action != "sts:AssumeRoleWithWebIdentity" || rec.Caller == nil || rec.Caller.Type != apists.WebIdentityUser ||
			rec.Caller.UserID != f.provider+":app:user-1" || !rec.Decision.Allowed() || rec.Resource != "arn:aws:iam::"+acct+":role/web" {
			t.Fatalf("audit record = %+v (caller %+v)", rec, rec.Caller)
		}
		if strings.Contains(rec.Decision.Reason, tok) {
			t.Error("audit record holds the token")
		}
	})
}

// FuzzWebIdentity_Token sends arbitrary tokens and session names: each must
// be answered with a 2xx or a 4xx AWS error, never a 5xx.
func FuzzWebIdentity_Token(f *testing.F) {
	fx := newWebFixture(f)
	f.Add(fx.token(f, nil), "s1")
	f.Add("a.b.c", "s1")
	f.Add("eyJhbGciOiJub25lIn0.eyJpc3MiOiJodHRwczovL3gifQ.", "s1")
	f.Add("..", "bad name")
	f.Fuzz(func(t *testing.T, token, name string) {
		status, body := fx.call(t, "RoleArn", "arn:aws:iam::"+acct+":role/web", "RoleSessionName", name, "WebIdentityToken", token)
		if status >= 500 || (status >= 400 && !strings.Contains(body, "<Code>")) {
			t.Fatalf("status %d: %s", status, body)
		}
	})
}

// BenchmarkWebIdentity_Assume measures one AssumeRoleWithWebIdentity call
// over loopback HTTP with cached provider keys: token parse, provider
// lookup, RS256 verification, trust policy, session sealing and audit.
func BenchmarkWebIdentity_Assume(b *testing.B) {
	fx := newWebFixture(b)
	tok := fx.token(b, nil)
	params := []string{"RoleArn", "arn:aws:iam::" + acct + ":role/web", "RoleSessionName", "s1", "WebIdentityToken", tok}
	if status, body := fx.call(b, params...); status != 200 {
		b.Fatalf("status %d: %s", status, body)
	}
	for b.Loop() {
		if status, _ := fx.call(b, params...); status != 200 {
			b.Fatalf("status %d", status)
		}
	}
}
