package iam

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusPolicies returns the policy documents of the conformance corpus
// (testdata/corpus/*.json) with their kinds, as fuzz seeds.
func corpusPolicies(f *testing.F) (docs [][]byte, kinds []Kind) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join("testdata", "corpus", "*.json"))
	add := func(raw json.RawMessage, k Kind) {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			raw = json.RawMessage(s)
		}
		docs, kinds = append(docs, raw), append(kinds, k)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var cases []struct {
			Identity []json.RawMessage `json:"identityPolicies"`
			Resource json.RawMessage   `json:"resourcePolicy"`
			Bound    []json.RawMessage `json:"permissionBoundaries"`
			Session  json.RawMessage   `json:"sessionPolicy"`
			SCPs     []struct {
				Policies []json.RawMessage `json:"policies"`
			} `json:"serviceControlPolicies"`
		}
		if err := json.Unmarshal(data, &cases); err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		for _, c := range cases {
			for _, p := range c.Identity {
				add(p, KindIdentity)
			}
			if len(c.Resource) > 0 {
				add(c.Resource, KindResource)
			}
			for _, p := range c.Bound {
				add(p, KindBoundary)
			}
			if len(c.Session) > 0 {
				add(c.Session, KindSession)
			}
			for _, l := range c.SCPs {
				for _, p := range l.Policies {
					add(p, KindGuardrail)
				}
			}
		}
	}
	return docs, kinds
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(poolPolicy), uint8(KindIdentity))
	f.Add([]byte(bridgePolicy), uint8(KindIdentity))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333"]},"NotAction":"iam:*","NotResource":"arn:aws:s3:::b/${aws:username, 'x'}/*","Condition":{"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*"]},"Null":{"k":"true"},"IpAddress":{"aws:SourceIp":"::1"}}}]}`), uint8(KindResource))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"1700000000"}}}}`), uint8(KindSession))
	f.Add([]byte(`[]`), uint8(KindGuardrail))
	docs, kinds := corpusPolicies(f)
	for i := range docs {
		f.Add([]byte(docs[i]), uint8(kinds[i]))
	}
	f.Fuzz(func(t *testing.T, doc []byte, kind uint8) {
		k := Kind(kind % 5)
		p, err := Parse(doc, ParseOptions{Kind: k, MaxChars: -1})
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned a policy and an error")
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(p.Statements) == 0 {
			t.Fatal("valid policy without statements")
		}
		// A parsed policy must be decidable without panicking.
		set := &PolicySet{Identity: []*Policy{p}}
		if k == KindResource {
			set = &PolicySet{Resource: p}
		}
		req := Request{Principal: session, Action: invoke, Resource: endpoint,
			Context: Context{Single("aws:PrincipalTag/TenantID", "acme"), Multi("aws:TagKeys", "a", "b")}}
		_, d := Authorize(set, &req)
		_ = d.Reason()
	})
}

func FuzzAuthorize(f *testing.F) {
	f.Add("sagemaker:InvokeEndpoint", endpoint, session, "acme", "acme.tar.gz", "")
	f.Add("SAGEMAKER:invokeendpoint", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/*", "arn:aws:iam::111122223333:user/u", "*", "*", "444455556666")
	f.Add("", "", "", "", "", "")
	f.Add("x:y", "not an arn", "arn:aws:sts::1:assumed-role/", "${x}", "${aws:PrincipalTag/TenantID}", "1")
	docs := []*Policy{
		MustParse(poolPolicy, KindIdentity),
		MustParse(bridgePolicy, KindIdentity),
		MustParse(siloPolicy("acme"), KindIdentity),
		MustParse(stmt(`{"Effect":"Deny","NotAction":"sagemaker:Invoke*","NotResource":"arn:aws:sagemaker:*:*:endpoint/${aws:PrincipalTag/TenantID, 'none'}","Condition":{"StringNotLikeIfExists":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}*"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), KindIdentity),
	}
	rbp := MustParse(stmt(`{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/InvokeRole"]},"Action":"sagemaker:*","Resource":"*"}`), KindResource)
	bound := MustParse(stmt(`{"Effect":"Allow","Action":"sagemaker:*","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["a"]}}}`), KindBoundary)
	scp := MustParse(allowAll(), KindGuardrail)
	index := NewIdentityIndex(docs)
	f.Fuzz(func(t *testing.T, action, resource, principal, tenant, model, resAcct string) {
		set := &PolicySet{Identity: docs, Resource: rbp, Boundaries: []*Policy{bound},
			Guardrails: []GuardrailLevel{{Name: "root", Policies: []*Policy{scp}}}}
		req := Request{Principal: principal, Action: action, Resource: resource, ResourceAccount: resAcct,
			Context: Context{Single("aws:PrincipalTag/TenantID", tenant), Single("sagemaker:TargetModel", model),
				Single("aws:SourceIp", model), Multi("aws:TagKeys", tenant)}}
		dec, d := Authorize(set, &req)
		reason := d.Reason()
		var prefix string
		switch dec {
		case Allowed:
			prefix = "allowed:"
		case ExplicitlyDenied:
			prefix = "explicitly denied:"
		case ImplicitlyDenied:
			prefix = "implicitly denied:"
		default:
			t.Fatalf("unknown decision %d", dec)
		}
		if !strings.HasPrefix(reason, prefix) {
			t.Fatalf("reason %q does not state the decision %v", reason, dec)
		}
		if dec != ImplicitlyDenied && len(d.Statements()) == 0 {
			t.Fatalf("%v without a deciding statement", dec)
		}
		// The indexed form of the same identity policies decides the same.
		indexed := *set
		indexed.Identity, indexed.IdentityIndex = nil, index
		if got, _ := Authorize(&indexed, &req); got != dec {
			t.Fatalf("indexed decision %v, plain decision %v", got, dec)
		}
	})
}
