package xgboost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The JSON schema xgboost 1.x and 2.x write with save_model("*.json"), and
// (after transcoding) with save_model("*.ubj"). Only the fields prediction
// needs are decoded; the rest is skipped.
type jsonDoc struct {
	Learner *jsonLearner `json:"learner"`
	Version []int        `json:"version"`
}

type jsonLearner struct {
	FeatureNames      []string    `json:"feature_names"`
	GradientBooster   jsonBooster `json:"gradient_booster"`
	LearnerModelParam struct {
		BaseScore  param `json:"base_score"`
		NumClass   param `json:"num_class"`
		NumFeature param `json:"num_feature"`
		NumTarget  param `json:"num_target"`
	} `json:"learner_model_param"`
	Objective struct {
		Name string `json:"name"`
	} `json:"objective"`
}

// jsonBooster covers gbtree and gblinear ({"name", "model"}) and dart
// ({"name", "gbtree": {...}, "weight_drop"}).
type jsonBooster struct {
	Name       string       `json:"name"`
	Model      *jsonModel   `json:"model"`
	GBTree     *jsonBooster `json:"gbtree"`
	WeightDrop flexFloats   `json:"weight_drop"`
}

type jsonModel struct {
	Param struct {
		NumParallelTree param `json:"num_parallel_tree"`
		NumTrees        param `json:"num_trees"`
	} `json:"gbtree_model_param"`
	TreeInfo []int32    `json:"tree_info"`
	Trees    jsonTrees  `json:"trees"`
	Weights  flexFloats `json:"weights"`
}

type jsonTree struct {
	Categories         []int32    `json:"categories"`
	CategoriesNodes    []int32    `json:"categories_nodes"`
	CategoriesSegments []uint64   `json:"categories_segments"`
	CategoriesSizes    []uint64   `json:"categories_sizes"`
	DefaultLeft        flexBools  `json:"default_left"`
	LeftChildren       []int32    `json:"left_children"`
	RightChildren      []int32    `json:"right_children"`
	SplitConditions    flexFloats `json:"split_conditions"`
	SplitIndices       []uint32   `json:"split_indices"`
	SplitType          []uint8    `json:"split_type"`
	TreeParam          struct {
		NumNodes       param `json:"num_nodes"`
		SizeLeafVector param `json:"size_leaf_vector"`
	} `json:"tree_param"`
}

// param is an xgboost parameter value: xgboost stores numbers as JSON
// strings ("5E-1"); a bare number is accepted too.
type param string

func (p *param) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = param(s)
		return nil
	}
	if len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9')) {
		*p = param(b)
		return nil
	}
	return fmt.Errorf("parameter %s is neither a string nor a number", truncate(b))
}

// int parses p as an int, def when p is empty.
func (p param) int(name string, def int) (int, error) {
	if p == "" {
		return def, nil
	}
	v, err := strconv.ParseInt(string(p), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", name, err)
	}
	return int(v), nil
}

// float32 parses p, which may be a bracketed list of equal values
// ("[5E-1]", as xgboost >= 2.1 writes base_score).
func (p param) float32(name string, def float32) (float32, error) {
	s := strings.TrimSpace(string(p))
	if s == "" {
		return def, nil
	}
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		parts := strings.Split(s[1:len(s)-1], ",")
		var first float32
		for i, part := range parts {
			v, err := param(part).float32(name, def)
			if err != nil {
				return 0, err
			}
			if i == 0 {
				first = v
			} else if v != first {
				return 0, fmt.Errorf("parameter %s: per-target values are not supported", name)
			}
		}
		return first, nil
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, fmt.Errorf("parameter %s: %w", name, err)
	}
	return float32(v), nil
}

// flexBools decodes default_left, which xgboost writes as 0/1 numbers (and
// some writers as booleans).
type flexBools []bool

func (f *flexBools) UnmarshalJSON(b []byte) error {
	toks, err := arrayTokens(b)
	if err != nil {
		return err
	}
	out := make([]bool, len(toks))
	for i, tok := range toks {
		switch string(tok) {
		case "true", "1":
			out[i] = true
		case "false", "0":
		default:
			return fmt.Errorf("default_left value %s is not 0, 1 or a boolean", truncate(tok))
		}
	}
	*f = out
	return nil
}

// arrayTokens splits a JSON array of scalars (no nested strings with
// commas: numbers, booleans, or the quoted non-finite names) into its
// trimmed elements. It allocates one slice header per element, in
// proportion to the input.
func arrayTokens(b []byte) ([][]byte, error) {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil, nil
	}
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, fmt.Errorf("want an array, got %s", truncate(b))
	}
	b = bytes.TrimSpace(b[1 : len(b)-1])
	if len(b) == 0 {
		return [][]byte{}, nil
	}
	toks := make([][]byte, 0, bytes.Count(b, []byte(","))+1)
	for {
		i := bytes.IndexByte(b, ',')
		if i < 0 {
			return append(toks, bytes.TrimSpace(b)), nil
		}
		tok := bytes.TrimSpace(b[:i])
		if len(tok) == 0 {
			return nil, errors.New("empty element in array")
		}
		toks = append(toks, tok)
		b = b[i+1:]
		if len(bytes.TrimSpace(b)) == 0 {
			return nil, errors.New("trailing comma in array")
		}
	}
}

// jsonTrees decodes the trees array one tree at a time into compact
// treeSpecs, rejecting a tree without nodes as soon as it is read: no
// intermediate per-tree struct outlives its tree, so memory stays
// proportional to the input even for arrays of empty objects.
type jsonTrees []treeSpec

func (ts *jsonTrees) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*ts = nil
		return nil
	}
	n := 0
	if err := eachElement(b, func([]byte) error { n++; return nil }); err != nil {
		return fmt.Errorf("trees: %w", err)
	}
	// A tree with one node spells out at least five keyed arrays, about
	// 100 bytes: capping the capacity by that keeps arrays of empty objects
	// from reserving memory out of proportion to the input.
	out := make([]treeSpec, 0, min(n, len(b)/100+1))
	err := eachElement(b, func(elem []byte) error {
		i := len(out)
		var t jsonTree
		if err := json.Unmarshal(elem, &t); err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
		nodes, err := t.TreeParam.NumNodes.int("num_nodes", len(t.LeftChildren))
		if err != nil {
			return fmt.Errorf("tree %d: %w", i, err)
		}
		if nodes != len(t.LeftChildren) {
			return fmt.Errorf("tree %d: num_nodes is %d but %d nodes are present", i, nodes, len(t.LeftChildren))
		}
		if nodes == 0 {
			return fmt.Errorf("tree %d: no nodes", i)
		}
		if leafVec, err := t.TreeParam.SizeLeafVector.int("size_leaf_vector", 0); err != nil || leafVec > 1 {
			return fmt.Errorf("tree %d: vector leaves (multi_strategy) are not supported", i)
		}
		out = append(out, treeSpec{
			left:        t.LeftChildren,
			right:       t.RightChildren,
			splitIndex:  t.SplitIndices,
			splitCond:   []float32(t.SplitConditions),
			defaultLeft: t.DefaultLeft,
			splitType:   t.SplitType,
			catNodes:    t.CategoriesNodes,
			catSegments: t.CategoriesSegments,
			catSizes:    t.CategoriesSizes,
			cats:        t.Categories,
		})
		return nil
	})
	if err != nil {
		return err
	}
	*ts = out
	return nil
}

// eachElement calls fn with each element of the JSON array b (already
// validated by encoding/json), in order, without copying.
func eachElement(b []byte, fn func(elem []byte) error) error {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return errors.New("not an array")
	}
	depth, start := 0, 1
	inString, escaped := false, false
	for i := 1; i < len(b)-1; i++ {
		c := b[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				if err := fn(bytes.TrimSpace(b[start:i])); err != nil {
					return err
				}
				start = i + 1
			}
		}
	}
	if last := bytes.TrimSpace(b[start : len(b)-1]); len(last) > 0 {
		return fn(last)
	}
	return nil
}

// flexFloats decodes a float32 array that may hold the non-finite values
// xgboost writes (NaN, Infinity, -Infinity), quoted by quoteNonFinite.
type flexFloats []float32

func (f *flexFloats) UnmarshalJSON(b []byte) error {
	toks, err := arrayTokens(b)
	if err != nil {
		return err
	}
	if toks == nil {
		*f = nil
		return nil
	}
	out := make([]float32, len(toks))
	for i, tok := range toks {
		switch string(tok) {
		case `"NaN"`:
			out[i] = float32(math.NaN())
		case `"Infinity"`:
			out[i] = float32(math.Inf(1))
		case `"-Infinity"`:
			out[i] = float32(math.Inf(-1))
		default:
			v, err := strconv.ParseFloat(string(tok), 32)
			if err != nil {
				return fmt.Errorf("bad number %s in array", truncate(tok))
			}
			out[i] = float32(v)
		}
	}
	*f = out
	return nil
}

// quoteNonFinite returns data with the bare NaN, Infinity and -Infinity
// tokens xgboost's JSON writer emits turned into JSON strings, which
// flexFloats decodes. Text inside strings is left alone.
func quoteNonFinite(data []byte) []byte {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data
	}
	out := make([]byte, 0, len(data)+64)
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			out = append(out, c)
			continue
		}
		if c == '"' {
			inString = true
		}
		matched := false
		for _, tok := range [...]string{"NaN", "Infinity", "-Infinity"} {
			if bytes.HasPrefix(data[i:], []byte(tok)) {
				out = append(out, '"')
				out = append(out, tok...)
				out = append(out, '"')
				i += len(tok) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}

func truncate(b []byte) string {
	if len(b) > 32 {
		return string(b[:32]) + "..."
	}
	return string(b)
}

// decodeJSON decodes xgboost's JSON model schema into a spec.
func decodeJSON(data []byte, format string) (*spec, error) {
	var doc jsonDoc
	if err := json.Unmarshal(quoteNonFinite(data), &doc); err != nil {
		return nil, fmt.Errorf("decode model: %w", err)
	}
	if doc.Learner == nil {
		return nil, errors.New("decode model: no learner")
	}
	l := doc.Learner
	p := l.LearnerModelParam
	s := &spec{format: format, objective: l.Objective.Name, featureNames: l.FeatureNames}
	var err error
	if s.baseScore, err = p.BaseScore.float32("base_score", 0.5); err != nil {
		return nil, err
	}
	if s.numFeature, err = p.NumFeature.int("num_feature", 0); err != nil {
		return nil, err
	}
	if s.numClass, err = p.NumClass.int("num_class", 0); err != nil {
		return nil, err
	}
	if s.numTarget, err = p.NumTarget.int("num_target", 1); err != nil {
		return nil, err
	}
	b := &l.GradientBooster
	s.booster = b.Name
	errNoModel := errors.New(`decode model: gradient_booster has no "model" (a save_config file is not a model)`)
	switch b.Name {
	case "gblinear":
		if b.Model == nil {
			return nil, errNoModel
		}
		s.linearWeights = b.Model.Weights
		return s, nil
	case "dart":
		if b.GBTree == nil {
			return nil, errors.New("decode model: dart without gbtree")
		}
		s.weightDrop = b.WeightDrop
		if s.weightDrop == nil {
			s.weightDrop = []float32{}
		}
		b = b.GBTree
	case "gbtree":
	default:
		return nil, fmt.Errorf("unsupported booster %q", b.Name)
	}
	if b.Model == nil {
		return nil, errNoModel
	}
	mp := b.Model.Param
	if s.numParallelTree, err = mp.NumParallelTree.int("num_parallel_tree", 1); err != nil {
		return nil, err
	}
	numTrees, err := mp.NumTrees.int("num_trees", len(b.Model.Trees))
	if err != nil {
		return nil, err
	}
	if numTrees != len(b.Model.Trees) {
		return nil, fmt.Errorf("num_trees is %d but %d trees are present", numTrees, len(b.Model.Trees))
	}
	s.treeInfo = b.Model.TreeInfo
	s.trees = b.Model.Trees
	return s, nil
}
