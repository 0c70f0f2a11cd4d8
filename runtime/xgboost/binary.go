package xgboost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Sizes of the fixed records of xgboost's legacy binary format (little
// endian, as every supported platform writes it).
const (
	learnerParamSize = 136 // LearnerModelParamLegacy
	gbtreeParamSize  = 160 // GBTreeModelParam
	treeParamSize    = 148 // TreeParam
	nodeSize         = 20  // RegTree::Node
	nodeStatSize     = 16  // RTreeNodeStat
	linearParamSize  = 136 // DeprecatedGBLinearModelParam
	maxStringLen     = 1 << 20
)

// binReader reads little-endian records, failing on truncation.
type binReader struct {
	b   []byte
	pos int
}

func (r *binReader) take(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, fmt.Errorf("truncated at byte %d (want %d more bytes, have %d)", r.pos, n, len(r.b)-r.pos)
	}
	b := r.b[r.pos : r.pos+n]
	r.pos += n
	return b, nil
}

func (r *binReader) remaining() int { return len(r.b) - r.pos }

func (r *binReader) u64() (uint64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

// str reads a dmlc string: uint64 length, then the bytes.
func (r *binReader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	if n > maxStringLen || n > uint64(r.remaining()) {
		return "", fmt.Errorf("string length %d at byte %d exceeds the input", n, r.pos-8)
	}
	b, _ := r.take(int(n))
	return string(b), nil
}

// floats reads a dmlc vector<float>: uint64 count, then the values.
func (r *binReader) floats() ([]float32, error) {
	n, err := r.u64()
	if err != nil {
		return nil, err
	}
	if n > uint64(r.remaining()/4) {
		return nil, fmt.Errorf("vector length %d at byte %d exceeds the input", n, r.pos-8)
	}
	b, _ := r.take(int(n) * 4)
	out := make([]float32, n)
	for i := range out {
		out[i] = f32(b[4*i:])
	}
	return out, nil
}

func f32(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) }
func i32(b []byte) int32   { return int32(binary.LittleEndian.Uint32(b)) }

// decodeBinary decodes xgboost's legacy binary model format (what
// save_model writes for a name not ending in .json or .ubj, and what the
// managed cloud's built-in algorithm saves as xgboost-model).
func decodeBinary(data []byte) (*spec, error) {
	r := &binReader{b: data}
	if strings.HasPrefix(string(data[:min(4, len(data))]), "binf") {
		r.pos = 4
	}
	mp, err := r.take(learnerParamSize)
	if err != nil {
		return nil, fmt.Errorf("learner params: %w", err)
	}
	s := &spec{format: "xgboost-binary"}
	s.baseScore = f32(mp[0:])
	numFeature := binary.LittleEndian.Uint32(mp[4:])
	numClass := i32(mp[8:])
	containAttrs := i32(mp[12:])
	major := binary.LittleEndian.Uint32(mp[20:])
	numTarget := i32(mp[28:])
	if numFeature > featMask || numClass < 0 || numTarget < 0 {
		return nil, fmt.Errorf("learner params out of range (num_feature %d, num_class %d, num_target %d)", numFeature, numClass, numTarget)
	}
	s.numFeature, s.numClass, s.numTarget = int(numFeature), int(numClass), max(int(numTarget), 1)
	if s.objective, err = r.str(); err != nil {
		return nil, fmt.Errorf("objective: %w", err)
	}
	if s.booster, err = r.str(); err != nil {
		return nil, fmt.Errorf("booster: %w", err)
	}
	switch s.booster {
	case "gbtree", "dart":
		if err := decodeBinaryTrees(r, s); err != nil {
			return nil, err
		}
	case "gblinear":
		if _, err := r.take(linearParamSize); err != nil {
			return nil, fmt.Errorf("gblinear params: %w", err)
		}
		if s.linearWeights, err = r.floats(); err != nil {
			return nil, fmt.Errorf("gblinear weights: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported booster %q", s.booster)
	}
	if containAttrs != 0 {
		// Attributes (including the objective's JSON configuration) carry
		// nothing prediction needs; read them only to validate the file.
		n, err := r.u64()
		if err != nil {
			return nil, fmt.Errorf("attributes: %w", err)
		}
		if n > uint64(r.remaining()/16) {
			return nil, fmt.Errorf("attribute count %d exceeds the input", n)
		}
		for range n {
			if _, err := r.str(); err != nil {
				return nil, fmt.Errorf("attributes: %w", err)
			}
			if _, err := r.str(); err != nil {
				return nil, fmt.Errorf("attributes: %w", err)
			}
		}
	}
	if major < 1 && !strings.HasPrefix(s.objective, "multi:") {
		// Before 1.0 the stored base_score was a margin; xgboost converts
		// it to output space on load, and so do we.
		obj, err := lookupObjective(s.objective)
		if err != nil {
			return nil, err
		}
		s.baseScore = obj.predTransform(s.baseScore)
	}
	return s, nil
}

func decodeBinaryTrees(r *binReader, s *spec) error {
	gp, err := r.take(gbtreeParamSize)
	if err != nil {
		return fmt.Errorf("gbtree params: %w", err)
	}
	numTrees := i32(gp[0:])
	s.numParallelTree = int(i32(gp[4:]))
	if leafVec := i32(gp[28:]); leafVec > 1 {
		return errors.New("vector leaves (multi_strategy) are not supported")
	}
	const minTree = treeParamSize + nodeSize + nodeStatSize + 4
	if numTrees < 0 || int64(numTrees) > int64(r.remaining()/minTree) {
		return fmt.Errorf("tree count %d exceeds the input", numTrees)
	}
	s.trees = make([]treeSpec, numTrees)
	for i := range s.trees {
		if err := decodeBinaryTree(r, &s.trees[i]); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
	}
	b, err := r.take(4 * int(numTrees))
	if err != nil {
		return fmt.Errorf("tree_info: %w", err)
	}
	s.treeInfo = make([]int32, numTrees)
	for i := range s.treeInfo {
		s.treeInfo[i] = i32(b[4*i:])
	}
	if s.booster == "dart" {
		s.weightDrop = []float32{}
		if numTrees != 0 {
			if s.weightDrop, err = r.floats(); err != nil {
				return fmt.Errorf("dart weight_drop: %w", err)
			}
		}
	}
	return nil
}

func decodeBinaryTree(r *binReader, t *treeSpec) error {
	tp, err := r.take(treeParamSize)
	if err != nil {
		return fmt.Errorf("tree params: %w", err)
	}
	n := i32(tp[4:])
	if leafVec := i32(tp[20:]); leafVec > 1 {
		return errors.New("vector leaves are not supported")
	}
	if n < 1 || int64(n) > int64(r.remaining()/(nodeSize+nodeStatSize)) {
		return fmt.Errorf("node count %d out of range for the input", n)
	}
	b, _ := r.take(int(n) * nodeSize)
	if _, err := r.take(int(n) * nodeStatSize); err != nil {
		return err
	}
	t.left = make([]int32, n)
	t.right = make([]int32, n)
	t.splitIndex = make([]uint32, n)
	t.splitCond = make([]float32, n)
	t.defaultLeft = make([]bool, n)
	for i := range int(n) {
		nb := b[i*nodeSize:]
		// parent (4 bytes), cleft, cright, sindex, leaf value or threshold.
		t.left[i] = i32(nb[4:])
		t.right[i] = i32(nb[8:])
		sindex := binary.LittleEndian.Uint32(nb[12:])
		t.splitIndex[i] = sindex & (1<<31 - 1)
		t.defaultLeft[i] = sindex>>31 != 0
		t.splitCond[i] = f32(nb[16:])
	}
	return nil
}
