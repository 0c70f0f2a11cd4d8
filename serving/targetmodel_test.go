package serving_test

import (
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
)

// TestNormalizeTargetModel tries every trick that could make the policy
// see one key and the loader open another, or leave the prefix.
func TestNormalizeTargetModel(t *testing.T) {
	ok := []string{"acme.tar.gz", "acme/model.tar.gz", "acme/v1/model-2_b.tar.gz", "a"}
	for _, s := range ok {
		if got, err := serving.NormalizeTargetModel(s); err != nil || got != s {
			t.Errorf("%q: = %q, %v", s, got, err)
		}
	}
	bad := map[string]string{
		"Empty":             "",
		"DotDot":            "../globex.tar.gz",
		"DotDotInside":      "acme/../globex/model.tar.gz",
		"Dot":               "acme/./model.tar.gz",
		"Absolute":          "/globex/model.tar.gz",
		"Backslash":         `acme\..\globex.tar.gz`,
		"PercentSlash":      "acme%2F..%2Fglobex.tar.gz",
		"PercentDot":        "%2e%2e/globex.tar.gz",
		"DoubleSlash":       "acme//model.tar.gz",
		"TrailingSlash":     "acme/",
		"NUL":               "acme\x00.tar.gz",
		"Newline":           "acme\n/model.tar.gz",
		"FullwidthSolidus":  "acme\uff0f..\uff0fglobex.tar.gz",
		"DivisionSlash":     "..\u2215globex.tar.gz",
		"OneDotLeader":      "\u2024\u2024/globex.tar.gz",
		"FullwidthStop":     "\uff0e\uff0e/globex.tar.gz",
		"Space":             "acme model.tar.gz",
		"Query":             "acme.tar.gz?x=1",
		"TooLong":           strings.Repeat("a", 1025),
		"ColonScheme":       "s3://bucket/globex.tar.gz",
		"TildeHome":         "~/globex.tar.gz",
		"UnicodeLetterOnly": "ácme.tar.gz",
	}
	for name, s := range bad {
		t.Run(name, func(t *testing.T) {
			got, err := serving.NormalizeTargetModel(s)
			if err == nil || got != "" || tenantml.AWSCodeOf(err) != "ValidationError" {
				t.Fatalf("= %q, %v; want ValidationError", got, err)
			}
			if strings.ContainsAny(tenantml.ErrorMessage(err), "\x00\n") {
				t.Fatal("control characters echoed in the message")
			}
		})
	}
}
