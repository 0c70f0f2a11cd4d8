package xgboost

import (
	"bytes"
	"encoding/binary"
	goruntime "runtime"
	"strconv"
	"strings"
	"testing"
)

// TestLoad_MemoryBound loads inputs built to amplify memory (many tiny
// trees, payload-free UBJSON arrays, long arrays of tiny elements) and
// requires the bytes allocated while loading to stay within a fixed multiple
// of the input size.
func TestLoad_MemoryBound(t *testing.T) {
	const minTree = `{"left_children":[-1],"right_children":[-1],"split_conditions":[0.5],"split_indices":[0],"default_left":[0]}`
	manyTrees := func(n int) []byte {
		trees := strings.TrimSuffix(strings.Repeat(minTree+",", n), ",")
		info := strings.TrimSuffix(strings.Repeat("0,", n), ",")
		return []byte(`{"learner":{"gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_trees":"` +
			strconv.Itoa(n) + `"},"tree_info":[` + info + `],"trees":[` + trees + `]}},"learner_model_param":{"base_score":"0.5","num_feature":"1"},"objective":{"name":"reg:squarederror"}}}`)
	}
	ubjNulls := func(n int) []byte {
		b := []byte("{L\x00\x00\x00\x00\x00\x00\x00\x07learner{L\x00\x00\x00\x00\x00\x00\x00\x0dfeature_names[$Z#L")
		b = binary.BigEndian.AppendUint64(b, uint64(n))
		return append(b, bytes.Repeat([]byte{'N'}, n)...)
	}
	emptyObjects := []byte(`{"learner":{"gradient_booster":{"name":"gbtree","model":{"trees":[` +
		strings.TrimSuffix(strings.Repeat("{},", 200000), ",") + `]}}}}`)
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"ManyMinimalTrees", manyTrees(20000), true},
		{"EmptyTreeObjects", emptyObjects, false},
		{"UBJNullArray", ubjNulls(500000), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after goruntime.MemStats
			goruntime.GC()
			goruntime.ReadMemStats(&before)
			_, err := Load(tt.data)
			goruntime.ReadMemStats(&after)
			if (err == nil) != tt.ok {
				t.Fatalf("Load error = %v, want success %v", err, tt.ok)
			}
			t.Logf("%d input bytes, %d allocated", len(tt.data), after.TotalAlloc-before.TotalAlloc)
			if got, limit := after.TotalAlloc-before.TotalAlloc, uint64(16*len(tt.data)+1<<20); got > limit {
				t.Fatalf("loading %d bytes allocated %d bytes, more than %d", len(tt.data), got, limit)
			}
		})
	}
}
