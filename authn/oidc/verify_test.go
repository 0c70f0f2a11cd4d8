package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/oidc"
	"github.com/tenantml/tenantml/authn/oidc/oidctest"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

const clientID = "tenantml-console"

func newVerifier(t *testing.T, is *oidctest.Issuer, mutate func(*oidc.ProviderConfig)) *oidc.Verifier {
	t.Helper()
	cfg := oidc.ProviderConfig{
		IssuerURL:           is.URL,
		ClientIDs:           []string{clientID, "other-app"},
		ClaimTags:           map[string]string{"tenant_id": "TenantID"},
		TransitiveClaimTags: []string{"TenantID"},
	}
	if mutate != nil {
		mutate(&cfg)
	}
	v, err := oidc.NewVerifier(cfg, oidc.Options{HTTPClient: is.Client(), Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func claims(is *oidctest.Issuer, extra map[string]any) map[string]any {
	c := map[string]any{
		"iss":       is.URL,
		"sub":       "user-42",
		"aud":       clientID,
		"iat":       t0.Add(-time.Minute).Unix(),
		"exp":       t0.Add(time.Hour).Unix(),
		"amr":       []string{"pwd", "mfa"},
		"tenant_id": "acme",
	}
	maps.Copy(c, extra)
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		}
	}
	return c
}

func algNone(t *testing.T, c map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(c)
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}

func TestVerifier_Verify(t *testing.T) {
	is := oidctest.NewIssuer(t, false)
	v := newVerifier(t, is, nil)
	provider := strings.TrimPrefix(is.URL, "http://")
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signing := is.SigningKey()
	pubDER, _ := x509.MarshalPKIXPublicKey(signing.Public().Key)

	tests := []struct {
		name  string
		token func(t *testing.T) string
		want  string // error code
		check func(t *testing.T, id *oidc.Identity)
	}{
		{"OK", func(t *testing.T) string { return is.Sign(t, claims(is, nil)) }, "", func(t *testing.T, id *oidc.Identity) {
			want := map[string][]string{provider + ":aud": {clientID}, provider + ":sub": {"user-42"}, provider + ":amr": {"pwd", "mfa"}}
			if !maps.EqualFunc(id.Conditions, want, slices.Equal) {
				t.Fatalf("Conditions = %v, want %v", id.Conditions, want)
			}
			if id.Provider != provider || id.Subject != "user-42" || id.Audience != clientID || !id.Expiry.Equal(t0.Add(time.Hour)) {
				t.Fatalf("identity = %+v", id)
			}
			if !maps.Equal(id.Tags, map[string]string{"TenantID": "acme"}) || !slices.Equal(id.TransitiveTagKeys, []string{"TenantID"}) {
				t.Fatalf("tags = %v transitive %v", id.Tags, id.TransitiveTagKeys)
			}
		}},
		{"OKAudienceList", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"aud": []string{"someone-else", "other-app"}}))
		}, "", func(t *testing.T, id *oidc.Identity) {
			if id.Audience != "other-app" {
				t.Fatalf("Audience = %q", id.Audience)
			}
		}},
		{"OKAzp", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"aud": []string{"api-1", "api-2"}, "azp": clientID}))
		}, "", func(t *testing.T, id *oidc.Identity) {
			if got := id.Conditions[provider+":aud"]; !slices.Equal(got, []string{clientID}) {
				t.Fatalf("aud condition = %v, want the azp", got)
			}
			if got := id.Conditions[provider+":oaud"]; !slices.Equal(got, []string{"api-1", "api-2"}) {
				t.Fatalf("oaud condition = %v", got)
			}
		}},
		{"OKAWSTagsClaim", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"tenant_id": nil, oidc.TagsClaim: map[string]any{
				"principal_tags":      map[string][]string{"TenantID": {"globex"}, "Team": {"ml"}},
				"transitive_tag_keys": []string{"Team"},
			}}))
		}, "", func(t *testing.T, id *oidc.Identity) {
			if !maps.Equal(id.Tags, map[string]string{"TenantID": "globex", "Team": "ml"}) || !slices.Equal(id.TransitiveTagKeys, []string{"Team"}) {
				t.Fatalf("tags = %v transitive %v", id.Tags, id.TransitiveTagKeys)
			}
		}},
		{"OKTagsAgree", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{oidc.TagsClaim: map[string]any{
				"principal_tags": map[string][]string{"TenantID": {"acme"}},
			}}))
		}, "", nil},
		{"OKNumericClaim", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"tenant_id": 42}))
		}, "", func(t *testing.T, id *oidc.Identity) {
			if id.Tags["TenantID"] != "42" {
				t.Fatalf("TenantID = %q", id.Tags["TenantID"])
			}
		}},
		{"OKNoMappedClaim", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"tenant_id": nil, "amr": nil}))
		}, "", func(t *testing.T, id *oidc.Identity) {
			if id.Tags != nil || id.Conditions[provider+":amr"] != nil {
				t.Fatalf("tags = %v conditions = %v", id.Tags, id.Conditions)
			}
		}},
		{"ErrExpired", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"exp": t0.Add(-time.Minute).Unix()}))
		}, authn.CodeExpiredToken, nil},
		{"ErrWrongAudience", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"aud": "attacker-app"}))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrAzpNotAllowed", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"aud": clientID, "azp": "attacker-app"}))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrWrongIssuer", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"iss": "https://evil.example.com"}))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrTamperedSignature", func(t *testing.T) string {
			tok := is.Sign(t, claims(is, nil))
			i := strings.LastIndex(tok, ".") + 5
			b := []byte(tok)
			b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
			return string(b)
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrTamperedPayload", func(t *testing.T) string {
			parts := strings.Split(is.Sign(t, claims(is, nil)), ".")
			forged, _ := json.Marshal(claims(is, map[string]any{"tenant_id": "globex"}))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrAlgNone", func(t *testing.T) string { return algNone(t, claims(is, nil)) }, authn.CodeInvalidIdentityToken, nil},
		{"ErrHMACWithPublicKey", func(t *testing.T) string {
			return oidctest.SignWith(t, pubDER, jose.HS256, claims(is, nil))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrUnknownKey", func(t *testing.T) string {
			return oidctest.SignWith(t, jose.JSONWebKey{Key: stranger, KeyID: "key-1"}, jose.RS256, claims(is, nil))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrGarbage", func(t *testing.T) string { return "not.a.jwt" }, authn.CodeInvalidIdentityToken, nil},
		{"ErrEmpty", func(t *testing.T) string { return "" }, authn.CodeInvalidIdentityToken, nil},
		{"ErrTooLong", func(t *testing.T) string { return strings.Repeat("a", oidc.MaxTokenLen+1) }, authn.CodeInvalidIdentityToken, nil},
		{"ErrNoSubject", func(t *testing.T) string { return is.Sign(t, claims(is, map[string]any{"sub": nil})) }, authn.CodeInvalidIdentityToken, nil},
		{"ErrBadAmr", func(t *testing.T) string { return is.Sign(t, claims(is, map[string]any{"amr": 7})) }, authn.CodeInvalidIdentityToken, nil},
		{"ErrMappedClaimNotScalar", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{"tenant_id": []string{"acme", "globex"}}))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrTagsDisagree", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{oidc.TagsClaim: map[string]any{
				"principal_tags": map[string][]string{"tenantid": {"globex"}},
			}}))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrTagsClaimMultiValue", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{oidc.TagsClaim: map[string]any{
				"principal_tags": map[string][]string{"Team": {"a", "b"}},
			}}))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrTagsClaimShape", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{oidc.TagsClaim: "TenantID=acme"}))
		}, authn.CodeInvalidIdentityToken, nil},
		{"ErrTagsClaimTransitiveUnknown", func(t *testing.T) string {
			return is.Sign(t, claims(is, map[string]any{oidc.TagsClaim: map[string]any{
				"principal_tags": map[string][]string{"Team": {"a"}}, "transitive_tag_keys": []string{"Other"},
			}}))
		}, authn.CodeInvalidIdentityToken, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token(t)
			id, err := v.Verify(context.Background(), tok)
			if got := authn.ErrorCode(err); got != tt.want {
				t.Fatalf("Verify() error = %v, want code %q", err, tt.want)
			}
			if err != nil {
				if e := tenantml.AsError(err); e.Status != 400 {
					t.Fatalf("error %v: want an authentication error with status 400", err)
				}
				if len(tok) > 20 && strings.Contains(err.Error(), tok) {
					t.Fatal("error contains the token")
				}
				return
			}
			if tt.check != nil {
				tt.check(t, id)
			}
		})
	}
}

func TestVerifier_Verify_keyRotation(t *testing.T) {
	is := oidctest.NewIssuer(t, false)
	v := newVerifier(t, is, nil)
	ctx := context.Background()
	verify := func(t *testing.T, tok string) error {
		t.Helper()
		_, err := v.Verify(ctx, tok)
		return err
	}
	oldTok := is.Sign(t, claims(is, nil))
	if err := verify(t, oldTok); err != nil {
		t.Fatal(err)
	}
	t.Run("Cached", func(t *testing.T) {
		before := is.JWKSFetches()
		if err := verify(t, is.Sign(t, claims(is, nil))); err != nil {
			t.Fatal(err)
		}
		if got := is.JWKSFetches(); got != before {
			t.Fatalf("JWKS fetched %d more times for a cached key", got-before)
		}
	})
	t.Run("NewKeyRefreshes", func(t *testing.T) {
		is.Rotate(t, true)
		before := is.JWKSFetches()
		if err := verify(t, is.Sign(t, claims(is, nil))); err != nil {
			t.Fatalf("token signed by the rotated-in key: %v", err)
		}
		if got := is.JWKSFetches(); got != before+1 {
			t.Fatalf("JWKS fetched %d times, want 1 refresh", got-before)
		}
		if err := verify(t, oldTok); err != nil {
			t.Fatalf("token of the retained old key: %v", err)
		}
	})
	t.Run("ErrRetiredKey", func(t *testing.T) {
		is.Rotate(t, false) // only the newest key is published
		// A fresh verifier: go-oidc hands a refresh's keys to the waiting
		// call before it replaces its cache, so a verifier that just
		// refreshed may accept a retired key for a moment longer.
		fresh := newVerifier(t, is, nil)
		if _, err := fresh.Verify(ctx, oldTok); authn.ErrorCode(err) != authn.CodeInvalidIdentityToken {
			t.Fatalf("token of a retired key: %v, want InvalidIdentityToken", err)
		}
		if _, err := fresh.Verify(ctx, is.Sign(t, claims(is, nil))); err != nil {
			t.Fatal(err)
		}
	})
}

func TestVerifier_Verify_providerDown(t *testing.T) {
	is := oidctest.NewIssuer(t, false)
	v := newVerifier(t, is, nil)
	ctx := context.Background()
	tok := is.Sign(t, claims(is, nil))
	t.Run("ErrDiscovery", func(t *testing.T) {
		is.FailDiscovery(true)
		defer is.FailDiscovery(false)
		if got := authn.ErrorCode(func() error { _, err := v.Verify(ctx, tok); return err }()); got != authn.CodeIDPCommunicationError {
			t.Fatalf("code = %q, want IDPCommunicationError", got)
		}
	})
	t.Run("ErrJWKS", func(t *testing.T) {
		is.FailJWKS(true)
		defer is.FailJWKS(false)
		if got := authn.ErrorCode(func() error { _, err := v.Verify(ctx, tok); return err }()); got != authn.CodeIDPCommunicationError {
			t.Fatalf("code = %q, want IDPCommunicationError", got)
		}
	})
	t.Run("RecoversWhenBack", func(t *testing.T) {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatalf("after the provider recovered: %v", err)
		}
	})
}

func TestVerifier_Verify_thumbprints(t *testing.T) {
	is := oidctest.NewIssuer(t, true)
	sum := sha1.Sum(is.Certificate().Raw)
	good := hex.EncodeToString(sum[:])
	tests := []struct {
		name       string
		thumbprint string
		want       string
	}{
		{"OK", good, ""},
		{"OKUpperCase", strings.ToUpper(good), ""},
		{"ErrMismatch", strings.Repeat("ab", 20), authn.CodeIDPCommunicationError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, is, func(c *oidc.ProviderConfig) { c.Thumbprints = []string{tt.thumbprint} })
			_, err := v.Verify(context.Background(), is.Sign(t, claims(is, nil)))
			if got := authn.ErrorCode(err); got != tt.want {
				t.Fatalf("Verify() = %v, want code %q", err, tt.want)
			}
		})
	}
}

func TestNewVerifier(t *testing.T) {
	ok := oidc.ProviderConfig{IssuerURL: "https://idp.example.com/realms/acme", ClientIDs: []string{"c"}}
	tests := []struct {
		name   string
		mutate func(*oidc.ProviderConfig)
		ok     bool
	}{
		{"OK", func(*oidc.ProviderConfig) {}, true},
		{"OKLoopbackHTTP", func(c *oidc.ProviderConfig) { c.IssuerURL = "http://127.0.0.1:9999" }, true},
		{"ErrHTTP", func(c *oidc.ProviderConfig) { c.IssuerURL = "http://idp.example.com" }, false},
		{"ErrScheme", func(c *oidc.ProviderConfig) { c.IssuerURL = "ftp://idp.example.com" }, false},
		{"ErrRelative", func(c *oidc.ProviderConfig) { c.IssuerURL = "/realms/acme" }, false},
		{"ErrQuery", func(c *oidc.ProviderConfig) { c.IssuerURL = "https://idp.example.com/?x=1" }, false},
		{"ErrNoClientIDs", func(c *oidc.ProviderConfig) { c.ClientIDs = nil }, false},
		{"ErrThumbprint", func(c *oidc.ProviderConfig) { c.Thumbprints = []string{"zz"} }, false},
		{"ErrEmptyMapping", func(c *oidc.ProviderConfig) { c.ClaimTags = map[string]string{"tenant_id": ""} }, false},
		{"ErrTransitiveNotMapped", func(c *oidc.ProviderConfig) { c.TransitiveClaimTags = []string{"TenantID"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mutate(&cfg)
			_, err := oidc.NewVerifier(cfg, oidc.Options{})
			if (err == nil) != tt.ok {
				t.Fatalf("NewVerifier() error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestProviderName(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://idp.example.com", "idp.example.com"},
		{"https://idp.example.com/", "idp.example.com"},
		{"https://idp.example.com/realms/acme", "idp.example.com/realms/acme"},
		{"https://accounts.google.com", "accounts.google.com"},
		{"http://127.0.0.1:8080", "127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := oidc.ProviderName(tt.url)
			if err != nil || got != tt.want {
				t.Fatalf("ProviderName(%q) = %q, %v, want %q", tt.url, got, err, tt.want)
			}
		})
	}
}
