package iam

import (
	"fmt"
	"testing"
)

const poolPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint","Condition":{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}}]}`

const bridgePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/${aws:PrincipalTag/TenantID}"}]}`

func siloPolicy(tenant string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"InvokeOwnEndpoint","Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"arn:aws:sagemaker:us-east-1:111122223333:endpoint/%s"}]}`, tenant)
}

// BenchmarkAuthorize_Pool decides the pool-model policy for one request.
func BenchmarkAuthorize_Pool(b *testing.B) {
	set := &PolicySet{Identity: []*Policy{MustParse(poolPolicy, KindIdentity)}}
	principal := "arn:aws:sts::111122223333:assumed-role/PoolInvokeRole/acme"
	b.ReportAllocs()
	for b.Loop() {
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
	}
}
