// Package servingtest holds what the serving packages' tests share: building
// the tenantml binary once per test binary, running the Python generators
// in serving/testdata, and comparing predictions. It is imported by tests
// only.
package servingtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Python is the interpreter carrying Debian's python3-xgboost and
// python3-sklearn (scripts/test-deps.sh installs them).
const Python = "/usr/bin/python3"

// ModuleRoot returns the repository root (the directory of go.mod).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}

// PublicDir creates a temporary directory every user may traverse and read
// (0755), for the binary and scripts that workers running as their own
// users execute.
func PublicDir() (string, error) {
	dir, err := os.MkdirTemp("", "tenantml-test-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// BuildBinary builds cmd/tenantml into dir and returns its path.
func BuildBinary(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "tenantml")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/tenantml")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// CopyScript copies a file of the repository (path relative to the root)
// into dir, readable by everyone, and returns the copy's path.
func CopyScript(dir, rel string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, rel))
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, filepath.Base(rel))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return "", err
	}
	return dst, nil
}

// RunPython runs a script of the repository with args and fails the test
// (never skips) when Python or its packages are missing.
func RunPython(tb testing.TB, rel string, args ...string) {
	tb.Helper()
	if err := runPython(rel, args...); err != nil {
		tb.Fatal(err)
	}
}

func runPython(rel string, args ...string) error {
	if _, err := os.Stat(Python); err != nil {
		return fmt.Errorf("%s is required (scripts/test-deps.sh installs python3-xgboost and python3-sklearn): %w", Python, err)
	}
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command(Python, append([]string{filepath.Join(root, rel)}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w\n%s", rel, err, stderr.String())
	}
	return nil
}

// XGBCase is one model gen.py trained, with xgboost's predictions.
type XGBCase struct {
	Name        string      `json:"name"`
	Objective   string      `json:"objective"`
	Artifact    string      `json:"artifact"`
	NumFeatures int         `json:"num_features"`
	NumOutputs  int         `json:"num_outputs"`
	RowsCSV     string      `json:"rows_csv"`
	RowsJSON    string      `json:"rows_json"`
	Predictions []*float64  `json:"predictions"`
	Rows        int         `json:"rows"`
	X           [][]float64 `json:"-"`
}

// XGBoost trains the serving test models with the real xgboost library
// (serving/testdata/xgb/gen.py) once per test binary, into a directory
// removed by the test binary's cleanup (Close).
type XGBoost struct {
	once  sync.Once
	dir   string
	cases []XGBCase
	err   error
}

// Cases returns the directory and the cases, training them on first use;
// it fails the test (never skips) when xgboost is missing.
func (x *XGBoost) Cases(tb testing.TB) (string, []XGBCase) {
	tb.Helper()
	x.once.Do(func() {
		if x.dir, x.err = os.MkdirTemp("", "tenantml-xgb-"); x.err != nil {
			return
		}
		if x.err = runPython("serving/testdata/xgb/gen.py", x.dir); x.err != nil {
			return
		}
		var b []byte
		if b, x.err = os.ReadFile(filepath.Join(x.dir, "manifest.json")); x.err != nil {
			return
		}
		x.err = json.Unmarshal(b, &x.cases)
	})
	if x.err != nil {
		tb.Fatalf("train the xgboost test models: %v", x.err)
	}
	return x.dir, x.cases
}

// Close removes the models.
func (x *XGBoost) Close() {
	if x.dir != "" {
		os.RemoveAll(x.dir)
	}
}

// ParseCSV parses a worker's text/csv answer.
func ParseCSV(body []byte) ([]float64, error) {
	var out []float64
	for line := range strings.SplitSeq(strings.TrimSpace(string(body)), "\n") {
		for f := range strings.SplitSeq(line, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil {
				return nil, fmt.Errorf("answer %q: %w", truncate(string(body)), err)
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// ParseJSONScores parses {"predictions": [{"score": v | [v...]}, ...]}.
func ParseJSONScores(body []byte) ([]float64, error) {
	var resp struct {
		Predictions []struct {
			Score json.RawMessage `json:"score"`
		} `json:"predictions"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("answer %q: %w", truncate(string(body)), err)
	}
	var out []float64
	for _, p := range resp.Predictions {
		var one float64
		if err := json.Unmarshal(p.Score, &one); err == nil {
			out = append(out, one)
			continue
		}
		var many []float64
		if err := json.Unmarshal(p.Score, &many); err != nil {
			return nil, fmt.Errorf("score %s: %w", p.Score, err)
		}
		out = append(out, many...)
	}
	return out, nil
}

func truncate(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// RelTol is the tolerance predictions must meet against the library's:
// |got-want| <= RelTol*|want|, or AbsTol near zero.
const (
	RelTol = 1e-5
	AbsTol = 1e-6
)

// Compare reports predictions that differ from want beyond tolerance.
func Compare(got []float64, want []*float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("%d predictions, want %d", len(got), len(want))
	}
	var bad []string
	for i, w := range want {
		if w == nil {
			if !math.IsNaN(got[i]) {
				bad = append(bad, fmt.Sprintf("#%d: got %g, want NaN", i, got[i]))
			}
			continue
		}
		if math.Abs(got[i]-*w) > math.Max(RelTol*math.Abs(*w), AbsTol) {
			bad = append(bad, fmt.Sprintf("#%d: got %.9g, want %.9g", i, got[i], *w))
		}
	}
	if len(bad) > 0 {
		if len(bad) > 5 {
			bad = append(bad[:5], "...")
		}
		return fmt.Errorf("%d predictions differ: %s", len(bad), strings.Join(bad, "; "))
	}
	return nil
}
