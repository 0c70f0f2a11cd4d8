package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const fixtures = "../../runtime/xgboost/testdata/fixtures/"

// predictFixture holds a fixture's rows as CSV and xgboost's predictions.
func predictFixture(t *testing.T, name string) (csv string, want []float64, perRow int) {
	t.Helper()
	b, err := os.ReadFile(fixtures + name + ".expect.json")
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Features, Rows int
		X, Predict     []*float64
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for r := range e.Rows {
		for c := range e.Features {
			if c > 0 {
				sb.WriteByte(',')
			}
			if v := e.X[r*e.Features+c]; v != nil {
				sb.WriteString(strconv.FormatFloat(*v, 'g', -1, 32))
			} else if r%2 == 0 {
				sb.WriteString("nan")
			}
		}
		sb.WriteByte('\n')
	}
	for _, v := range e.Predict {
		want = append(want, *v)
	}
	return sb.String(), want, len(e.Predict) / e.Rows
}

func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	err := root.Execute()
	return out.String(), err
}

func assertPredictions(t *testing.T, got [][]string, want []float64, perRow int) {
	t.Helper()
	if len(got)*perRow != len(want) {
		t.Fatalf("got %d rows, want %d", len(got), len(want)/perRow)
	}
	for r, row := range got {
		if len(row) != perRow {
			t.Fatalf("row %d has %d values, want %d", r+1, len(row), perRow)
		}
		for k, s := range row {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				t.Fatalf("row %d: %v", r+1, err)
			}
			if w := want[r*perRow+k]; math.Abs(v-w) > 1e-6*math.Max(1, math.Abs(w)) {
				t.Fatalf("row %d output %d = %g, want %g", r+1, k+1, v, w)
			}
		}
	}
}

func modelTarGz(t *testing.T, model string) string {
	t.Helper()
	data, err := os.ReadFile(fixtures + model)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "xgboost-model", Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.tar.gz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPredictCmd(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct{ name, fixture, model string }{
		{"CSVBinaryLogistic", "binary_logistic", fixtures + "binary_logistic.json"},
		{"CSVSoftprobTarGz", "multi_softprob_rf", ""},
		{"CSVSoftmaxUBJ", "multi_softmax", fixtures + "multi_softmax.ubj"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			csv, want, perRow := predictFixture(t, tt.fixture)
			model := tt.model
			if model == "" {
				model = modelTarGz(t, tt.fixture+".bin")
			}
			out, err := runCLI(t, "", "predict", "--model", model, "--input", write(tt.name+".csv", csv))
			if err != nil {
				t.Fatal(err)
			}
			var rows [][]string
			for line := range strings.Lines(out) {
				rows = append(rows, strings.Split(strings.TrimSuffix(line, "\n"), ","))
			}
			assertPredictions(t, rows, want, perRow)
		})
	}
	for _, tt := range []struct {
		name, format string
		args         []string
	}{
		{"JSONFromStdin", "json", []string{"-o", "json"}},
		{"YAMLFromStdin", "yaml", []string{"-o", "yaml"}},
		{"DeprecatedFormatJSON", "json", []string{"--format", "json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			csv, want, perRow := predictFixture(t, "multi_softprob_rf")
			out, err := runCLI(t, csv, append([]string{"predict", "--model", fixtures + "multi_softprob_rf.json", "--input", "-"}, tt.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			if i := strings.Index(out, "Flag --format has been deprecated"); i >= 0 {
				out = out[strings.Index(out[i:], "\n")+i+1:]
			}
			var doc struct {
				Predictions [][]float64 `json:"predictions"`
			}
			if err := decodeOutput(tt.format, out, &doc); err != nil {
				t.Fatalf("output is not %s: %v\n%s", tt.format, err, out)
			}
			var rows [][]string
			for _, r := range doc.Predictions {
				var s []string
				for _, v := range r {
					s = append(s, strconv.FormatFloat(v, 'g', -1, 64))
				}
				rows = append(rows, s)
			}
			assertPredictions(t, rows, want, perRow)
		})
	}

	model := fixtures + "binary_logistic.json"
	good := write("good.csv", "1,2,3,4\n")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrBadValue", []string{"--model", model, "--input", write("bad.csv", "1,2,3,4\n5,6,seven,8\n")}, `row 2, column 3: "seven" is not a number`},
		{"ErrColumns", []string{"--model", model, "--input", write("short.csv", "1,2,3\n")}, "row 1: 3 columns, want 4"},
		{"ErrFormat", []string{"--model", model, "--input", good, "--format", "xml"}, `unknown --format "xml"`},
		{"ErrOutput", []string{"--model", model, "--input", good, "-o", "xml"}, `output format "xml" must be table, json or yaml`},
		{"ErrNoModelFile", []string{"--model", filepath.Join(dir, "nope"), "--input", good}, "open model"},
		{"ErrNotAModel", []string{"--model", good, "--input", good}, "unknown model format"},
		{"ErrNoInputFile", []string{"--model", model, "--input", filepath.Join(dir, "nope.csv")}, "open input"},
		{"ErrMissingFlag", []string{"--model", model}, `required flag(s) "input" not set`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := runCLI(t, "", append([]string{"predict"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
