package iam

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		max  int
		doc  string
		want string // substring of the error; "" means valid
	}{
		{name: "OK", doc: poolPolicy},
		{name: "OKStatementObject", doc: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`},
		{name: "OKArrays", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","s3:Put*"],"Resource":["arn:aws:s3:::b/*","*"]}]}`},
		{name: "OKNoVersion", doc: `{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`},
		{name: "OKResourcePolicy", kind: KindResource, doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["111122223333","arn:aws:iam::111122223333:role/R"]},"Action":"s3:GetObject"}]}`},
		{name: "OKConditionScalars", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThan":{"s3:max-keys":10}}}]}`},
		{name: "ErrUnknownOperator", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"AllowInvoke","Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEqual":{"a":"b"}}}]}`,
			want: `statement[1] (Sid "AllowInvoke"): Condition: unknown operator "StringEqual"`},
		{name: "ErrNullIfExists", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NullIfExists":{"a":"true"}}}]}`,
			want: `unknown operator "NullIfExists"`},
		{name: "ErrUnknownStatementElement", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Actions":"x"}]}`,
			want: `statement[0]: unknown element "Actions"`},
		{name: "ErrUnknownTopElement", doc: `{"Version":"2012-10-17","Statements":[]}`, want: `policy: unknown element "Statements"`},
		{name: "ErrDuplicateSid", doc: `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"}]}`,
			want: `statement[1] (Sid "A"): Sid: duplicate Sid "A" (also statement[0])`},
		{name: "ErrSidCharacters", doc: `{"Version":"2012-10-17","Statement":[{"Sid":"allow-invoke","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			want: `statement[0] (Sid "allow-invoke"): Sid: invalid Sid "allow-invoke": identity policies allow only ASCII letters and digits`},
		{name: "OKResourcePolicySidWithSpaces", kind: KindResource, doc: `{"Version":"2012-10-17","Statement":[{"Sid":"Allow tenant read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`},
		{name: "ErrEmptyAction", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[],"Resource":"*"}]}`, want: `statement[0]: Action: empty list`},
		{name: "ErrActionAndNotAction", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","NotAction":"iam:*","Resource":"*"}]}`,
			want: `Action and NotAction: only one of them may be used`},
		{name: "ErrNoAction", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Resource":"*"}]}`, want: `missing Action or NotAction`},
		{name: "ErrUnknownVersion", doc: `{"Version":"2012-10-18","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			want: `Version: unknown version "2012-10-18"`},
		{name: "ErrMalformedARN", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3"}]}`,
			want: `Resource: malformed ARN "arn:aws:s3"`},
		{name: "ErrMalformedAction", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3","Resource":"*"}]}`,
			want: `Action: malformed action "s3"`},
		{name: "ErrPrincipalInIdentity", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`,
			want: `Principal: not allowed in identity policies`},
		{name: "ErrNoPrincipalInResource", kind: KindResource, doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`,
			want: `missing Principal or NotPrincipal`},
		{name: "ErrPrincipalWildcardARN", kind: KindResource, doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:role/x"},"Action":"s3:*"}]}`,
			want: `wildcard not allowed`},
		{name: "ErrPrincipalType", kind: KindResource, doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Amazon":"x"},"Action":"s3:*"}]}`,
			want: `unknown principal type "Amazon"`},
		{name: "ErrEffect", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":"s3:*","Resource":"*"}]}`, want: `Effect: unknown effect "allow"`},
		{name: "ErrBadNumber", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericEquals":{"k":"ten"}}}]}`,
			want: `Condition: NumericEquals: k: invalid number "ten"`},
		{name: "ErrBadDate", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"yesterday"}}}]}`,
			want: `invalid date "yesterday"`},
		{name: "ErrBadIP", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/33"}}}]}`,
			want: `invalid IP address or CIDR "10.0.0.0/33"`},
		{name: "ErrBadBool", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}]}`,
			want: `invalid boolean "yes"`},
		{name: "ErrEmptyConditionValues", doc: `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"k":[]}}}]}`,
			want: `empty value list`},
		{name: "ErrNotJSON", doc: `{"Version":`, want: `policy: not a JSON object`},
		{name: "ErrTrailing", doc: `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}} {}`, want: `trailing data`},
		{name: "ErrNoStatement", doc: `{"Version":"2012-10-17"}`, want: `missing Statement`},
		{name: "ErrSessionSize", kind: KindSession, doc: bigPolicy(2100), want: `exceeds the session policy limit of 2048`},
		{name: "OKSessionSizeWhitespaceExcluded", kind: KindSession, doc: strings.Replace(bigPolicy(1900), ",", ",   \n\t  ", -1)},
		{name: "ErrManagedSize", max: LimitManaged, doc: bigPolicy(6200), want: `exceeds the identity policy limit of 6144`},
		{name: "OKInlineSize", doc: bigPolicy(6200)},
		{name: "ErrInlineSize", doc: bigPolicy(10300), want: `exceeds the identity policy limit of 10240`},
		{name: "OKNoLimit", max: -1, doc: bigPolicy(30000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), ParseOptions{Kind: tt.kind, MaxChars: tt.max})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if p == nil || len(p.Statements) == 0 {
					t.Fatal("Parse returned no statements")
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// bigPolicy returns a valid identity policy of about n non-whitespace
// characters.
func bigPolicy(n int) string {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"arn:aws:s3:::bucket/key-`)
		b.WriteString(strings.Repeat("x", 20))
		b.WriteString(`"`)
	}
	b.WriteString(`]}]}`)
	return b.String()
}

func TestParse_Version(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"Missing", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, Version2008},
		{"2008", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, Version2008},
		{"2012", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`, Version2012},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.doc), ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if p.Version != tt.want {
				t.Fatalf("Version = %q, want %q", p.Version, tt.want)
			}
		})
	}
}

func TestParse_ReportsEveryProblem(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":[],"Resource":"*"},{"Sid":"B","Effect":"Maybe","Action":"s3:*","Resource":"*"}]}`
	_, err := Parse([]byte(doc), ParseOptions{})
	if err == nil {
		t.Fatal("Parse succeeded on an invalid policy")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d problems, want 2:\n%v", len(lines), err)
	}
	if !strings.HasPrefix(lines[0], `statement[0] (Sid "A"): Action`) || !strings.HasPrefix(lines[1], `statement[1] (Sid "B"): Effect`) {
		t.Fatalf("problems not labelled by statement:\n%v", err)
	}
}

func TestPolicy_Index(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Version":"2012-10-17","Statement":[`)
	for i := 0; i < 20; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"Effect":"Allow","Action":["svc:Op` + string(rune('A'+i)) + `","svc:Op` + string(rune('A'+i)) + `"],"Resource":"*"}`)
	}
	b.WriteString(`,{"Sid":"Wild","Effect":"Allow","Action":"svc:*","Resource":"*"}]}`)
	p := MustParse(b.String(), KindIdentity)
	if p.index == nil {
		t.Fatal("policy with 21 statements has no action index")
	}
	if got := len(p.index["svc:opc"]); got != 1 {
		t.Fatalf("index[svc:opc] has %d statements, want 1 (duplicates collapsed)", got)
	}
	if len(p.wild) != 1 || p.wild[0] != 20 {
		t.Fatalf("wild = %v, want [20]", p.wild)
	}
	set := &PolicySet{Identity: []*Policy{p}}
	req := Request{Principal: "arn:aws:iam::111122223333:user/u", Action: "SVC:opc", Resource: "arn:aws:svc:::x"}
	dec, diag := Authorize(set, &req)
	if dec != Allowed {
		t.Fatalf("decision = %v, want Allowed", dec)
	}
	refs := diag.Statements()
	if len(refs) != 2 || refs[0].Index != 2 || refs[1].Sid != "Wild" {
		t.Fatalf("statements = %+v, want statement 2 then Wild", refs)
	}
}
