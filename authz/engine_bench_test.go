package authz

import (
	"context"
	"testing"
	"time"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/identity"
)

// BenchmarkEngine_Authorize compares a decision with the parsed-policy
// cache against its peer that parses every document on every call
// (MaxCached 1 with three documents: every lookup misses). The store is an
// in-memory fake, so the figures isolate parsing and evaluation.
//
//	go test ./authz/ -run XXX -bench Engine -benchmem
func BenchmarkEngine_Authorize(b *testing.B) {
	fake := &fakeIdentity{users: map[string]*identity.Effective{"alice": {Policies: []identity.Document{
		{Source: "user", Name: "a", Document: allowList},
		{Source: "user", Name: "b", Document: ownTenant},
		{Source: "user", Name: "c", Document: allowInvoke},
	}}}}
	caller := &authn.Principal{Type: authn.IAMUser, Account: acct, ARN: "arn:aws:iam::" + acct + ":user/alice", UserName: "alice", UserID: "AIDAALICE", TenantID: "acme", Tags: map[string]string{"TenantID": "acme"}}
	now := func() time.Time { return time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) }
	res := "arn:aws:sagemaker:us-east-1:" + acct + ":endpoint/acme"
	for _, bc := range []struct {
		name string
		max  int
	}{{"Cached", 0}, {"ParseEachCall", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			a := &Engine{AccountID: acct, Identity: fake, Now: now, MaxCached: bc.max}
			ctx := context.Background()
			req := &Request{Caller: caller, Action: "sagemaker:InvokeEndpoint", Resource: Resource{ARN: res}}
			b.ReportAllocs()
			for b.Loop() {
				d, err := a.Authorize(ctx, req)
				if err != nil || !d.Allowed() {
					b.Fatalf("%+v %v", d, err)
				}
			}
		})
	}
}
