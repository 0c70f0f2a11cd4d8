package main

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/tenantml/tenantml/iam"
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

// globAlphabet is what the StringLike differential draws patterns and values
// from: IAM's two wildcards, the separators ARNs and paths use, and letters.
// It leaves out what gobwas/glob (OPA's glob.match) treats specially and IAM
// does not ('[', ']', '{', '}', '\\') and what starts an IAM policy variable
// ('$').
const globAlphabet = "ab*?/:.-"

func toAlphabet(s string, max int) string {
	b := make([]byte, 0, min(len(s), max))
	for i := 0; i < len(s) && i < max; i++ {
		b = append(b, globAlphabet[int(s[i])%len(globAlphabet)])
	}
	return string(b)
}

// FuzzStringLike_AgreesWithOPAGlob checks tenantml's StringLike against an
// independent implementation of the same wildcard language: OPA's
// glob.match with no delimiters ('*' any run of characters, '?' exactly one).
// Run longer with go test -fuzz FuzzStringLike_AgreesWithOPAGlob -fuzztime 15s.
func FuzzStringLike_AgreesWithOPAGlob(f *testing.F) {
	for _, s := range [][2]string{
		{"a*b", "aab"}, {"a?b", "ab"}, {"*", ""}, {"", ""}, {"?", ""}, {"*a*a*a*b", "aaaaaaaa"},
		{"a*", "a:b/c"}, {"**", "x"}, {"?*?", "ab"}, {"a.b", "a.b"}, {"*:*", "ab"},
	} {
		f.Add(s[0], s[1])
	}
	ctx := context.Background()
	pq, err := rego.New(rego.Query("data.t.m"),
		rego.Module("t.rego", "package t\n\nm if glob.match(input.p, null, input.v)\n")).PrepareForEval(ctx)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, rawPattern, rawValue string) {
		pattern, value := toAlphabet(rawPattern, 40), toAlphabet(rawValue, 40)
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
			"Condition": map[string]any{"StringLike": map[string]any{"s3:prefix": pattern}}}}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := iam.Parse(doc, iam.ParseOptions{Kind: iam.KindIdentity})
		if err != nil {
			t.Fatalf("parse StringLike %q: %v", pattern, err)
		}
		req := iam.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "s3:GetObject",
			Resource: "arn:aws:s3:::bucket/key", Context: iam.Context{iam.Single("s3:prefix", value)}}
		dec, _ := iam.Authorize(&iam.PolicySet{Identity: []*iam.Policy{p}}, &req)
		rs, err := pq.Eval(ctx, rego.EvalInput(map[string]any{"p": pattern, "v": value}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := dec == iam.Allowed, len(rs) > 0 && rs.Allowed(); got != want {
			t.Errorf("StringLike %q against %q: tenantml matched = %v, OPA glob.match = %v", pattern, value, got, want)
		}
	})
}

// ipFrom builds an address of the family asked for from fuzz bytes. IPv6
// addresses are kept in 2000::/3 so that no IPv4-mapped form (::ffff:a.b.c.d)
// arises, whose treatment the IAM User Guide does not document.
func ipFrom(b []byte, v6 bool) netip.Addr {
	if v6 {
		var a [16]byte
		copy(a[:], b)
		a[0] = 0x20 | a[0]&0x1f
		return netip.AddrFrom16(a)
	}
	var a [4]byte
	copy(a[:], b)
	return netip.AddrFrom4(a)
}

// FuzzIpAddress_AgreesWithOPACidr checks tenantml's IpAddress operator
// against OPA's net.cidr_contains for IPv4 and IPv6 ranges and addresses,
// including a range of one family and an address of the other. Run longer
// with go test -fuzz FuzzIpAddress_AgreesWithOPACidr -fuzztime 15s.
func FuzzIpAddress_AgreesWithOPACidr(f *testing.F) {
	f.Add([]byte{203, 0, 113, 0}, uint8(24), []byte{203, 0, 113, 77}, false, false)
	f.Add([]byte{203, 0, 113, 0}, uint8(24), []byte{203, 0, 114, 1}, false, false)
	f.Add([]byte{10, 0, 0, 0}, uint8(0), []byte{192, 0, 2, 1}, false, false)
	f.Add([]byte{198, 51, 100, 7}, uint8(32), []byte{198, 51, 100, 7}, false, false)
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78}, uint8(64), []byte{0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0, 0, 0, 1}, true, true)
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8}, uint8(32), []byte{203, 0, 113, 1}, true, false)
	ctx := context.Background()
	pq, err := rego.New(rego.Query("data.t.m"),
		rego.Module("t.rego", "package t\n\nm if net.cidr_contains(input.cidr, input.addr)\n")).PrepareForEval(ctx)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, network []byte, bits uint8, addr []byte, netV6, addrV6 bool) {
		n := ipFrom(network, netV6)
		prefix, err := n.Prefix(int(bits) % (n.BitLen() + 1))
		if err != nil {
			t.Fatal(err)
		}
		a := ipFrom(addr, addrV6)
		doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
			"Condition": map[string]any{"IpAddress": map[string]any{"aws:SourceIp": prefix.String()}}}}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := iam.Parse(doc, iam.ParseOptions{Kind: iam.KindIdentity})
		if err != nil {
			t.Fatalf("parse IpAddress %s: %v", prefix, err)
		}
		req := iam.Request{Principal: "arn:aws:iam::111122223333:user/alice", Action: "s3:GetObject",
			Resource: "arn:aws:s3:::bucket/key", Context: iam.Context{iam.Single("aws:SourceIp", a.String())}}
		dec, _ := iam.Authorize(&iam.PolicySet{Identity: []*iam.Policy{p}}, &req)
		rs, err := pq.Eval(ctx, rego.EvalInput(map[string]any{"cidr": prefix.String(), "addr": a.String()}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := dec == iam.Allowed, len(rs) > 0 && rs.Allowed(); got != want {
			t.Errorf("IpAddress %s against %s: tenantml matched = %v, OPA net.cidr_contains = %v", prefix, a, got, want)
		}
		if want := prefix.Contains(a); dec == iam.Allowed != want {
			t.Errorf("IpAddress %s against %s: tenantml matched = %v, netip.Prefix.Contains = %v", prefix, a, dec == iam.Allowed, want)
		}
	})
}
