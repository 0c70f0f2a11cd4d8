// Package artifact is tenantml's per-tenant, encrypted model artifact
// storage on gocloud.dev/blob: files under the data directory by default
// (file:// URLs), any S3-compatible store at scale (s3:// URLs).
//
// # Layout
//
// An artifact is named by (tenant, key, version) where key is
// "<model-name>/<file>" (for example "churn/model.tar.gz"). It is stored as
// two blobs:
//
//	tenants/<tenant>/models/<model-name>/<version>/<file>   the manifest (JSON)
//	tenants/<tenant>/blobs/<model-name>/<version>/<file>/<upload-id>   the body
//
// The manifest is the commit point: it is written, atomically, only after
// the whole body has been written, so an upload that fails or is cancelled
// leaves no visible artifact (the gocloud writer aborts the body when its
// context is cancelled). Concurrent uploads of the same artifact each write
// their own body; the last manifest written wins and readers always see one
// whole version. Replaced and losing bodies are deleted best-effort; a
// reader that read a manifest just before it was replaced may find its body
// gone and fails with a not-found error (retry reads the new manifest).
//
// # Envelope encryption
//
// Each upload gets a fresh 256-bit data key from the keys service
// (GenerateDataKey under the tenant's key, default alias
// alias/tenantml/artifacts) with encryption context
// {tenantml:tenant, tenantml:key, tenantml:version}. The body is encrypted
// with Tink's streaming AEAD AES256_GCM_HKDF_1MB (1 MiB segments, so memory
// stays bounded whatever the artifact size) with associated data binding
// tenant, key and version. The manifest holds the wrapped data key, the key
// ARN and version, the plaintext size and its SHA-256. When the body is
// complete the data key is re-wrapped (ReEncrypt) with the size and SHA-256
// added to its encryption context, so a manifest whose size or digest was
// altered no longer unwraps its key. So a ciphertext
// copied to another tenant's path fails at the path (the manifest names its
// tenant, key and version), at the key (the other tenant cannot unwrap the
// data key) and at the associated data (even a data key re-wrapped for the
// new place does not decrypt the body).
//
// # Reading and verification
//
// Get streams: it returns a reader that decrypts segment by segment. The
// AEAD detects tampering or truncation of any segment when it is read; the
// SHA-256 and size of the plaintext can only be checked when the whole
// stream has been read, so the reader returns an error instead of io.EOF
// when they do not match. Config.SkipDigestOnRead drops the re-hash (the
// size is still checked): the digest is then vouched for by the data key's
// context and the AEAD, which is sound but no longer an independent check. Callers must read to EOF (io.Copy does) before
// trusting the bytes, and must not act on a partially read artifact.
//
// # Rotation and crypto-shredding
//
// Rewrap re-encrypts only the wrapped data keys (ReEncrypt to the key's
// current version) and rewrites the manifests; bodies are never rewritten.
// Objects not yet rewrapped stay readable as long as the old key version
// exists. Destroying the tenant's key (keys.Service.EraseTenant) makes every
// data key, and so every body, undecryptable, including copies taken
// earlier; DeleteTenant then removes the tenant's blobs.
//
// # Presigned URLs
//
// Presigner signs (method, tenant, key, version, expiry) with HMAC-SHA256
// under a platform secret and verifies in constant time (hmac.Equal). These
// URLs address tenantml's own artifact endpoint, which encrypts and
// decrypts; gocloud's backend-signed URLs (S3 presigning, fileblob's
// URLSignerHMAC) would hand out raw ciphertext blobs and bypass the
// manifest, so they are deliberately not used.
//
// # What is hand-written, and why
//
// Storage is gocloud.dev/blob's and encryption Tink's streaming AEAD. The
// manifest format, the body/manifest commit protocol (gocloud offers no
// conditional writes on S3, so the last manifest wins and losing bodies are
// swept), the end-of-stream digest check and the presigned-URL format are
// written here because neither library provides them.
//
// # Performance
//
// Reading costs AES-GCM decryption (Tink; about 2-5 GB/s per core with
// AES-NI) plus SHA-256 verification, which is the bottleneck (about
// 1-2 GB/s per core with SHA-NI); the hash runs in its own goroutine beside
// decryption, and SkipDigestOnRead removes it. bench/artifact and BenchmarkStore_Get compare with a plain
// file read; see docs/keys.md for figures.
package artifact
