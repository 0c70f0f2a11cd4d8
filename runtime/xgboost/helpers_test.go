package xgboost

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"testing"
)

// encodeBinary writes s in xgboost's legacy binary format (major version
// major; with the "binf" header when header is set), so tests can craft
// binary models, hostile ones included.
func encodeBinary(s *spec, major uint32, header bool) []byte {
	var b []byte
	le := binary.LittleEndian
	u32 := func(v uint32) { b = le.AppendUint32(b, v) }
	f := func(v float32) { u32(math.Float32bits(v)) }
	str := func(v string) { b = le.AppendUint64(b, uint64(len(v))); b = append(b, v...) }
	pad := func(n int) { b = append(b, make([]byte, n)...) }
	if header {
		b = append(b, "binf"...)
	}
	f(s.baseScore)
	u32(uint32(s.numFeature))
	u32(uint32(s.numClass))
	u32(1) // contain_extra_attrs
	u32(0) // contain_eval_metrics
	u32(major)
	u32(7)
	u32(uint32(s.numTarget))
	u32(1)
	pad(25 * 4)
	str(s.objective)
	str(s.booster)
	if s.booster == "gblinear" {
		pad(linearParamSize)
		b = le.AppendUint64(b, uint64(len(s.linearWeights)))
		for _, w := range s.linearWeights {
			f(w)
		}
	} else {
		u32(uint32(len(s.trees)))
		u32(uint32(s.numParallelTree))
		pad(gbtreeParamSize - 8)
		for _, t := range s.trees {
			n := len(t.left)
			u32(1)
			u32(uint32(n))
			pad(treeParamSize - 8)
			for i := range n {
				u32(0) // parent: unused by prediction
				u32(uint32(t.left[i]))
				u32(uint32(t.right[i]))
				si := t.splitIndex[i]
				if t.defaultLeft[i] {
					si |= 1 << 31
				}
				u32(si)
				f(t.splitCond[i])
			}
			pad(n * nodeStatSize)
		}
		for _, g := range s.treeInfo {
			u32(uint32(g))
		}
		if s.booster == "dart" && len(s.trees) > 0 {
			b = le.AppendUint64(b, uint64(len(s.weightDrop)))
			for _, w := range s.weightDrop {
				f(w)
			}
		}
	}
	b = le.AppendUint64(b, 1) // one attribute
	str("best_iteration")
	str("0")
	return b
}

// synthSpec returns a gbtree model of full binary trees of the given depth
// with random splits and leaves, deterministic in seed.
func synthSpec(objective string, trees, depth, features int, seed uint64) *spec {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := &spec{format: "synthetic", objective: objective, baseScore: 0.5, numFeature: features,
		numTarget: 1, booster: "gbtree", numParallelTree: 1}
	nodes := 1<<(depth+1) - 1
	for range trees {
		t := treeSpec{
			left: make([]int32, nodes), right: make([]int32, nodes), splitIndex: make([]uint32, nodes),
			splitCond: make([]float32, nodes), defaultLeft: make([]bool, nodes),
		}
		for i := range nodes {
			if l := 2*i + 1; l < nodes {
				t.left[i], t.right[i] = int32(l), int32(l+1)
				t.splitIndex[i] = uint32(rng.IntN(features))
				t.splitCond[i] = float32(rng.NormFloat64())
				t.defaultLeft[i] = rng.IntN(2) == 0
			} else {
				t.left[i], t.right[i] = -1, -1
				t.splitCond[i] = float32(rng.NormFloat64() * 0.1)
			}
		}
		s.trees = append(s.trees, t)
		s.treeInfo = append(s.treeInfo, 0)
	}
	return s
}

// synthRows returns rows*features standard normal values, about 5% NaN.
func synthRows(rows, features int, seed uint64) []float32 {
	return synthRowsMissing(rows, features, seed, 0.05)
}

// synthRowsMissing returns rows*features standard normal values, a
// fraction missing of them NaN.
func synthRowsMissing(rows, features int, seed uint64, missing float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 2))
	x := make([]float32, rows*features)
	for i := range x {
		if rng.Float64() < missing {
			x[i] = float32(math.NaN())
		} else {
			x[i] = float32(rng.NormFloat64())
		}
	}
	return x
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/fixtures/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
