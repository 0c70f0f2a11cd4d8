package main

import (
	"context"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzEngines_Agree is a differential test of the pool rule: for any session
// tag and target model, tenantml's IAM engine (policy variable substituted as
// literal text) must decide like OPA's concat rule, and like cedar-go when the
// tag names a pool tenant Cedar has a policy for. Run longer with
// go test -fuzz FuzzEngines_Agree -fuzztime 15s.
func FuzzEngines_Agree(f *testing.F) {
	seeds := [][2]string{
		{"tenant-a", "tenant-a.tar.gz"},
		{"tenant-a", "tenant-b.tar.gz"},
		{"tenant-b", "tenant-b.tar.gz"},
		{"*", "tenant-b.tar.gz"},
		{"*", "*.tar.gz"},
		{"tenant-?", "tenant-a.tar.gz"},
		{"tenant-?", "tenant-?.tar.gz"},
		{"${aws:username}", "${aws:username}.tar.gz"},
		{"${*}", "*.tar.gz"},
		{"TENANT-A", "tenant-a.tar.gz"},
		{"tenant-a", "tenant-a.tar.gz "},
		{"a.tar.gz", "a.tar.gz.tar.gz"},
		{"", "tenant-a.tar.gz"},
		{"tenant-a", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	engines, err := build(context.Background(), world{Pool: poolTenants})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tag, model string) {
		if !utf8.ValidString(tag) || !utf8.ValidString(model) {
			return // the request context of every engine holds text
		}
		r := request{Role: poolRole, Session: "s", TenantTag: tag, Endpoint: "pool-endpoint", TargetModel: model}
		want := tag != "" && model != "" && model == tag+".tar.gz"
		for _, e := range engines {
			if (e.Name() == "cedar-go" || e.Name() == "cedar-role") && !slices.Contains(poolTenants, tag) {
				continue // Cedar holds one policy per onboarded pool tenant only
			}
			decide, err := e.Prepare(r)
			if err != nil {
				t.Fatalf("%s: prepare: %v", e.Name(), err)
			}
			got, err := decide()
			if err != nil {
				t.Fatalf("%s: decide: %v", e.Name(), err)
			}
			if got != want {
				t.Errorf("%s: tag %q model %q: allowed = %v, want %v", e.Name(), tag, model, got, want)
			}
		}
	})
}
