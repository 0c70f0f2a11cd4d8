package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/runtime/xgboost"
)

// TestAgree_LibXGBoost loads the benchmark model that train.py trains, in
// each file format, in tenantml's runtime and in libxgboost, and checks that
// both predict the same for rows with missing values: the benchmark's
// precondition, run by make test.
func TestAgree_LibXGBoost(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("/usr/bin/python3", "train.py", dir).CombinedOutput(); err != nil {
		t.Fatalf("train.py: %v\n%s", err, out)
	}
	const rows = 2000
	for _, format := range []string{"json", "ubj", "bin"} {
		t.Run(format, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "model."+format))
			if err != nil {
				t.Fatal(err)
			}
			model, err := xgboost.Load(data)
			if err != nil {
				t.Fatalf("tenantml load: %v", err)
			}
			cb, err := loadCBooster(data)
			if err != nil {
				t.Fatal(err)
			}
			defer cb.Close()
			info := model.Info()
			x := benchRows(info.NumFeatures, rows, 7)
			got := make([]float32, rows*info.NumOutputs)
			want := make([]float32, rows*info.NumOutputs)
			if err := model.Predict(x, rows, got); err != nil {
				t.Fatal(err)
			}
			crows := newCRows(x, rows, info.NumFeatures)
			defer crows.Free()
			if err := cb.Predict(crows, want); err != nil {
				t.Fatal(err)
			}
			if _, rel := difference(got, want); rel > 1e-5 {
				t.Fatalf("max relative difference %.3g, want at most 1e-5", rel)
			}
		})
	}
}

func TestDifference(t *testing.T) {
	for _, tt := range []struct {
		name             string
		got, want        []float32
		wantAbs, wantRel float64
	}{
		{"Equal", []float32{0.5, 0, 2}, []float32{0.5, 0, 2}, 0, 0},
		{"Relative", []float32{1.5, 4}, []float32{1, 4}, 0.5, 0.5},
		{"ZeroWantOnlyAbsolute", []float32{0.25}, []float32{0}, 0.25, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if abs, rel := difference(tt.got, tt.want); abs != tt.wantAbs || rel != tt.wantRel {
				t.Fatalf("difference = %g, %g; want %g, %g", abs, rel, tt.wantAbs, tt.wantRel)
			}
		})
	}
}
