package xgboost

import (
	"math"
	"strings"
	"sync"
	"testing"
)

func loadFixture(tb testing.TB, name string) *Model {
	tb.Helper()
	m, err := Load(readFixture(tb, name))
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return m
}

func TestModel_Info(t *testing.T) {
	tests := []struct {
		file                       string
		objective, booster         string
		outputs, margins, iters, f int
	}{
		{"binary_logistic.json", "binary:logistic", "gbtree", 1, 1, 4, 4},
		{"multi_softprob_rf.bin", "multi:softprob", "gbtree", 3, 3, 3, 4},
		{"multi_softmax.ubj", "multi:softmax", "gbtree", 1, 3, 3, 4},
		{"dart_regression.json", "reg:squarederror", "dart", 1, 1, 5, 4},
		{"linear_logistic.bin", "binary:logistic", "gblinear", 1, 1, 0, 4},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			info := loadFixture(t, tt.file).Info()
			if info.Objective != tt.objective || info.Booster != tt.booster || info.NumOutputs != tt.outputs ||
				info.NumMargins != tt.margins || info.NumIterations != tt.iters || info.NumFeatures != tt.f {
				t.Fatalf("Info = %+v, want objective %s booster %s outputs %d margins %d iterations %d features %d",
					info, tt.objective, tt.booster, tt.outputs, tt.margins, tt.iters, tt.f)
			}
			if info.MemoryBytes <= 0 {
				t.Fatalf("MemoryBytes = %d, want > 0", info.MemoryBytes)
			}
		})
	}
}

func TestModel_PredictErrors(t *testing.T) {
	trees := loadFixture(t, "multi_softprob_rf.json") // 4 features, 3 outputs, 3 iterations
	linear := loadFixture(t, "linear_logistic.json")
	x := make([]float32, 8)
	tests := []struct {
		name         string
		m            *Model
		x            []float32
		rows, outLen int
		begin, end   int
		want         string
	}{
		{"ErrNegativeRows", trees, x, -1, 6, 0, 0, "negative row count"},
		{"ErrShortInput", trees, x[:7], 2, 6, 0, 0, "input has 7 values"},
		{"ErrShortOutput", trees, x, 2, 5, 0, 0, "output buffer has 5 values"},
		{"ErrRangeEnd", trees, x, 2, 6, 0, 4, "exceeds the model's 3 iterations"},
		{"ErrRangeBegin", trees, x, 2, 6, 4, 0, "exceeds"},
		{"ErrRangeReversed", trees, x, 2, 6, 2, 1, "invalid iteration range"},
		{"ErrRangeNegative", trees, x, 2, 6, -1, 0, "negative iteration range"},
		{"ErrLinearRange", linear, x, 2, 2, 1, 0, "gblinear does not support"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.m.PredictRange(tt.x, tt.rows, make([]float32, tt.outLen), tt.begin, tt.end)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("PredictRange error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	t.Run("OKZeroRows", func(t *testing.T) {
		if err := trees.Predict(nil, 0, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OKLinearEndIgnored", func(t *testing.T) {
		a, b := make([]float32, 2), make([]float32, 2)
		if err := linear.PredictRange(x, 2, a, 0, 3); err != nil {
			t.Fatal(err)
		}
		if err := linear.Predict(x, 2, b); err != nil {
			t.Fatal(err)
		}
		assertClose(t, "predict", a, b)
	})
}

// TestModel_PredictRange checks that iteration ranges add up: the margins
// of [0, k) and [k, n) sum to the margins of all iterations, less one base.
func TestModel_PredictRange(t *testing.T) {
	for _, file := range []string{"multi_softprob_rf.json", "dart_regression.json", "binary_logistic.ubj"} {
		t.Run(file, func(t *testing.T) {
			m := loadFixture(t, file)
			info := m.Info()
			x := synthRows(10, info.NumFeatures, 3)
			n := 10 * info.NumMargins
			all, lo, hi := make([]float32, n), make([]float32, n), make([]float32, n)
			for _, r := range []struct {
				out        []float32
				begin, end int
			}{{all, 0, 0}, {lo, 0, 1}, {hi, 1, 0}} {
				if err := m.PredictMarginRange(x, 10, r.out, r.begin, r.end); err != nil {
					t.Fatal(err)
				}
			}
			for i := range all {
				got := float64(lo[i]) + float64(hi[i]) - float64(m.base)
				if math.Abs(got-float64(all[i])) > 1e-5*math.Max(1, math.Abs(float64(all[i]))) {
					t.Fatalf("margin[%d]: [0,1) + [1,n) - base = %g, all = %g", i, got, all[i])
				}
			}
		})
	}
}

// TestModel_PredictConcurrent runs Predict from several goroutines and
// requires identical results (run with -race to check for data races).
func TestModel_PredictConcurrent(t *testing.T) {
	m := loadFixture(t, "multi_softprob_rf.json")
	x := synthRows(64, 4, 5)
	want := make([]float32, 64*3)
	if err := m.Predict(x, 64, want); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			got := make([]float32, 64*3)
			for range 20 {
				if err := m.Predict(x, 64, got); err != nil {
					errs <- err.Error()
					return
				}
				for i := range got {
					if got[i] != want[i] {
						errs <- "concurrent prediction differs"
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestModel_PredictAllocs(t *testing.T) {
	for _, file := range []string{"binary_logistic.json", "multi_softmax.ubj", "multi_softprob_rf.bin", "dart_regression.bin", "linear_logistic.json", "categorical.json"} {
		t.Run(file, func(t *testing.T) {
			m := loadFixture(t, file)
			info := m.Info()
			x := synthRows(8, info.NumFeatures, 1)
			out := make([]float32, 8*info.NumOutputs)
			allocs := testing.AllocsPerRun(20, func() {
				if err := m.Predict(x, 8, out); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("Predict allocates %v times per call, want 0", allocs)
			}
		})
	}
}

func TestObjective_Transforms(t *testing.T) {
	tests := []struct {
		name string
		obj  string
		in   float32
		want float32
	}{
		{"Sigmoid0", "binary:logistic", 0, 0.5},
		{"SigmoidHuge", "binary:logistic", -1000, 0},
		{"SigmoidNegHuge", "reg:logistic", 1000, 1},
		{"Exp", "count:poisson", 1, float32(math.E)},
		{"HingePos", "binary:hinge", 0.1, 1},
		{"HingeZero", "binary:hinge", 0, 0},
		{"Identity", "rank:ndcg", -3.5, -3.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := lookupObjective(tt.obj)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.predTransform(tt.in); math.Abs(float64(got-tt.want)) > 1e-7 {
				t.Fatalf("predTransform(%g) = %g, want %g", tt.in, got, tt.want)
			}
		})
	}
	t.Run("Softmax", func(t *testing.T) {
		p := []float32{1, 2, float32(math.NaN())}
		q := []float32{1, 2, 3}
		softmax(q)
		if s := q[0] + q[1] + q[2]; math.Abs(float64(s)-1) > 1e-6 || q[2] <= q[1] {
			t.Fatalf("softmax = %v", q)
		}
		if argmax([]float32{1, 3, 3}) != 1 {
			t.Fatal("argmax must return the first maximum")
		}
		softmax(p) // NaN must not panic
	})
}

// TestModel_PredictSoftmaxManyClasses covers multi:softmax beyond the stack
// buffer (pooled scratch): the class index must be the margins' argmax.
func TestModel_PredictSoftmaxManyClasses(t *testing.T) {
	for _, classes := range []int{3, maxStackGroups, maxStackGroups + 1, 150} {
		s := synthSpec("multi:softmax", 2*classes, 3, 5, uint64(classes))
		s.numClass = classes
		for k := range s.treeInfo {
			s.treeInfo[k] = int32(k % classes)
		}
		m, err := build(s)
		if err != nil {
			t.Fatal(err)
		}
		const rows = 30
		x := synthRows(rows, 5, 2)
		got := make([]float32, rows)
		margins := make([]float32, rows*classes)
		for range 3 { // reuse pooled buffers
			if err := m.Predict(x, rows, got); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.PredictMargin(x, rows, margins); err != nil {
			t.Fatal(err)
		}
		for r := range rows {
			if want := argmax(margins[r*classes : (r+1)*classes]); got[r] != float32(want) {
				t.Fatalf("%d classes, row %d: class %g, want %d", classes, r, got[r], want)
			}
		}
	}
}
