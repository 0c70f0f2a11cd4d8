// Package ascii holds the ASCII-only case folding the policy language
// uses: IAM compares action names, condition keys and case-insensitive
// patterns by folding ASCII letters only, leaving every other byte as it is.
package ascii

// Lower lower-cases ASCII letters only, leaving other bytes unchanged. It
// returns s itself when s has no upper-case ASCII letter.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// EqualFoldLower reports whether s equals lower ignoring ASCII case, where
// lower is already lower-cased; non-ASCII bytes must match exactly.
func EqualFoldLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
