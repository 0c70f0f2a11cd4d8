package xgboost_test

// The conformance suite trains models with the real xgboost library at test
// time (testdata/gen/gen.py, run by Debian's /usr/bin/python3 with
// python3-xgboost and python3-sklearn, installed by scripts/test-deps.sh) and
// requires this runtime to reproduce every prediction xgboost made: the
// transformed output, the raw margin and iteration ranges, for every
// objective, booster and file format, and for the SageMaker-style
// model.tar.gz artifact.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/xgboost"
)

const (
	// python is the interpreter carrying Debian's python3-xgboost.
	python = "/usr/bin/python3"
	// genScript trains the models and writes the expected predictions.
	genScript = "testdata/gen/gen.py"
	// relTol and absTol bound |got-want| <= max(relTol*|want|, absTol):
	// 1e-6 relative in float32, and about one float32 ulp at 1.0 for
	// values near zero.
	relTol = 1e-6
	absTol = 1.2e-7
)

// manifest mirrors OUTDIR/manifest.json written by gen.py.
type manifest struct {
	XGBoostVersion string     `json:"xgboost_version"`
	Objectives     []string   `json:"objectives"`
	Boosters       []string   `json:"boosters"`
	Cases          []caseSpec `json:"cases"`
}

type caseSpec struct {
	Name      string         `json:"name"`
	Objective string         `json:"objective"`
	Booster   string         `json:"booster"`
	Tags      []string       `json:"tags"`
	Data      string         `json:"data"`
	Formats   []formatSpec   `json:"formats"`
	Dropped   []droppedSpec  `json:"dropped_formats"`
	Artifacts []artifactSpec `json:"artifacts"`
	Params    map[string]any `json:"params"`
	Rounds    int            `json:"rounds"`
}

type formatSpec struct {
	Format       string   `json:"format"`
	File         string   `json:"file"`
	NumFeatures  int      `json:"num_features"`
	FeatureNames []string `json:"feature_names"`
	Objective    string   `json:"objective"`
}

type artifactSpec struct {
	File   string `json:"file"`
	Member string `json:"member"`
	Format string `json:"format"`
}

type droppedSpec struct {
	Format string `json:"format"`
	Reason string `json:"reason"`
}

// caseData mirrors OUTDIR/<case>/data.json; null stands for NaN.
type caseData struct {
	Rows           int         `json:"rows"`
	NumFeatures    int         `json:"num_features"`
	X              floats      `json:"x"`
	Predict        floats      `json:"predict"`
	PredictOutputs int         `json:"predict_outputs"`
	Margin         floats      `json:"margin"`
	MarginOutputs  int         `json:"margin_outputs"`
	Ranges         []rangeData `json:"ranges"`
}

type rangeData struct {
	Begin   int    `json:"begin"`
	End     int    `json:"end"`
	Predict floats `json:"predict"`
	Margin  floats `json:"margin"`
}

// floats decodes a JSON array of numbers and nulls into float32, null
// becoming NaN. gen.py writes float32 values exactly.
type floats []float32

func (f *floats) UnmarshalJSON(b []byte) error {
	var raw []*float64
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make([]float32, len(raw))
	for i, v := range raw {
		if v == nil {
			out[i] = float32(math.NaN())
			continue
		}
		out[i] = float32(*v)
	}
	*f = out
	return nil
}

// generate runs gen.py into a fresh directory and returns the directory and
// its manifest. It fails, never skips, when xgboost is not installed.
func generate(t *testing.T) (string, manifest) {
	t.Helper()
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("conformance needs %s with python3-xgboost and python3-sklearn (scripts/test-deps.sh installs them): %v", python, err)
	}
	check := exec.Command(python, "-c", "import xgboost, sklearn")
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("conformance needs python3-xgboost and python3-sklearn (run scripts/test-deps.sh): %v\n%s", err, out)
	}
	dir := t.TempDir()
	cmd := exec.Command(python, genScript, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("run %s: %v\n%s", genScript, err, stderr.String())
	}
	var m manifest
	readJSON(t, filepath.Join(dir, "manifest.json"), &m)
	return dir, m
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// TestModel_PredictConformance loads every generated case in every format
// xgboost saved it in and compares all predictions with xgboost's.
func TestModel_PredictConformance(t *testing.T) {
	dir, m := generate(t)
	t.Logf("xgboost %s, %d cases", m.XGBoostVersion, len(m.Cases))
	checkCoverage(t, m)

	reg := runtime.NewRegistry(xgboost.Format{})
	for _, c := range m.Cases {
		t.Run(c.Name, func(t *testing.T) {
			var d caseData
			readJSON(t, filepath.Join(dir, c.Data), &d)
			if len(d.X) != d.Rows*d.NumFeatures {
				t.Fatalf("data.json: %d values for %d rows of %d features", len(d.X), d.Rows, d.NumFeatures)
			}
			for _, f := range c.Formats {
				t.Run(f.Format, func(t *testing.T) {
					b, err := os.ReadFile(filepath.Join(dir, f.File))
					if err != nil {
						t.Fatal(err)
					}
					model, err := xgboost.Load(b)
					if err != nil {
						t.Fatalf("Load: %v", err)
					}
					checkInfo(t, model.Info(), c, f, d)
					checkModel(t, model, d)
				})
			}
			for _, a := range c.Artifacts {
				t.Run(filepath.Base(a.File), func(t *testing.T) {
					b, err := os.ReadFile(filepath.Join(dir, a.File))
					if err != nil {
						t.Fatal(err)
					}
					model, err := runtime.LoadArtifact(bytes.NewReader(b), reg, runtime.Limits{})
					if err != nil {
						t.Fatalf("LoadArtifact (%s inside): %v", a.Member, err)
					}
					if got := model.Info().Format; got != a.Format {
						t.Errorf("Info().Format = %q, want %q", got, a.Format)
					}
					out := make([]float32, d.Rows*d.PredictOutputs)
					if err := model.Predict(d.X, d.Rows, out); err != nil {
						t.Fatalf("Predict: %v", err)
					}
					compare(t, "Predict", out, d.Predict, d.PredictOutputs)
				})
			}
		})
	}
}

// checkCoverage fails when gen.py stopped producing a case the issue asks
// for: every objective with every booster, in all three formats, each also
// packed as a model.tar.gz.
func checkCoverage(t *testing.T, m manifest) {
	t.Helper()
	have := map[string][]string{}
	for _, c := range m.Cases {
		if len(c.Artifacts) != len(c.Formats) {
			t.Errorf("coverage %s: %d artifacts for %d formats", c.Name, len(c.Artifacts), len(c.Formats))
		}
		if len(c.Tags) > 0 {
			continue
		}
		for _, f := range c.Formats {
			key := c.Objective + "/" + c.Booster
			have[key] = append(have[key], f.Format)
		}
	}
	for _, obj := range m.Objectives {
		for _, b := range m.Boosters {
			got := have[obj+"/"+b]
			slices.Sort(got)
			if want := []string{"xgboost-binary", "xgboost-json", "xgboost-ubj"}; !slices.Equal(got, want) {
				t.Errorf("coverage %s/%s: formats %v, want %v", obj, b, got, want)
			}
		}
	}
	tags := map[string]bool{}
	for _, c := range m.Cases {
		for _, tag := range c.Tags {
			if len(c.Formats) > 0 {
				tags[tag] = true
			}
		}
	}
	for _, tag := range []string{"num_parallel_tree", "dart", "base_score", "missing", "feature_names", "categorical"} {
		if !tags[tag] {
			t.Errorf("coverage: no loadable case tagged %q", tag)
		}
	}
}

func checkInfo(t *testing.T, got runtime.Info, c caseSpec, f formatSpec, d caseData) {
	t.Helper()
	if got.Booster != c.Booster {
		t.Errorf("Info().Booster = %q, want %q", got.Booster, c.Booster)
	}
	if got.Format != f.Format {
		t.Errorf("Info().Format = %q, want %q", got.Format, f.Format)
	}
	if got.Objective != f.Objective {
		t.Errorf("Info().Objective = %q, want %q", got.Objective, f.Objective)
	}
	if got.NumFeatures != f.NumFeatures {
		t.Errorf("Info().NumFeatures = %d, want %d", got.NumFeatures, f.NumFeatures)
	}
	if len(got.FeatureNames) != 0 || len(f.FeatureNames) != 0 {
		if !slices.Equal(got.FeatureNames, f.FeatureNames) {
			t.Errorf("Info().FeatureNames = %q, want %q", got.FeatureNames, f.FeatureNames)
		}
	}
	if got.NumOutputs != d.PredictOutputs {
		t.Errorf("Info().NumOutputs = %d, want %d", got.NumOutputs, d.PredictOutputs)
	}
	if got.NumMargins != d.MarginOutputs {
		t.Errorf("Info().NumMargins = %d, want %d", got.NumMargins, d.MarginOutputs)
	}
	wantIter := c.Rounds
	if c.Booster == "gblinear" {
		wantIter = 0
	}
	if got.NumIterations != wantIter {
		t.Errorf("Info().NumIterations = %d, want %d", got.NumIterations, wantIter)
	}
	if got.MemoryBytes <= 0 {
		t.Errorf("Info().MemoryBytes = %d, want > 0", got.MemoryBytes)
	}
}

func checkModel(t *testing.T, m *xgboost.Model, d caseData) {
	t.Helper()
	out := make([]float32, d.Rows*d.PredictOutputs)
	if err := m.Predict(d.X, d.Rows, out); err != nil {
		t.Errorf("Predict: %v", err)
	} else {
		compare(t, "Predict", out, d.Predict, d.PredictOutputs)
	}

	margin := make([]float32, d.Rows*d.MarginOutputs)
	if err := m.PredictMargin(d.X, d.Rows, margin); err != nil {
		t.Errorf("PredictMargin: %v", err)
	} else {
		compare(t, "PredictMargin", margin, d.Margin, d.MarginOutputs)
	}

	for _, r := range d.Ranges {
		out := make([]float32, d.Rows*d.PredictOutputs)
		name := fmt.Sprintf("PredictRange(%d, %d)", r.Begin, r.End)
		if err := m.PredictRange(d.X, d.Rows, out, r.Begin, r.End); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		compare(t, name, out, r.Predict, d.PredictOutputs)

		margin := make([]float32, d.Rows*d.MarginOutputs)
		name = fmt.Sprintf("PredictMarginRange(%d, %d)", r.Begin, r.End)
		if err := m.PredictMarginRange(d.X, d.Rows, margin, r.Begin, r.End); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		compare(t, name, margin, r.Margin, d.MarginOutputs)
	}
}

// compare reports the outputs that differ from xgboost's beyond tolerance,
// naming the first few by row and output so a failure can be diagnosed.
func compare(t *testing.T, what string, got, want []float32, perRow int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d outputs, want %d", what, len(got), len(want))
		return
	}
	var bad []string
	n := 0
	for i := range want {
		if close32(got[i], want[i]) {
			continue
		}
		n++
		if len(bad) < 5 {
			bad = append(bad, fmt.Sprintf("row %d out %d: got %.9g, want %.9g", i/perRow, i%perRow, got[i], want[i]))
		}
	}
	if n > 0 {
		t.Errorf("%s: %d of %d outputs differ from xgboost:\n  %s", what, n, len(want), strings.Join(bad, "\n  "))
	}
}

// close32 reports whether got equals want within relTol relative, absTol
// absolute near zero; NaN equals NaN and infinities must match exactly.
func close32(got, want float32) bool {
	g, w := float64(got), float64(want)
	switch {
	case math.IsNaN(w) || math.IsNaN(g):
		return math.IsNaN(w) && math.IsNaN(g)
	case math.IsInf(w, 0) || math.IsInf(g, 0):
		return g == w
	}
	return math.Abs(g-w) <= math.Max(relTol*math.Abs(w), absTol)
}

// TestClose32 pins the tolerance the conformance suite applies.
func TestClose32(t *testing.T) {
	tests := []struct {
		name      string
		got, want float32
		ok        bool
	}{
		{"Equal", 0.25, 0.25, true},
		{"WithinRelative", 1000.0005, 1000, true},
		{"BeyondRelative", 1000.002, 1000, false},
		{"NearZeroWithinFloor", 1e-8, 0, true},
		{"NearZeroBeyondFloor", 1e-6, 0, false},
		{"NaNBoth", float32(math.NaN()), float32(math.NaN()), true},
		{"NaNOne", float32(math.NaN()), 1, false},
		{"InfMatch", float32(math.Inf(1)), float32(math.Inf(1)), true},
		{"InfSign", float32(math.Inf(-1)), float32(math.Inf(1)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := close32(tt.got, tt.want); got != tt.ok {
				t.Errorf("close32(%g, %g) = %v, want %v", tt.got, tt.want, got, tt.ok)
			}
		})
	}
}
