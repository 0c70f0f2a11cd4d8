package main

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tenantml/tenantml/api/gateway"
	"github.com/tenantml/tenantml/authn/oidc/oidctest"
	"github.com/tenantml/tenantml/serving"
)

// TestServe_TenantGateway drives the tenant gateway of a real server
// (--gateway-issuer) with tokens of a loopback OpenID Connect issuer that
// the operator registered through the IAM API with the tenant_id →
// TenantID claim mapping: a silo, a pool and a bridge tenant's token each
// reach that tenant's own model, whatever the request names; forged,
// expired, wrong-audience, algorithm-confused, tenant-less, unknown- and
// malformed-tenant tokens and SigV4 credentials are refused and audited,
// and none reaches a model.
func TestServe_TenantGateway(t *testing.T) {
	is := oidctest.NewIssuer(t, true)
	cert := trustIssuer(t, is)
	m := models(t)
	env := servingEnv(t)
	env["TENANTML_GATEWAY_ISSUER"] = is.URL
	ts := startServer(t, env)
	iamRoot(t, ts, "CreateOpenIDConnectProvider", "Url", is.URL, "ClientIDList.member.1", "tenant-app", "ThumbprintList.member.1", sha1Hex(cert.Raw),
		"Tags.member.1.Key", "tenantml:claim-tag:tenant_id", "Tags.member.1.Value", "TenantID")
	tenants := []struct{ id, iso string }{{"acme", "silo"}, {"globex", "pool"}, {"initech", "bridge"}}
	for i, tn := range tenants {
		createTenant(t, ts, tn.id, tn.iso)
		deployModel(t, ts, tn.id, m.model(t, i))
	}

	now := time.Now()
	claims := func(more map[string]any) map[string]any {
		c := map[string]any{"iss": is.URL, "sub": "user-1", "aud": "tenant-app", "iat": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()}
		for k, v := range more {
			if v == nil {
				delete(c, k)
				continue
			}
			c[k] = v
		}
		return c
	}
	token := func(more map[string]any) string { return is.Sign(t, claims(more)) }
	call := func(t *testing.T, auth string, header ...string) reply {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, ts.URL+gateway.Path+"?endpoint=acme&TargetModel=acme.tar.gz", bytes.NewReader(m.rows))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/csv")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		return do(t, req)
	}

	for i, tn := range tenants {
		t.Run("Own/"+tn.id, func(t *testing.T) {
			r := call(t, "Bearer "+token(map[string]any{"tenant_id": tn.id}))
			if r.status != http.StatusOK || m.which(r.body) != i {
				t.Fatalf("= %d %s, want %s's model", r.status, r.body, tn.id)
			}
			ev := eventOfRequest(t, ts, r.requestID)
			if ev.TenantID != tn.id || ev.Decision.Effect != "Allowed" {
				t.Errorf("audited as tenant %q, %s", ev.TenantID, ev.Decision.Effect)
			}
		})
	}
	t.Run("RequestCannotChooseAnotherModel", func(t *testing.T) {
		for _, c := range []struct {
			tenant string
			want   int
			header []string
		}{
			{"globex", 1, []string{"X-Amzn-SageMaker-Target-Model", "acme.tar.gz", "X-Amzn-SageMaker-Endpoint", "acme"}},
			{"globex", 1, []string{"X-Amzn-SageMaker-Target-Model", "../initech/model.tar.gz"}},
			{"acme", 0, []string{"X-Amzn-SageMaker-Target-Model", "globex.tar.gz", "X-Amzn-SageMaker-Target-Variant", "AllTraffic"}},
			{"initech", 2, []string{"X-Amzn-SageMaker-Target-Model", "initech.tar.gz"}},
		} {
			r := call(t, "Bearer "+token(map[string]any{"tenant_id": c.tenant}), c.header...)
			if r.status != http.StatusOK || m.which(r.body) != c.want {
				t.Errorf("%s's token naming %v: %d %s, want %s's own model", c.tenant, c.header, r.status, r.body, c.tenant)
			}
		}
	})

	other := oidctest.NewIssuer(t, true)
	signing := is.SigningKey()
	pub, err := signing.Public().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	broker := sessionPrincipal("acme", brokerSession(t, ts, "arn:aws:iam::"+ts.cfg.AccountID+":role/acme", "acme"))
	refused := []struct {
		name   string
		auth   string
		status int
		code   string
	}{
		{"Forged", "Bearer " + other.Sign(t, claims(map[string]any{"tenant_id": "acme"})), 401, "UnauthorizedException"},
		{"AlgorithmConfusion", "Bearer " + oidctest.SignWith(t, pub, jose.HS256, claims(map[string]any{"tenant_id": "acme"})), 401, "UnauthorizedException"},
		{"Expired", "Bearer " + token(map[string]any{"tenant_id": "acme", "exp": now.Add(-time.Minute).Unix(), "iat": now.Add(-time.Hour).Unix()}), 401, "UnauthorizedException"},
		{"NotYetValid", "Bearer " + token(map[string]any{"tenant_id": "acme", "nbf": now.Add(time.Hour).Unix(), "iat": now.Add(time.Hour).Unix(), "exp": now.Add(2 * time.Hour).Unix()}), 401, "UnauthorizedException"},
		{"WrongAudience", "Bearer " + token(map[string]any{"tenant_id": "acme", "aud": "another-app"}), 401, "UnauthorizedException"},
		{"WrongIssuer", "Bearer " + token(map[string]any{"tenant_id": "acme", "iss": other.URL}), 401, "UnauthorizedException"},
		{"NoTenant", "Bearer " + token(map[string]any{"tenant_id": nil}), 403, "AccessDeniedException"},
		{"UnknownTenant", "Bearer " + token(map[string]any{"tenant_id": "umbrella"}), 403, "AccessDeniedException"},
		{"TenantNotOnboarded", "Bearer " + token(map[string]any{"tenant_id": "hooli"}), 403, "AccessDeniedException"},
		{"TenantInAnotherCase", "Bearer " + token(map[string]any{"tenant_id": "ACME"}), 403, "AccessDeniedException"},
		{"TenantPath", "Bearer " + token(map[string]any{"tenant_id": "acme/../globex"}), 403, "AccessDeniedException"},
		{"NotAJWT", "Bearer not.a.jwt", 401, "UnauthorizedException"},
		{"NoToken", "", 401, "UnauthorizedException"},
	}
	createTenant(t, ts, "hooli", "silo") // a tenant with no model deployed
	t.Run("Refused", func(t *testing.T) {
		for _, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				r := call(t, c.auth)
				if r.status != c.status || errorCode(r.body) != c.code {
					t.Fatalf("= %d %s, want %d %s", r.status, r.body, c.status, c.code)
				}
				if ev := eventOfRequest(t, ts, r.requestID); ev.Decision.Effect == "Allowed" || ev.ErrorCode != c.code {
					t.Errorf("audited as %s %s", ev.Decision.Effect, ev.ErrorCode)
				}
			})
		}
		t.Run("SigV4Instead", func(t *testing.T) {
			req := invokeRequest("acme", "", m.rows)
			req.path = gateway.Path
			r := send(t, ts, broker, req)
			if r.status != http.StatusUnauthorized || errorCode(r.body) != "UnauthorizedException" {
				t.Fatalf("acme's SigV4 session on the gateway: %d %s", r.status, r.body)
			}
		})
	})

	// Only the tenants' own tokens reached a model: the pool loaded
	// globex's model, and nothing else.
	var loads []string
	for _, ev := range allEvents(t, ts) {
		if service(ev, serving.EventModelLoaded, "") || service(ev, serving.EventModelLoadFailed, "") {
			loads = append(loads, ev.TenantID+" "+ev.AdditionalEventData["targetModel"])
		}
	}
	if len(loads) != 1 || loads[0] != "globex globex.tar.gz" {
		t.Errorf("pool loads %v, want only globex's own", loads)
	}
}
