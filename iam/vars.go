package iam

import (
	"strings"

	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/iam/internal/ascii"
)

// variable is one policy variable slot of a statement: ${key} or
// ${key, 'default'}.
type variable struct {
	name       string // the key as written, for explanations
	key        string // lower-cased (ASCII); key names are case-insensitive
	hasDefault bool
	def        string
}

// tokenizer turns element values into matcher tokens, allocating variable
// slots in the statement that owns them.
type tokenizer struct {
	vars      *[]variable
	variables bool // policy version supports variables (2012-10-17)
}

// tokens splits s into tokens. With wildcards, '*' and '?' in the literal
// text are wildcards; substituted values and the escapes ${*} ${?} ${$} are
// always literal.
func (tz tokenizer) tokens(s string, wildcards bool) []arn.Token {
	var toks []arn.Token
	text := func(t string) {
		if t == "" {
			return
		}
		if wildcards {
			toks = append(toks, arn.Tokenize(t)...)
			return
		}
		toks = append(toks, arn.Token{Kind: arn.TokenText, Text: t})
	}
	if !tz.variables {
		text(s)
		return toks
	}
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			text(s)
			return toks
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			text(s)
			return toks
		}
		inner := s[i+2 : i+j]
		text(s[:i])
		s = s[i+j+1:]
		switch inner {
		case "*", "?", "$":
			toks = append(toks, arn.Token{Kind: arn.TokenText, Text: inner})
			continue
		}
		v, ok := parseVariable(inner)
		if !ok {
			// Not a variable: keep the text literally, as IAM does.
			toks = append(toks, arn.Token{Kind: arn.TokenText, Text: "${" + inner + "}"})
			continue
		}
		toks = append(toks, arn.Token{Kind: arn.TokenVar, Var: tz.slot(v)})
	}
}

func (tz tokenizer) slot(v variable) int {
	for i, w := range *tz.vars {
		if w.key == v.key && w.hasDefault == v.hasDefault && w.def == v.def {
			return i
		}
	}
	*tz.vars = append(*tz.vars, v)
	return len(*tz.vars) - 1
}

// parseVariable parses the inside of ${...}: a key, optionally followed by a
// comma and a single-quoted default value.
func parseVariable(inner string) (variable, bool) {
	key, def, hasDef := strings.Cut(inner, ",")
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t'") {
		return variable{}, false
	}
	v := variable{name: key, key: ascii.Lower(key)}
	if hasDef {
		def = strings.TrimSpace(def)
		if len(def) < 2 || def[0] != '\'' || def[len(def)-1] != '\'' {
			return variable{}, false
		}
		v.hasDefault, v.def = true, def[1:len(def)-1]
	}
	return v, true
}
