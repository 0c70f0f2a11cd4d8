package oidc

import (
	"context"
	"crypto/sha1"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// ProviderConfig describes one OIDC identity provider, as
// CreateOpenIDConnectProvider registers it plus tenantml's claim mapping.
type ProviderConfig struct {
	// IssuerURL is the issuer exactly as tokens carry it in iss.
	IssuerURL string
	// ClientIDs are the accepted audiences.
	ClientIDs []string
	// Thumbprints, when set, are hex SHA-1 fingerprints of which one must
	// match a certificate of the provider's verified TLS chain.
	Thumbprints []string
	// ClaimTags maps a token claim to the session tag it becomes, e.g.
	// "tenant_id" → "TenantID". The claim must be a string or a number.
	ClaimTags map[string]string
	// TransitiveClaimTags lists tags of ClaimTags that are transitive.
	TransitiveClaimTags []string
}

// Options are the Verifier's collaborators.
type Options struct {
	// HTTPClient fetches discovery and keys; a client with a 10-second
	// timeout by default. A client without a timeout can stall every
	// Verify while discovery hangs.
	HTTPClient *http.Client
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Logger, when set, receives one debug record per rejected token: the
	// AWS code, the provider and the internal cause, never the token.
	Logger *slog.Logger
}

// Identity is a verified web identity token.
type Identity struct {
	// Provider is the issuer URL without its scheme, the prefix of the
	// condition keys.
	Provider string
	Issuer   string
	Subject  string
	// Audience is the accepted client ID.
	Audience string
	IssuedAt time.Time
	Expiry   time.Time
	// Conditions are the trust-policy condition keys this token provides.
	Conditions map[string][]string
	// Tags are the session tags from the token and TransitiveTagKeys those
	// among them that are transitive.
	Tags              map[string]string
	TransitiveTagKeys []string
}

// Verifier verifies tokens of one provider. It is safe for concurrent use.
type Verifier struct {
	cfg      ProviderConfig
	provider string
	client   *http.Client
	now      func() time.Time
	logger   *slog.Logger

	mu       sync.Mutex
	verifier *gooidc.IDTokenVerifier
}

// SupportedAlgorithms returns the signature algorithms accepted: asymmetric
// only, never "none" or HMAC.
func SupportedAlgorithms() []string {
	return []string{
		gooidc.RS256, gooidc.RS384, gooidc.RS512, gooidc.ES256, gooidc.ES384, gooidc.ES512,
		gooidc.PS256, gooidc.PS384, gooidc.PS512, gooidc.EdDSA,
	}
}

// NewVerifier validates cfg and returns a Verifier. It does no I/O.
func NewVerifier(cfg ProviderConfig, opts Options) (*Verifier, error) {
	provider, err := ProviderName(cfg.IssuerURL)
	if err != nil {
		return nil, err
	}
	if len(cfg.ClientIDs) == 0 {
		return nil, fmt.Errorf("oidc provider %s: no client IDs", provider)
	}
	for _, tp := range cfg.Thumbprints {
		if b, err := hex.DecodeString(tp); err != nil || len(b) != sha1.Size {
			return nil, fmt.Errorf("oidc provider %s: thumbprint %q is not 40 hex characters", provider, tp)
		}
	}
	for claim, tag := range cfg.ClaimTags {
		if claim == "" || tag == "" {
			return nil, fmt.Errorf("oidc provider %s: empty claim or tag in claim mapping", provider)
		}
	}
	for _, k := range cfg.TransitiveClaimTags {
		if !slices.ContainsFunc(mapValues(cfg.ClaimTags), func(t string) bool { return strings.EqualFold(t, k) }) {
			return nil, fmt.Errorf("oidc provider %s: transitive tag %q is not a mapped tag", provider, k)
		}
	}
	v := &Verifier{cfg: cfg, provider: provider, client: opts.HTTPClient, now: opts.Now, logger: opts.Logger}
	if v.client == nil {
		v.client = &http.Client{Timeout: 10 * time.Second}
	}
	if v.now == nil {
		v.now = time.Now
	}
	if len(cfg.Thumbprints) > 0 {
		v.client, err = pinnedClient(v.client, cfg.Thumbprints)
		if err != nil {
			return nil, fmt.Errorf("oidc provider %s: %w", provider, err)
		}
	}
	return v, nil
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// ProviderName returns the provider name of an issuer URL: host and path
// without the scheme or a trailing slash, as AWS names condition keys.
func ProviderName(issuerURL string) (string, error) {
	u, err := url.Parse(issuerURL)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("oidc issuer %q: not an absolute URL without query, fragment or credentials", issuerURL)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return "", fmt.Errorf("oidc issuer %q: must use https", issuerURL)
		}
	default:
		return "", fmt.Errorf("oidc issuer %q: must use https", issuerURL)
	}
	return strings.TrimSuffix(u.Host+u.Path, "/"), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pinnedClient returns a copy of c whose TLS connections must present a
// certificate with one of the thumbprints in their verified chain.
func pinnedClient(c *http.Client, thumbprints []string) (*http.Client, error) {
	var base *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		base = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		base = t.Clone()
	default:
		return nil, errors.New("thumbprints need an *http.Transport")
	}
	if base.TLSClientConfig == nil {
		base.TLSClientConfig = &tls.Config{}
	}
	want := map[string]bool{}
	for _, tp := range thumbprints {
		want[strings.ToLower(tp)] = true
	}
	base.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
		for _, chain := range cs.VerifiedChains {
			for _, cert := range chain {
				sum := sha1.Sum(cert.Raw)
				if want[hex.EncodeToString(sum[:])] {
					return nil
				}
			}
		}
		return errors.New("no certificate of the provider matches a configured thumbprint")
	}
	pinned := *c
	pinned.Transport = base
	return &pinned, nil
}

// ready returns the go-oidc verifier, discovering the provider on first use.
func (v *Verifier) ready(ctx context.Context) (*gooidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	cctx := gooidc.ClientContext(context.WithoutCancel(ctx), v.client)
	p, err := gooidc.NewProvider(cctx, v.cfg.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", v.provider, err)
	}
	var meta struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKS == "" {
		return nil, fmt.Errorf("discover %s: no jwks_uri", v.provider)
	}
	keys := &keySet{inner: gooidc.NewRemoteKeySet(cctx, meta.JWKS)}
	v.verifier = gooidc.NewVerifier(v.cfg.IssuerURL, keys, &gooidc.Config{
		SkipClientIDCheck:    true, // several client IDs and azp: checked in Verify
		SupportedSigningAlgs: SupportedAlgorithms(),
		Now:                  v.now,
	})
	return v.verifier, nil
}

// keySet wraps go-oidc's remote key set to tell a provider that cannot be
// reached from a token that does not verify.
type keySet struct{ inner gooidc.KeySet }

type fetchFailed struct{ err error }

type fetchKey struct{}

func (k *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.inner.VerifySignature(ctx, jwt)
	if err != nil && strings.HasPrefix(err.Error(), "fetching keys") {
		if f, ok := ctx.Value(fetchKey{}).(*fetchFailed); ok {
			f.err = err
		}
	}
	return payload, err
}

func invalidToken(format string, args ...any) *tenantml.Error {
	return authn.Errorf(authn.CodeInvalidIdentityToken, format, args...)
}

func idpError(err error) *tenantml.Error {
	return authn.Wrap(authn.CodeIDPCommunicationError, "The identity provider could not be reached or answered badly.", err)
}

// MaxTokenLen bounds the token size accepted, as AWS does (20,000
// characters).
const MaxTokenLen = 20000

// Verify verifies rawToken and returns the identity it asserts. Every error
// is an *authn.Error.
func (v *Verifier) Verify(ctx context.Context, rawToken string) (*Identity, error) {
	id, err := v.verify(ctx, rawToken)
	if err != nil && v.logger != nil {
		v.logger.LogAttrs(ctx, slog.LevelDebug, "oidc: token rejected",
			slog.String("code", authn.ErrorCode(err)), slog.String("provider", v.provider), slog.Any("err", err))
	}
	return id, err
}

func (v *Verifier) verify(ctx context.Context, rawToken string) (*Identity, error) {
	if len(rawToken) < 4 || len(rawToken) > MaxTokenLen {
		return nil, invalidToken("The web identity token must be 4 to %d characters.", MaxTokenLen)
	}
	verifier, err := v.ready(ctx)
	if err != nil {
		return nil, idpError(err)
	}
	failed := &fetchFailed{}
	tok, err := verifier.Verify(context.WithValue(ctx, fetchKey{}, failed), rawToken)
	if err != nil {
		var expired *gooidc.TokenExpiredError
		switch {
		case errors.As(err, &expired):
			e := authn.Wrap(authn.CodeExpiredToken, "Token expired: the web identity token has expired.", err)
			e.Status = http.StatusBadRequest // STS answers an expired web identity token with 400
			return nil, e
		case failed.err != nil:
			return nil, idpError(failed.err)
		default:
			return nil, authn.Wrap(authn.CodeInvalidIdentityToken, "The web identity token could not be verified.", err)
		}
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return nil, invalidToken("The web identity token's claims are not a JSON object.")
	}
	return v.identity(tok, claims)
}
