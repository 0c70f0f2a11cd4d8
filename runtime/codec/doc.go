// Package codec converts inference requests and responses between their wire
// content types and the float32 row-major batches runtime.Model predicts on.
// It is shared by the serving layer and the `tenantml predict` CLI so both
// accept exactly the same inputs.
//
// Requests (DecodeCSV, DecodeJSON):
//
//   - text/csv: one row per line, no header, NumFeatures comma-separated
//     numbers; an empty field or "nan" (any case) is a missing value.
//   - application/json: {"instances": [[...], ...]},
//     {"instances": [{"features": [...]}, ...]}, {"features": [...]} (one
//     row) or a bare [[...], ...]; null is a missing value.
//
// Responses (EncodeCSV, EncodeJSON, EncodeJSONScores):
//
//   - text/csv: one line per row, the row's outputs comma-separated, each
//     formatted with %.9g (enough digits to round-trip a float32).
//   - application/json: {"predictions": [[...], ...]} or, as the managed
//     cloud's built-in algorithms answer, {"predictions": [{"score": v}, ...]}
//     with v a number (one output) or an array; non-finite values are null.
//
// Decoding errors name the 1-based row and column. Decoders cap the rows
// they accept (Limits.MaxRows) and allocate in proportion to the input; the
// caller bounds the input itself (e.g. with http.MaxBytesReader).
package codec
