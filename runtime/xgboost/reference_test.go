package xgboost

import (
	"slices"
	"testing"
)

// refLeaf walks t the plain way, on xgboost's own node arrays, as
// xgboost's GetNextNode does.
func refLeaf(t *treeSpec, row []float32) float32 {
	i := int32(0)
	for t.left[i] != -1 {
		v := row[t.splitIndex[i]]
		switch {
		case v != v:
			if t.defaultLeft[i] {
				i = t.left[i]
			} else {
				i = t.right[i]
			}
		case len(t.splitType) > 0 && t.splitType[i] == 1:
			k := slices.Index(t.catNodes, i)
			set := t.cats[t.catSegments[k] : t.catSegments[k]+t.catSizes[k]]
			if v >= 0 && v < maxCategory && slices.Contains(set, int32(v)) {
				i = t.right[i]
			} else {
				i = t.left[i]
			}
		case v < t.splitCond[i]:
			i = t.left[i]
		default:
			i = t.right[i]
		}
	}
	return t.splitCond[i]
}

// refMargins is the reference margin computation over a spec.
func refMargins(s *spec, row []float32, groups int, base float32) []float32 {
	o := make([]float32, groups)
	for i := range o {
		o[i] = base
	}
	for k := range s.trees {
		v := refLeaf(&s.trees[k], row)
		if s.weightDrop != nil {
			v = float32(v * s.weightDrop[k])
		}
		o[s.treeInfo[k]] += v
	}
	return o
}

// TestModel_PredictMarginReference compares the flattened, lockstep
// predictor with refMargins on synthetic forests of uneven depth, several
// groups, dart weights, missing values and a categorical tree mid-forest.
func TestModel_PredictMarginReference(t *testing.T) {
	uneven := func(s *spec) {
		// Prune some subtrees so that trees end at different depths.
		for k := range s.trees {
			tr := &s.trees[k]
			for i := range tr.left {
				if tr.left[i] != -1 && (i+k)%5 == 0 {
					tr.left[i], tr.right[i] = -1, -1
				}
			}
		}
	}
	categorical := func(s *spec) {
		tr := &s.trees[9]
		tr.splitType = make([]uint8, len(tr.left))
		tr.splitType[0] = 1
		tr.catNodes, tr.catSegments, tr.catSizes, tr.cats = []int32{0}, []uint64{0}, []uint64{3}, []int32{5, 0, 2}
	}
	tests := []struct {
		name   string
		trees  int
		groups int
		dart   bool
		mod    func(*spec)
	}{
		{"SingleGroup", 37, 1, false, nil},
		{"Uneven", 41, 1, false, uneven},
		{"ThreeGroups", 30, 3, false, uneven},
		{"Dart", 19, 1, true, nil},
		{"Categorical", 24, 2, false, categorical},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := synthSpec("reg:squarederror", tt.trees, 5, 6, 11)
			if tt.groups > 1 {
				s.objective, s.numClass = "multi:softprob", tt.groups
				for k := range s.treeInfo {
					s.treeInfo[k] = int32(k % tt.groups)
				}
			}
			if tt.dart {
				s.booster = "dart"
				for k := range s.trees {
					s.weightDrop = append(s.weightDrop, 0.5+float32(k%4)/7)
				}
			}
			if tt.mod != nil {
				tt.mod(s)
			}
			m, err := build(s)
			if err != nil {
				t.Fatal(err)
			}
			const rows = 200
			x := synthRowsMissing(rows, 6, 3, 0.15)
			for i := 0; i < len(x); i += 6 {
				x[i] = float32(int(x[i]*3) + 2) // category-like values in feature 0, some negative
			}
			got := make([]float32, rows*tt.groups)
			if err := m.PredictMargin(x, rows, got); err != nil {
				t.Fatal(err)
			}
			for r := range rows {
				want := refMargins(s, x[r*6:(r+1)*6], tt.groups, m.base)
				for g, w := range want {
					if got[r*tt.groups+g] != w {
						t.Fatalf("row %d group %d: got %.9g, want %.9g", r, g, got[r*tt.groups+g], w)
					}
				}
			}
		})
	}
}
