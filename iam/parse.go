package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tenantml/tenantml/iam/arn"
)

// ParseOptions control Parse.
type ParseOptions struct {
	// Kind is where the policy is attached; it decides whether Principal is
	// required (resource) or forbidden (every other kind).
	Kind Kind
	// MaxChars is the size limit in characters, whitespace excluded. Zero
	// means the default for Kind (see DefaultLimit); negative means none.
	MaxChars int
}

// DefaultLimit returns the size limit Parse applies to a kind when
// ParseOptions.MaxChars is zero: inline for identity policies (the larger of
// the two identity limits; pass LimitManaged for a managed policy), managed
// for boundaries, and the session, guardrail and resource limits.
func DefaultLimit(k Kind) int {
	switch k {
	case KindIdentity:
		return LimitInline
	case KindBoundary:
		return LimitManaged
	case KindSession:
		return LimitSession
	case KindGuardrail:
		return LimitGuardrail
	}
	return LimitResource
}

// Parse parses, validates and compiles a policy document. On failure the
// error lists every problem found, one per line, each naming the statement
// (index and Sid), the element and the bad value, e.g.
//
//	statement[1] (Sid "AllowInvoke"): Condition: unknown operator "StringEqual"
func Parse(doc []byte, opts ParseOptions) (*Policy, error) {
	limit := opts.MaxChars
	if limit == 0 {
		limit = DefaultLimit(opts.Kind)
	}
	if n := countChars(doc); limit > 0 && n > limit {
		return nil, fmt.Errorf("policy: size %d characters (whitespace excluded) exceeds the %s policy limit of %d", n, opts.Kind, limit)
	}
	var top map[string]json.RawMessage
	if err := strictUnmarshal(doc, &top); err != nil || top == nil {
		return nil, fmt.Errorf("policy: not a JSON object: %v", jsonErr(err))
	}
	p := &Policy{Kind: opts.Kind, Version: Version2008}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for _, k := range sortedKeys(top) {
		switch k {
		case "Version":
			var v string
			if json.Unmarshal(top[k], &v) != nil {
				fail("policy: Version: must be a string")
				continue
			}
			if v != Version2012 && v != Version2008 {
				fail("policy: Version: unknown version %q (want %q or %q)", v, Version2012, Version2008)
				continue
			}
			p.Version = v
		case "Id":
			if json.Unmarshal(top[k], &p.ID) != nil {
				fail("policy: Id: must be a string")
			}
		case "Statement":
		default:
			fail("policy: unknown element %q", k)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		fail("policy: missing Statement")
		return nil, errors.Join(errs...)
	}
	var raws []json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(raw, &raws); err != nil {
			fail("policy: Statement: must be an object or an array of objects")
		} else if len(raws) == 0 {
			fail("policy: Statement: empty statement list")
		}
	} else {
		raws = []json.RawMessage{raw}
	}
	sids := make(map[string]int)
	for i, r := range raws {
		st, err := parseStatement(r, p.Version, opts.Kind)
		if st.Sid != "" {
			if j, dup := sids[st.Sid]; dup {
				fail("statement[%d]%s: Sid: duplicate Sid %q (also statement[%d])", i, sidLabel(st.Sid), st.Sid, j)
			} else {
				sids[st.Sid] = i
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("statement[%d]%s: %w", i, sidLabel(st.Sid), err))
			continue
		}
		p.Statements = append(p.Statements, st)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	p.buildIndex()
	return p, nil
}

// MustParse is Parse for policies known to be valid (tests, examples,
// built-in policies); it panics on error.
func MustParse(doc string, kind Kind) *Policy {
	p, err := Parse([]byte(doc), ParseOptions{Kind: kind})
	if err != nil {
		panic(err)
	}
	return p
}

func sidLabel(sid string) string {
	if sid == "" {
		return ""
	}
	return fmt.Sprintf(" (Sid %q)", sid)
}

// isStatementElement reports whether k is an element a statement may contain.
func isStatementElement(k string) bool {
	switch k {
	case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		return true
	}
	return false
}

// parseStatement parses one statement. On error the returned statement still
// carries the Sid when it could be read, for the error label.
func parseStatement(raw json.RawMessage, version string, kind Kind) (Statement, error) {
	var st Statement
	var m map[string]json.RawMessage
	if err := strictUnmarshal(raw, &m); err != nil || m == nil {
		return st, fmt.Errorf("not a JSON object")
	}
	if r, ok := m["Sid"]; ok {
		if json.Unmarshal(r, &st.Sid) != nil {
			return st, fmt.Errorf("%s: must be a string", "Sid")
		}
	}
	if kind != KindResource && !validSid(st.Sid) {
		return st, fmt.Errorf("%s: invalid Sid %q: %s policies allow only ASCII letters and digits", "Sid", st.Sid, kind)
	}
	for _, k := range sortedKeys(m) {
		if !isStatementElement(k) {
			return st, fmt.Errorf("unknown element %q", k)
		}
	}
	// Effect.
	r, ok := m["Effect"]
	if !ok {
		return st, fmt.Errorf("missing Effect")
	}
	var eff string
	if json.Unmarshal(r, &eff) != nil {
		return st, fmt.Errorf("%s: must be a string", "Effect")
	}
	switch eff {
	case "Allow":
		st.Effect = Allow
	case "Deny":
		st.Effect = Deny
	default:
		return st, fmt.Errorf("%s: unknown effect %q (want \"Allow\" or \"Deny\")", "Effect", eff)
	}
	tz := tokenizer{vars: &st.vars, variables: version == Version2012}

	// Action / NotAction.
	actRaw, hasA := m["Action"]
	notActRaw, hasNA := m["NotAction"]
	switch {
	case hasA && hasNA:
		return st, fmt.Errorf("%s and %s: only one of them may be used", "Action", "NotAction")
	case !hasA && !hasNA:
		return st, fmt.Errorf("missing Action or NotAction")
	}
	elem := "Action"
	if hasNA {
		elem, actRaw, st.notAction = "NotAction", notActRaw, true
	}
	acts, err := parseStrings(actRaw)
	if err != nil {
		return st, fmt.Errorf("%s: %w", elem, err)
	}
	for _, a := range acts {
		if err := validAction(a); err != nil {
			return st, fmt.Errorf("%s: %w", elem, err)
		}
		st.actions = append(st.actions, arn.CompileGlob(a, true))
	}

	// Resource / NotResource.
	resRaw, hasR := m["Resource"]
	notResRaw, hasNR := m["NotResource"]
	switch {
	case hasR && hasNR:
		return st, fmt.Errorf("%s and %s: only one of them may be used", "Resource", "NotResource")
	case !hasR && !hasNR && kind != KindResource:
		return st, fmt.Errorf("missing Resource or NotResource")
	}
	if hasR || hasNR {
		st.hasResource = true
		elem = "Resource"
		if hasNR {
			elem, resRaw, st.notResource = "NotResource", notResRaw, true
		}
		res, err := parseStrings(resRaw)
		if err != nil {
			return st, fmt.Errorf("%s: %w", elem, err)
		}
		for _, r := range res {
			if err := validResource(r); err != nil {
				return st, fmt.Errorf("%s: %w", elem, err)
			}
			st.resources = append(st.resources, arn.NewARNPattern(tz.tokens(r, true)))
		}
	}

	// Principal / NotPrincipal.
	pRaw, hasP := m["Principal"]
	npRaw, hasNP := m["NotPrincipal"]
	switch {
	case hasP && hasNP:
		return st, fmt.Errorf("%s and %s: only one of them may be used", "Principal", "NotPrincipal")
	case (hasP || hasNP) && kind != KindResource:
		name := "Principal"
		if hasNP {
			name = "NotPrincipal"
		}
		return st, fmt.Errorf("%s: not allowed in %s policies (only resource-based policies name a principal)", name, kind)
	case !hasP && !hasNP && kind == KindResource:
		return st, fmt.Errorf("missing Principal or NotPrincipal (required in a resource-based policy)")
	}
	if hasP || hasNP {
		st.hasPrinc = true
		elem = "Principal"
		if hasNP {
			elem, pRaw, st.notPrinc = "NotPrincipal", npRaw, true
		}
		ps, err := parsePrincipal(pRaw)
		if err != nil {
			return st, fmt.Errorf("%s: %w", elem, err)
		}
		st.principal = ps
	}

	// Condition.
	if cRaw, ok := m["Condition"]; ok {
		conds, err := parseConditions(cRaw, tz)
		if err != nil {
			return st, fmt.Errorf("%s: %w", "Condition", err)
		}
		st.conds = conds
	}
	if len(st.vars) > MaxVariables {
		return st, fmt.Errorf("uses %d distinct policy variables, more than the limit of %d", len(st.vars), MaxVariables)
	}
	return st, nil
}

// validSid reports whether sid is empty or made of ASCII letters and digits,
// as IAM requires outside resource-based policies.
func validSid(sid string) bool {
	for i := 0; i < len(sid); i++ {
		c := sid[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validAction accepts "*" and "service:pattern" with a non-empty service
// prefix made of letters, digits and '-'.
func validAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, op, ok := strings.Cut(a, ":")
	if !ok || svc == "" || op == "" {
		return fmt.Errorf("malformed action %q: want \"service:Action\" or \"*\"", a)
	}
	for _, r := range svc {
		if !(r == '-' || r == '*' || r == '?' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return fmt.Errorf("malformed action %q: invalid service prefix", a)
		}
	}
	if strings.ContainsAny(op, " :") {
		return fmt.Errorf("malformed action %q: invalid action name", a)
	}
	return nil
}

// validResource accepts "*" and ARNs with six components (wildcards and
// policy variables allowed inside components).
func validResource(r string) error {
	if r == "*" {
		return nil
	}
	if r == "" {
		return fmt.Errorf("empty resource")
	}
	parts, ok := arn.Split(r)
	if !ok || parts[0] != "arn" || parts[1] == "" || parts[2] == "" {
		return fmt.Errorf("malformed ARN %q: want arn:partition:service:region:account-id:resource or \"*\"", r)
	}
	return nil
}

// parseStrings reads a string or a non-empty array of strings.
func parseStrings(raw json.RawMessage) ([]string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("must be a string or an array of strings")
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("empty list")
	}
	return list, nil
}

// parseScalars reads a condition value: a string, number or boolean, or a
// non-empty array of them. Numbers and booleans keep their JSON text.
func parseScalars(raw json.RawMessage) ([]string, error) {
	var list []json.RawMessage
	t := bytes.TrimSpace(raw)
	if len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("must be a value or an array of values")
		}
		if len(list) == 0 {
			return nil, fmt.Errorf("empty value list")
		}
	} else {
		list = []json.RawMessage{raw}
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		r = bytes.TrimSpace(r)
		if len(r) == 0 {
			return nil, fmt.Errorf("empty value")
		}
		switch r[0] {
		case '"':
			var s string
			if err := json.Unmarshal(r, &s); err != nil {
				return nil, fmt.Errorf("bad string value")
			}
			out = append(out, s)
		case '{', '[', 'n':
			return nil, fmt.Errorf("value %s: must be a string, number or boolean", r)
		default:
			out = append(out, string(r))
		}
	}
	return out, nil
}

// strictUnmarshal decodes one JSON value and rejects trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	if _, err := dec.Token(); err == nil {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}

func jsonErr(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}

func countChars(doc []byte) int {
	n := 0
	for len(doc) > 0 {
		r, size := utf8.DecodeRune(doc)
		doc = doc[size:]
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
