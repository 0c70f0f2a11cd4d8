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
// # Persistence
//
// Records are kept behind Store (small: get/put/list/delete by tenant with
// optimistic concurrency through a revision). Package keystest has the
// conformance suite every Store adapter must pass and an in-memory Store.
package keys
