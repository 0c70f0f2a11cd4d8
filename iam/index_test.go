package iam

import (
	"fmt"
	"testing"
)

// siloSet returns one set holding n silo tenants' policies as separate
// identity policies.
func siloSet(tb testing.TB, n int) *PolicySet {
	tb.Helper()
	set := &PolicySet{}
	for i := 0; i < n; i++ {
		set.Identity = append(set.Identity, MustParse(siloPolicy(fmt.Sprintf("tenant-%05d", i)), KindIdentity))
	}
	return set
}

func siloEndpoint(i int) string {
	return fmt.Sprintf("arn:aws:sagemaker:us-east-1:111122223333:endpoint/tenant-%05d", i)
}

func TestPolicySet_Index(t *testing.T) {
	set := siloSet(t, 1000)
	wildDeny := MustParse(stmt(`{"Sid":"NoDelete","Effect":"Deny","Action":"sagemaker:Delete*","Resource":"*"}`), KindIdentity)
	set.Identity = append(set.Identity, wildDeny)
	set.Index()
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
	t.Run("StaleIndexIgnored", func(t *testing.T) {
		stale := *set
		stale.Identity = append(stale.Identity[:len(stale.Identity):len(stale.Identity)], MustParse(siloPolicy("newcomer"), KindIdentity))
		req := Request{Principal: session, Action: invoke, Resource: "arn:aws:sagemaker:us-east-1:111122223333:endpoint/newcomer"}
		if dec, _ := Authorize(&stale, &req); dec != Allowed {
			t.Fatalf("decision = %v, want Allowed (a policy added after Index must count)", dec)
		}
	})
	t.Run("ReplacedPolicyIgnored", func(t *testing.T) {
		replaced := *set
		replaced.Identity = append([]*Policy(nil), set.Identity...)
		replaced.Identity[0] = MustParse(siloPolicy("swapped"), KindIdentity)
		replaced.Identity[len(replaced.Identity)-1] = MustParse(allowAll(), KindIdentity)
		req := Request{Principal: session, Action: "sagemaker:DeleteEndpoint", Resource: siloEndpoint(7)}
		if dec, _ := Authorize(&replaced, &req); dec != Allowed {
			t.Fatalf("decision = %v, want Allowed (the replaced last policy allows everything)", dec)
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
// set holding 1 and 10,000 tenants' policies, with the set-level index: the
// two figures should match.
func BenchmarkAuthorize_OneSetTenants(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			set := siloSet(b, n)
			set.Index()
			req := Request{Principal: session, Action: invoke, Resource: siloEndpoint(n / 2)}
			cpuLoop(b, func() {
				if dec, _ := Authorize(set, &req); dec != Allowed {
					b.Fatalf("decision = %v, want Allowed", dec)
				}
			})
		})
	}
}
