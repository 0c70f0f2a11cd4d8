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

// Authenticate implements Authenticator.
func (a *SigV4Authenticator) Authenticate(r *http.Request) (*authn.Principal, error) {
	res, err := a.Verifier.Verify(r)
	if err != nil {
		return nil, err
	}
	return res.Principal, nil
}

// Authenticators picks the authenticator for the scheme a request uses:
// SigV4 (the Authorization header's AWS4-HMAC-SHA256 or a presigned
// X-Amz-Algorithm query) or HTTP Basic with the root credentials. A request
// with neither is MissingAuthenticationToken; Basic is nil on AWS surfaces.
type Authenticators struct {
	SigV4 Authenticator
	Basic Authenticator
}

// Authenticate implements Authenticator.
func (a *Authenticators) Authenticate(r *http.Request) (*authn.Principal, error) {
	auth := r.Header.Get("Authorization")
	switch {
	case strings.HasPrefix(auth, "AWS4-"), r.URL.Query().Has("X-Amz-Algorithm"):
		return a.SigV4.Authenticate(r)
	case strings.HasPrefix(auth, "Basic ") && a.Basic != nil:
		return a.Basic.Authenticate(r)
	case auth != "":
		return nil, authn.Errorf(authn.CodeIncompleteSignature, "the Authorization header uses an unsupported scheme; sign the request with AWS Signature Version 4")
	}
	return nil, authn.Errorf(authn.CodeMissingAuthenticationToken, "the request has no credentials: sign it with AWS Signature Version 4")
}
