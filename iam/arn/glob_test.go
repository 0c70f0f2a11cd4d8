package arn

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tenantml/tenantml/iam/internal/ascii"
)

// refMatch is a reference wildcard matcher by dynamic programming over runes
// (quadratic, obviously correct), used to check Glob.
func refMatch(pattern, s string, fold bool) bool {
	if fold {
		pattern, s = ascii.Lower(pattern), ascii.Lower(s)
	}
	p, r := []rune(pattern), []rune(s)
	if !utf8.ValidString(pattern) || !utf8.ValidString(s) {
		p, r = bytesAsRunes(pattern), bytesAsRunes(s)
	}
	prev := make([]bool, len(r)+1)
	prev[0] = true
	for i := 1; i <= len(p); i++ {
		cur := make([]bool, len(r)+1)
		if p[i-1] == '*' {
			cur[0] = prev[0]
		}
		for j := 1; j <= len(r); j++ {
			switch p[i-1] {
			case '*':
				cur[j] = prev[j] || cur[j-1]
			case '?':
				cur[j] = prev[j-1]
			default:
				cur[j] = prev[j-1] && p[i-1] == r[j-1]
			}
		}
		prev = cur
	}
	return prev[len(r)]
}

func bytesAsRunes(s string) []rune {
	out := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = rune(s[i])
	}
	return out
}

func TestGlob_Match(t *testing.T) {
	tests := []struct {
		name, pattern, in string
		fold              bool
		want              bool
	}{
		{"Empty", "", "", false, true},
		{"EmptyVsText", "", "a", false, false},
		{"Star", "*", "", false, true},
		{"StarText", "*", "anything", false, true},
		{"Literal", "abc", "abc", false, true},
		{"LiteralCase", "abc", "ABC", false, false},
		{"FoldLiteral", "sagemaker:InvokeEndpoint", "SageMaker:invokeendpoint", true, true},
		{"FoldWildcard", "sagemaker:Invoke*", "SAGEMAKER:INVOKEENDPOINTASYNC", true, true},
		{"FoldMismatch", "sagemaker:Invoke*", "s3:InvokeEndpoint", true, false},
		{"Prefix", "ab*", "abc", false, true},
		{"Suffix", "*bc", "abc", false, true},
		{"Middle", "a*c", "abbbc", false, true},
		{"MiddleMissing", "a*c", "abbb", false, false},
		{"ManyStars", "*a*b*c*", "xxaxxbxxcxx", false, true},
		{"ManyStarsOrder", "*a*b*c*", "cba", false, false},
		{"Question", "a?c", "abc", false, true},
		{"QuestionEmpty", "a?c", "ac", false, false},
		{"QuestionRune", "a?c", "a€c", false, true},
		{"StarQuestion", "*?", "", false, false},
		{"StarQuestionOne", "*?", "x", false, true},
		{"OverlapPrefixSuffix", "ab*ba", "aba", false, false},
		{"OverlapOK", "ab*ba", "abba", false, true},
		{"GreedyNeedsLeftmost", "*ab*abc", "ababc", false, true},
		{"QuestionInMiddleSeg", "*a?c*", "zzabczz", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := CompileGlob(tt.pattern, tt.fold)
			if got := g.Match(tt.in, nil); got != tt.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", tt.pattern, tt.in, got, tt.want)
			}
			if ref := refMatch(tt.pattern, tt.in, tt.fold); ref != tt.want {
				t.Fatalf("reference matcher disagrees with the table for %q, %q", tt.pattern, tt.in)
			}
		})
	}
}

func TestGlob_IsLiteral(t *testing.T) {
	tests := []struct {
		pattern string
		fold    bool
		want    string
		ok      bool
	}{
		{"s3:GetObject", true, "s3:getobject", true},
		{"s3:Get*", true, "", false},
		{"a?", false, "", false},
		{"", false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			g := CompileGlob(tt.pattern, tt.fold)
			got, ok := g.IsLiteral()
			if got != tt.want || ok != tt.ok {
				t.Fatalf("IsLiteral() = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestGlob_MatchLongPattern checks that a 10,000-character pattern with
// thousands of stars decides correctly against a long input (a backtracking
// matcher takes exponential time on it; the benchmark below times ours).
func TestGlob_MatchLongPattern(t *testing.T) {
	pattern, match, miss := longCase()
	if len(pattern) < 10000 {
		t.Fatalf("pattern length %d, want >= 10000", len(pattern))
	}
	g := CompileGlob(pattern, false)
	if !g.Match(match, nil) {
		t.Fatal("long pattern did not match an input it matches")
	}
	if g.Match(miss, nil) {
		t.Fatal("long pattern matched an input it does not match")
	}
	if fg := CompileGlob(strings.ToUpper(pattern), true); !fg.Match(match, nil) {
		t.Fatal("case-folded long pattern did not match")
	}
}

// longCase returns a pattern "*a*a*...*a*b" of 10,000+ characters, an input
// that matches (many a's then b) and one that does not (no final b).
func longCase() (pattern, match, miss string) {
	pattern = strings.Repeat("*a", 5000) + "*b"
	miss = strings.Repeat("a", 20000)
	match = miss + "b"
	return pattern, match, miss
}

func BenchmarkGlob_LongPattern(b *testing.B) {
	pattern, match, miss := longCase()
	g := CompileGlob(pattern, false)
	b.ReportAllocs()
	for b.Loop() {
		if !g.Match(match, nil) || g.Match(miss, nil) {
			b.Fatal("wrong answer")
		}
	}
}

// BenchmarkGlob_ShortPattern is the peer of BenchmarkGlob_LongPattern: the
// ratio of the two shows cost growing with input size, not exponentially.
func BenchmarkGlob_ShortPattern(b *testing.B) {
	g := CompileGlob("*a*b", false)
	match := strings.Repeat("a", 20000) + "b"
	b.ReportAllocs()
	for b.Loop() {
		if !g.Match(match, nil) {
			b.Fatal("wrong answer")
		}
	}
}

func BenchmarkGlob_Action(b *testing.B) {
	g := CompileGlob("sagemaker:InvokeEndpoint", true)
	b.ReportAllocs()
	for b.Loop() {
		if !g.Match("sagemaker:InvokeEndpoint", nil) {
			b.Fatal("wrong answer")
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("*a*b?c", "xxaxxbyc", false)
	f.Add("arn:aws:s3:::*", "arn:aws:s3:::bucket/key", false)
	f.Add("S3:Get*", "s3:getobject", true)
	f.Add("?*?", "é", false)
	f.Fuzz(func(t *testing.T, pattern, s string, fold bool) {
		if len(pattern) > 64 || len(s) > 64 {
			return // the reference matcher is quadratic
		}
		g := CompileGlob(pattern, fold)
		got := g.Match(s, nil)
		if utf8.ValidString(pattern) && utf8.ValidString(s) {
			if want := refMatch(pattern, s, fold); got != want {
				t.Fatalf("Match(%q, %q, fold=%v) = %v, reference says %v", pattern, s, fold, got, want)
			}
		}
		p := CompileARNPattern(pattern)
		_ = p.Match(s, nil)
	})
}

func TestNewGlob_EmptyText(t *testing.T) {
	tests := []struct {
		name string
		toks []Token
		in   string
		want bool
	}{
		{"EmptyThenStar", []Token{{Kind: TokenText}, {Kind: TokenStar}}, "abc", true},
		{"StarThenEmpty", []Token{{Kind: TokenStar}, {Kind: TokenText}}, "abc", true},
		{"EmptyStarEmptyText", []Token{{Kind: TokenText}, {Kind: TokenStar}, {Kind: TokenText}, {Kind: TokenText, Text: "c"}}, "abc", true},
		{"VarStarVar", []Token{{Kind: TokenVar, Var: 0}, {Kind: TokenStar}, {Kind: TokenVar, Var: 1}}, "a-b", true},
		{"VarStarVarMiss", []Token{{Kind: TokenVar, Var: 0}, {Kind: TokenStar}, {Kind: TokenVar, Var: 1}}, "b-a", false},
		{"MiddleVar", []Token{{Kind: TokenStar}, {Kind: TokenVar, Var: 1}, {Kind: TokenText, Text: "/x"}, {Kind: TokenStar}}, "ab/b/x/", true},
		{"MiddleVarMiss", []Token{{Kind: TokenStar}, {Kind: TokenVar, Var: 1}, {Kind: TokenText, Text: "/x"}, {Kind: TokenStar}}, "ab/a/x/", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGlob(tt.toks, false)
			if got := g.Match(tt.in, []string{"a", "b"}); got != tt.want {
				t.Fatalf("Match(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// BenchmarkGlob_WorstCase times the matcher's worst case: a middle segment
// that matches almost everywhere and fails only at its end ("a?" repeated,
// then "b"), so every start position costs the segment's length. The cost is
// O(len(input) × len(segment)) — bounded because IAM limits a policy to
// 10,240 characters and an ARN to 2,048 — and never exponential.
func BenchmarkGlob_WorstCase(b *testing.B) {
	g := CompileGlob("*"+strings.Repeat("a?", 1000)+"b*", false)
	in := strings.Repeat("a", 2048)
	b.ReportAllocs()
	for b.Loop() {
		if g.Match(in, nil) {
			b.Fatal("wrong answer")
		}
	}
}

// TestGlob_MatchBitScan checks the bit-parallel search of long segments with
// '?' against the reference matcher.
func TestGlob_MatchBitScan(t *testing.T) {
	long := strings.Repeat("ab?", 10) // 30 characters, ten '?'
	tests := []struct {
		name, pattern, in string
		fold              bool
	}{
		{"Found", "*" + long + "*", "zz" + strings.Repeat("abX", 10) + "zz", false},
		{"FoundAtEnd", "x*" + long + "*", "x" + strings.Repeat("abc", 12), false},
		{"NotFound", "*" + long + "*", strings.Repeat("ab", 40), false},
		{"Leftmost", "*" + long + "*Q*", strings.Repeat("abc", 11) + "Q", false},
		{"Fold", "*" + strings.ToUpper(long) + "*", "--" + strings.Repeat("abx", 10), true},
		{"Unicode", "*" + strings.Repeat("é?", 10) + "*", strings.Repeat("éü", 10), false},
		{"UnicodeMiss", "*" + strings.Repeat("é?", 10) + "*", strings.Repeat("eü", 10), false},
		{"LongerThan256", "*" + strings.Repeat("a?", 200) + "b*", strings.Repeat("a", 399) + "b", false},
		{"LongerThan256Miss", "*" + strings.Repeat("a?", 200) + "b*", strings.Repeat("a", 800), false},
		{"ManyDistinct", "*" + "0123456789abcdefghijklmnopqrstuvwxyz?" + "*", "..0123456789abcdefghijklmnopqrstuvwxyz!..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := CompileGlob(tt.pattern, tt.fold)
			want := refMatch(tt.pattern, tt.in, tt.fold)
			if got := g.Match(tt.in, nil); got != want {
				t.Fatalf("Match = %v, reference says %v", got, want)
			}
		})
	}
}

// TestGlob_MatchRandom compares Glob with the reference matcher on patterns
// over a small alphabet, long enough to exercise the bit-parallel search, and
// on inputs that often nearly match.
func TestGlob_MatchRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	pick := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	for i := 0; i < 3000; i++ {
		pattern := pick("ab??*", 10+rng.IntN(60))
		if i%3 == 0 {
			pattern = "*" + pick("ab?", 16+rng.IntN(40)) + "*"
		}
		in := pick("ab", rng.IntN(120))
		fold := i%5 == 0
		g := CompileGlob(pattern, fold)
		if got, want := g.Match(in, nil), refMatch(pattern, in, fold); got != want {
			t.Fatalf("Match(%q, %q, fold=%v) = %v, reference says %v", pattern, in, fold, got, want)
		}
	}
}
