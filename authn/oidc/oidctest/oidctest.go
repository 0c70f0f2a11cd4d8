// Package oidctest serves a real OpenID Connect issuer on loopback for
// tests: a discovery document, a JWKS with the issuer's current and retained
// RSA keys, and JWT signing with github.com/go-jose/go-jose/v4. Keys rotate
// on demand, and JWKS requests are counted so tests can observe caching.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is a loopback OIDC issuer. Its URL is the issuer identifier.
type Issuer struct {
	*httptest.Server

	mu          sync.Mutex
	keys        []jose.JSONWebKey // private keys; the last one signs
	published   int               // how many of keys (from the end) the JWKS lists
	jwksFetches int
	failJWKS    bool
	failDisc    bool
}

// NewIssuer starts an issuer with one signing key, over TLS when useTLS is
// set, closed when tb ends.
func NewIssuer(tb testing.TB, useTLS bool) *Issuer {
	tb.Helper()
	is := &Issuer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", is.discovery)
	mux.HandleFunc("GET /keys", is.jwks)
	is.Server = httptest.NewUnstartedServer(mux)
	// Handshakes refused by thumbprint tests are expected, not news.
	is.Config.ErrorLog = log.New(io.Discard, "", 0)
	if useTLS {
		is.StartTLS()
	} else {
		is.Start()
	}
	tb.Cleanup(is.Close)
	is.Rotate(tb, true)
	return is
}

func (is *Issuer) discovery(w http.ResponseWriter, r *http.Request) {
	is.mu.Lock()
	fail := is.failDisc
	is.mu.Unlock()
	if fail {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                is.URL,
		"jwks_uri":                              is.URL + "/keys",
		"authorization_endpoint":                is.URL + "/auth",
		"token_endpoint":                        is.URL + "/token",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (is *Issuer) jwks(w http.ResponseWriter, r *http.Request) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.jwksFetches++
	if is.failJWKS {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	var set jose.JSONWebKeySet
	for _, k := range is.keys[len(is.keys)-is.published:] {
		set.Keys = append(set.Keys, k.Public())
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(set)
}

// Rotate makes a fresh RSA key the signing key. With retainOld the JWKS
// keeps listing the previous keys; without it only the new key is listed.
func (is *Issuer) Rotate(tb testing.TB, retainOld bool) {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	is.mu.Lock()
	defer is.mu.Unlock()
	is.keys = append(is.keys, jose.JSONWebKey{Key: key, KeyID: fmt.Sprintf("key-%d", len(is.keys)+1), Algorithm: "RS256", Use: "sig"})
	if retainOld {
		is.published++
	} else {
		is.published = 1
	}
}

// JWKSFetches returns how many times the JWKS was requested.
func (is *Issuer) JWKSFetches() int {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.jwksFetches
}

// FailJWKS makes the JWKS endpoint answer 503 while fail is set.
func (is *Issuer) FailJWKS(fail bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.failJWKS = fail
}

// FailDiscovery makes the discovery endpoint answer 503 while fail is set.
func (is *Issuer) FailDiscovery(fail bool) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.failDisc = fail
}

// SigningKey returns the current signing key (private).
func (is *Issuer) SigningKey() jose.JSONWebKey {
	is.mu.Lock()
	defer is.mu.Unlock()
	return is.keys[len(is.keys)-1]
}

// Sign returns a compact RS256 JWT of claims signed with the current key.
func (is *Issuer) Sign(tb testing.TB, claims map[string]any) string {
	tb.Helper()
	return SignWith(tb, is.SigningKey(), jose.RS256, claims)
}

// SignWith returns a compact JWT of claims signed with key and alg.
func SignWith(tb testing.TB, key any, alg jose.SignatureAlgorithm, claims map[string]any) string {
	tb.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		tb.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}
