// Package authn holds what request authentication produces and needs: the
// authenticated Principal, the context that carries it, the CredentialSource
// a signature verifier resolves access keys through, and the AWS-shaped
// authentication Error.
//
// Contract:
//
//   - A request handler obtains its caller only through FromContext; a
//     context without a Principal means "not authenticated", never "anyone".
//   - A Principal is everything the IAM request context needs about the
//     caller (see Principal.ContextKeys for the aws: condition keys it
//     fills). It never carries a secret.
//   - A CredentialSource returns the secret of an access key together with
//     the principal it belongs to. Secrets are wrapped in Credential, whose
//     String, GoString and LogValue methods redact them, so a secret cannot
//     reach a log line or an error message by accident.
//   - Every authentication failure is an *Error with the code and HTTP
//     status AWS uses (InvalidClientTokenId 403, SignatureDoesNotMatch 403,
//     ExpiredToken 403, RequestExpired 400, ...). Its message is safe to
//     return to the caller; the internal cause (Err) is for logs and never
//     contains a secret.
//
// The subpackages do the work: authn/sigv4 verifies AWS Signature Version 4
// requests (header-signed and presigned), authn/oidc verifies web identity
// tokens, and package sts mints and opens session tokens and adapts them to
// CredentialSource.
package authn
