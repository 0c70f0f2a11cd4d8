package sts

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// ErrExpired reports a session token past its expiration.
var ErrExpired = errors.New("session token expired")

// TokenError reports a session token that cannot be opened: malformed,
// altered, or sealed under a key not in the ring. Reason is safe to log; it
// never contains the token.
type TokenError struct {
	Reason string
}

// Error implements the error interface.
func (e *TokenError) Error() string { return "invalid session token: " + e.Reason }

const (
	tokenVersion = 1
	headerLen    = 1 + 4 // version, key ID
	nonceLen     = 12
)

// Credentials are temporary security credentials as AssumeRole returns
// them. String, GoString and LogValue redact the secret and the token.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	Expiration      time.Time
}

// String implements fmt.Stringer without revealing secrets.
func (c Credentials) String() string {
	return fmt.Sprintf("Credentials{AccessKeyID:%s SecretAccessKey:[REDACTED] SessionToken:[REDACTED] Expiration:%s}",
		c.AccessKeyID, c.Expiration.UTC().Format(time.RFC3339))
}

// GoString implements fmt.GoStringer without revealing secrets.
func (c Credentials) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without revealing secrets.
func (c Credentials) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID), slog.Time("expiration", c.Expiration))
}

// sealed is the token plaintext.
type sealed struct {
	AccessKeyID string  `json:"k"`
	Secret      string  `json:"s"`
	Session     Session `json:"x"`
}

// Issuer mints session credentials and opens their tokens.
type Issuer struct {
	// Keys seal and open tokens.
	Keys *KeyRing
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// Rand supplies key IDs, secrets and nonces; crypto/rand by default.
	Rand io.Reader
}

// NewIssuer returns an Issuer over keys with the system clock and
// crypto/rand.
func NewIssuer(keys *KeyRing) *Issuer {
	return &Issuer{Keys: keys, Now: time.Now, Rand: rand.Reader}
}

func (is *Issuer) now() time.Time {
	if is.Now != nil {
		return is.Now()
	}
	return time.Now()
}

func (is *Issuer) rand() io.Reader {
	if is.Rand != nil {
		return is.Rand
	}
	return rand.Reader
}

var keyIDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Issue mints credentials for s: a fresh ASIA access key ID and secret and a
// token sealing them with s. IssuedAt defaults to now and AssumedRoleARN to
// the one derived from the role and session name.
//
// Issue is the one door every credential path goes through, and it applies
// the tenant invariant (SessionTenant) itself: s.Tags hold the tags the
// session asks for (role, inherited and request tags merged, see
// SessionTags), and the session's Tenant — and its TenantID tag — is what
// SessionTenant decides between p's tenants and the TenantID those tags
// ask for. A refusal is an STS error with AWS's code.
func (is *Issuer) Issue(s Session, p Parties) (Credentials, error) {
	t, err := SessionTenant(p, tenantTag(s.Tags))
	if err != nil {
		return Credentials{}, err
	}
	s.Tenant, s.Tags = t, withTenant(s.Tags, t)
	if s.IssuedAt.IsZero() {
		s.IssuedAt = is.now()
	}
	s.IssuedAt = s.IssuedAt.UTC().Truncate(time.Second)
	s.Expiration = s.Expiration.UTC().Truncate(time.Second)
	if s.AssumedRoleARN == "" {
		arn, err := AssumedRoleARN(s.RoleARN, s.RoleSessionName)
		if err != nil {
			return Credentials{}, fmt.Errorf("issue: %w", err)
		}
		s.AssumedRoleARN = arn
	}
	if err := s.validate(); err != nil {
		return Credentials{}, fmt.Errorf("issue: %w", err)
	}
	if s.Policy != "" {
		// Insignificant whitespace is not sealed: the token stays small and
		// the policy means the same.
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(s.Policy)); err != nil {
			return Credentials{}, fmt.Errorf("issue: session policy: %w", err)
		}
		s.Policy = buf.String()
	}

	var idBytes [10]byte // 16 base32 characters
	var secretBytes [30]byte
	if _, err := io.ReadFull(is.rand(), idBytes[:]); err != nil {
		return Credentials{}, fmt.Errorf("issue: read random: %w", err)
	}
	if _, err := io.ReadFull(is.rand(), secretBytes[:]); err != nil {
		return Credentials{}, fmt.Errorf("issue: read random: %w", err)
	}
	plain := sealed{
		AccessKeyID: "ASIA" + keyIDEncoding.EncodeToString(idBytes[:]),
		Secret:      base64.StdEncoding.EncodeToString(secretBytes[:]),
		Session:     s,
	}
	token, err := is.seal(plain)
	if err != nil {
		return Credentials{}, fmt.Errorf("issue: %w", err)
	}
	if len(token) > MaxTokenLen {
		return Credentials{}, fmt.Errorf("issue: session token of %d bytes exceeds %d", len(token), MaxTokenLen)
	}
	return Credentials{
		AccessKeyID:     plain.AccessKeyID,
		SecretAccessKey: plain.Secret,
		SessionToken:    token,
		Expiration:      s.Expiration,
	}, nil
}

func (is *Issuer) seal(plain sealed) (string, error) {
	if is.Keys == nil {
		return "", errors.New("seal: no key ring")
	}
	msg, err := json.Marshal(plain)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	aead, err := is.Keys.aead(is.Keys.primary)
	if err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := make([]byte, headerLen+nonceLen, headerLen+nonceLen+len(msg)+aead.Overhead())
	out[0] = tokenVersion
	binary.BigEndian.PutUint32(out[1:headerLen], is.Keys.primary)
	if _, err := io.ReadFull(is.rand(), out[headerLen:]); err != nil {
		return "", fmt.Errorf("seal: read nonce: %w", err)
	}
	out = aead.Seal(out, out[headerLen:], msg, out[:headerLen])
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Opened is an opened session token.
type Opened struct {
	AccessKeyID string
	// Secret is the temporary secret access key; never log it.
	Secret  string `json:"-"`
	Session Session
}

// String implements fmt.Stringer without revealing the secret.
func (o Opened) String() string {
	return "Opened{AccessKeyID:" + o.AccessKeyID + " Secret:[REDACTED] Session:" + o.Session.AssumedRoleARN + "}"
}

// GoString implements fmt.GoStringer without revealing the secret.
func (o Opened) GoString() string { return o.String() }

// LogValue implements slog.LogValuer without revealing the secret.
func (o Opened) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", o.AccessKeyID), slog.String("session", o.Session.AssumedRoleARN))
}

// MaxTokenLen bounds the token size Issue produces and Open accepts. A
// typical session seals into about 1 KiB; the bound leaves room for a role
// with 50 tags of maximal multi-byte keys and values plus a 2,048-character
// session policy.
const MaxTokenLen = 128 << 10

// Open authenticates and decrypts token. It returns a *TokenError for a token
// that is malformed, altered or sealed under an unknown key, and an error
// wrapping ErrExpired for one past its expiration.
func (is *Issuer) Open(token string) (*Opened, error) {
	if is.Keys == nil {
		return nil, errors.New("open session token: no key ring")
	}
	if len(token) > MaxTokenLen {
		return nil, &TokenError{Reason: "too long"}
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, &TokenError{Reason: "not base64url"}
	}
	if len(raw) < headerLen+nonceLen {
		return nil, &TokenError{Reason: "truncated"}
	}
	if raw[0] != tokenVersion {
		return nil, &TokenError{Reason: fmt.Sprintf("unknown version %d", raw[0])}
	}
	aead, err := is.Keys.aead(binary.BigEndian.Uint32(raw[1:headerLen]))
	if err != nil {
		return nil, &TokenError{Reason: err.Error()}
	}
	msg, err := aead.Open(nil, raw[headerLen:headerLen+nonceLen], raw[headerLen+nonceLen:], raw[:headerLen])
	if err != nil {
		return nil, &TokenError{Reason: "authentication failed"}
	}
	var plain sealed
	if err := json.Unmarshal(msg, &plain); err != nil {
		return nil, &TokenError{Reason: "bad payload"}
	}
	if err := plain.Session.validate(); err != nil || plain.AccessKeyID == "" || plain.Secret == "" {
		return nil, &TokenError{Reason: "incomplete payload"}
	}
	if !is.now().Before(plain.Session.Expiration) {
		return nil, fmt.Errorf("open session token: %w", ErrExpired)
	}
	return &Opened{AccessKeyID: plain.AccessKeyID, Secret: plain.Secret, Session: plain.Session}, nil
}
