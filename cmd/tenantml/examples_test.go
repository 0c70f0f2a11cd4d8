package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestExamples_TrainReproducible runs examples/models/train.py with
// Debian's python3-xgboost and checks that it rewrites the committed model,
// rows and expected predictions byte for byte: the example model is what
// its script says it is.
func TestExamples_TrainReproducible(t *testing.T) {
	models := filepath.Join(repoRoot(t), "examples", "models")
	out := t.TempDir()
	if b, err := exec.Command("/usr/bin/python3", filepath.Join(models, "train.py"), out).CombinedOutput(); err != nil {
		t.Fatalf("train.py: %v\n%s", err, b)
	}
	for _, name := range []string{"model.tar.gz", "rows.csv", "expected.csv"} {
		t.Run(name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join(models, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("train.py wrote a different %s (%d bytes, committed %d): run /usr/bin/python3 examples/models/train.py and commit", name, len(got), len(want))
			}
		})
	}
}
