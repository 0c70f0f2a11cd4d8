package simulate

import (
	"fmt"
	"strings"

	"github.com/tenantml/tenantml/iam"
)

// ParseKind reads a policy kind name: identity, resource, boundary, session
// or scp (also: guardrail).
func ParseKind(s string) (iam.Kind, error) {
	switch strings.ToLower(s) {
	case "identity", "":
		return iam.KindIdentity, nil
	case "resource":
		return iam.KindResource, nil
	case "boundary":
		return iam.KindBoundary, nil
	case "session":
		return iam.KindSession, nil
	case "scp", "guardrail":
		return iam.KindGuardrail, nil
	}
	return 0, fmt.Errorf("unknown policy kind %q (want identity, resource, boundary, session or scp)", s)
}

// Validate parses a policy document as the given kind and returns every
// problem found, one per entry; none means the policy is valid. maxChars is
// passed to iam.ParseOptions (0: the kind's default limit).
func Validate(doc []byte, kind iam.Kind, maxChars int) []string {
	_, err := iam.Parse(doc, iam.ParseOptions{Kind: kind, MaxChars: maxChars})
	if err == nil {
		return nil
	}
	return strings.Split(err.Error(), "\n")
}
