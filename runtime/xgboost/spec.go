package xgboost

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// spec is a decoded model, independent of the file format it came from.
// build validates it and compiles it into a Model.
type spec struct {
	format          string
	objective       string
	baseScore       float32 // in output space, as xgboost >= 1.0 stores it
	numFeature      int
	numClass        int
	numTarget       int
	featureNames    []string
	booster         string // gbtree, dart or gblinear
	numParallelTree int
	trees           []treeSpec
	treeInfo        []int32
	weightDrop      []float32 // dart only
	linearWeights   []float32 // gblinear only
}

// treeSpec is one regression tree in xgboost's node-array form.
type treeSpec struct {
	left, right []int32
	splitIndex  []uint32
	splitCond   []float32 // threshold, or the leaf value on leaves
	defaultLeft []bool
	splitType   []uint8 // 0 numerical, 1 categorical
	// Categorical splits: node catNodes[i] sends a row right when its
	// category is in cats[catSegments[i] : catSegments[i]+catSizes[i]].
	catNodes    []int32
	catSegments []uint64
	catSizes    []uint64
	cats        []int32
}

// node is one node of the flattened forest. Children of a split are
// adjacent: the left child is at index left, the right at left+1. A leaf
// points to itself (left is its own index) with a NaN threshold and the
// default-left flag, so stepping from a leaf stays on it: the predictor can
// walk several trees in lockstep for a fixed number of steps without
// testing for leaves.
type node struct {
	cond float32 // split threshold; NaN on leaves and categorical splits
	feat uint32  // feature index | flagDefaultLeft | flagCategorical
	left int32
	aux  uint32 // leaf: the leaf value's float32 bits; categorical split: index into Model.catSpans
}

const (
	flagDefaultLeft uint32 = 1 << 31
	flagCategorical uint32 = 1 << 30
	featMask               = flagCategorical - 1
	maxCategory            = 1 << 24 // xgboost's OutOfRangeCat
)

// catSpan locates a categorical split's sorted category set in Model.cats.
type catSpan struct{ off, n int32 }

// build validates s and compiles it into a Model.
func build(s *spec) (*Model, error) {
	obj, err := lookupObjective(s.objective)
	if err != nil {
		return nil, err
	}
	if s.numFeature < 0 || int64(s.numFeature) > int64(featMask) {
		return nil, fmt.Errorf("num_feature %d out of range", s.numFeature)
	}
	if s.numClass < 0 || s.numTarget < 0 || s.numClass > 1<<20 || s.numTarget > 1<<20 {
		return nil, fmt.Errorf("num_class %d or num_target %d out of range", s.numClass, s.numTarget)
	}
	groups := max(s.numClass, s.numTarget, 1)
	if obj.multi && s.numClass < 1 {
		return nil, fmt.Errorf("%s needs num_class >= 1", s.objective)
	}
	if len(s.featureNames) != 0 && len(s.featureNames) != s.numFeature {
		return nil, fmt.Errorf("%d feature names for %d features", len(s.featureNames), s.numFeature)
	}
	if math.IsNaN(float64(s.baseScore)) || math.IsInf(float64(s.baseScore), 0) {
		return nil, fmt.Errorf("base_score %g is not finite", s.baseScore)
	}
	base, err := obj.probToMargin(s.baseScore)
	if err != nil {
		return nil, err
	}
	m := &Model{
		format:     s.format,
		obj:        obj,
		booster:    s.booster,
		base:       base,
		groups:     groups,
		numFeature: s.numFeature,
		names:      s.featureNames,
	}
	switch s.booster {
	case "gbtree", "dart":
		if err := m.buildTrees(s); err != nil {
			return nil, err
		}
	case "gblinear":
		want := (s.numFeature + 1) * groups
		if len(s.linearWeights) != want {
			return nil, fmt.Errorf("gblinear has %d weights, want (num_feature+1)*groups = %d", len(s.linearWeights), want)
		}
		for _, w := range s.linearWeights {
			if w != w {
				return nil, errors.New("gblinear weight is NaN")
			}
		}
		m.weights = s.linearWeights
	default:
		return nil, fmt.Errorf("unsupported booster %q", s.booster)
	}
	return m, nil
}

func (m *Model) buildTrees(s *spec) error {
	nt := len(s.trees)
	if len(s.treeInfo) != nt {
		return fmt.Errorf("tree_info has %d entries for %d trees", len(s.treeInfo), nt)
	}
	if s.numParallelTree < 1 {
		s.numParallelTree = 1
	}
	if s.numParallelTree > 1<<20 {
		return fmt.Errorf("num_parallel_tree %d out of range", s.numParallelTree)
	}
	m.perIter = s.numParallelTree * m.groups
	if s.booster == "dart" {
		if len(s.weightDrop) != nt {
			return fmt.Errorf("dart has %d weight_drop entries for %d trees", len(s.weightDrop), nt)
		}
		for _, w := range s.weightDrop {
			if w != w {
				return errors.New("dart weight_drop is NaN")
			}
		}
		m.weightDrop = s.weightDrop
	}
	total := 0
	for i := range s.trees {
		total += len(s.trees[i].left)
	}
	if total > math.MaxInt32 {
		return errors.New("too many tree nodes")
	}
	m.nodes = make([]node, 0, total)
	m.roots = make([]int32, nt)
	m.treeGroup = make([]int32, nt)
	for i := range s.trees {
		g := s.treeInfo[i]
		if g < 0 || int(g) >= m.groups {
			return fmt.Errorf("tree %d: group %d out of range [0, %d)", i, g, m.groups)
		}
		m.treeGroup[i] = g
		m.roots[i] = int32(len(m.nodes))
		if err := m.addTree(&s.trees[i]); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	return nil
}

// addTree validates t and appends it to m.nodes in breadth-first order, so
// that siblings are adjacent. Every node is reached at most once, which
// rules out cycles and shared subtrees.
func (m *Model) addTree(t *treeSpec) error {
	n := len(t.left)
	if n == 0 {
		return errors.New("no nodes")
	}
	if len(t.right) != n || len(t.splitIndex) != n || len(t.splitCond) != n || len(t.defaultLeft) != n {
		return fmt.Errorf("node arrays disagree in length (%d left, %d right, %d split_indices, %d split_conditions, %d default_left)",
			n, len(t.right), len(t.splitIndex), len(t.splitCond), len(t.defaultLeft))
	}
	if len(t.splitType) != 0 && len(t.splitType) != n {
		return fmt.Errorf("split_type has %d entries for %d nodes", len(t.splitType), n)
	}
	catOf, err := m.categorySets(t, n)
	if err != nil {
		return err
	}
	seen := make([]bool, n)
	seen[0] = true
	depth := make([]int32, n) // per position in order
	order := []int32{0}       // old ids in new order, relative to base
	base := int32(len(m.nodes))
	for k := 0; k < len(order); k++ {
		old := order[k]
		l, r := t.left[old], t.right[old]
		self := base + int32(k)
		nd := node{cond: t.splitCond[old]}
		if l == -1 || r == -1 {
			if l != r {
				return fmt.Errorf("node %d has one child", old)
			}
			if nd.cond != nd.cond {
				return fmt.Errorf("node %d: leaf value is NaN", old)
			}
			nd = node{cond: float32(math.NaN()), feat: flagDefaultLeft, left: self, aux: math.Float32bits(nd.cond)}
			m.nodes = append(m.nodes, nd)
			continue
		}
		for _, c := range [2]int32{l, r} {
			if c <= 0 || int(c) >= n {
				return fmt.Errorf("node %d: child %d out of range [1, %d)", old, c, n)
			}
			if seen[c] {
				return fmt.Errorf("node %d: child %d reached twice", old, c)
			}
			seen[c] = true
		}
		f := t.splitIndex[old]
		if int64(f) >= int64(m.numFeature) {
			return fmt.Errorf("node %d: feature %d out of range [0, %d)", old, f, m.numFeature)
		}
		nd.feat = f
		if t.defaultLeft[old] {
			nd.feat |= flagDefaultLeft
		}
		if len(t.splitType) != 0 && t.splitType[old] == 1 {
			span, ok := catOf[old]
			if !ok {
				return fmt.Errorf("node %d: categorical split without categories", old)
			}
			nd.feat |= flagCategorical
			nd.cond = float32(math.NaN())
			nd.aux = uint32(span)
		} else if nd.cond != nd.cond {
			return fmt.Errorf("node %d: split condition is NaN", old)
		}
		nd.left = base + int32(len(order))
		order = append(order, l, r)
		depth[len(order)-1] = depth[k] + 1
		depth[len(order)-2] = depth[k] + 1
		m.nodes = append(m.nodes, nd)
	}
	m.depth = append(m.depth, slices.Max(depth[:len(order)]))
	m.hasCat = append(m.hasCat, len(catOf) > 0)
	return nil
}

// categorySets stores the category sets of t's categorical splits in m and
// returns, per node id, the index of its set in m.catSpans.
func (m *Model) categorySets(t *treeSpec, n int) (map[int32]int32, error) {
	k := len(t.catNodes)
	if len(t.catSegments) != k || len(t.catSizes) != k {
		return nil, fmt.Errorf("categories_nodes, _segments and _sizes disagree in length (%d, %d, %d)",
			k, len(t.catSegments), len(t.catSizes))
	}
	if k == 0 {
		return nil, nil
	}
	out := make(map[int32]int32, k)
	for i, id := range t.catNodes {
		if id < 0 || int(id) >= n {
			return nil, fmt.Errorf("categories_nodes: node %d out of range", id)
		}
		seg, size := t.catSegments[i], t.catSizes[i]
		if seg > uint64(len(t.cats)) || size > uint64(len(t.cats))-seg {
			return nil, fmt.Errorf("node %d: category segment [%d, +%d) out of range", id, seg, size)
		}
		set := slices.Clone(t.cats[seg : seg+size])
		for _, c := range set {
			if c < 0 || c >= maxCategory {
				return nil, fmt.Errorf("node %d: category %d out of range", id, c)
			}
		}
		slices.Sort(set)
		if len(m.cats)+len(set) > math.MaxInt32 || len(m.catSpans) >= math.MaxInt32 {
			return nil, errors.New("too many categories")
		}
		out[id] = int32(len(m.catSpans))
		m.catSpans = append(m.catSpans, catSpan{off: int32(len(m.cats)), n: int32(len(set))})
		m.cats = append(m.cats, set...)
	}
	return out, nil
}
