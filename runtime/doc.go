// Package runtime defines the contract every model format implements: a
// loaded Model that predicts over batches of float32 rows, and a Registry of
// formats that detects a format from the artifact's content. It is pure
// compute: no I/O beyond the bytes it is handed, no package-level state.
//
// # Models
//
// A Model is immutable once loaded and safe for concurrent use. Predict
// takes rows in row-major order (NaN = missing) and writes into a buffer the
// caller owns. Formats that can return untransformed scores or predict with
// a prefix of their boosting rounds also implement MarginPredictor and
// RangePredictor.
//
// # Formats and artifacts
//
// A Format says whether it recognises a file from its first HeadSize bytes
// and loads it; a Registry tries its formats in order. Formats are passed to
// NewRegistry explicitly (no init-time registration), so each binary wires
// exactly the runtimes it serves.
//
// LoadArtifact accepts what tenants upload: a bare model file, or a tar
// archive, gzip'd or not, such as the model.tar.gz the managed cloud packs
// (xgboost-model, *.json or *.ubj inside). Archive handling is defensive:
// the compressed size, the uncompressed size and the number of entries are
// capped by Limits (errors wrap ErrLimit); entries with absolute paths or
// ".." elements, symlinks, hard links and device files are rejected; the
// gzip checksum is verified. The model file is the one regular file a
// registered format recognises, "xgboost-model" when several are; anything
// else is reported as missing or ambiguous.
package runtime
