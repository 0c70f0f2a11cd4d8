package arn

import "strings"

// ARNPattern is a compiled Resource (or ArnLike) pattern. An ARN pattern is
// matched component by component; "*" matches everything; a pattern with
// fewer than six components matches its components in order, its last
// component against the rest of the input ("arn:*" matches every ARN); a
// pattern without a colon is matched as a whole-string wildcard pattern. An
// ARNPattern is immutable and safe for concurrent use.
type ARNPattern struct {
	all     bool
	nparts  int // components compared; 0 means whole-string
	parts   [6]Glob
	whole   Glob
	literal string
	isLit   bool
}

// CompileARNPattern compiles a pattern string with '*' and '?' wildcards.
func CompileARNPattern(pattern string) ARNPattern {
	return NewARNPattern(Tokenize(pattern))
}

// NewARNPattern compiles a token sequence (which may contain variable slots)
// into an ARN pattern, splitting text tokens at the first five colons.
func NewARNPattern(toks []Token) ARNPattern {
	var p ARNPattern
	if len(toks) == 1 && toks[0].Kind == TokenStar {
		p.all = true
		return p
	}
	p.whole = NewGlob(toks, false)
	if lit, ok := p.whole.IsLiteral(); ok {
		p.isLit, p.literal = true, lit
	}
	var comps [6][]Token
	n := 0
	for _, t := range toks {
		if t.Kind != TokenText || n == 5 {
			comps[n] = append(comps[n], t)
			continue
		}
		text := t.Text
		for n < 5 {
			i := strings.IndexByte(text, ':')
			if i < 0 {
				break
			}
			if i > 0 {
				comps[n] = append(comps[n], Token{Kind: TokenText, Text: text[:i]})
			}
			n++
			text = text[i+1:]
		}
		if text != "" {
			comps[n] = append(comps[n], Token{Kind: TokenText, Text: text})
		}
	}
	if n == 0 {
		return p
	}
	p.nparts = n + 1
	for i := 0; i <= n; i++ {
		p.parts[i] = NewGlob(comps[i], false)
	}
	return p
}

// MatchAll reports whether the pattern is "*".
func (p *ARNPattern) MatchAll() bool { return p.all }

// Literal returns the pattern text when it has no wildcards and no variables.
func (p *ARNPattern) Literal() (string, bool) { return p.literal, p.isLit }

// Match reports whether s matches the pattern; vals supplies variable slots.
// It does not allocate.
func (p *ARNPattern) Match(s string, vals []string) bool {
	switch {
	case p.all:
		return true
	case p.isLit:
		return s == p.literal
	case p.nparts == 0:
		return p.whole.Match(s, vals)
	}
	for i := 0; i < p.nparts-1; i++ {
		j := strings.IndexByte(s, ':')
		if j < 0 {
			return false
		}
		if !p.parts[i].Match(s[:j], vals) {
			return false
		}
		s = s[j+1:]
	}
	return p.parts[p.nparts-1].Match(s, vals)
}
