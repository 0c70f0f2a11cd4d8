// Package sigv4 authenticates incoming HTTP requests signed with AWS
// Signature Version 4 (AWS4-HMAC-SHA256), both header-signed (Authorization
// header) and presigned URLs (X-Amz-* query parameters).
//
// The expected signature is computed by aws-sdk-go-v2's aws/signer/v4 over a
// reconstruction of the request holding exactly the headers the client
// declared as signed; the two are compared in constant time. The package
// never hand-writes the canonical request.
//
// Contract:
//
//   - The access key is resolved through an authn.CredentialSource, given
//     the X-Amz-Security-Token header or query parameter for temporary keys.
//   - The signing time is X-Amz-Date (header or query; the legacy Date
//     header is not accepted) and must be within MaxSkew (15 minutes) of
//     the verifier's clock, and its date must match the credential scope's.
//     A presigned URL is valid from X-Amz-Date for X-Amz-Expires seconds
//     (at most 7 days).
//   - The payload hash is X-Amz-Content-Sha256 when the client sent it — and
//     then the body must hash to it — otherwise the SHA-256 of the body. A
//     body is read up to MaxBodyBytes and restored for the handler.
//     UNSIGNED-PAYLOAD is accepted for presigned URLs, and for header-signed
//     requests only when AllowUnsignedPayload is set. These rules hold for
//     every service but S3.
//   - S3 (credential scope service "s3") bodies are never buffered: the
//     signature is checked against the declared payload mode, then r.Body
//     is replaced by a reader that verifies as it streams and returns an
//     *authn.Error instead of io.EOF when the body is not what was signed
//     (Result.Payload says which mode). A hex SHA-256 is compared at the
//     end (XAmzContentSHA256Mismatch); UNSIGNED-PAYLOAD is accepted as S3
//     does; STREAMING-AWS4-HMAC-SHA256-PAYLOAD (what minio-go sends),
//     its -TRAILER variant and STREAMING-UNSIGNED-PAYLOAD-TRAILER are
//     decoded from aws-chunked, every chunk signature checked before its
//     bytes are served, the trailer's checksum and signature at the end,
//     and r.ContentLength becomes X-Amz-Decoded-Content-Length (see
//     chunked.go for what is the SDK's and what is written here). The
//     Debian AWS CLI and boto3 sign a hex SHA-256 of every body over HTTP,
//     and UNSIGNED-PAYLOAD for presigned URLs; neither sends a trailer.
//   - The service and region are taken from the credential scope and
//     returned; checking them against the surface is the caller's job.
//   - Every failure is an *authn.Error with AWS's code and status. Secrets
//     never appear in errors or logs; only the access key ID may.
//
// Known limitation of using the SDK signer: a client that signs one of the
// headers the SDK never signs (User-Agent, Expect, Transfer-Encoding,
// X-Amzn-Trace-Id) or signs "content-length: 0" cannot be verified. The AWS
// CLI, boto3 and the AWS SDKs do neither.
package sigv4
