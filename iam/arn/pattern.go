package arn

import "strings"

// ARNPattern is a compiled Resource (or ArnLike) pattern. When the pattern is
// an ARN it is matched component by component; "*" matches everything; any
// other pattern is matched as a whole-string wildcard pattern. An ARNPattern
// is immutable and safe for concurrent use.
type ARNPattern struct {
	all     bool
	arn     bool
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
	if n < 5 {
		return p
	}
	p.arn = true
	for i := range comps {
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
	case !p.arn:
		return p.whole.Match(s, vals)
	}
	parts, ok := Split(s)
	if !ok {
		return false
	}
	for i := range parts {
		if !p.parts[i].Match(parts[i], vals) {
			return false
		}
	}
	return true
}
