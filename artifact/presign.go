package artifact

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Query parameters of a presigned URL.
const (
	QueryExpires   = "X-Tenantml-Expires"
	QuerySignature = "X-Tenantml-Signature"
	// QueryCredential and QuerySecurityToken name the issuer: the access
	// key it signed the presign request with and, for a role session, its
	// session token. The server resolves them again when the URL is used,
	// so that the URL grants only what its issuer still holds.
	QueryCredential    = "X-Tenantml-Credential"
	QuerySecurityToken = "X-Tenantml-Security-Token"
)

// Issuer is who a presigned URL was issued to: the access key ID of its
// request and, for temporary credentials, the session token. Both are
// bound into the signature.
type Issuer struct {
	AccessKeyID  string
	SessionToken string
}

// Presign limits.
const (
	MinPresignSecret = 32
	MaxPresignTTL    = 7 * 24 * time.Hour
)

// Errors of Verify. Both mean "refuse the request" (403); they are distinct
// so that the caller can tell the user an URL has expired.
var (
	ErrExpired      = errors.New("presigned url expired")
	ErrBadSignature = errors.New("presigned url signature does not match")
)

// Presigner makes and checks presigned artifact URLs: an HMAC-SHA256, under
// a platform secret, over the method, tenant, key, version and expiry. A
// signature is valid for exactly one object and one method.
type Presigner struct {
	secret []byte
	now    func() time.Time
}

// NewPresigner returns a Presigner; secret must have at least
// MinPresignSecret bytes; now defaults to time.Now.
func NewPresigner(secret []byte, now func() time.Time) (*Presigner, error) {
	if len(secret) < MinPresignSecret {
		return nil, fmt.Errorf("presign secret must be at least %d bytes", MinPresignSecret)
	}
	if now == nil {
		now = time.Now
	}
	return &Presigner{secret: bytes.Clone(secret), now: now}, nil
}

func (p *Presigner) mac(method, tenant, key, version string, iss Issuer, expires int64) []byte {
	h := hmac.New(sha256.New, p.secret)
	var b bytes.Buffer
	b.WriteString("tenantml-presign-v2")
	for _, s := range []string{method, tenant, key, version, iss.AccessKeyID, iss.SessionToken} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(s)))
		b.Write(n[:])
		b.WriteString(s)
	}
	var e [8]byte
	binary.BigEndian.PutUint64(e[:], uint64(expires))
	b.Write(e[:])
	h.Write(b.Bytes())
	return h.Sum(nil)
}

func validMethod(m string) bool { return m == http.MethodGet || m == http.MethodPut }

// Presign returns the query parameters that authorise method (GET or PUT)
// on one artifact for ttl (at most MaxPresignTTL), on behalf of iss (whose
// access key ID is required).
func (p *Presigner) Presign(method, tenant, key, version string, iss Issuer, ttl time.Duration) (url.Values, error) {
	if !validMethod(method) {
		return nil, fmt.Errorf("presign: method must be GET or PUT")
	}
	if ttl <= 0 || ttl > MaxPresignTTL {
		return nil, fmt.Errorf("presign: ttl must be in (0, %v]", MaxPresignTTL)
	}
	if _, err := newRef(tenant, key, version); err != nil {
		return nil, fmt.Errorf("presign: %w", err)
	}
	if iss.AccessKeyID == "" {
		return nil, fmt.Errorf("presign: the issuer's access key ID is required")
	}
	exp := p.now().Add(ttl).Unix()
	q := url.Values{
		QueryExpires:    {strconv.FormatInt(exp, 10)},
		QueryCredential: {iss.AccessKeyID},
		QuerySignature:  {hex.EncodeToString(p.mac(method, tenant, key, version, iss, exp))},
	}
	if iss.SessionToken != "" {
		q.Set(QuerySecurityToken, iss.SessionToken)
	}
	return q, nil
}

// Verify checks presigned query parameters for method on one artifact and
// returns the issuer they name, whom the caller must authenticate and
// authorize again. The signature is compared in constant time; an expired
// URL is ErrExpired and any other mismatch ErrBadSignature.
func (p *Presigner) Verify(method, tenant, key, version string, q url.Values) (Issuer, error) {
	exp, err := strconv.ParseInt(q.Get(QueryExpires), 10, 64)
	if err != nil || len(q[QueryExpires]) != 1 || len(q[QuerySignature]) != 1 || len(q[QueryCredential]) != 1 || len(q[QuerySecurityToken]) > 1 {
		return Issuer{}, ErrBadSignature
	}
	got, err := hex.DecodeString(q.Get(QuerySignature))
	if err != nil {
		return Issuer{}, ErrBadSignature
	}
	iss := Issuer{AccessKeyID: q.Get(QueryCredential), SessionToken: q.Get(QuerySecurityToken)}
	if !hmac.Equal(got, p.mac(method, tenant, key, version, iss, exp)) {
		return Issuer{}, ErrBadSignature
	}
	if !p.now().Before(time.Unix(exp, 0)) {
		return Issuer{}, ErrExpired
	}
	return iss, nil
}
