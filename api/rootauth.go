package api

import (
	"net/http"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
)

// RootAuthenticator authenticates the operator's root user by HTTP Basic
// authentication with the root access key ID as user name and the secret
// access key as password. Both are compared in constant time (over SHA-256
// digests, so that length is not revealed either).
type RootAuthenticator struct {
	AccessKeyID string
	Secret      []byte
	AccountID   string
}

// Authenticate implements Authenticator.
func (a *RootAuthenticator) Authenticate(r *http.Request) (*authn.Principal, error) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return nil, authn.Errorf(authn.CodeMissingAuthenticationToken, "the request has no credentials: sign it or send the access key ID and secret access key")
	}
	idOK := identity.SecretEqual([]byte(id), []byte(a.AccessKeyID))
	secretOK := identity.SecretEqual([]byte(secret), a.Secret)
	if !idOK || !secretOK {
		return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "the security token included in the request is invalid")
	}
	return &authn.Principal{
		Type:        authn.Root,
		ARN:         arn.Root(a.AccountID),
		Account:     a.AccountID,
		UserID:      a.AccountID,
		AccessKeyID: a.AccessKeyID,
	}, nil
}
