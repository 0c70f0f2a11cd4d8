package xgboost

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"unsafe"

	"github.com/tenantml/tenantml/runtime"
)

// Model is a loaded XGBoost model. It is immutable after Load and safe for
// concurrent use; Predict and its variants do not allocate in the steady
// state.
type Model struct {
	format     string
	obj        objective
	booster    string
	base       float32 // initial margin of every group
	groups     int     // output groups: max(num_class, num_target, 1)
	numFeature int
	names      []string

	// Tree boosters (gbtree, dart).
	nodes      []node
	roots      []int32   // per tree, index of its root in nodes
	treeGroup  []int32   // per tree, the output group it adds to
	weightDrop []float32 // dart: per tree weight; nil for gbtree
	perIter    int       // trees per iteration: num_parallel_tree * groups
	depth      []int32   // per tree, its depth (root only: 0)
	hasCat     []bool    // per tree, whether it has categorical splits
	cats       []int32   // sorted category sets of categorical splits
	catSpans   []catSpan

	// Linear booster: weights[f*groups+g], bias at numFeature*groups+g.
	weights []float32

	// scratch holds *[]float32 margin buffers for multi:softmax models with
	// more than maxStackGroups classes.
	scratch sync.Pool
}

var (
	_ runtime.Model           = (*Model)(nil)
	_ runtime.MarginPredictor = (*Model)(nil)
	_ runtime.RangePredictor  = (*Model)(nil)
)

// maxStackGroups is the number of classes multi:softmax handles with a
// buffer on the stack; larger models reuse pooled buffers.
const maxStackGroups = 64

// Info returns the model's metadata.
func (m *Model) Info() runtime.Info {
	return runtime.Info{
		Format:        m.format,
		Objective:     m.obj.name,
		Booster:       m.booster,
		NumFeatures:   m.numFeature,
		FeatureNames:  slices.Clone(m.names),
		NumOutputs:    m.numOutputs(),
		NumMargins:    m.groups,
		NumIterations: m.numIterations(),
		MemoryBytes:   m.memoryBytes(),
	}
}

func (m *Model) numOutputs() int {
	if m.obj.transform == transformSoftmax {
		return 1
	}
	return m.groups
}

func (m *Model) numIterations() int {
	if m.weights != nil || m.perIter == 0 {
		return 0
	}
	return len(m.roots) / m.perIter
}

func (m *Model) memoryBytes() int64 {
	n := int64(unsafe.Sizeof(*m))
	n += int64(len(m.nodes)) * int64(unsafe.Sizeof(node{}))
	n += int64(len(m.roots)+len(m.treeGroup)+len(m.weightDrop)+len(m.depth)+len(m.cats)+len(m.weights))*4 + int64(len(m.hasCat))
	n += int64(len(m.catSpans)) * int64(unsafe.Sizeof(catSpan{}))
	for _, s := range m.names {
		n += int64(len(s)) + int64(unsafe.Sizeof(s))
	}
	return n
}

// Predict writes rows*Info().NumOutputs transformed predictions into out,
// exactly as xgboost's Booster.predict(DMatrix) returns them: probabilities
// for logistic objectives, class indices for multi:softmax, 0/1 for
// binary:hinge. x holds rows*NumFeatures values, NaN meaning missing.
func (m *Model) Predict(x []float32, rows int, out []float32) error {
	return m.PredictRange(x, rows, out, 0, 0)
}

// PredictRange is Predict restricted to the boosting iterations
// [begin, end), like xgboost's iteration_range; end 0 means all
// iterations. gblinear models accept only begin 0, as xgboost does.
func (m *Model) PredictRange(x []float32, rows int, out []float32, begin, end int) error {
	tb, te, err := m.check(x, rows, out, m.numOutputs(), begin, end)
	if err != nil {
		return err
	}
	g := m.groups
	switch m.obj.transform {
	case transformSoftmax:
		var stack [maxStackGroups]float32
		buf := stack[:]
		if g > maxStackGroups {
			p, _ := m.scratch.Get().(*[]float32)
			if p == nil || len(*p) != g {
				s := make([]float32, g)
				p = &s
			}
			defer m.scratch.Put(p)
			buf = *p
		}
		buf = buf[:g]
		for r := range rows {
			m.margins(x[r*m.numFeature:(r+1)*m.numFeature], buf, tb, te)
			out[r] = float32(argmax(buf))
		}
		return nil
	case transformSoftprob:
		for r := range rows {
			o := out[r*g : (r+1)*g]
			m.margins(x[r*m.numFeature:(r+1)*m.numFeature], o, tb, te)
			softmax(o)
		}
		return nil
	}
	m.marginRows(x, rows, out, tb, te)
	if m.obj.transform != transformIdentity {
		for i, v := range out[:rows*g] {
			out[i] = m.obj.predTransform(v)
		}
	}
	return nil
}

// PredictMargin writes rows*Info().NumMargins untransformed scores into out,
// like xgboost's predict(output_margin=True).
func (m *Model) PredictMargin(x []float32, rows int, out []float32) error {
	tb, te, err := m.check(x, rows, out, m.groups, 0, 0)
	if err != nil {
		return err
	}
	m.marginRows(x, rows, out, tb, te)
	return nil
}

// PredictMarginRange is PredictMargin restricted to the iterations
// [begin, end) (end 0 means all).
func (m *Model) PredictMarginRange(x []float32, rows int, out []float32, begin, end int) error {
	tb, te, err := m.check(x, rows, out, m.groups, begin, end)
	if err != nil {
		return err
	}
	m.marginRows(x, rows, out, tb, te)
	return nil
}

// check validates the buffers and maps the iteration range to trees.
func (m *Model) check(x []float32, rows int, out []float32, perRow, begin, end int) (tb, te int, err error) {
	if rows < 0 {
		return 0, 0, fmt.Errorf("negative row count %d", rows)
	}
	if rows > 0 && (len(x)/rows < m.numFeature || len(x) < rows*m.numFeature) {
		return 0, 0, fmt.Errorf("input has %d values, want %d rows * %d features", len(x), rows, m.numFeature)
	}
	if rows > 0 && (len(out)/rows < perRow || len(out) < rows*perRow) {
		return 0, 0, fmt.Errorf("output buffer has %d values, want %d rows * %d outputs", len(out), rows, perRow)
	}
	if begin < 0 || end < 0 {
		return 0, 0, fmt.Errorf("negative iteration range [%d, %d)", begin, end)
	}
	if m.weights != nil {
		if begin != 0 {
			return 0, 0, errors.New("gblinear does not support an iteration range")
		}
		return 0, 0, nil
	}
	iters := m.numIterations()
	if begin > iters || end > iters {
		return 0, 0, fmt.Errorf("iteration range [%d, %d) exceeds the model's %d iterations", begin, end, iters)
	}
	if end != 0 && begin > end {
		return 0, 0, fmt.Errorf("invalid iteration range [%d, %d)", begin, end)
	}
	tb, te = begin*m.perIter, end*m.perIter
	if te == 0 {
		te = len(m.roots)
	}
	return tb, te, nil
}
