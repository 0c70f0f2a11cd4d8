// Package oidc verifies OpenID Connect web identity tokens for
// AssumeRoleWithWebIdentity.
//
// A Verifier is configured per identity provider (ProviderConfig: issuer
// URL, accepted client IDs, optional TLS thumbprints, claim-to-tag mapping)
// and delegates the cryptography to github.com/coreos/go-oidc/v3:
// discovery of the issuer's /.well-known/openid-configuration, the JWKS with
// caching, and key rotation — a token signed by a key not in the cache makes
// the key set refresh once before the token is refused. Only asymmetric
// signature algorithms are accepted; "none" and HMAC never are.
//
// Contract:
//
//   - Discovery happens on the first Verify, not in NewVerifier, and is
//     retried on the next call after a failure, so a provider that is down
//     at start-up does not need a restart.
//   - The token's issuer must equal IssuerURL, it must be unexpired, and its
//     audience — azp when present, else any aud value — must be one of
//     ClientIDs.
//   - Identity.Conditions holds the trust-policy condition keys AWS defines
//     for web identity federation, named after the provider (the issuer URL
//     without its scheme): <provider>:aud, <provider>:sub, <provider>:amr,
//     and <provider>:oaud when azp was present.
//   - Session tags come from the https://aws.amazon.com/tags claim
//     (principal_tags, each a one-element list, and transitive_tag_keys) and
//     from ClaimTags, which maps a custom claim such as tenant_id to a tag
//     such as TenantID. A mapped tag that contradicts the tags claim is an
//     error, never a silent override. Tag limits are enforced by
//     sts.SessionTags when the session is built.
//   - Failures are *authn.Error: InvalidIdentityToken (400) for a token that
//     is malformed, forged, for another audience or issuer;
//     ExpiredToken (400) for an expired one; IDPCommunicationError (400) when
//     the provider cannot be reached. Messages never contain the token.
//   - Right after a refresh, go-oidc may still accept a key the provider
//     just retired for the duration of one cache swap; a retired key is
//     refused from the next refresh on.
//   - Issuer URLs must be https, except on loopback hosts (tests, local
//     development).
package oidc
