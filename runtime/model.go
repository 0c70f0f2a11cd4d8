package runtime

// Info describes a loaded model.
type Info struct {
	// Format names the on-disk format the model was loaded from,
	// e.g. "xgboost-json", "xgboost-ubj", "xgboost-binary".
	Format string
	// Objective is the training objective, e.g. "binary:logistic".
	Objective string
	// Booster names the model family within the format, e.g. "gbtree",
	// "dart" or "gblinear" for XGBoost. Empty when the format has none.
	Booster string
	// NumFeatures is the number of input columns a row must have.
	NumFeatures int
	// FeatureNames are the feature names saved with the model, if any.
	FeatureNames []string
	// NumOutputs is the number of values Predict writes per row.
	NumOutputs int
	// NumMargins is the number of values PredictMargin writes per row
	// (one per output group), or 0 when the model has no margin output.
	NumMargins int
	// NumIterations is the number of boosting rounds, the unit of
	// PredictRange, or 0 when the model does not support ranges.
	NumIterations int
	// MemoryBytes estimates the bytes the loaded model holds in memory.
	MemoryBytes int64
}

// Model is a loaded model. Implementations are safe for concurrent use.
type Model interface {
	// Info returns the model's metadata.
	Info() Info
	// Predict computes the outputs for rows. x holds rows*NumFeatures
	// values in row-major order, NaN meaning missing; out must hold
	// rows*NumOutputs values and receives the transformed predictions
	// (probabilities, not margins, where the objective defines them).
	Predict(x []float32, rows int, out []float32) error
}

// MarginPredictor is implemented by models that can return untransformed
// scores (XGBoost's output_margin=True).
type MarginPredictor interface {
	// PredictMargin writes rows*NumMargins raw scores into out; x is laid
	// out as for Model.Predict.
	PredictMargin(x []float32, rows int, out []float32) error
}

// RangePredictor is implemented by boosted models that can predict with a
// subset of their boosting rounds (XGBoost's iteration_range).
type RangePredictor interface {
	// PredictRange is Predict restricted to the iterations [begin, end);
	// end 0 means all iterations.
	PredictRange(x []float32, rows int, out []float32, begin, end int) error
}
