package xgboost

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// expectation is a <case>.expect.json written by testdata/fixtures/gen.py.
type expectation struct {
	Features     int        `json:"features"`
	Rows         int        `json:"rows"`
	X            []*float32 `json:"x"`
	Predict      []*float32 `json:"predict"`
	Margin       []*float32 `json:"margin"`
	RangeBegin   int        `json:"range_begin"`
	RangeEnd     int        `json:"range_end"`
	RangePredict []*float32 `json:"range_predict"`
}

func loadExpectation(tb testing.TB, path string) expectation {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var e expectation
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return e
}

func values(p []*float32) []float32 {
	out := make([]float32, len(p))
	for i, v := range p {
		if v == nil {
			out[i] = float32(math.NaN())
		} else {
			out[i] = *v
		}
	}
	return out
}

// assertClose fails unless got and want agree within 1e-6 relative
// (absolute near zero).
func assertClose(tb testing.TB, what string, got, want []float32) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.Abs(g-w) > 1e-6*math.Max(1, math.Abs(w)) {
			tb.Errorf("%s[%d] = %.9g, want %.9g", what, i, g, w)
		}
	}
}

func TestModel_PredictFixtures(t *testing.T) {
	models, err := filepath.Glob("testdata/fixtures/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range models {
		ext := filepath.Ext(path)
		if ext != ".json" && ext != ".ubj" && ext != ".bin" || strings.HasSuffix(path, ".expect.json") {
			continue
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(data)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			e := loadExpectation(t, strings.TrimSuffix(path, ext)+".expect.json")
			info := m.Info()
			if info.NumFeatures != e.Features {
				t.Fatalf("NumFeatures = %d, want %d", info.NumFeatures, e.Features)
			}
			wantFormat := map[string]string{".json": "xgboost-json", ".ubj": "xgboost-ubj", ".bin": "xgboost-binary"}[ext]
			if info.Format != wantFormat {
				t.Errorf("Format = %q, want %q", info.Format, wantFormat)
			}
			x := values(e.X)

			got := make([]float32, e.Rows*info.NumOutputs)
			if err := m.Predict(x, e.Rows, got); err != nil {
				t.Fatalf("Predict: %v", err)
			}
			assertClose(t, "predict", got, values(e.Predict))

			margin := make([]float32, e.Rows*info.NumMargins)
			if err := m.PredictMargin(x, e.Rows, margin); err != nil {
				t.Fatalf("PredictMargin: %v", err)
			}
			assertClose(t, "margin", margin, values(e.Margin))

			if e.RangePredict != nil {
				if err := m.PredictRange(x, e.Rows, got, e.RangeBegin, e.RangeEnd); err != nil {
					t.Fatalf("PredictRange: %v", err)
				}
				assertClose(t, "range", got, values(e.RangePredict))
			}
		})
	}
	if n < 10 {
		t.Fatalf("found %d fixture models, want at least 10", n)
	}
}
