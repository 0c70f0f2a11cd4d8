// Package keys is tenantml's key management service: a KMS with the
// semantics of AWS KMS, scoped per tenant.
//
// # Contract
//
// Every operation takes the tenant explicitly. A key belongs to exactly one
// tenant; naming another tenant's key (by ID, ARN or alias) fails with the
// same NotFoundException as naming a key that does not exist, so no
// operation signals whether another tenant's key exists.
//
// Each customer master key (CMK) has a UUID key ID and an ARN of the form
// arn:aws:kms:<region>:<account>:key/<id>. Its key material is a Tink keyset
// (tink-go v2, AES256_GCM keys); every rotation adds a Tink key and makes it
// primary, so older versions keep decrypting. The keyset is stored only
// wrapped by a key-encryption key (KEK) with associated data binding the
// tenant and the key ID, so a wrapped keyset moved to another tenant's row
// or another key's row does not unwrap.
//
// Key states follow AWS KMS: Enabled, Disabled and PendingDeletion.
// ScheduleKeyDeletion waits 7–30 days (default 30); while pending the key is
// unusable and the deletion can be cancelled (the key returns Disabled).
// Destruction deletes the wrapped keyset and the key's aliases: everything
// encrypted under the key becomes undecryptable (crypto-shredding). Destroyed
// keys are gone from the store; DescribeKey then reports NotFoundException,
// as AWS does.
//
// # Ciphertext blobs
//
// Encrypt returns a self-describing blob:
//
//	byte 0       format (1)
//	bytes 1..16  key ID (UUID, binary)
//	bytes 17..20 key version (big-endian uint32, 1 = original material)
//	bytes 21..   Tink AEAD ciphertext (5-byte Tink prefix, IV, ciphertext, tag)
//
// The Tink associated data binds the tenant, the key ID, the version and the
// canonical encryption context, so the context must match exactly on
// decrypt and a blob is useless to any other tenant.
//
// # Encryption context
//
// The context is canonicalised by sorting its keys and length-prefixing
// every key and value (see CanonicalContext); nil and empty contexts are the
// same context.
//
// # Randomness and time
//
// Key IDs and data keys come from Config.Rand and all times from Config.Now.
// Tink generates the keyset material itself from crypto/rand; it offers no
// way to inject a reader, so tests assert on behaviour, not on key bytes.
//
// # What is hand-written, and why
//
// The cryptography is Tink's: keysets and their rotation (keyset.Manager),
// AES-256-GCM AEAD, keyset wrapping under a KEK with associated data, and
// the KMS integrations that can serve as KEK. What is written here is the
// service around it, for which no library exists: AWS KMS key states,
// aliases, policies, tags, rotation schedules, deletion windows, the
// ciphertext blob format, encryption-context canonicalisation and the
// per-tenant scoping of every operation.
//
// # Keyset cache
//
// Building a key's AEAD — the KEK unwrap (a remote call with an external
// KMS), the keyset parse and the primitive construction — happens once per
// key version: a Service keeps the built primitive in a bounded LRU cache
// (Config.KeysetCacheSize, default 1,024; negative disables it). The cache
// saves only that step. Every call still reads the key record from the
// store and checks its tenant and state, so a key disabled, scheduled for
// deletion or destroyed by another process sharing the store is refused on
// the next call. Entries are keyed by tenant, key ID and the SHA-256 of the
// exact wrapped keyset in the record, so a rotation, a rewrap or any other
// change of the keyset misses, and no tenant can hit another's entry.
// Destroy, DestroyDue and EraseTenant evict the destroyed keys' entries (a
// primitive built from a record read before the eviction is not cached
// after it); a key another process destroyed is evicted here when it is
// next named and found missing, by EraseTenant of its tenant, or by LRU
// eviction. Eviction drops the cache's reference to the primitive; as with
// any Go heap object, the bytes are not wiped but left to the collector.
// The cache lives in the Service; there is no package-level state.
//
// # Persistence
//
// Records are kept behind Store (small: get/put/list/delete by tenant with
// optimistic concurrency through a revision). Package keystest has the
// conformance suite every Store adapter must pass and an in-memory Store.
package keys
