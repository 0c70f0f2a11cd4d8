package xgboost

import (
	"math"
	"slices"
)

// marginRows writes rows*groups margins using trees [tb, te).
func (m *Model) marginRows(x []float32, rows int, out []float32, tb, te int) {
	nf, g := m.numFeature, m.groups
	if g == 1 && m.weights == nil && m.weightDrop == nil {
		for r := range rows {
			out[r] = m.sum(x[r*nf:(r+1)*nf], tb, te)
		}
		return
	}
	for r := range rows {
		m.margins(x[r*nf:(r+1)*nf], out[r*g:(r+1)*g], tb, te)
	}
}

// block is the number of trees walked in lockstep: independent walks
// overlap their memory latencies.
const block = 8

// sum is the margin of a single-group gbtree model: the base margin plus
// each tree's leaf, added in tree order in float32 as xgboost does.
func (m *Model) sum(row []float32, tb, te int) float32 {
	s := m.base
	t := tb
	dense := !hasNaN(row)
	for ; t+block <= te && m.numerical(t); t += block {
		for _, v := range m.walkBlock(row, t, dense) {
			s += v
		}
	}
	for ; t < te; t++ {
		s += m.walk(row, t)
	}
	return s
}

// margins computes one row's margins into o (len groups) with trees
// [tb, te), in tree order.
func (m *Model) margins(row, o []float32, tb, te int) {
	for i := range o {
		o[i] = m.base
	}
	if m.weights != nil {
		m.linear(row, o)
		return
	}
	t := tb
	dense := !hasNaN(row)
	for ; t+block <= te && m.numerical(t); t += block {
		for k, v := range m.walkBlock(row, t, dense) {
			m.add(o, t+k, v)
		}
	}
	for ; t < te; t++ {
		m.add(o, t, m.walk(row, t))
	}
}

// numerical reports whether trees t..t+block-1 have only numerical splits.
func (m *Model) numerical(t int) bool {
	for _, c := range m.hasCat[t : t+block] {
		if c {
			return false
		}
	}
	return true
}

// add adds tree t's leaf value v to its group, weighted for dart. The
// explicit conversion rounds the product to float32 before the add, as in
// xgboost (no fused multiply-add).
func (m *Model) add(o []float32, t int, v float32) {
	if m.weightDrop != nil {
		v = float32(v * m.weightDrop[t])
	}
	o[m.treeGroup[t]] += v
}

// linear is gblinear's prediction: bias + base, then each present feature's
// contribution in feature order.
func (m *Model) linear(row, o []float32) {
	g := len(o)
	bias := m.weights[m.numFeature*g:]
	for gid := range o {
		sum := bias[gid] + o[gid]
		for f, v := range row {
			if v == v {
				sum += float32(v * m.weights[f*g+gid])
			}
		}
		o[gid] = sum
	}
}

// step moves from numerical split (or leaf) n to the child row goes to:
// left when v < cond; a missing value goes the default way. With v >= cond
// false for NaN, right = (v >= cond) | (missing & defaultRight). Leaves
// (NaN cond, default left) step to themselves.
func step(n *node, row []float32) int32 {
	v := row[n.feat&featMask]
	var ge, nan int32
	if v >= n.cond {
		ge = 1
	}
	if v != v {
		nan = 1
	}
	return n.left + (ge | nan&int32(^n.feat>>31))
}

// stepDense is step for a row without missing values.
func stepDense(n *node, row []float32) int32 {
	var ge int32
	if row[n.feat&featMask] >= n.cond {
		ge = 1
	}
	return n.left + ge
}

// hasNaN reports whether row has a missing value.
func hasNaN(row []float32) bool {
	for _, v := range row {
		if v != v {
			return true
		}
	}
	return false
}

// walkBlock walks the numerical trees t..t+block-1 in lockstep and
// returns their leaf values.
func (m *Model) walkBlock(row []float32, t int, dense bool) [block]float32 {
	nodes := m.nodes
	r := m.roots[t : t+block]
	i0, i1, i2, i3, i4, i5, i6, i7 := r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
	d := m.depth[t : t+block]
	depth := max(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7])
	if dense {
		for range depth {
			i0 = stepDense(&nodes[i0], row)
			i1 = stepDense(&nodes[i1], row)
			i2 = stepDense(&nodes[i2], row)
			i3 = stepDense(&nodes[i3], row)
			i4 = stepDense(&nodes[i4], row)
			i5 = stepDense(&nodes[i5], row)
			i6 = stepDense(&nodes[i6], row)
			i7 = stepDense(&nodes[i7], row)
		}
	} else {
		for range depth {
			i0 = step(&nodes[i0], row)
			i1 = step(&nodes[i1], row)
			i2 = step(&nodes[i2], row)
			i3 = step(&nodes[i3], row)
			i4 = step(&nodes[i4], row)
			i5 = step(&nodes[i5], row)
			i6 = step(&nodes[i6], row)
			i7 = step(&nodes[i7], row)
		}
	}
	f := math.Float32frombits
	return [block]float32{f(nodes[i0].aux), f(nodes[i1].aux), f(nodes[i2].aux), f(nodes[i3].aux),
		f(nodes[i4].aux), f(nodes[i5].aux), f(nodes[i6].aux), f(nodes[i7].aux)}
}

// walk walks tree t, categorical splits included, and returns its leaf
// value.
func (m *Model) walk(row []float32, t int) float32 {
	nodes := m.nodes
	i := m.roots[t]
	for range m.depth[t] {
		n := &nodes[i]
		if n.feat&flagCategorical == 0 {
			i = step(n, row)
			continue
		}
		v := row[n.feat&featMask]
		switch {
		case v != v:
			if n.feat&flagDefaultLeft != 0 {
				i = n.left
			} else {
				i = n.left + 1
			}
		case m.inCategory(n.aux, v):
			i = n.left + 1
		default:
			i = n.left
		}
	}
	return math.Float32frombits(nodes[i].aux)
}

// inCategory reports whether v is a valid category in the split's set;
// xgboost sends such rows right and every other row (negative, too large,
// or not in the set) left.
func (m *Model) inCategory(span uint32, v float32) bool {
	if !(v >= 0 && v < maxCategory) {
		return false
	}
	s := m.catSpans[span]
	_, ok := slices.BinarySearch(m.cats[s.off:s.off+s.n], int32(v))
	return ok
}
