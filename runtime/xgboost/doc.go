// Package xgboost is a pure-Go runtime for models saved by the xgboost
// library (1.x and 2.x): it loads JSON, UBJSON and the legacy binary format,
// telling them apart by content, and predicts exactly as xgboost's
// Booster.predict(DMatrix) does on the CPU.
//
// # Why hand-written
//
// No usable Go library exists: github.com/dmitryikh/leaves reads only
// pre-1.0 binary models and panics or exhausts memory on files xgboost 1.7
// saves. Bit-exact agreement with xgboost also needs control over float32
// rounding that a generic library does not promise. The package therefore
// implements the three decoders and the predictor itself, using only the
// standard library (encoding/json for the JSON schema; UBJSON is transcoded
// to JSON by a small bounded decoder so both share one schema).
//
// # Contract
//
//   - Boosters gbtree (including random forests, num_parallel_tree > 1),
//     dart (each tree's output multiplied by its weight_drop, as xgboost
//     does at prediction time) and gblinear.
//   - Objectives: reg:squarederror, reg:squaredlogerror, reg:logistic,
//     reg:pseudohubererror, reg:absoluteerror, reg:gamma, reg:tweedie,
//     count:poisson, binary:logistic, binary:logitraw, binary:hinge,
//     multi:softmax, multi:softprob, rank:pairwise, rank:ndcg, rank:map,
//     survival:cox, survival:aft (plus reg:linear and reg:quantileerror).
//     Predict applies the objective's transform; PredictMargin does not.
//   - base_score is stored in output space (xgboost >= 1.0); the initial
//     margin is the objective's prob_to_margin of it, computed in float32.
//     Pre-1.0 binary models stored a margin and are converted as xgboost
//     converts them.
//   - Arithmetic follows xgboost's CPU predictor: margins start at the base
//     margin and add each tree's leaf in tree order in float32; numerical
//     splits go left when value < threshold (float32); a missing value
//     (NaN) follows the node's default direction; a categorical split sends
//     a row right when its category (the value truncated to an integer) is
//     in the node's set and left otherwise, including negative and
//     out-of-range values.
//   - Trees are validated on load (child indices in range, every node
//     reached at most once, feature indices below num_feature, no NaN
//     thresholds or leaves) and flattened breadth-first into one array of
//     16-byte nodes with adjacent siblings, so traversal cannot loop and
//     Predict allocates nothing.
//   - Hostile input yields an error, never a panic: every declared count or
//     length is checked against the bytes remaining before allocating, so
//     memory stays within a small multiple of the input size, and UBJSON
//     nesting is capped.
//   - A Model is immutable and safe for concurrent use.
package xgboost
