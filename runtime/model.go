package runtime

// Info describes a loaded model.
type Info struct {
	// Format names the on-disk format the model was loaded from,
	// e.g. "xgboost-json", "xgboost-ubj", "xgboost-binary".
	Format string
	// Objective is the training objective, e.g. "binary:logistic".
	Objective string
	// NumFeatures is the number of input columns a row must have.
	NumFeatures int
	// FeatureNames are the feature names saved with the model, if any.
	FeatureNames []string
	// NumOutputs is the number of values Predict writes per row.
	NumOutputs int
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
