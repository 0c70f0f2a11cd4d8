package xgboost_test

import (
	"fmt"
	"math"
	"os"

	"github.com/tenantml/tenantml/runtime/xgboost"
)

func ExampleLoad() {
	data, err := os.ReadFile("testdata/fixtures/multi_softprob_rf.json")
	if err != nil {
		panic(err)
	}
	m, err := xgboost.Load(data)
	if err != nil {
		panic(err)
	}
	info := m.Info()
	nan := float32(math.NaN())
	x := []float32{ // two rows of four features; NaN is missing
		1, 2, 3, 4,
		nan, nan, 0.5, -1,
	}
	out := make([]float32, 2*info.NumOutputs)
	if err := m.Predict(x, 2, out); err != nil {
		panic(err)
	}
	fmt.Println(info.Format, info.Objective, info.NumOutputs, "outputs per row")
	fmt.Printf("%.4f\n", out)
	// Output:
	// xgboost-json multi:softprob 3 outputs per row
	// [0.1449 0.2024 0.6527 0.1639 0.6721 0.1639]
}
