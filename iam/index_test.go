package iam

import (
	"fmt"
	"testing"
)

// siloSet returns one set holding n silo tenants' policies as separate
// identity policies.
func siloPolicies(n int) []*Policy {
	var ps []*Policy
	for i := 0; i < n; i++ {
		ps = append(ps, MustParse(siloPolicy(fmt.Sprintf("tenant-%05d", i)), KindIdentity))
	}
	return ps
}

func siloEndpoint(i int) string {
	return fmt.Sprintf("arn:aws:sagemaker:us-east-1:111122223333:endpoint/tenant-%05d", i)
}

func TestIdentityIndex(t *testing.T) {
	policies := siloPolicies(1000)
	wildDeny := MustParse(stmt(`{"Sid":"NoDelete","Effect":"Deny","Action":"sagemaker:Delete*","Resource":"*"}`), KindIdentity)
	policies = append(policies, wildDeny)
	set := &PolicySet{IdentityIndex: NewIdentityIndex(policies)}
	tests := []struct {
		name, action, resource string
		want                   Decision
		policy                 int
	}{
		{"OwnEndpoint", invoke, siloEndpoint(42), Allowed, 42},
		{"ActionCaseInsensitive", "SageMaker:invokeendpoint", siloEndpoint(999), Allowed, 999},
		{"UnknownEndpoint", invoke, siloEndpoint(5000), ImplicitlyDenied, -1},
		{"ResourceCaseSensitive", invoke, "arn:aws:sagemaker:us-east-1:111122223333:endpoint/TENANT-00042", ImplicitlyDenied, -1},
		{"WildcardStatementStillEvaluated", "sagemaker:DeleteEndpoint", siloEndpoint(1), ExplicitlyDenied, 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Principal: session, Action: tt.action, Resource: tt.resource}
			dec, d := Authorize(set, &req)
			if dec != tt.want {
				t.Fatalf("decision = %v, want %v", dec, tt.want)
			}
			refs := d.Statements()
			if tt.policy < 0 {
				if len(refs) != 0 {
					t.Fatalf("statements = %+v, want none", refs)
				}
				return
			}
			if len(refs) != 1 || int(refs[0].Policy) != tt.policy {
				t.Fatalf("statements = %+v, want one from identity[%d]", refs, tt.policy)
			}
		})
	}
	t.Run("OwnsItsPolicies", func(t *testing.T) {
		policies[42] = MustParse(allowAll(), KindIdentity) // changing the caller's slice
		req := Request{Principal: session, Action: "s3:GetObject", Resource: "arn:aws:s3:::b/k"}
		if dec, _ := Authorize(set, &req); dec != ImplicitlyDenied {
			t.Fatalf("decision = %v, want ImplicitlyDenied (the index keeps its own copy)", dec)
		}
	})
	t.Run("LabelsFollowIdentity", func(t *testing.T) {
		mixed := &PolicySet{Identity: []*Policy{MustParse(allowS3(), KindIdentity)}, IdentityIndex: set.IdentityIndex}
		req := Request{Principal: session, Action: invoke, Resource: siloEndpoint(3)}
		dec, d := Authorize(mixed, &req)
		refs := d.Statements()
		if dec != Allowed || len(refs) != 1 || refs[0].PolicyLabel() != "identity[4]" {
			t.Fatalf("decision %v, statements %+v; want Allowed by identity[4]", dec, refs)
		}
	})
	t.Run("ZeroAlloc", func(t *testing.T) {
		var dec Decision
		resource := siloEndpoint(500)
		allocs := testing.AllocsPerRun(100, func() {
			req := Request{Principal: session, Action: invoke, Resource: resource}
			dec, _ = Authorize(set, &req)
		})
		if dec != Allowed || allocs != 0 {
			t.Fatalf("decision %v with %v allocations per run, want Allowed with 0", dec, allocs)
		}
	})
}

// BenchmarkAuthorize_OneSetTenants decides a silo request against one policy
// set holding 1 and 10,000 tenants' policies in an IdentityIndex: the two
// figures should match.
func BenchmarkAuthorize_OneSetTenants(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			set := &PolicySet{IdentityIndex: NewIdentityIndex(siloPolicies(n))}
			req := Request{Principal: session, Action: invoke, Resource: siloEndpoint(n / 2)}
			cpuLoop(b, func() {
				if dec, _ := Authorize(set, &req); dec != Allowed {
					b.Fatalf("decision = %v, want Allowed", dec)
				}
			})
		})
	}
}

func allowS3() string { return stmt(`{"Effect":"Allow","Action":"s3:*","Resource":"*"}`) }
