package xgboost

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// tinyJSON is a one-tree model: feature 0 < 0.5 (missing goes left) gives
// -1, otherwise 1; base_score 0.5.
const tinyJSON = `{"learner":{"feature_names":[],"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"1"},"tree_info":[0],"trees":[{"default_left":[1,0,0],"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_conditions":[0.5,-1,1],"split_indices":[0,0,0],"split_type":[0,0,0],"categories":[],"categories_nodes":[],"categories_segments":[],"categories_sizes":[],"tree_param":{"num_nodes":"3"}}]},"name":"gbtree"},"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2","num_target":"1"},"objective":{"name":"reg:squarederror"}},"version":[1,7,4]}`

func tiny(replacements ...string) []byte {
	return []byte(strings.NewReplacer(replacements...).Replace(tinyJSON))
}

func TestLoad(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		m, err := Load(tiny())
		if err != nil {
			t.Fatal(err)
		}
		x := []float32{0, 9, 1, 9, float32(math.NaN()), 9}
		got := make([]float32, 3)
		if err := m.Predict(x, 3, got); err != nil {
			t.Fatal(err)
		}
		want := []float32{-0.5, 1.5, -0.5}
		assertClose(t, "predict", got, want)
	})
	t.Run("NonFiniteTokens", func(t *testing.T) {
		// xgboost writes NaN thresholds of categorical splits and may
		// write infinities; an infinite threshold sends everything left.
		m, err := Load(tiny(`[0.5,-1,1]`, `[Infinity,-1,-Infinity]`))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 1)
		if err := m.Predict([]float32{1e30, 0}, 1, got); err != nil {
			t.Fatal(err)
		}
		assertClose(t, "predict", got, []float32{-0.5})
	})

	t.Run("OKZeroTrees", func(t *testing.T) {
		// xgboost.train(..., num_boost_round=0) saves a forest without trees:
		// every prediction is base_score.
		m, err := Load([]byte(`{"learner":{"gradient_booster":{"model":{"gbtree_model_param":{"num_parallel_tree":"1","num_trees":"0"},"tree_info":[],"trees":[]},"name":"gbtree"},"learner_model_param":{"base_score":"5E-1","num_class":"0","num_feature":"2","num_target":"1"},"objective":{"name":"reg:squarederror"}},"version":[1,7,4]}`))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 2)
		if err := m.Predict([]float32{1, 2, 3, 4}, 2, got); err != nil {
			t.Fatal(err)
		}
		assertClose(t, "predict", got, []float32{0.5, 0.5})
	})
	t.Run("OK2xEncodings", func(t *testing.T) {
		// xgboost >= 2.1 writes base_score as a bracketed list; some writers
		// use booleans for default_left and numbers for parameters.
		m, err := Load(tiny(`"5E-1"`, `"[5E-1]"`, `"default_left":[1,0,0]`, `"default_left":[true,false,false]`, `"num_nodes":"3"`, `"num_nodes":3`))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, 1)
		if err := m.Predict([]float32{float32(math.NaN()), 0}, 1, got); err != nil {
			t.Fatal(err)
		}
		assertClose(t, "predict", got, []float32{-0.5})
	})

	deep := `{"learner":` + strings.Repeat("[", 100000)
	ubjDeep := append([]byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner"), bytes.Repeat([]byte("["), 100000)...)
	ubjHugeCount := []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner[$d#L\x3f\xff\xff\xff\xff\xff\xff\xff")
	ubjHugeString := []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learnerSL\x3f\xff\xff\xff\xff\xff\xff\xff")
	ubjNegative := []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner[#i\xff")

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ErrEmpty", nil, "not an xgboost model"},
		{"ErrGarbage", []byte("hello, world"), "not an xgboost model"},
		{"ErrOtherJSON", []byte(`{"model": 1}`), "not an xgboost model"},
		{"ErrTruncatedJSON", tiny()[:len(tinyJSON)/2], "decode model"},
		{"ErrNoLearner", []byte(`{"version":[1,7,4]}`), "no learner"},
		{"ErrDeepJSON", []byte(deep), "decode model"},
		{"ErrChildOutOfRange", tiny(`"left_children":[1,`, `"left_children":[7,`), "child 7 out of range"},
		{"ErrChildIsRoot", tiny(`"left_children":[1,-1,-1]`, `"left_children":[1,0,-1]`, `"right_children":[2,-1,-1]`, `"right_children":[2,2,-1]`), "child 0 out of range"},
		{"ErrSharedChild", tiny(`"right_children":[2,`, `"right_children":[1,`), "reached twice"},
		{"ErrOneChild", tiny(`"right_children":[2,`, `"right_children":[-1,`), "one child"},
		{"ErrFeatureOutOfRange", tiny(`"split_indices":[0,`, `"split_indices":[5,`), "feature 5 out of range"},
		{"ErrNaNThreshold", tiny(`[0.5,-1,1]`, `[NaN,-1,1]`), "split condition is NaN"},
		{"ErrNaNLeaf", tiny(`[0.5,-1,1]`, `[0.5,NaN,1]`), "leaf value is NaN"},
		{"ErrBadNumber", tiny(`[0.5,-1,1]`, `[0.5,"x",1]`), "bad number"},
		{"ErrHugeNumber", tiny(`[0.5,-1,1]`, `[1e999,-1,1]`), "bad number"},
		{"ErrLengthMismatch", tiny(`"default_left":[1,0,0]`, `"default_left":[1,0]`), "disagree in length"},
		{"ErrNumNodes", tiny(`"num_nodes":"3"`, `"num_nodes":"4"`), "num_nodes is 4"},
		{"ErrNumTrees", tiny(`"num_trees":"1"`, `"num_trees":"2"`), "num_trees is 2"},
		{"ErrNoNodes", tiny(`"default_left":[1,0,0],"left_children":[1,-1,-1],"right_children":[2,-1,-1],"split_conditions":[0.5,-1,1],"split_indices":[0,0,0],"split_type":[0,0,0]`,
			`"default_left":[],"left_children":[],"right_children":[],"split_conditions":[],"split_indices":[],"split_type":[]`, `"num_nodes":"3"`, `"num_nodes":"0"`), "no nodes"},
		{"ErrObjective", tiny("reg:squarederror", "reg:bogus"), `unsupported objective "reg:bogus"`},
		{"ErrBooster", tiny(`"name":"gbtree"`, `"name":"gbforest"`), `unsupported booster "gbforest"`},
		{"ErrGroup", tiny(`"tree_info":[0]`, `"tree_info":[3]`), "group 3 out of range"},
		{"ErrTreeInfoLength", tiny(`"tree_info":[0]`, `"tree_info":[]`), "tree_info has 0 entries"},
		{"ErrBaseScore", tiny("reg:squarederror", "binary:logistic", `"5E-1"`, `"1.5"`), "outside (0, 1)"},
		{"ErrBaseScoreVector", tiny(`"5E-1"`, `"[5E-1,2E-1]"`), "per-target values are not supported"},
		{"ErrBaseScoreText", tiny(`"5E-1"`, `"half"`), "base_score"},
		{"ErrNumFeature", tiny(`"num_feature":"2"`, `"num_feature":"-2"`), "num_feature -2 out of range"},
		{"ErrNumClass", tiny(`"num_class":"0"`, `"num_class":"99999999"`), "out of range"},
		{"ErrMultiNoClass", tiny("reg:squarederror", "multi:softprob"), "needs num_class"},
		{"ErrFeatureNames", tiny(`"feature_names":[]`, `"feature_names":["a"]`), "1 feature names for 2 features"},
		{"ErrDefaultLeft", tiny(`"default_left":[1,0,0]`, `"default_left":[1,0,7]`), "default_left value 7"},
		{"ErrCategoricalNoSet", tiny(`"split_type":[0,0,0]`, `"split_type":[1,0,0]`), "without categories"},
		{"ErrCategorySegment", tiny(`"split_type":[0,0,0]`, `"split_type":[1,0,0]`, `"categories":[]`, `"categories":[1]`,
			`"categories_nodes":[]`, `"categories_nodes":[0]`, `"categories_segments":[]`, `"categories_segments":[5]`,
			`"categories_sizes":[]`, `"categories_sizes":[2]`), "segment [5, +2) out of range"},
		{"ErrCategoryValue", tiny(`"split_type":[0,0,0]`, `"split_type":[1,0,0]`, `"categories":[]`, `"categories":[-3]`,
			`"categories_nodes":[]`, `"categories_nodes":[0]`, `"categories_segments":[]`, `"categories_segments":[0]`,
			`"categories_sizes":[]`, `"categories_sizes":[1]`), "category -3 out of range"},
		{"ErrDartNoWeights", tiny(`"gradient_booster":{"model"`, `"gradient_booster":{"name":"dart","weight_drop":[1,2],"gbtree":{"model"`, `"name":"gbtree"}`, `"name":"gbtree"}}`), "2 weight_drop entries for 1 trees"},
		{"ErrDartNoGBTree", tiny(`"name":"gbtree"`, `"name":"dart"`), "dart without gbtree"},
		{"ErrLinearWeights", []byte(`{"learner":{"gradient_booster":{"model":{"weights":[1,2]},"name":"gblinear"},"learner_model_param":{"base_score":"0.5","num_feature":"2"},"objective":{"name":"reg:squarederror"}}}`), "2 weights"},
		{"ErrUBJDeep", ubjDeep, "nesting deeper"},
		{"ErrUBJHugeCount", ubjHugeCount, "exceeds the input"},
		{"ErrUBJHugeString", ubjHugeString, "exceeds the input"},
		{"ErrUBJNegativeCount", ubjNegative, "negative length"},
		{"ErrConfigFile", []byte(`{"learner":{"gradient_booster":{"name":"gbtree","gbtree_model_param":{"num_trees":"0"}},"learner_model_param":{"base_score":"0.5","num_feature":"2"},"objective":{"name":"reg:squarederror"}},"version":[1,7,4]}`), "save_config file is not a model"},
		{"ErrPickle", []byte("\x80\x03cxgboost.core\nBooster\nq\x00)"), "pickled Python xgboost object"},
		{"ErrUBJMarker", []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner?"), "unexpected marker"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Load(tt.data)
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want error containing %q", m.Info(), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestLoad_Truncated cuts each fixture format at every length: each strict
// prefix must fail cleanly.
func TestLoad_Truncated(t *testing.T) {
	for _, name := range []string{"binary_logistic.json", "binary_logistic.ubj", "binary_logistic.bin", "dart_regression.bin", "linear_logistic.bin", "categorical.ubj"} {
		t.Run(name, func(t *testing.T) {
			data := readFixture(t, name)
			step := 1
			if strings.HasSuffix(name, ".json") {
				step = 5
			}
			for n := 0; n < len(data); n += step {
				if _, err := Load(data[:n]); err == nil {
					t.Fatalf("Load of the first %d of %d bytes succeeded", n, len(data))
				}
			}
		})
	}
}

func TestLoad_Binary(t *testing.T) {
	treeSpec := func() *spec {
		s := synthSpec("binary:logistic", 3, 2, 3, 1)
		return s
	}
	// Offset of the gbtree parameters in encodeBinary's output.
	treesAt := func(s *spec, header bool) int {
		off := learnerParamSize + 8 + len(s.objective) + 8 + len(s.booster)
		if header {
			off += 4
		}
		return off
	}
	t.Run("OKMatchesJSONPath", func(t *testing.T) {
		s := treeSpec()
		want, err := build(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Load(encodeBinary(s, 1, true))
		if err != nil {
			t.Fatal(err)
		}
		x := synthRows(50, 3, 9)
		a, b := make([]float32, 50), make([]float32, 50)
		if err := want.Predict(x, 50, a); err != nil {
			t.Fatal(err)
		}
		if err := got.Predict(x, 50, b); err != nil {
			t.Fatal(err)
		}
		assertClose(t, "predict", b, a)
	})
	t.Run("OKPre1.0", func(t *testing.T) {
		// Before 1.0 base_score was stored as a margin and there was no
		// "binf" header: a stored 0 means probability 0.5, margin 0.
		s := treeSpec()
		s.baseScore = 0
		m, err := Load(encodeBinary(s, 0, false))
		if err != nil {
			t.Fatal(err)
		}
		s.baseScore = 0.5
		want, _ := build(s)
		x := synthRows(20, 3, 4)
		a, b := make([]float32, 20), make([]float32, 20)
		if err := m.PredictMargin(x, 20, a); err != nil {
			t.Fatal(err)
		}
		if err := want.PredictMargin(x, 20, b); err != nil {
			t.Fatal(err)
		}
		assertClose(t, "margin", a, b)
	})
	patch32 := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	s := treeSpec()
	good := encodeBinary(s, 1, true)
	gt := treesAt(s, true)
	firstTree := gt + gbtreeParamSize
	cyclic := treeSpec()
	cyclic.trees[1].left[1] = 0
	deleted := treeSpec()
	deleted.trees[0].splitIndex[0] = 1<<31 - 1
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"ErrHugeTreeCount", patch32(good, gt, 1<<31-1), "tree count 2147483647 exceeds the input"},
		{"ErrNegativeTreeCount", patch32(good, gt, 1<<31), "tree count -2147483648"},
		{"ErrHugeNodeCount", patch32(good, firstTree+4, 1<<30), "node count 1073741824 out of range"},
		{"ErrZeroNodes", patch32(good, firstTree+4, 0), "node count 0"},
		{"ErrHugeObjective", patch32(patch32(good, 4+learnerParamSize, 0xffffffff), 4+learnerParamSize+4, 0xffffffff), "string length"},
		{"ErrHugeNumFeature", patch32(good, 4+4, 1<<31), "num_feature"},
		{"ErrCycle", encodeBinary(cyclic, 1, true), "tree 1: node 1: child 0 out of range"},
		{"ErrFeature", encodeBinary(deleted, 1, true), "feature 2147483647 out of range"},
		{"ErrTruncatedTreeInfo", good[:len(good)-len("best_iteration")-30], "truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestFormat_Detect(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want bool
	}{
		{"JSON", readFixture(t, "binary_logistic.json"), true},
		{"JSONSpaces", []byte("{\n  \"learner\": {"), true},
		{"UBJ", readFixture(t, "binary_logistic.ubj"), true},
		{"Binary", readFixture(t, "binary_logistic.bin"), true},
		{"BinaryPre1.0", encodeBinary(synthSpec("reg:squarederror", 1, 1, 2, 1), 0, false), true},
		{"OtherJSON", []byte(`{"instances": [[1, 2]]}`), false},
		{"Empty", nil, false},
		{"Gzip", []byte{0x1f, 0x8b, 8, 0}, false},
		{"Short", []byte("{"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Format{}).Detect(tt.head); got != tt.want {
				t.Fatalf("Detect = %v, want %v", got, tt.want)
			}
		})
	}
}
