package sts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantml/tenantml/authn"
)

// RevocationChecker reports, for a role, the time before which its sessions
// are revoked ("revoke active sessions" on AWS); the zero time when none.
type RevocationChecker interface {
	RevokedBefore(ctx context.Context, roleARN string) (time.Time, error)
}

// Source is the authn.CredentialSource for temporary (ASIA) keys: it opens
// the request's session token instead of looking the key up.
type Source struct {
	Issuer *Issuer
	// Revocations, when set, is consulted on every lookup.
	Revocations RevocationChecker
}

var _ authn.CredentialSource = (*Source)(nil)

func invalidToken(cause error) error {
	return authn.Wrap(authn.CodeInvalidClientTokenID, "The security token included in the request is invalid.", cause)
}

// Credential implements authn.CredentialSource.
func (s *Source) Credential(ctx context.Context, accessKeyID, sessionToken string) (*authn.Credential, error) {
	if s.Issuer == nil {
		return nil, authn.Wrap(authn.CodeInternalFailure, "internal failure", errors.New("sts source: no issuer"))
	}
	if sessionToken == "" {
		return nil, invalidToken(errors.New("temporary key without session token"))
	}
	o, err := s.Issuer.Open(sessionToken)
	switch {
	case errors.Is(err, ErrExpired):
		return nil, authn.Wrap(authn.CodeExpiredToken, "The security token included in the request is expired", err)
	case err != nil:
		return nil, invalidToken(err)
	case o.AccessKeyID != accessKeyID:
		return nil, invalidToken(errors.New("session token belongs to another access key"))
	}
	if s.Revocations != nil {
		before, err := s.Revocations.RevokedBefore(ctx, o.Session.RoleARN)
		if err != nil {
			return nil, authn.Wrap(authn.CodeInternalFailure, "internal failure", fmt.Errorf("check revocation: %w", err))
		}
		if !before.IsZero() && o.Session.IssuedAt.Before(before) {
			return nil, authn.Errorf(authn.CodeAccessDenied, "The role session was revoked: sessions of %s issued before %s are no longer valid.",
				o.Session.RoleARN, before.UTC().Format(authn.TimeFormat))
		}
	}
	return &authn.Credential{
		AccessKeyID: o.AccessKeyID,
		Secret:      o.Secret,
		Principal:   o.Session.Principal(o.AccessKeyID),
	}, nil
}
