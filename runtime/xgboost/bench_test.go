package xgboost

import (
	"testing"
)

// benchModel is the reference model: 100 full trees of depth 6 over
// 20 features.
func benchModel(b *testing.B) *Model {
	b.Helper()
	m, err := build(synthSpec("binary:logistic", 100, 6, 20, 42))
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// benchInputs are the row sets the predict benchmarks run on: dense rows
// and rows with 5% of values missing (most rows then have one).
var benchInputs = []struct {
	name    string
	missing float64
}{{"dense", 0}, {"missing5pct", 0.05}}

// BenchmarkModel_PredictSingleRow predicts one row per call, cycling over
// 1024 distinct rows so branch predictors cannot memorise one path.
func BenchmarkModel_PredictSingleRow(b *testing.B) {
	m := benchModel(b)
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			const rows = 1024
			x := synthRowsMissing(rows, 20, 7, in.missing)
			out := make([]float32, 1)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := i % rows
				if err := m.Predict(x[r*20:(r+1)*20], 1, out); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(m.Info().MemoryBytes), "model-bytes")
		})
	}
}

// BenchmarkModel_PredictBatch predicts 10,000 rows per call on one
// goroutine; ns/row is the per-row cost.
func BenchmarkModel_PredictBatch(b *testing.B) {
	m := benchModel(b)
	for _, in := range benchInputs {
		b.Run(in.name, func(b *testing.B) {
			const rows = 10000
			x := synthRowsMissing(rows, 20, 8, in.missing)
			out := make([]float32, rows)
			b.ReportAllocs()
			for b.Loop() {
				if err := m.Predict(x, rows, out); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
			b.ReportMetric(float64(m.Info().MemoryBytes), "model-bytes")
		})
	}
}

// BenchmarkLoad measures loading the checked-in fixtures in each format.
func BenchmarkLoad(b *testing.B) {
	for _, name := range []string{"multi_softprob_rf.json", "binary_logistic.ubj", "multi_softprob_rf.bin"} {
		data := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Load(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
