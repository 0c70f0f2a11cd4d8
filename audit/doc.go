// Package audit is tenantml's tamper-evident audit trail: an append-only
// log of Events with an RFC 6962 Merkle tree (golang.org/x/mod/sumdb/tlog),
// Ed25519-signed checkpoints in the signed-note format
// (golang.org/x/mod/sumdb/note), inclusion and consistency proofs, tenant-
// scoped reads, and an offline verifier.
//
// # Contract
//
//   - Durability: Append returns only after the event, and the tree hashes
//     that cover it, are fsynced. Concurrent Appends share one fsync (group
//     commit: one commit at a time, run by an Append that finds the log
//     idle or by the writer goroutine for the Appends queued meanwhile). An acknowledged event survives a
//     crash (kill -9); a partial record left by a crash is truncated by
//     Open, and Open refuses (ErrCorrupt) a log shorter than its latest
//     checkpoint or whose tree no longer matches it.
//   - Fail closed: when the log cannot be written, Append returns an error
//     wrapping ErrUnavailable and Healthy reports it until the writer,
//     retrying on every tick and append, has reopened the files and
//     truncated them to the last durable state. No acknowledged event is
//     lost or duplicated by a failure.
//   - Checkpoints: at least every CheckpointInterval (1 minute) while events
//     arrive and every IdleCheckpointInterval (1 hour) when idle, driven by
//     Config.Tick and Config.Now; one at Open and one at Close. Checkpoints
//     are numbered, so a removed one leaves a visible gap.
//   - Tenant isolation: every read takes a Scope or a Filter naming one
//     tenant, or explicitly all tenants; a tenant scope never returns,
//     counts or proves another tenant's event (ErrNotFound looks the same
//     for "not yours" and "does not exist"). Tree sizes in checkpoints are
//     platform-wide and reveal only how many events the log holds in total;
//     a tenant scope proves only in trees no larger than the latest
//     checkpoint, so it learns that total only as checkpoints publish it.
//     An inclusion proof necessarily carries its event's position (the
//     leaf index); InclusionProofByID finds the event by its EventID so
//     that tenants need no position to ask. Page cursors (Cursor) are
//     global positions too: whoever serves tenants must seal them.
//   - Privacy: events never carry secrets, tokens or payload bodies. With a
//     FieldSealer, the personal fields (principal ARN, session name, source
//     IP, user agent) are stored sealed under the tenant's key; the leaf
//     hash covers the sealed bytes, so destroying the key erases them while
//     every hash, proof and checkpoint still verifies.
//
// # Files
//
// In Config.Dir: events-<first seq, 20 digits>.log segments of framed
// records (length, CRC-32C, event JSON beginning with its seq);
// tree.hashes (tlog stored hashes, 32 bytes each); events.index (24 bytes
// per event, derived data); checkpoints.log (framed signed notes);
// checkpoint.key (mode 0600) and checkpoint.pub; LOCK. docs/audit.md
// describes each format.
//
// # Why some code is hand-written
//
// The Merkle tree, proofs and signatures come from x/mod/sumdb; what is
// hand-written is only the storage around them (segment framing, the index
// and crash recovery), which those packages leave to the caller.
package audit
