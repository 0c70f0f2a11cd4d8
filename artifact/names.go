package artifact

import (
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of S3 names and metadata (Amazon S3's).
const (
	MaxKeyBytes       = 1024    // object key, UTF-8 bytes
	MaxMetadataBytes  = 2 << 10 // user metadata (x-amz-meta-*), keys and values
	MaxObjectTags     = 10
	MaxBucketTags     = 50
	MaxTagKeyRunes    = 128
	MaxTagValueRunes  = 256
	MaxPolicyBytes    = 20 << 10 // bucket policy document
	MaxContentTypeLen = 1024
)

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

// ValidateBucketName applies S3's general purpose bucket naming rules:
// 3–63 characters of lowercase letters, digits, dots and hyphens, starting
// and ending with a letter or digit, no two adjacent dots, not shaped like
// an IPv4 address, and none of S3's reserved prefixes and suffixes. A valid
// name is a safe path segment (it is never "." or ".." and holds no slash).
func ValidateBucketName(name string) error {
	bad := func(why string) error {
		return s3Err(CodeInvalidBucketName, "The specified bucket is not valid: %s.", why)
	}
	switch {
	case !bucketRE.MatchString(name):
		return bad("use 3 to 63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit")
	case strings.Contains(name, ".."):
		return bad("two adjacent periods")
	}
	if a, err := netip.ParseAddr(name); err == nil && a.Is4() {
		return bad("formatted as an IP address")
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return bad("the prefix " + p + " is reserved")
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return bad("the suffix " + s + " is reserved")
		}
	}
	return nil
}

// ValidateKey checks an object key: 1 to 1,024 bytes of valid UTF-8
// without NUL. Everything else — "..", ".", backslashes, leading, trailing
// and doubled slashes — is a legal key stored literally, as S3 does; keys
// never become file paths (bodies are named by random IDs), so no key can
// reach outside its bucket.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return s3Err(CodeInvalidArgument, "The object key must not be empty.")
	case len(key) > MaxKeyBytes:
		return s3Err(CodeKeyTooLong, "Your key is too long (%d bytes; the limit is %d).", len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return s3Err(CodeInvalidArgument, "The object key must be valid UTF-8.")
	case strings.IndexByte(key, 0) >= 0:
		return s3Err(CodeInvalidArgument, "The object key must not contain NUL.")
	}
	return nil
}

// Tag is one S3 tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

var tagRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// validateTags checks a tag set: at most limit tags, unique keys of 1–128
// runes, values of at most 256, S3's character set, and no key in the
// reserved aws: namespace. It returns the tags sorted by key.
func validateTags(tags []Tag, limit int) ([]Tag, error) {
	if len(tags) > limit {
		return nil, s3Err(CodeInvalidTag, "Object tags cannot be greater than %d", limit)
	}
	seen := map[string]bool{}
	out := make([]Tag, 0, len(tags))
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > MaxTagKeyRunes || !utf8.ValidString(t.Key) || !tagRE.MatchString(t.Key):
			return nil, s3Err(CodeInvalidTag, "The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Value) > MaxTagValueRunes || !utf8.ValidString(t.Value) || !tagRE.MatchString(t.Value):
			return nil, s3Err(CodeInvalidTag, "The TagValue you have provided is invalid")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return nil, s3Err(CodeInvalidTag, "Your TagKey cannot be prefixed with aws:")
		case seen[t.Key]:
			return nil, s3Err(CodeInvalidTag, "Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

var metaKeyRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9a-z-]+$")

// validateMetadata checks user metadata (the x-amz-meta-* headers without
// their prefix): lowercase header-token keys, printable values, at most
// MaxMetadataBytes in all.
func validateMetadata(md map[string]string) error {
	n := 0
	for k, v := range md {
		if !metaKeyRE.MatchString(k) {
			return s3Err(CodeInvalidArgument, "User metadata key %q is not a lowercase HTTP header token.", truncate(k))
		}
		if !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n\x00") {
			return s3Err(CodeInvalidArgument, "User metadata value for %q is not a valid header value.", truncate(k))
		}
		n += len(k) + len(v)
	}
	if n > MaxMetadataBytes {
		return s3Err(CodeMetadataTooLarge, "Your metadata headers exceed the maximum allowed metadata size (%d bytes).", MaxMetadataBytes)
	}
	return nil
}

// truncate shortens s for an error message.
func truncate(s string) string {
	if len(s) <= 64 {
		return s
	}
	return s[:64] + "..."
}
