// Package runtime defines the contract every model format implements: a
// loaded Model that predicts over batches of float32 rows, and a Registry of
// formats that detects a format from the artifact's content. It is pure
// compute: no I/O beyond the bytes it is handed, no package-level state.
package runtime
