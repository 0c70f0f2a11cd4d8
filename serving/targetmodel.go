package serving

import (
	"strings"

	"github.com/tenantml/tenantml"
)

// MaxTargetModelLength bounds X-Amzn-SageMaker-Target-Model.
const MaxTargetModelLength = 1024

// NormalizeTargetModel validates a multi-model endpoint's TargetModel
// before any policy sees it and before any storage access, and returns the
// value both use: the object key relative to the endpoint's ModelDataUrl
// prefix. It accepts only what cannot name anything outside the prefix or
// look like something it is not — segments of ASCII letters, digits, '.',
// '_' and '-' separated by single '/', none of them "." or "..", not
// starting with '/' — so percent-encodings, backslashes, doubled slashes,
// control characters and Unicode look-alikes of '.' and '/' are refused
// rather than interpreted. The policy condition sagemaker:TargetModel and
// the loaded key are the same string.
func NormalizeTargetModel(s string) (string, error) {
	bad := func(why string) (string, error) {
		return "", tenantml.AWSErrorf(tenantml.EINVALID, "ValidationError", "TargetModel %q is not valid: %s", Printable(s), why)
	}
	switch {
	case s == "":
		return bad("it is empty")
	case len(s) > MaxTargetModelLength:
		return bad("it is longer than 1024 bytes")
	case strings.HasPrefix(s, "/"):
		return bad("it must be relative to the endpoint's model prefix")
	}
	for _, seg := range strings.Split(s, "/") {
		switch seg {
		case "":
			return bad("it has an empty path segment")
		case ".", "..":
			return bad("it has a '.' or '..' segment")
		}
		for i := 0; i < len(seg); i++ {
			c := seg[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
				return bad("only ASCII letters, digits, '.', '_', '-' and '/' between segments are allowed")
			}
		}
	}
	return s, nil
}

// Printable renders a caller's name for an error message: control and
// non-ASCII bytes escaped, at most 64 bytes.
func Printable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f {
			b.WriteString(`\x`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
