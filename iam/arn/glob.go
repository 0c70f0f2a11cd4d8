package arn

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tenantml/tenantml/iam/internal/ascii"
)

// TokenKind says what a Token of a pattern matches.
type TokenKind uint8

const (
	// TokenText matches its Text literally.
	TokenText TokenKind = iota
	// TokenOne matches exactly one character ('?').
	TokenOne
	// TokenStar matches zero or more characters ('*').
	TokenStar
	// TokenVar matches the literal value supplied at match time for slot Var.
	TokenVar
)

// Token is one element of a pattern.
type Token struct {
	Kind TokenKind
	Text string // for TokenText
	Var  int    // slot index for TokenVar
}

// Tokenize splits a wildcard pattern into tokens: '*' and '?' are wildcards,
// every other character is literal text.
func Tokenize(pattern string) []Token {
	var toks []Token
	start := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '*' && c != '?' {
			continue
		}
		if i > start {
			toks = append(toks, Token{Kind: TokenText, Text: pattern[start:i]})
		}
		if c == '*' {
			toks = append(toks, Token{Kind: TokenStar})
		} else {
			toks = append(toks, Token{Kind: TokenOne})
		}
		start = i + 1
	}
	if start < len(pattern) {
		toks = append(toks, Token{Kind: TokenText, Text: pattern[start:]})
	}
	return toks
}

// Glob is a compiled wildcard pattern. The zero Glob matches only "".
// A Glob is immutable and safe for concurrent use.
type Glob struct {
	segs    [][]Token  // maximal star-free runs, empty runs dropped
	scans   []*bitScan // per segment: a bit-parallel searcher, or nil
	hasStar bool
	lead    bool // pattern starts with '*'
	trail   bool // pattern ends with '*'
	fold    bool // ASCII case-insensitive
	literal bool // single TokenText, no wildcards, no variables
	text    string
}

// CompileGlob compiles a pattern with '*' and '?' wildcards. With fold the
// match is ASCII case-insensitive (as IAM matches actions).
func CompileGlob(pattern string, fold bool) Glob {
	return NewGlob(Tokenize(pattern), fold)
}

// NewGlob compiles a token sequence. Consecutive text tokens are merged.
func NewGlob(toks []Token, fold bool) Glob {
	g := Glob{fold: fold}
	var cur []Token
	flush := func() {
		if len(cur) > 0 {
			g.segs = append(g.segs, cur)
			cur = nil
		}
	}
	toks = slices.DeleteFunc(slices.Clone(toks), func(t Token) bool { return t.Kind == TokenText && t.Text == "" })
	for i, t := range toks {
		switch t.Kind {
		case TokenStar:
			g.hasStar = true
			if i == 0 {
				g.lead = true
			}
			if i == len(toks)-1 {
				g.trail = true
			}
			flush()
		case TokenText:
			if fold {
				t.Text = ascii.Lower(t.Text)
			}
			if n := len(cur); n > 0 && cur[n-1].Kind == TokenText {
				cur[n-1].Text += t.Text
				continue
			}
			cur = append(cur, t)
		default:
			cur = append(cur, t)
		}
	}
	flush()
	g.scans = make([]*bitScan, len(g.segs))
	for i, seg := range g.segs {
		g.scans[i] = newBitScan(seg)
	}
	if !g.hasStar && len(g.segs) == 1 && len(g.segs[0]) == 1 && g.segs[0][0].Kind == TokenText {
		g.literal = true
		g.text = g.segs[0][0].Text
	}
	return g
}

// IsLiteral reports whether the glob has no wildcards and no variables, and
// returns its text (lower-cased when the glob folds case).
func (g *Glob) IsLiteral() (string, bool) {
	if g.literal {
		return g.text, true
	}
	if !g.hasStar && len(g.segs) == 0 {
		return "", true
	}
	return "", false
}

// MatchAll reports whether the glob is "*" (matches every input).
func (g *Glob) MatchAll() bool { return g.hasStar && len(g.segs) == 0 }

// Match reports whether s matches the glob. vals supplies the literal value of
// each TokenVar slot; a slot outside vals matches nothing. Match does not
// allocate.
func (g *Glob) Match(s string, vals []string) bool {
	if g.literal {
		if g.fold {
			return ascii.EqualFoldLower(s, g.text)
		}
		return s == g.text
	}
	if !g.hasStar {
		if len(g.segs) == 0 {
			return s == ""
		}
		end, ok := g.matchAt(g.segs[0], s, 0, vals)
		return ok && end == len(s)
	}
	lo, hi := 0, len(g.segs)
	pos, limit := 0, len(s)
	if !g.lead {
		end, ok := g.matchAt(g.segs[0], s, 0, vals)
		if !ok {
			return false
		}
		pos = end
		lo++
	}
	if !g.trail {
		start, ok := g.matchBack(g.segs[hi-1], s, len(s), vals)
		if !ok || start < pos {
			return false
		}
		limit = start
		hi--
	}
	for i := lo; i < hi; i++ {
		var end int
		var ok bool
		if sc := g.scans[i]; sc != nil {
			end, ok = sc.find(s[:limit], pos, g.fold)
		} else {
			end, ok = g.find(g.segs[i], s[:limit], pos, vals)
		}
		if !ok {
			return false
		}
		pos = end
	}
	return true
}

// find places seg at its leftmost occurrence in s at or after pos and returns
// the end of that occurrence.
func (g *Glob) find(seg []Token, s string, pos int, vals []string) (int, bool) {
	// Jump between occurrences of the segment's first text or variable value
	// (case-sensitive globs only); otherwise try every position.
	anchor := ""
	if first := seg[0]; !g.fold && first.Kind == TokenText {
		anchor = first.Text
	} else if !g.fold && first.Kind == TokenVar && first.Var >= 0 && first.Var < len(vals) {
		anchor = vals[first.Var]
	}
	for pos <= len(s) {
		if anchor != "" {
			i := strings.Index(s[pos:], anchor)
			if i < 0 {
				return 0, false
			}
			pos += i
		}
		if end, ok := g.matchAt(seg, s, pos, vals); ok {
			return end, true
		}
		if pos == len(s) {
			break
		}
		_, size := utf8.DecodeRuneInString(s[pos:])
		pos += size
	}
	return 0, false
}

// matchAt matches seg anchored at s[pos:] and returns where the match ends.
func (g *Glob) matchAt(seg []Token, s string, pos int, vals []string) (int, bool) {
	for _, t := range seg {
		switch t.Kind {
		case TokenOne:
			if pos >= len(s) {
				return 0, false
			}
			_, size := utf8.DecodeRuneInString(s[pos:])
			pos += size
		case TokenText:
			n := len(t.Text)
			if len(s)-pos < n {
				return 0, false
			}
			if g.fold {
				if !ascii.EqualFoldLower(s[pos:pos+n], t.Text) {
					return 0, false
				}
			} else if s[pos:pos+n] != t.Text {
				return 0, false
			}
			pos += n
		case TokenVar:
			if t.Var < 0 || t.Var >= len(vals) {
				return 0, false
			}
			v := vals[t.Var]
			n := len(v)
			if len(s)-pos < n {
				return 0, false
			}
			if g.fold {
				if !strings.EqualFold(s[pos:pos+n], v) {
					return 0, false
				}
			} else if s[pos:pos+n] != v {
				return 0, false
			}
			pos += n
		}
	}
	return pos, true
}

// matchBack matches seg so that it ends exactly at end and returns its start.
func (g *Glob) matchBack(seg []Token, s string, end int, vals []string) (int, bool) {
	for i := len(seg) - 1; i >= 0; i-- {
		t := seg[i]
		switch t.Kind {
		case TokenOne:
			if end <= 0 {
				return 0, false
			}
			_, size := utf8.DecodeLastRuneInString(s[:end])
			end -= size
		case TokenText, TokenVar:
			v := t.Text
			if t.Kind == TokenVar {
				if t.Var < 0 || t.Var >= len(vals) {
					return 0, false
				}
				v = vals[t.Var]
			}
			n := len(v)
			if end < n {
				return 0, false
			}
			switch {
			case g.fold && t.Kind == TokenText:
				if !ascii.EqualFoldLower(s[end-n:end], v) {
					return 0, false
				}
			case g.fold:
				if !strings.EqualFold(s[end-n:end], v) {
					return 0, false
				}
			default:
				if s[end-n:end] != v {
					return 0, false
				}
			}
			end -= n
		}
	}
	return end, true
}
