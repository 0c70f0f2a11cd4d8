package xgboost

import (
	"math"
	"testing"
)

// fuzzLoad loads data and, when it is accepted, predicts with it: neither
// may panic, an accepted model must predict, and the loaded model must stay
// within a bounded multiple of the input's size.
func fuzzLoad(t *testing.T, data []byte) {
	m, err := Load(data)
	if err != nil {
		return
	}
	info := m.Info()
	if limit := int64(64*len(data) + 4096); info.MemoryBytes > limit {
		t.Fatalf("model of %d input bytes holds %d bytes, more than %d", len(data), info.MemoryBytes, limit)
	}
	if info.NumFeatures > 1<<16 {
		return // valid but too wide to exercise cheaply
	}
	x := make([]float32, 2*info.NumFeatures)
	for i := range info.NumFeatures {
		x[i] = float32(math.NaN())
		x[info.NumFeatures+i] = float32(i) - 1
	}
	out := make([]float32, 2*max(info.NumOutputs, info.NumMargins))
	if err := m.Predict(x, 2, out); err != nil {
		t.Fatalf("Predict on an accepted model: %v", err)
	}
	if err := m.PredictMargin(x, 2, out); err != nil {
		t.Fatalf("PredictMargin on an accepted model: %v", err)
	}
}

func FuzzLoadJSON(f *testing.F) {
	f.Add([]byte(tinyJSON))
	f.Add(tiny(`[0.5,-1,1]`, `[NaN,-1,Infinity]`, `"split_type":[0,0,0]`, `"split_type":[1,0,0]`, `"categories":[]`, `"categories":[2]`,
		`"categories_nodes":[]`, `"categories_nodes":[0]`, `"categories_segments":[]`, `"categories_segments":[0]`,
		`"categories_sizes":[]`, `"categories_sizes":[1]`))
	for _, name := range []string{"linear_logistic.json", "hinge.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(fuzzLoad)
}

func FuzzLoadUBJ(f *testing.F) {
	for _, name := range []string{"binary_logistic.ubj", "categorical.ubj"} {
		f.Add(readFixture(f, name))
	}
	f.Add([]byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner[$d#L\x00\x00\x00\x00\x00\x00\x00\x02"))
	f.Fuzz(fuzzLoad)
}

func FuzzLoadBinary(f *testing.F) {
	for _, name := range []string{"binary_logistic.bin", "dart_regression.bin", "linear_logistic.bin"} {
		f.Add(readFixture(f, name))
	}
	f.Add(encodeBinary(synthSpec("reg:squarederror", 2, 2, 3, 1), 0, false))
	f.Fuzz(fuzzLoad)
}
