package simulate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestCorpus runs every case of iam/testdata/corpus/*.json and requires the
// engine's decision to equal the case's expected response.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "corpus", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no corpus files in iam/testdata/corpus")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var raws []json.RawMessage
			if err := json.Unmarshal(data, &raws); err != nil {
				t.Fatalf("decode %s: %v", file, err)
			}
			for i, raw := range raws {
				c, err := ParseCase(raw)
				name := c.Name
				if name == "" {
					name = fmt.Sprintf("%s#%d", filepath.Base(file), i)
				}
				t.Run(name, func(t *testing.T) {
					if err != nil {
						t.Fatalf("parse case: %v", err)
					}
					if c.Expected == nil {
						t.Fatal("case has no expected response")
					}
					got := Run(c)
					if got.Error != "" {
						t.Fatalf("run: %s", got.Error)
					}
					if got.Decision != c.Expected.Response {
						t.Errorf("decision = %s, want %s (doc: %s)\nreason: %s", got.Decision, c.Expected.Response, c.Doc, got.Reason)
					}
					// The set-level index must not change the decision or the
					// deciding statements (it only skips statements that cannot
					// apply, so near-miss hints in the reason may differ).
					plain := run(c, false)
					if plain.Decision != got.Decision || !reflect.DeepEqual(plain.Statements, got.Statements) {
						t.Errorf("indexed and unindexed results differ:\nindexed:   %+v\nunindexed: %+v", got, plain)
					}
				})
			}
		})
	}
}
