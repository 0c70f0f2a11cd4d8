package manage

import (
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"

	"github.com/tenantml/tenantml/audit"
)

// PageTokens seals the audit lookup's cursors into opaque page tokens
// (nextToken). An audit.Cursor is a position in the whole log, which would
// tell a tenant how many events every tenant has: sealed, a token reveals
// nothing — not the position, not the order of magnitude (every token has
// the same length) — and opens only for the caller scope and the filter it
// was issued for, before it expires.
//
// Format (version 1): base64url without padding of
//
//	0x01 || XChaCha20-Poly1305(key, nonce: 24 random bytes,
//	        plaintext: order (1 byte) || seq (8, big-endian) || expiry (8, Unix seconds),
//	        associated data: "tenantml.audit/page-token/v1" 0x00 binding)
//
// where binding is the JSON of the caller's scope ("tenant:<id>" or
// "operator") and of every filter parameter (tenant, all tenants,
// principal, action, decision, start, end, order; not the page size), and
// the key is HKDF-SHA256(secret, info "tenantml/audit/page-token/v1"). Tink's
// XChaCha20-Poly1305 draws a 192-bit random nonce per token, so the one
// long-lived key can seal any number of tokens without a nonce collision
// becoming likely (96-bit nonces, as in AES-GCM, would limit it).
type PageTokens struct {
	aead *subtle.XChaCha20Poly1305
	ttl  time.Duration
	now  func() time.Time
}

// PageTokenSecretSize is the size of the platform secret NewPageTokens
// takes (keys.PlatformSecret).
const PageTokenSecretSize = 32

// DefaultPageTokenTTL is how long a page token stays valid by default.
const DefaultPageTokenTTL = time.Hour

const (
	pageTokenVersion = 1
	pageTokenInfo    = "tenantml/audit/page-token/v1"
	pageTokenAD      = "tenantml.audit/page-token/v1\x00"
	pageTokenPlain   = 1 + 8 + 8
	maxPageTokenLen  = 256
)

// NewPageTokens returns the sealer of page tokens keyed by secret (at
// least PageTokenSecretSize bytes). ttl is how long a token stays valid
// (0: DefaultPageTokenTTL); now is the clock (nil: time.Now).
func NewPageTokens(secret []byte, ttl time.Duration, now func() time.Time) (*PageTokens, error) {
	if len(secret) < PageTokenSecretSize {
		return nil, fmt.Errorf("page token secret must be at least %d bytes", PageTokenSecretSize)
	}
	if ttl < 0 {
		return nil, fmt.Errorf("page token ttl %s is negative", ttl)
	}
	if ttl == 0 {
		ttl = DefaultPageTokenTTL
	}
	if now == nil {
		now = time.Now
	}
	key, err := hkdf.Key(sha256.New, secret, nil, pageTokenInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("derive page token key: %w", err)
	}
	a, err := subtle.NewXChaCha20Poly1305(key)
	clear(key)
	if err != nil {
		return nil, fmt.Errorf("page token cipher: %w", err)
	}
	return &PageTokens{aead: a, ttl: ttl, now: now}, nil
}

// tokenBinding is what a token is bound to, as associated data.
type tokenBinding struct {
	Caller    string `json:"caller"`
	Tenant    string `json:"tenant"`
	All       bool   `json:"all"`
	Principal string `json:"principal"`
	Action    string `json:"action"`
	Decision  string `json:"decision"`
	Start     string `json:"start"`
	End       string `json:"end"`
	Oldest    bool   `json:"oldest"`
}

// pageTokenAAD is the associated data binding a token to the caller's
// scope and the filter.
func pageTokenAAD(caller audit.Scope, f audit.Filter) []byte {
	b := tokenBinding{
		Caller: "operator", Tenant: f.TenantID, All: f.AllTenants, Principal: f.PrincipalARN, Action: f.EventName,
		Decision: string(f.Effect), Start: tokenTime(f.StartTime), End: tokenTime(f.EndTime), Oldest: f.OldestFirst,
	}
	if !caller.AllTenants {
		b.Caller = "tenant:" + caller.TenantID
	}
	j, _ := json.Marshal(b) // strings and bools only: cannot fail
	return append([]byte(pageTokenAD), j...)
}

func tokenTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Seal returns the page token of c for the caller and the filter f.
func (p *PageTokens) Seal(caller audit.Scope, f audit.Filter, c audit.Cursor) (string, error) {
	pt := make([]byte, 0, pageTokenPlain)
	order := byte('n')
	if c.OldestFirst {
		order = 'o'
	}
	pt = append(pt, order)
	pt = binary.BigEndian.AppendUint64(pt, uint64(c.Seq))
	pt = binary.BigEndian.AppendUint64(pt, uint64(p.now().Add(p.ttl).Unix()))
	ct, err := p.aead.Encrypt(pt, pageTokenAAD(caller, f))
	if err != nil {
		return "", fmt.Errorf("seal page token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(append([]byte{pageTokenVersion}, ct...)), nil
}

// Open returns the cursor sealed in token. Whatever is wrong — not a
// token, altered, issued to another caller or for another filter, expired
// — the error is audit.ErrInvalidPageToken, and nothing else tells why.
func (p *PageTokens) Open(caller audit.Scope, f audit.Filter, token string) (audit.Cursor, error) {
	if len(token) > maxPageTokenLen {
		return audit.Cursor{}, audit.ErrInvalidPageToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 1 || raw[0] != pageTokenVersion {
		return audit.Cursor{}, audit.ErrInvalidPageToken
	}
	pt, err := p.aead.Decrypt(raw[1:], pageTokenAAD(caller, f))
	if err != nil || len(pt) != pageTokenPlain {
		return audit.Cursor{}, audit.ErrInvalidPageToken
	}
	c := audit.Cursor{Seq: int64(binary.BigEndian.Uint64(pt[1:9])), OldestFirst: pt[0] == 'o'}
	expiry := time.Unix(int64(binary.BigEndian.Uint64(pt[9:17])), 0)
	if (pt[0] != 'n' && pt[0] != 'o') || c.Seq < 0 || c.OldestFirst != f.OldestFirst || !p.now().Before(expiry) {
		return audit.Cursor{}, audit.ErrInvalidPageToken
	}
	return c, nil
}
