// Command xgboost-bench compares tenantml's native XGBoost runtime with the
// xgboost C++ library (Debian's libxgboost-dev, through cgo) in one run: the
// same model file, the same rows, one core each.
//
// It trains a 100-tree, depth-6 binary:logistic model with train.py (unless
// -model names a file), loads it in both, checks that both predict the same,
// then measures batch throughput (rows/s over -rows rows per call) and
// single-row latency, alternating the two for -rounds rounds and keeping
// each side's best round, and prints the ratio tenantml/xgboost (above 1
// means tenantml is faster). It also prints the memory each loaded model
// holds: runtime.Info.MemoryBytes, the Go heap growth of loading it, and the
// resident-set growth of loading it into libxgboost.
//
// It lives in its own module so that the main module stays free of cgo.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenantml/tenantml/runtime/xgboost"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "xgboost-bench:", err)
		os.Exit(1)
	}
}

type config struct {
	model  string
	format string
	rows   int
	rounds int
	minDur time.Duration
	python string
	prof   string
}

func run(args []string) error {
	var c config
	fs := flag.NewFlagSet("xgboost-bench", flag.ContinueOnError)
	fs.StringVar(&c.model, "model", "", "model file to load in both (default: train one with train.py)")
	fs.StringVar(&c.format, "format", "json", "file train.py writes to use: json, ubj or bin")
	fs.IntVar(&c.rows, "rows", 10000, "rows per batch")
	fs.IntVar(&c.rounds, "rounds", 5, "measurement rounds per side, best kept")
	fs.DurationVar(&c.minDur, "min", 300*time.Millisecond, "minimum duration of one measurement round")
	fs.StringVar(&c.python, "python", "/usr/bin/python3", "interpreter with python3-xgboost for train.py")
	fs.StringVar(&c.prof, "cpuprofile", "", "write a CPU profile of tenantml's batch prediction to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if c.rows <= 0 || c.rounds <= 0 || c.minDur <= 0 {
		return errors.New("-rows, -rounds and -min must be positive")
	}

	path := c.model
	if path == "" {
		dir, err := os.MkdirTemp("", "xgboost-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if out, err := exec.Command(c.python, "train.py", dir).CombinedOutput(); err != nil {
			return fmt.Errorf("train.py: %v\n%s", err, out)
		}
		path = filepath.Join(dir, "model."+c.format)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read model: %w", err)
	}

	// Load both, measuring what each holds.
	heapBefore := heapInUse()
	model, err := xgboost.Load(data)
	if err != nil {
		return fmt.Errorf("tenantml load: %w", err)
	}
	heapDelta := heapInUse() - heapBefore
	info := model.Info()

	rssBefore := rssBytes()
	cb, err := loadCBooster(data)
	if err != nil {
		return err
	}
	defer cb.Close()
	rssDelta := rssBytes() - rssBefore

	fmt.Printf("model     %s (%d bytes, %s, objective %s, %d features, %d outputs/row)\n",
		path, len(data), info.Format, info.Objective, info.NumFeatures, info.NumOutputs)
	fmt.Printf("machine   %s/%s, %d CPUs, GOMAXPROCS %d; xgboost nthread=1 (XGBoosterPredictFromDense)\n",
		goruntime.GOOS, goruntime.GOARCH, goruntime.NumCPU(), goruntime.GOMAXPROCS(0))

	x := benchRows(info.NumFeatures, c.rows, 42)
	outs := info.NumOutputs
	got := make([]float32, c.rows*outs)
	want := make([]float32, c.rows*outs)
	crows := newCRows(x, c.rows, info.NumFeatures)
	defer crows.Free()
	if err := model.Predict(x, c.rows, got); err != nil {
		return fmt.Errorf("tenantml predict: %w", err)
	}
	if err := cb.Predict(crows, want); err != nil {
		return err
	}
	maxDiff, maxRel := difference(got, want)
	fmt.Printf("check     %d outputs: max |tenantml-xgboost| = %.3g, max relative %.3g\n", len(want), maxDiff, maxRel)
	if maxRel > 1e-5 {
		return fmt.Errorf("predictions disagree (max relative difference %.3g): not benchmarking", maxRel)
	}

	// Single-row inputs: each call predicts one row, cycling through rows.
	singles := make([]*cRows, 256)
	for i := range singles {
		singles[i] = newCRows(x[i*info.NumFeatures:(i+1)*info.NumFeatures], 1, info.NumFeatures)
		defer singles[i].Free()
	}
	one := make([]float32, outs)

	var errT, errC error
	tmlBatch := func() {
		if err := model.Predict(x, c.rows, got); err != nil {
			errT = err
		}
	}
	cBatch := func() {
		if err := cb.Predict(crows, want); err != nil {
			errC = err
		}
	}
	var it, ic int
	tmlOne := func() {
		r := it % len(singles)
		it++
		if err := model.Predict(x[r*info.NumFeatures:(r+1)*info.NumFeatures], 1, one); err != nil {
			errT = err
		}
	}
	cOne := func() {
		r := ic % len(singles)
		ic++
		if err := cb.Predict(singles[r], one); err != nil {
			errC = err
		}
	}

	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	tb, cbt := compare(tmlBatch, cBatch, c.rounds, c.minDur)
	t1, c1 := compare(tmlOne, cOne, c.rounds, c.minDur)
	if err := errors.Join(errT, errC); err != nil {
		return fmt.Errorf("predict during measurement: %w", err)
	}

	perSec := func(d time.Duration, n int) float64 { return float64(n) / d.Seconds() }
	fmt.Printf("batch     %d rows/call: tenantml %.0f rows/s, %.0f rows/CPU-s; xgboost %.0f rows/s, %.0f rows/CPU-s\n",
		c.rows, perSec(tb.wall, c.rows), perSec(tb.cpu, c.rows), perSec(cbt.wall, c.rows), perSec(cbt.cpu, c.rows))
	fmt.Printf("          ratio tenantml/xgboost: %.2f by wall time, %.2f by CPU time\n",
		cbt.wall.Seconds()/tb.wall.Seconds(), cbt.cpu.Seconds()/tb.cpu.Seconds())
	fmt.Printf("single    1 row/call: tenantml %v/row wall, %v/row CPU; xgboost %v/row wall, %v/row CPU\n",
		t1.wall, t1.cpu, c1.wall, c1.cpu)
	fmt.Printf("          ratio tenantml/xgboost: %.2f by wall time, %.2f by CPU time\n",
		c1.wall.Seconds()/t1.wall.Seconds(), c1.cpu.Seconds()/t1.cpu.Seconds())
	fmt.Printf("memory    tenantml Info.MemoryBytes %d, Go heap growth on load %d; libxgboost RSS growth on load %d; model file %d\n",
		info.MemoryBytes, heapDelta, rssDelta, len(data))
	if c.prof != "" {
		if err := profile(c.prof, tmlBatch, c.minDur*time.Duration(c.rounds)); err != nil {
			return err
		}
		fmt.Printf("profile   %s (go tool pprof %s)\n", c.prof, c.prof)
	}
	goruntime.KeepAlive(model)
	return nil
}

// difference returns the largest absolute and relative differences
// between two predictions of the same rows.
func difference(got, want []float32) (maxDiff, maxRel float64) {
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		maxDiff = math.Max(maxDiff, d)
		if want[i] != 0 {
			maxRel = math.Max(maxRel, d/math.Abs(float64(want[i])))
		}
	}
	return maxDiff, maxRel
}

// profile writes a CPU profile of calling f for at least d.
func profile(path string, f func(), d time.Duration) error {
	fh, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create profile: %w", err)
	}
	if err := pprof.StartCPUProfile(fh); err != nil {
		fh.Close()
		return fmt.Errorf("start profile: %w", err)
	}
	perCall(f, d)
	pprof.StopCPUProfile()
	return fh.Close()
}

// benchRows draws rows like train.py's: standard normal, 5% missing.
func benchRows(features, rows int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, seed))
	x := make([]float32, features*rows)
	for i := range x {
		if rng.Float64() < 0.05 {
			x[i] = float32(math.NaN())
			continue
		}
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// timing is one side's measurement: wall time per call and the CPU time
// the process spent per call. On a shared machine the CPU time is the
// steadier figure: both sides run on one thread, so CPU time is the time
// the prediction itself took.
type timing struct {
	wall, cpu time.Duration
}

// compare alternates measuring a and b for rounds rounds and returns for
// each the best wall time and the best CPU time per call over the rounds.
func compare(a, b func(), rounds int, minDur time.Duration) (timing, timing) {
	var ta, tb []timing
	for range rounds {
		ta = append(ta, perCall(a, minDur))
		tb = append(tb, perCall(b, minDur))
	}
	best := func(ts []timing) timing {
		w := slices.MinFunc(ts, func(x, y timing) int { return cmp.Compare(x.wall, y.wall) })
		c := slices.MinFunc(ts, func(x, y timing) int { return cmp.Compare(x.cpu, y.cpu) })
		return timing{wall: w.wall, cpu: c.cpu}
	}
	return best(ta), best(tb)
}

// perCall calls f, after one warm-up call, until minDur has passed and
// returns the mean wall and CPU time per call.
func perCall(f func(), minDur time.Duration) timing {
	f()
	n := 0
	cpu0 := cpuTime()
	start := time.Now()
	for {
		for range 1 << min(n/8, 10) {
			f()
			n++
		}
		if el := time.Since(start); el >= minDur {
			return timing{wall: el / time.Duration(n), cpu: (cpuTime() - cpu0) / time.Duration(n)}
		}
	}
}

// cpuTime returns the user and system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapInUse returns the live Go heap after a full collection.
func heapInUse() int64 {
	goruntime.GC()
	goruntime.GC()
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// rssBytes returns the process's resident set size, or 0 if unknown.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
