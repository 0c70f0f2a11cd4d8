package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"
)

func main() {
	testing.Init()
	silo := flag.Int("tenants", 10000, "number of further (silo) tenants whose policies are loaded in the second scenario")
	benchtime := flag.Duration("benchtime", time.Second, "target run time of each benchmark")
	rounds := flag.Int("rounds", 3, "interleaved rounds per engine; the median ns/op is reported")
	flag.Parse()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fmt.Fprintln(os.Stderr, "iambench:", err)
		os.Exit(2)
	}
	if *rounds < 1 {
		fmt.Fprintln(os.Stderr, "iambench: -rounds must be at least 1")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Stdout, *silo, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "iambench:", err)
		os.Exit(1)
	}
}

// poolTenants are the tenants onboarded in the pool model in every scenario.
var poolTenants = []string{"tenant-a", "tenant-b"}

// timed is the request every engine decides in the timed loop.
var timed = request{Role: poolRole, Session: "tenant-a-session", TenantTag: "tenant-a",
	Endpoint: "pool-endpoint", TargetModel: "tenant-a.tar.gz"}

// check is one request of the agreement table with the decision all engines
// must reach.
type check struct {
	name string
	req  request
	want bool
}

func checks(silo int) []check {
	cs := []check{
		{"pool own model", timed, true},
		{"pool cross-tenant model", request{Role: poolRole, Session: "tenant-a-session", TenantTag: "tenant-a",
			Endpoint: "pool-endpoint", TargetModel: "tenant-b.tar.gz"}, false},
		{"pool tenant-b own model", request{Role: poolRole, Session: "tenant-b-session", TenantTag: "tenant-b",
			Endpoint: "pool-endpoint", TargetModel: "tenant-b.tar.gz"}, true},
		{"pool untagged session", request{Role: poolRole, Session: "x", Endpoint: "pool-endpoint",
			TargetModel: "tenant-a.tar.gz"}, false},
		{"pool no target model", request{Role: poolRole, Session: "tenant-a-session", TenantTag: "tenant-a",
			Endpoint: "pool-endpoint"}, false},
		{"pool other endpoint", request{Role: poolRole, Session: "tenant-a-session", TenantTag: "tenant-a",
			Endpoint: "other-endpoint", TargetModel: "tenant-a.tar.gz"}, false},
	}
	if silo >= 2 {
		last := siloName(silo - 1)
		cs = append(cs,
			check{"silo own endpoint", request{Role: last + "-invoke", Session: "s", Endpoint: last + "-endpoint"}, true},
			check{"silo neighbour endpoint", request{Role: last + "-invoke", Session: "s", Endpoint: siloName(0) + "-endpoint"}, false},
			check{"pool role on silo endpoint", request{Role: poolRole, Session: "tenant-a-session", TenantTag: "tenant-a",
				Endpoint: last + "-endpoint", TargetModel: "tenant-a.tar.gz"}, false},
		)
	}
	return cs
}

func build(ctx context.Context, w world) ([]engine, error) {
	ie, err := newIAM(w)
	if err != nil {
		return nil, err
	}
	ce, err := newCedar(w)
	if err != nil {
		return nil, err
	}
	cr, err := newCedarByRole(w)
	if err != nil {
		return nil, err
	}
	oe, err := newOPA(ctx, w)
	if err != nil {
		return nil, err
	}
	i1, err := newIAMOneSet(w)
	if err != nil {
		return nil, err
	}
	return []engine{ie, i1, ce, cr, oe}, nil
}

// agree decides every check with every engine and fails on the first
// disagreement with the expected decision.
func agree(engines []engine, cs []check) error {
	for _, c := range cs {
		for _, e := range engines {
			decide, err := e.Prepare(c.req)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", e.Name(), c.name, err)
			}
			got, err := decide()
			if err != nil {
				return fmt.Errorf("%s: %s: %w", e.Name(), c.name, err)
			}
			if got != c.want {
				return fmt.Errorf("%s: %s: allowed = %v, want %v", e.Name(), c.name, got, c.want)
			}
		}
	}
	return nil
}

// result is one engine's benchmark figures.
type result struct {
	name string
	ns   float64
	// cpu is the process CPU time per decision in ns; 0 when unavailable.
	cpu    float64
	allocs int64
	bytes  int64
}

func measure(e engine, r request) (result, error) {
	decide, err := e.Prepare(r)
	if err != nil {
		return result{}, err
	}
	var failure error
	var cpu, cpuN int64 // CPU time of the last (largest) run and its b.N
	br := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		start, ok := processCPU()
		for b.Loop() {
			ok, err := decide()
			if err != nil || !ok {
				failure = fmt.Errorf("%s: decision changed during the benchmark: allowed=%v err=%v", e.Name(), ok, err)
				b.FailNow()
			}
		}
		if end, ok2 := processCPU(); ok && ok2 {
			cpu, cpuN = end-start, int64(b.N)
		}
	})
	if failure != nil {
		return result{}, failure
	}
	if br.N == 0 {
		return result{}, fmt.Errorf("%s: benchmark did not run", e.Name())
	}
	res := result{name: e.Name(), ns: float64(br.T.Nanoseconds()) / float64(br.N),
		allocs: br.AllocsPerOp(), bytes: br.AllocedBytesPerOp()}
	if cpuN == int64(br.N) && cpuN > 0 {
		res.cpu = float64(cpu) / float64(cpuN)
	}
	return res, nil
}

func run(ctx context.Context, out io.Writer, silo, rounds int) error {
	scenarios := []world{{Pool: poolTenants}, {Pool: poolTenants, Silo: silo}}
	for _, w := range scenarios {
		start := time.Now()
		engines, err := build(ctx, w)
		if err != nil {
			return err
		}
		loaded := time.Since(start)
		if err := agree(engines, checks(w.Silo)); err != nil {
			return fmt.Errorf("engines disagree (%d silo tenants): %w", w.Silo, err)
		}
		fmt.Fprintf(out, "scenario: %d pool tenants + %d silo tenants' policies loaded (built in %v); all engines agree on %d checks; median of %d rounds\n",
			len(w.Pool), w.Silo, loaded.Round(time.Millisecond), len(checks(w.Silo)), rounds)
		// Interleave the engines round by round so that a burst of load from
		// elsewhere on the machine hits them alike; report each one's median.
		samples := make([][]result, len(engines))
		for range rounds {
			for i, e := range engines {
				r, err := measure(e, timed)
				if err != nil {
					return err
				}
				samples[i] = append(samples[i], r)
			}
		}
		rs := make([]result, len(engines))
		for i := range engines {
			rs[i] = median(samples[i])
		}
		report(out, rs)
	}
	return nil
}

// median returns the sample with the median ns/op.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int { return cmp.Compare(a.ns, b.ns) })
	return s[len(s)/2]
}

// ratios are the comparisons printed after each scenario: the two the bench
// exists for (each peer as normally used against tenantml as normally used)
// and the like-for-like layouts.
var ratios = [][2]string{
	{"cedar-go", "tenantml"},
	{"opa", "tenantml"},
	{"cedar-role", "tenantml"},
	{"cedar-go", "tenantml-1set"},
}

func report(out io.Writer, rs []result) {
	base := rs[0]
	byName := make(map[string]result, len(rs))
	fmt.Fprintf(out, "  %-14s %12s %12s %10s %10s\n", "engine", "ns/op", "cpu-ns/op", "allocs/op", "B/op")
	for _, r := range rs {
		byName[r.name] = r
		fmt.Fprintf(out, "  %-14s %12.1f %12.1f %10d %10d\n", r.name, r.ns, r.cpu, r.allocs, r.bytes)
	}
	fmt.Fprintf(out, "  ratios (above 1: %s is faster), by wall time and by CPU time:\n", base.name)
	for _, p := range ratios {
		a, okA := byName[p[0]]
		b, okB := byName[p[1]]
		if !okA || !okB || b.ns <= 0 {
			continue
		}
		cpu := "n/a"
		if a.cpu > 0 && b.cpu > 0 {
			cpu = fmt.Sprintf("%.1f", a.cpu/b.cpu)
		}
		fmt.Fprintf(out, "  ratio %s/%s = %.1f (cpu %s)\n", p[0], p[1], a.ns/b.ns, cpu)
	}
	fmt.Fprintln(out)
}
