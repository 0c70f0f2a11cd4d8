package xgboosttest_test

import (
	"bytes"
	"testing"

	"github.com/tenantml/tenantml/runtime/xgboost"
	"github.com/tenantml/tenantml/runtime/xgboost/xgboosttest"
)

func TestJSON(t *testing.T) {
	data := xgboosttest.JSON(10, 3, 8, 1)
	m, err := xgboost.Load(data)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	info := m.Info()
	if info.NumFeatures != 8 || info.NumIterations != 10 || info.Objective != "binary:logistic" {
		t.Errorf("Info = %+v", info)
	}
	out := make([]float32, 1)
	if err := m.Predict(make([]float32, 8), 1, out); err != nil || out[0] <= 0 || out[0] >= 1 {
		t.Errorf("Predict = %v, %v; want a probability", out, err)
	}
	if !bytes.Equal(data, xgboosttest.JSON(10, 3, 8, 1)) || bytes.Equal(data, xgboosttest.JSON(10, 3, 8, 2)) {
		t.Error("the model is not a function of the seed")
	}
}
