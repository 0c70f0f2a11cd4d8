package iam

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// cpuLoop runs body b.N times (via b.Loop) on one locked OS thread and adds a
// cpu-ns/op metric: the thread's CPU time per iteration, which unlike ns/op
// does not grow when other processes compete for the cores.
func cpuLoop(b *testing.B, body func()) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	start, ok := threadCPU()
	n := 0
	for b.Loop() {
		body()
		n++
	}
	if end, ok2 := threadCPU(); ok && ok2 && n > 0 {
		b.ReportMetric(float64(end-start)/float64(n), "cpu-ns/op")
	}
}

const poolPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`

const bridgePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/${aws:PrincipalTag/TenantID}"}]}`

func siloPolicy(tenant string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"InvokeOwnEndpoint","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/%s"}]}`, tenant)
}

// BenchmarkAuthorize_Pool decides the pool-model policy for one request.
func BenchmarkAuthorize_Pool(b *testing.B) {
	set := &PolicySet{Identity: []*Policy{MustParse(poolPolicy, KindIdentity)}}
	principal := "arn:aws:sts::111122223333:assumed-role/PoolInvokeRole/acme"
	cpuLoop(b, func() {
		ctx := [2]KeyValue{Single("aws:PrincipalTag/TenantID", "acme"), Single("sagemaker:TargetModel", "acme.tar.gz")}
		req := Request{
			Principal: principal,
			Action:    "sagemaker:InvokeEndpoint",
			Resource:  "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint",
			Context:   ctx[:],
		}
		if dec, _ := Authorize(set, &req); dec != Allowed {
			b.Fatalf("decision = %v, want Allowed", dec)
		}
	})
}

// BenchmarkAuthorize_Bridge decides the bridge-model policy (Resource with a
// policy variable).
func BenchmarkAuthorize_Bridge(b *testing.B) {
	set := &PolicySet{Identity: []*Policy{MustParse(bridgePolicy, KindIdentity)}}
	principal := "arn:aws:sts::111122223333:assumed-role/BridgeInvokeRole/acme"
	cpuLoop(b, func() {
		ctx := [1]KeyValue{Single("aws:PrincipalTag/TenantID", "acme")}
		req := Request{
			Principal: principal,
			Action:    "sagemaker:InvokeEndpoint",
			Resource:  "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme",
			Context:   ctx[:],
		}
		if dec, _ := Authorize(set, &req); dec != Allowed {
			b.Fatalf("decision = %v, want Allowed", dec)
		}
	})
}

// BenchmarkAuthorize_SiloTenants decides one silo tenant's request with 1 and
// with 10,000 tenants' policy sets loaded in an index keyed by the role the
// caller's session belongs to (as the gateway holds them). The two figures
// should be equal: the cost does not grow with the number of tenants.
func BenchmarkAuthorize_SiloTenants(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			index := make(map[string]*PolicySet, n)
			for i := 0; i < n; i++ {
				tenant := fmt.Sprintf("tenant-%05d", i)
				role := "arn:aws:iam::111122223333:role/" + tenant + "-invoke"
				index[role] = &PolicySet{Identity: []*Policy{MustParse(siloPolicy(tenant), KindIdentity)}}
			}
			tenant := fmt.Sprintf("tenant-%05d", n/2)
			role := "arn:aws:iam::111122223333:role/" + tenant + "-invoke"
			req := Request{
				Principal: "arn:aws:sts::111122223333:assumed-role/" + tenant + "-invoke/s1",
				RoleARN:   role,
				Action:    "sagemaker:InvokeEndpoint",
				Resource:  "arn:aws:sagemaker:us-east-1:111122223333:endpoint/" + tenant,
			}
			cpuLoop(b, func() {
				if dec, _ := Authorize(index[req.RoleARN], &req); dec != Allowed {
					b.Fatalf("decision = %v, want Allowed", dec)
				}
			})
		})
	}
}

// BenchmarkAuthorize_IndexedStatements decides against an identity policy
// holding statements for 1 and for 10,000 distinct actions: the action index
// keeps the cost flat.
func BenchmarkAuthorize_IndexedStatements(b *testing.B) {
	for _, n := range []int{1, 10000} {
		b.Run(fmt.Sprintf("statements=%d", n), func(b *testing.B) {
			var sb strings.Builder
			sb.WriteString(`{"Version":"2012-10-17","Statement":[`)
			for j := 0; j < n; j++ {
				if j > 0 {
					sb.WriteString(",")
				}
				fmt.Fprintf(&sb, `{"Effect":"Allow","Action":"svc:Op%05d","Resource":"arn:aws:svc:us-east-1:111122223333:thing/%05d"}`, j, j)
			}
			sb.WriteString(`]}`)
			p, err := Parse([]byte(sb.String()), ParseOptions{Kind: KindIdentity, MaxChars: -1})
			if err != nil {
				b.Fatal(err)
			}
			set := &PolicySet{Identity: []*Policy{p}}
			k := n / 2
			req := Request{
				Principal: "arn:aws:iam::111122223333:user/u",
				Action:    fmt.Sprintf("svc:Op%05d", k),
				Resource:  fmt.Sprintf("arn:aws:svc:us-east-1:111122223333:thing/%05d", k),
			}
			cpuLoop(b, func() {
				if dec, _ := Authorize(set, &req); dec != Allowed {
					b.Fatalf("decision = %v, want Allowed", dec)
				}
			})
		})
	}
}

func BenchmarkParse_Pool(b *testing.B) {
	doc := []byte(poolPolicy)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc, ParseOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
