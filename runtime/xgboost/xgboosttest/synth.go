// Package xgboosttest generates synthetic XGBoost models for tests and
// benchmarks of the layers above the runtime: valid models of a chosen
// size, in the JSON format xgboost saves, without Python.
package xgboosttest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// JSON returns a binary:logistic gbtree model of trees full trees of the
// given depth over features features, in xgboost's JSON format. Split
// features, thresholds and leaves are drawn from seed, so the same
// arguments give the same bytes. A tree of depth d has 2^(d+1)-1 nodes of
// about 20 bytes of JSON each: 2,000 trees of depth 7 are about 10 MB.
func JSON(trees, depth, features int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 0x7e57))
	var b strings.Builder
	fmt.Fprintf(&b, `{"learner":{"gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_trees":"%d"},"tree_info":[%s],"trees":[`,
		trees, strings.TrimSuffix(strings.Repeat("0,", trees), ","))
	nodes := 1<<(depth+1) - 1
	inner := 1<<depth - 1
	list := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range n {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	for t := range trees {
		if t > 0 {
			b.WriteByte(',')
		}
		feat := make([]int, nodes)
		cond := make([]float64, nodes)
		dflt := make([]int, nodes)
		for i := range nodes {
			if i < inner {
				feat[i], cond[i], dflt[i] = rng.IntN(features), rng.NormFloat64(), rng.IntN(2)
			} else {
				cond[i] = rng.NormFloat64() / 10
			}
		}
		fmt.Fprintf(&b, `{"left_children":[%s],"right_children":[%s],"split_conditions":[%s],"split_indices":[%s],"default_left":[%s]}`,
			list(nodes, func(i int) string {
				if i < inner {
					return fmt.Sprint(2*i + 1)
				}
				return "-1"
			}),
			list(nodes, func(i int) string {
				if i < inner {
					return fmt.Sprint(2*i + 2)
				}
				return "-1"
			}),
			list(nodes, func(i int) string { return fmt.Sprintf("%.5f", cond[i]) }),
			list(nodes, func(i int) string { return fmt.Sprint(feat[i]) }),
			list(nodes, func(i int) string { return fmt.Sprint(dflt[i]) }))
	}
	fmt.Fprintf(&b, `]}},"learner_model_param":{"base_score":"0.5","num_feature":"%d"},"objective":{"name":"binary:logistic"}}}`, features)
	return []byte(b.String())
}
