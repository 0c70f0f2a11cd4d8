// Package sts mints and opens temporary security credentials and holds the
// pure rules of AssumeRole and AssumeRoleWithWebIdentity.
//
// Session credentials are self-contained: the session token seals the whole
// Session — role, session name, tags, transitive tag keys, session policies,
// source identity, issue time, expiry — together with the access key ID and
// the temporary secret access key. A server opens the token to verify a
// request signed with an ASIA key, without a database round trip.
//
// Token format (version 1): base64url without padding of
//
//	0x01 | key ID (uint32, big endian) | nonce (12 bytes) | AES-256-GCM(JSON)
//
// where the first five bytes are the associated data. The key ID selects a key
// of the KeyRing, so the platform token key can rotate: new tokens are sealed
// with the primary key, tokens sealed with older keys open while those keys
// stay in the ring. The AEAD is hand-assembled from crypto/cipher rather than
// Tink because the caller hands the key over as raw bytes and the token must
// stay small enough for an HTTP header; nothing else is hand-written.
//
// Invariants:
//
//   - A token that was altered, truncated, sealed under a key not in the ring
//     or of another version fails with a *TokenError; an expired one with
//     ErrExpired. Neither error contains the token or the secret.
//   - Source, the authn.CredentialSource for ASIA keys, checks the token
//     belongs to the access key that signed the request and consults a
//     RevocationChecker: sessions of a role issued before the role's
//     revocation time are refused, as AWS does with aws:TokenIssueTime.
//   - The AssumeRole rules (durations, names, tags, packed policy size,
//     ExternalId, SourceIdentity) are pure functions returning *Error values
//     with the codes AWS STS uses.
package sts
