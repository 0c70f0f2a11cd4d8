package authn

import (
	"context"
	"log/slog"
	"strings"
)

// CredentialSource resolves the access key a request was signed with. The
// store implements it for long-term (AKIA) keys; package sts implements it
// for temporary (ASIA) keys by opening the session token.
//
// sessionToken is the request's X-Amz-Security-Token, "" if it had none.
// Implementations return an *Error: InvalidClientTokenId for an unknown or
// inactive key or a token that does not belong to it, ExpiredToken for an
// expired session.
type CredentialSource interface {
	Credential(ctx context.Context, accessKeyID, sessionToken string) (*Credential, error)
}

// Credential is a resolved access key: its secret and the principal it
// belongs to. Its String, GoString and LogValue methods redact the secret.
type Credential struct {
	AccessKeyID string
	// Secret is the secret access key; it signs and is never shown, not
	// even by encoding/json.
	Secret string `json:"-"`
	// Principal is who the key authenticates.
	Principal *Principal
}

const redacted = "[REDACTED]"

// String implements fmt.Stringer without revealing the secret.
func (c Credential) String() string {
	return "Credential{AccessKeyID:" + c.AccessKeyID + " Secret:" + redacted + "}"
}

// GoString implements fmt.GoStringer without revealing the secret.
func (c Credential) GoString() string { return c.String() }

// LogValue implements slog.LogValuer without revealing the secret.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("access_key_id", c.AccessKeyID), slog.String("secret", redacted))
}

// Temporary reports whether an access key ID belongs to temporary
// credentials (the ASIA prefix AWS uses).
func Temporary(accessKeyID string) bool { return strings.HasPrefix(accessKeyID, "ASIA") }

// Sources routes a lookup by key prefix: ASIA keys to Session, every other key
// to LongTerm. A nil field rejects its keys with InvalidClientTokenId, and so
// does a long-term key presented with a session token.
type Sources struct {
	LongTerm CredentialSource
	Session  CredentialSource
}

// Credential implements CredentialSource.
func (s Sources) Credential(ctx context.Context, accessKeyID, sessionToken string) (*Credential, error) {
	src := s.LongTerm
	if Temporary(accessKeyID) {
		src = s.Session
	} else if sessionToken != "" {
		// A long-term key never comes with a session token.
		src = nil
	}
	if src == nil {
		return nil, Errorf(CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}
	return src.Credential(ctx, accessKeyID, sessionToken)
}
