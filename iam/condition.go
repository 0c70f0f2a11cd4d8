package iam

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/iam/internal/ascii"
)

// opcode is the positive form of a condition operator; negated operators
// (StringNotEquals, NotIpAddress, ...) set condition.negated.
type opcode uint8

const (
	opStringEquals opcode = iota
	opStringEqualsIgnoreCase
	opStringLike
	opNumericEquals
	opNumericLessThan
	opNumericLessThanEquals
	opNumericGreaterThan
	opNumericGreaterThanEquals
	opDateEquals
	opDateLessThan
	opDateLessThanEquals
	opDateGreaterThan
	opDateGreaterThanEquals
	opBool
	opBinaryEquals
	opIPAddress
	opArn
	opNull
)

// qualifier is the set operator prefix of a condition operator.
type qualifier uint8

const (
	qualNone qualifier = iota
	qualForAll
	qualForAny
)

// lookupOperator maps an operator name without prefix and IfExists suffix to
// its opcode and whether it is negated.
func lookupOperator(name string) (op opcode, negated, ok bool) {
	switch name {
	case "StringEquals":
		return opStringEquals, false, true
	case "StringNotEquals":
		return opStringEquals, true, true
	case "StringEqualsIgnoreCase":
		return opStringEqualsIgnoreCase, false, true
	case "StringNotEqualsIgnoreCase":
		return opStringEqualsIgnoreCase, true, true
	case "StringLike":
		return opStringLike, false, true
	case "StringNotLike":
		return opStringLike, true, true
	case "NumericEquals":
		return opNumericEquals, false, true
	case "NumericNotEquals":
		return opNumericEquals, true, true
	case "NumericLessThan":
		return opNumericLessThan, false, true
	case "NumericLessThanEquals":
		return opNumericLessThanEquals, false, true
	case "NumericGreaterThan":
		return opNumericGreaterThan, false, true
	case "NumericGreaterThanEquals":
		return opNumericGreaterThanEquals, false, true
	case "DateEquals":
		return opDateEquals, false, true
	case "DateNotEquals":
		return opDateEquals, true, true
	case "DateLessThan":
		return opDateLessThan, false, true
	case "DateLessThanEquals":
		return opDateLessThanEquals, false, true
	case "DateGreaterThan":
		return opDateGreaterThan, false, true
	case "DateGreaterThanEquals":
		return opDateGreaterThanEquals, false, true
	case "Bool":
		return opBool, false, true
	case "BinaryEquals":
		return opBinaryEquals, false, true
	case "IpAddress":
		return opIPAddress, false, true
	case "NotIpAddress":
		return opIPAddress, true, true
	case "ArnEquals", "ArnLike":
		return opArn, false, true
	case "ArnNotEquals", "ArnNotLike":
		return opArn, true, true
	case "Null":
		return opNull, false, true
	}
	return 0, false, false
}

// condition is one compiled (operator, key, values) triple.
type condition struct {
	operator string // as written, for explanations
	key      string // as written
	keyLower string // lower-cased (ASCII) for lookups; key names are case-insensitive
	op       opcode
	negated  bool
	ifExists bool
	qual     qualifier

	globs []arn.Glob
	arns  []arn.ARNPattern
	nums  []float64
	times []time.Time
	bools []bool
	bins  []string // canonical base64
	ips   []netip.Prefix
	null  bool
}

// parseConditions compiles a Condition element.
func parseConditions(raw json.RawMessage, tz tokenizer) ([]condition, error) {
	var block map[string]json.RawMessage
	if err := strictUnmarshal(raw, &block); err != nil || block == nil {
		return nil, fmt.Errorf("must be an object of operators")
	}
	var out []condition
	for _, name := range sortedKeys(block) {
		c, err := parseOperator(name)
		if err != nil {
			return nil, err
		}
		var keys map[string]json.RawMessage
		if err := strictUnmarshal(block[name], &keys); err != nil || keys == nil {
			return nil, fmt.Errorf("%s: must be an object of condition keys", name)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("%s: no condition keys", name)
		}
		for _, key := range sortedKeys(keys) {
			if strings.TrimSpace(key) == "" {
				return nil, fmt.Errorf("%s: empty condition key", name)
			}
			vals, err := parseScalars(keys[key])
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, key, err)
			}
			cc := c
			cc.key, cc.keyLower = key, ascii.Lower(key)
			if err := cc.compileValues(vals, tz); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", name, key, err)
			}
			out = append(out, cc)
		}
	}
	return out, nil
}

func parseOperator(name string) (condition, error) {
	c := condition{operator: name}
	base := name
	switch {
	case strings.HasPrefix(base, "ForAllValues:"):
		c.qual, base = qualForAll, base[len("ForAllValues:"):]
	case strings.HasPrefix(base, "ForAnyValue:"):
		c.qual, base = qualForAny, base[len("ForAnyValue:"):]
	}
	if b, ok := strings.CutSuffix(base, "IfExists"); ok {
		c.ifExists, base = true, b
	}
	op, neg, ok := lookupOperator(base)
	if !ok || (op == opNull && (c.ifExists || c.qual != qualNone)) {
		return c, fmt.Errorf("unknown operator %q", name)
	}
	c.op, c.negated = op, neg
	return c, nil
}

func (c *condition) compileValues(vals []string, tz tokenizer) error {
	for _, v := range vals {
		switch c.op {
		case opStringEquals:
			c.globs = append(c.globs, arn.NewGlob(tz.tokens(v, false), false))
		case opStringEqualsIgnoreCase:
			c.globs = append(c.globs, arn.NewGlob(tz.tokens(v, false), true))
		case opStringLike:
			c.globs = append(c.globs, arn.NewGlob(tz.tokens(v, true), false))
		case opArn:
			c.arns = append(c.arns, arn.NewARNPattern(tz.tokens(v, true)))
		case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
			f, ok := parseNumber(v)
			if !ok {
				return fmt.Errorf("invalid number %q", v)
			}
			c.nums = append(c.nums, f)
		case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
			t, ok := parseDate(v)
			if !ok {
				return fmt.Errorf("invalid date %q (want ISO 8601 or epoch seconds)", v)
			}
			c.times = append(c.times, t)
		case opBool:
			b, ok := parseBool(v)
			if !ok {
				return fmt.Errorf("invalid boolean %q (want \"true\" or \"false\")", v)
			}
			c.bools = append(c.bools, b)
		case opBinaryEquals:
			if _, err := base64.StdEncoding.DecodeString(v); err != nil {
				return fmt.Errorf("invalid base64 value %q", v)
			}
			c.bins = append(c.bins, v)
		case opIPAddress:
			p, ok := parseIPPrefix(v)
			if !ok {
				return fmt.Errorf("invalid IP address or CIDR %q", v)
			}
			c.ips = append(c.ips, p)
		case opNull:
			b, ok := parseBool(v)
			if !ok {
				return fmt.Errorf("invalid Null value %q (want \"true\" or \"false\")", v)
			}
			if len(vals) > 1 {
				return fmt.Errorf("the Null operator takes a single value")
			}
			c.null = b
		}
	}
	return nil
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// dateLayouts are the ISO 8601 forms IAM accepts, most specific first.
func parseDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if isDigits(s) || (s[0] == '-' && isDigits(s[1:])) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range [...]string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05Z0700",
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04:05",
		"2006-01-02T15:04",
		"2006-01-02",
		"20060102T150405Z",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseIPPrefix(s string) (netip.Prefix, bool) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// matchOne reports whether one request value matches any policy value of the
// positive operator (OR across policy values).
func (c *condition) matchOne(v string, vars []string) bool {
	switch c.op {
	case opStringEquals, opStringEqualsIgnoreCase, opStringLike:
		for i := range c.globs {
			if c.globs[i].Match(v, vars) {
				return true
			}
		}
	case opArn:
		for i := range c.arns {
			if c.arns[i].Match(v, vars) {
				return true
			}
		}
	case opNumericEquals, opNumericLessThan, opNumericLessThanEquals, opNumericGreaterThan, opNumericGreaterThanEquals:
		f, ok := parseNumber(v)
		if !ok {
			return false
		}
		for _, n := range c.nums {
			if compareOK(c.op, cmpFloat(f, n)) {
				return true
			}
		}
	case opDateEquals, opDateLessThan, opDateLessThanEquals, opDateGreaterThan, opDateGreaterThanEquals:
		t, ok := parseDate(v)
		if !ok {
			return false
		}
		for _, d := range c.times {
			if compareOK(c.op, t.Compare(d)) {
				return true
			}
		}
	case opBool:
		b, ok := parseBool(v)
		if !ok {
			return false
		}
		for _, p := range c.bools {
			if p == b {
				return true
			}
		}
	case opBinaryEquals:
		for _, p := range c.bins {
			if p == v || binaryEqual(p, v) {
				return true
			}
		}
	case opIPAddress:
		a, ok := parseAddr(strings.TrimSpace(v))
		if !ok {
			return false
		}
		a = a.Unmap()
		for _, p := range c.ips {
			if p.Contains(a) {
				return true
			}
		}
	}
	return false
}

// parseAddr parses an IP address. Dotted-quad IPv4 is parsed by hand so that
// the request value does not flow into netip's error values, which would
// force every request context onto the heap; other forms are parsed from a
// copy.
func parseAddr(s string) (netip.Addr, bool) {
	var b [4]byte
	n, part, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || n == 4 {
				n = -1
				break
			}
			b[n] = byte(part)
			n, part, digits = n+1, 0, 0
			continue
		}
		c := s[i]
		if c < '0' || c > '9' || (digits > 0 && part == 0) {
			n = -1
			break
		}
		part = part*10 + int(c-'0')
		digits++
		if part > 255 {
			n = -1
			break
		}
	}
	if n == 4 {
		return netip.AddrFrom4(b), true
	}
	a, err := netip.ParseAddr(strings.Clone(s))
	return a, err == nil
}

func binaryEqual(policy, req string) bool {
	a, err1 := base64.StdEncoding.DecodeString(policy)
	b, err2 := base64.StdEncoding.DecodeString(req)
	return err1 == nil && err2 == nil && string(a) == string(b)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareOK reports whether cmp (request value compared with policy value)
// satisfies the operator.
func compareOK(op opcode, cmp int) bool {
	switch op {
	case opNumericEquals, opDateEquals:
		return cmp == 0
	case opNumericLessThan, opDateLessThan:
		return cmp < 0
	case opNumericLessThanEquals, opDateLessThanEquals:
		return cmp <= 0
	case opNumericGreaterThan, opDateGreaterThan:
		return cmp > 0
	case opNumericGreaterThanEquals, opDateGreaterThanEquals:
		return cmp >= 0
	}
	return false
}

// eval evaluates the condition against the request value set of its key, as
// the IAM User Guide documents:
//
//   - Null: "true" holds when the key is absent (or an empty set), "false"
//     when it is present.
//   - A missing key (or an empty set without a set qualifier) makes a
//     positive operator false and a negated operator true; ...IfExists makes
//     it true; ForAllValues is true and ForAnyValue false.
//   - Without a qualifier the condition holds when any request value matches
//     any policy value (OR); a negated operator holds when no request value
//     matches any policy value (NOR).
//   - ForAllValues holds when every request value satisfies the operator
//     (for a negated operator: matches none of the policy values);
//     ForAnyValue when at least one does.
func (c *condition) eval(vs values, present bool, vars []string) bool {
	if c.op == opNull {
		absent := !present || vs.len() == 0
		return absent == c.null
	}
	if !present {
		switch {
		case c.ifExists:
			return true
		case c.qual == qualForAll:
			return true
		case c.qual == qualForAny:
			return false
		}
		return c.negated
	}
	n := vs.len()
	switch c.qual {
	case qualForAll:
		for i := 0; i < n; i++ {
			if c.matchOne(vs.at(i), vars) == c.negated {
				return false
			}
		}
		return true
	case qualForAny:
		for i := 0; i < n; i++ {
			if c.matchOne(vs.at(i), vars) != c.negated {
				return true
			}
		}
		return false
	}
	if n == 0 {
		if c.ifExists {
			return true
		}
		return c.negated
	}
	for i := 0; i < n; i++ {
		if c.matchOne(vs.at(i), vars) {
			return !c.negated
		}
	}
	return c.negated
}
