package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestAgree_Checks(t *testing.T) {
	engines, err := build(context.Background(), world{Pool: poolTenants, Silo: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		if err := agree(engines, checks(20)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrDisagreement", func(t *testing.T) {
		wrong := []check{{"cross-tenant claimed allowed", request{Role: poolRole, Session: "s", TenantTag: "tenant-a",
			Endpoint: "pool-endpoint", TargetModel: "tenant-b.tar.gz"}, true}}
		err := agree(engines, wrong)
		if err == nil || !strings.Contains(err.Error(), "allowed = false, want true") {
			t.Fatalf("agree = %v, want a disagreement error", err)
		}
	})
}

func TestEngine_Prepare(t *testing.T) {
	engines, err := build(context.Background(), world{Pool: poolTenants, Silo: 3})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		req  request
		want bool
	}{
		{"PoolOwnModel", timed, true},
		{"PoolCrossTenant", request{Role: poolRole, Session: "s", TenantTag: "tenant-b", Endpoint: "pool-endpoint", TargetModel: "tenant-a.tar.gz"}, false},
		{"SiloOwn", request{Role: siloName(1) + "-invoke", Session: "s", Endpoint: siloName(1) + "-endpoint"}, true},
		{"SiloOther", request{Role: siloName(1) + "-invoke", Session: "s", Endpoint: siloName(2) + "-endpoint"}, false},
		{"UnknownRole", request{Role: "Nobody", Session: "s", Endpoint: siloName(1) + "-endpoint"}, false},
	}
	for _, tt := range tests {
		for _, e := range engines {
			t.Run(tt.name+"/"+e.Name(), func(t *testing.T) {
				decide, err := e.Prepare(tt.req)
				if err != nil {
					t.Fatal(err)
				}
				got, err := decide()
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("allowed = %v, want %v", got, tt.want)
				}
			})
		}
	}
}

func TestReport_Ratios(t *testing.T) {
	var buf bytes.Buffer
	report(&buf, []result{{name: "tenantml", ns: 100, cpu: 90}, {name: "tenantml-1set", ns: 200},
		{name: "cedar-go", ns: 450, cpu: 270, allocs: 11}, {name: "opa", ns: 5000, cpu: 4500, allocs: 80}})
	out := buf.String()
	for _, want := range []string{"ratio cedar-go/tenantml = 4.5 (cpu 3.0)", "ratio opa/tenantml = 50.0 (cpu 50.0)",
		"ratio cedar-go/tenantml-1set = 2.2 (cpu n/a)"} {
		if !strings.Contains(out, want) {
			t.Errorf("report output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "cedar-role/") {
		t.Errorf("report prints a ratio for an engine that did not run:\n%s", out)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"One", []float64{5}, 5},
		{"Odd", []float64{9, 1, 5}, 5},
		{"EvenTakesUpper", []float64{4, 1, 3, 2}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rs []result
			for _, ns := range tt.in {
				rs = append(rs, result{ns: ns})
			}
			if got := median(rs).ns; got != tt.want {
				t.Errorf("median = %v, want %v", got, tt.want)
			}
		})
	}
}
