package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/gateway"
	"github.com/tenantml/tenantml/authn/oidc"
	"github.com/tenantml/tenantml/authn/oidc/oidctest"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/tenant"
)

const (
	acct   = "111122223333"
	region = "us-east-1"
	trust  = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`
)

// echoData serves fixed live endpoints and records what reached them.
type echoData struct {
	mu      sync.Mutex
	eps     map[string]*serving.LiveEndpoint
	invoked []string
}

func (d *echoData) Endpoint(_, name string) (*serving.LiveEndpoint, bool) {
	ep, ok := d.eps[name]
	return ep, ok
}

func (d *echoData) ResolveModel(_ context.Context, _ *serving.LiveEndpoint, target string) (string, bool, error) {
	owner, ok := strings.CutSuffix(target, ".tar.gz")
	if owner == "umbrella" {
		owner = "globex" // globex wrote an object at umbrella's key
	}
	return owner, ok, nil
}

func (d *echoData) Invoke(_ context.Context, ep *serving.LiveEndpoint, in *serving.InvokeInput) (*serving.InvokeOutput, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.invoked = append(d.invoked, ep.Name+"|"+in.TargetModel)
	return &serving.InvokeOutput{Variant: "AllTraffic", ContentType: "text/csv", Body: []byte(ep.Name + "|" + in.TargetModel)}, nil
}

type records struct {
	mu  sync.Mutex
	all []api.AuditRecord
}

func (r *records) Record(_ context.Context, rec *api.AuditRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, *rec)
	return nil
}

// TestGateway checks that a tenant's token reaches that tenant's model in
// its isolation model and nothing else, whatever the request says, and
// that forged, expired, wrong-audience and tenant-less tokens are refused
// and audited.
func TestGateway(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	idp := oidctest.NewIssuer(t, true)
	now := time.Now()
	prov := &identity.OIDCProvider{URL: idp.URL, ClientIDs: []string{"app"}, ClaimTags: map[string]string{"tenant_id": "TenantID"}}
	if err := db.Identity().CreateOpenIDConnectProvider(ctx, acct, prov); err != nil {
		t.Fatal(err)
	}
	tenants := map[string]tenant.Isolation{"acme": tenant.Silo, "globex": tenant.Pool, "initech": tenant.Bridge, "hooli": tenant.Silo, "umbrella": tenant.Pool}
	for id, iso := range tenants {
		if err := db.Tenants().CreateTenant(ctx, &tenant.Tenant{ID: id, Isolation: iso, Tier: "standard", HomeRegion: region}); err != nil {
			t.Fatal(err)
		}
	}
	role := func(name, tenantID, policy string) {
		r := &identity.Role{Name: name, AssumeRolePolicyDocument: trust}
		if tenantID != "" {
			r.Tags = map[string]string{"TenantID": tenantID}
		}
		if err := db.Identity().CreateRole(ctx, acct, r); err != nil {
			t.Fatal(err)
		}
		if err := db.Identity().PutInlinePolicy(ctx, acct, identity.Ref{Kind: identity.KindRole, Name: name}, "invoke", policy); err != nil {
			t.Fatal(err)
		}
	}
	role("acme", "acme", serving.InvokePolicy(tenant.Silo, region, acct, "acme"))
	role(serving.PoolRoleName, "", serving.InvokePolicy(tenant.Pool, region, acct, ""))
	role(serving.BridgeRoleName, "", serving.InvokePolicy(tenant.Bridge, region, acct, ""))
	// hooli is a silo tenant whose role was (wrongly) named after it but
	// belongs to acme: the invariant refuses the session.
	role("hooli", "acme", serving.InvokePolicy(tenant.Silo, region, acct, "hooli"))
	data := &echoData{eps: map[string]*serving.LiveEndpoint{}}
	for _, e := range []struct {
		name, tenant string
		multi        bool
	}{{"acme", "acme", false}, {"initech", "initech", false}, {serving.PoolEndpointName, "", true}, {"hooli", "hooli", false}} {
		data.eps[e.name] = &serving.LiveEndpoint{AccountID: acct, Name: e.name, ARN: serving.ARN(region, acct, serving.KindEndpoint, e.name), Tenant: e.tenant, Multi: e.multi}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	audit := &records{}
	p := &api.Pipeline{Authz: &authz.Engine{AccountID: acct, Identity: db.Identity()}, Audit: audit, Log: log, Now: time.Now}
	srv := api.NewServer(log, nil)
	(&gateway.Gateway{IssuerURL: idp.URL, AccountID: acct, Region: region, Identity: db.Identity(), Tenants: db.Tenants(), Data: data, Pipeline: p,
		Verifiers: &oidc.Cache{Options: oidc.Options{HTTPClient: idp.Client()}}}).Register(srv)
	token := func(claims map[string]any) string {
		c := map[string]any{"iss": idp.URL, "sub": "user-1", "aud": "app", "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range claims {
			if v == nil {
				delete(c, k)
				continue
			}
			c[k] = v
		}
		return idp.Sign(t, c)
	}
	call := func(auth string, hdr ...string) (int, string) {
		r := httptest.NewRequest("POST", gateway.Path, strings.NewReader("1,2,3"))
		r.Header.Set("Content-Type", "text/csv")
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	other := oidctest.NewIssuer(t, true)
	tests := []struct {
		name   string
		auth   string
		hdr    []string
		status int
		body   string
	}{
		{"SiloTenant", "Bearer " + token(map[string]any{"tenant_id": "acme"}), nil, 200, "acme|"},
		{"PoolTenant", "Bearer " + token(map[string]any{"tenant_id": "globex"}), nil, 200, serving.PoolEndpointName + "|globex.tar.gz"},
		{"BridgeTenant", "Bearer " + token(map[string]any{"tenant_id": "initech"}), nil, 200, "initech|"},
		// The request cannot choose another model or endpoint.
		{"RequestNamesOtherModel", "Bearer " + token(map[string]any{"tenant_id": "globex"}), []string{"X-Amzn-SageMaker-Target-Model", "acme.tar.gz", "X-Amzn-SageMaker-Endpoint", "acme"}, 200, serving.PoolEndpointName + "|globex.tar.gz"},
		{"ErrRoleOfAnotherTenant", "Bearer " + token(map[string]any{"tenant_id": "hooli"}), nil, 403, "AccessDenied"},
		{"ErrNoTenantClaim", "Bearer " + token(nil), nil, 403, "AccessDeniedException"},
		{"ErrUnknownTenant", "Bearer " + token(map[string]any{"tenant_id": "wayne"}), nil, 403, "AccessDeniedException"},
		// The object at a pool tenant's key is another tenant's: not its
		// model, whatever the invoke policy says.
		{"ErrPoolObjectOfAnotherTenant", "Bearer " + token(map[string]any{"tenant_id": "umbrella"}), nil, 400, "ValidationError"},
		{"ErrInvalidTenant", "Bearer " + token(map[string]any{"tenant_id": "ACME/../globex"}), nil, 403, "AccessDeniedException"},
		{"ErrExpired", "Bearer " + token(map[string]any{"tenant_id": "acme", "exp": now.Add(-time.Hour).Unix()}), nil, 401, "UnauthorizedException"},
		{"ErrWrongAudience", "Bearer " + token(map[string]any{"tenant_id": "acme", "aud": "other-app"}), nil, 401, "UnauthorizedException"},
		{"ErrForgedIssuerKey", "Bearer " + other.Sign(t, map[string]any{"iss": idp.URL, "sub": "u", "aud": "app", "tenant_id": "acme", "exp": now.Add(time.Hour).Unix()}), nil, 401, "UnauthorizedException"},
		{"ErrNotAJWT", "Bearer not-a-token", nil, 401, "UnauthorizedException"},
		{"ErrNoToken", "", nil, 401, "UnauthorizedException"},
		{"ErrSigV4Instead", "AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/sagemaker/aws4_request", nil, 401, "UnauthorizedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			audit.mu.Lock()
			before := len(audit.all)
			audit.mu.Unlock()
			status, body := call(tt.auth, tt.hdr...)
			if status != tt.status || !strings.Contains(body, tt.body) {
				t.Fatalf("= %d %s, want %d containing %q", status, body, tt.status, tt.body)
			}
			audit.mu.Lock()
			defer audit.mu.Unlock()
			if len(audit.all) != before+1 {
				t.Fatalf("%d audit records, want 1", len(audit.all)-before)
			}
			rec := audit.all[len(audit.all)-1]
			// Another tenant's object is answered as a missing model:
			// the policy allowed, the attempt is flagged cross-tenant.
			hidden := tt.name == "ErrPoolObjectOfAnotherTenant"
			if rec.Action != "sagemaker:InvokeEndpoint" || (!hidden && (status == 200) != rec.Decision.Allowed()) || hidden != rec.CrossTenant {
				t.Fatalf("audit %+v", rec)
			}
			if status == 200 && rec.TenantID == "" {
				t.Fatalf("audit record without the tenant: %+v", rec)
			}
		})
	}
}
