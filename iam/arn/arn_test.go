package arn

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want ARN
		err  bool
	}{
		{name: "Endpoint", in: "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint",
			want: ARN{Partition: "aws", Service: "sagemaker", Region: "us-east-1", AccountID: "111122223333", Resource: "endpoint/pool-endpoint"}},
		{name: "ResourceWithColons", in: "arn:aws:logs:us-east-1:111122223333:log-group:/aws/x:*",
			want: ARN{Partition: "aws", Service: "logs", Region: "us-east-1", AccountID: "111122223333", Resource: "log-group:/aws/x:*"}},
		{name: "GlobalService", in: "arn:aws:s3:::bucket/key",
			want: ARN{Partition: "aws", Service: "s3", Resource: "bucket/key"}},
		{name: "ErrTooFewParts", in: "arn:aws:s3", err: true},
		{name: "ErrNoPrefix", in: "urn:aws:s3:::bucket", err: true},
		{name: "ErrEmptyPartition", in: "arn::s3:::bucket", err: true},
		{name: "ErrEmptyService", in: "arn:aws::::bucket", err: true},
		{name: "ErrEmptyResource", in: "arn:aws:s3:::", err: true},
		{name: "ErrEmpty", in: "", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.err {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Parse(%q) error = %v, want ErrMalformed", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Fatalf("String() = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestAccountOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"arn:aws:sagemaker:us-east-1:111122223333:endpoint/x", "111122223333"},
		{"arn:aws:s3:::bucket", ""},
		{"not-an-arn", ""},
		{"urn:a:b:c:444455556666:x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := AccountOf(tt.in); got != tt.want {
				t.Fatalf("AccountOf(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestARNPattern_Match(t *testing.T) {
	const ep = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint"
	tests := []struct {
		name, pattern, in string
		want              bool
	}{
		{"Star", "*", ep, true},
		{"StarMatchesNonARN", "*", "anything", true},
		{"Literal", ep, ep, true},
		{"LiteralCaseSensitive", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/Pool-endpoint", ep, false},
		{"ResourceStar", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/*", ep, true},
		{"RegionStar", "arn:aws:sagemaker:*:111122223333:endpoint/pool-endpoint", ep, true},
		{"AllComponentsStar", "arn:*:*:*:*:*", ep, true},
		{"StarDoesNotSpanComponents", "arn:aws:sagemaker:*:endpoint/pool-endpoint", ep, false},
		{"QuestionMark", "arn:aws:sagemaker:us-east-?:111122223333:endpoint/pool-endpoint", ep, true},
		{"QuestionMarkNeedsOneChar", "arn:aws:sagemaker:us-east-1?:111122223333:endpoint/pool-endpoint", ep, false},
		{"ResourceStarSpansColons", "arn:aws:logs:us-east-1:111122223333:log-group:*", "arn:aws:logs:us-east-1:111122223333:log-group:/a:b:c", true},
		{"EmptyRegionNeedsEmpty", "arn:aws:s3:::bucket/*", "arn:aws:s3:us-east-1::bucket/x", false},
		{"PrefixOnly", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool", ep, false},
		{"InputNotARN", "arn:aws:s3:::b/*", "b/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := CompileARNPattern(tt.pattern)
			if got := p.Match(tt.in, nil); got != tt.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tt.pattern, tt.in, got, tt.want)
			}
			if got := Match(tt.pattern, tt.in); got != tt.want {
				t.Fatalf("package Match(%q, %q) = %v, want %v", tt.pattern, tt.in, got, tt.want)
			}
		})
	}
}

func TestARNPattern_MatchVars(t *testing.T) {
	// ...endpoint/${aws:PrincipalTag/TenantID} with the variable in slot 0.
	toks := append(Tokenize("arn:aws:sagemaker:us-east-1:111122223333:endpoint/"), Token{Kind: TokenVar, Var: 0})
	p := NewARNPattern(toks)
	tests := []struct {
		name, in, val string
		want          bool
	}{
		{"OwnEndpoint", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme", "acme", true},
		{"OtherTenant", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/globex", "acme", false},
		{"SubstitutedStarIsLiteral", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/globex", "*", false},
		{"SubstitutedStarMatchesStar", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/*", "*", true},
		{"SubstitutedQuestionIsLiteral", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/a", "?", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Match(tt.in, []string{tt.val}); got != tt.want {
				t.Fatalf("Match(%q, [%q]) = %v, want %v", tt.in, tt.val, got, tt.want)
			}
		})
	}
	t.Run("MissingSlot", func(t *testing.T) {
		if p.Match("arn:aws:sagemaker:us-east-1:111122223333:endpoint/", nil) {
			t.Fatal("a pattern with an unbound variable slot matched")
		}
	})
}

func TestARNPattern_MatchShortPattern(t *testing.T) {
	const ep = "arn:aws:sagemaker:us-east-1:111122223333:endpoint/pool-endpoint"
	tests := []struct {
		name, pattern string
		want          bool
	}{
		{"ArnStar", "arn:*", true},
		{"ServiceStar", "arn:aws:sagemaker:*", true},
		{"OtherService", "arn:aws:s3:*", false},
		{"NoColonWholeString", "arn*endpoint*", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := CompileARNPattern(tt.pattern)
			if got := p.Match(ep, nil); got != tt.want {
				t.Fatalf("Match(%q) = %v, want %v", tt.pattern, got, tt.want)
			}
		})
	}
}
