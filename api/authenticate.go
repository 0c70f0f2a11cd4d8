package api

import (
	"net/http"
	"strings"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
)

// SigV4Authenticator authenticates AWS Signature Version 4 requests, header
// signed or presigned.
type SigV4Authenticator struct {
	Verifier *sigv4.Verifier
}

var _ ScopedAuthenticator = (*SigV4Authenticator)(nil)

// Authenticate implements Authenticator.
func (a *SigV4Authenticator) Authenticate(r *http.Request) (*authn.Principal, error) {
	p, _, err := a.AuthenticateScoped(r)
	return p, err
}

// AuthenticateScoped implements ScopedAuthenticator with the verifier's
// own parse of the credential scope.
func (a *SigV4Authenticator) AuthenticateScoped(r *http.Request) (*authn.Principal, Scope, error) {
	res, err := a.Verifier.Verify(r)
	if err != nil {
		return nil, Scope{}, err
	}
	return res.Principal, Scope{Region: res.Region, Service: res.Service}, nil
}

// Authenticators picks the authenticator for the scheme a request uses:
// SigV4 (the Authorization header's AWS4-HMAC-SHA256 or a presigned
// X-Amz-Algorithm query) or HTTP Basic with the root credentials. A request
// with neither is MissingAuthenticationToken; Basic is nil on AWS surfaces.
type Authenticators struct {
	SigV4 Authenticator
	Basic Authenticator
}

var _ ScopedAuthenticator = (*Authenticators)(nil)

// Authenticate implements Authenticator.
func (a *Authenticators) Authenticate(r *http.Request) (*authn.Principal, error) {
	p, _, err := a.AuthenticateScoped(r)
	return p, err
}

// AuthenticateScoped implements ScopedAuthenticator.
func (a *Authenticators) AuthenticateScoped(r *http.Request) (*authn.Principal, Scope, error) {
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "AWS4-"), r.URL.Query().Has("X-Amz-Algorithm"):
		if sa, ok := a.SigV4.(ScopedAuthenticator); ok {
			return sa.AuthenticateScoped(r)
		}
		p, err := a.SigV4.Authenticate(r)
		return p, Scope{}, err
	case strings.HasPrefix(auth, "Basic ") && a.Basic != nil:
		p, err := a.Basic.Authenticate(r)
		return p, Scope{}, err
	case auth != "":
		return nil, Scope{}, authn.Errorf(authn.CodeIncompleteSignature, "the Authorization header uses an unsupported scheme; sign the request with AWS Signature Version 4")
	}
	return nil, Scope{}, authn.Errorf(authn.CodeMissingAuthenticationToken, "the request has no credentials: sign it with AWS Signature Version 4")
}
