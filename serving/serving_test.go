package serving_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/serving"
)

func TestVariantSpec_Validate(t *testing.T) {
	model := serving.OpenerFunc(func(context.Context) (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil })
	ok := serving.VariantSpec{Endpoint: "acme", Variant: "AllTraffic", Tenant: "acme", Mode: serving.ModeSingle, InstanceType: "ml.m5.large", InstanceCount: 1, Model: model}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	if got := ok.ID(); got != "acme/AllTraffic" {
		t.Errorf("ID = %q", got)
	}
	tests := map[string]func(*serving.VariantSpec){
		"EndpointName":  func(s *serving.VariantSpec) { s.Endpoint = "bad_name" },
		"VariantName":   func(s *serving.VariantSpec) { s.Variant = "" },
		"Count":         func(s *serving.VariantSpec) { s.InstanceCount = 0 },
		"InstanceType":  func(s *serving.VariantSpec) { s.InstanceType = "" },
		"Mode":          func(s *serving.VariantSpec) { s.Mode = "Both" },
		"SingleNoModel": func(s *serving.VariantSpec) { s.Model = nil },
		"MultiModel":    func(s *serving.VariantSpec) { s.Mode = serving.ModeMulti },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			s := ok
			mod(&s)
			if err := s.Validate(); !errors.Is(err, serving.ErrInvalidSpec) {
				t.Errorf("Validate = %v, want ErrInvalidSpec", err)
			}
		})
	}
}

func TestInstanceTypes(t *testing.T) {
	ts := serving.DefaultInstanceTypes()
	for _, tc := range []struct {
		name string
		vcpu int
		gib  int64
	}{{"ml.t2.medium", 2, 4}, {"ml.m5.large", 2, 8}, {"ml.m5.xlarge", 4, 16}, {"ml.c5.large", 2, 4}, {"ml.r5.large", 2, 16}} {
		it, err := ts.Lookup(tc.name)
		if err != nil || it.VCPU != tc.vcpu || it.MemoryBytes != tc.gib*serving.GiB {
			t.Errorf("%s = %+v, %v; want %d vCPU, %d GiB", tc.name, it, err, tc.vcpu, tc.gib)
		}
		if err := it.Validate(); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := ts.Lookup("ml.p3.2xlarge"); !errors.Is(err, serving.ErrUnknownInstanceType) {
		t.Errorf("GPU type: %v, want ErrUnknownInstanceType", err)
	}
	// A fresh copy each time: changing one table does not change another.
	ts["ml.test"] = serving.InstanceType{Name: "ml.test", VCPU: 1, MemoryBytes: 1}
	if _, err := serving.DefaultInstanceTypes().Lookup("ml.test"); err == nil {
		t.Error("DefaultInstanceTypes shares its map")
	}
}
