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
// Get streams: one goroutine per core (up to four) opens 1 MiB segments in
// parallel — reading its own segments when the body is a file, else fed by
// one sequential reader — and the reader serves them in order, each only
// after it authenticated (decrypt.go says why this is not Tink's reader).
// Every read is verified: the manifest's size and SHA-256 are bound into
// the data key's encryption context, so a manifest that alters them does
// not unwrap its key; the segment count follows from that size; every
// segment is authenticated by AES-GCM under a key derived from the data key
// and the tenant/key/version associated data, with the last one flagged,
// so a reordered, dropped, truncated or extended body fails. A body that
// reads to io.EOF is therefore byte for byte the plaintext whose SHA-256
// was recorded at upload. Config.RehashOnRead also recomputes the SHA-256
// as an independent check, at one core's hashing speed. Errors wrap
// ErrIntegrity and replace io.EOF; callers must read to EOF (io.Copy does)
// before trusting the bytes, and must not act on a partially read artifact.
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
// swept), the parallel segment reader (Tink's reader is sequential) and the
// presigned-URL format are written here because neither library provides
// them.
//
// # Performance
//
// A read costs copying the ciphertext in plus AES-GCM (about 5 GB/s per
// core with AES-NI), spread over the cores; with RehashOnRead, SHA-256 on
// one core (about 1.6 GB/s with SHA-NI) bounds it. bench/artifact and
// BenchmarkStore_Get compare with a plain file read; see docs/keys.md for
// figures.
package artifact
