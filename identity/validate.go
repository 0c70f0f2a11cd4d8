package identity

import (
	"encoding/base32"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
)

// Limits, as IAM applies them.
const (
	MaxUserNameLength     = 64
	MaxRoleNameLength     = 64
	MaxGroupNameLength    = 128
	MaxPolicyNameLength   = 128
	MaxPathLength         = 512
	MaxDescriptionLength  = 1000
	MaxTags               = 50
	MaxTagKeyLength       = 128
	MaxTagValueLength     = 256
	MaxPolicyVersions     = 5
	MaxAccessKeysPerUser  = 2
	MinSessionDuration    = 3600
	MaxSessionDuration    = 43200
	DefaultSessionSeconds = 3600
	// LimitTrustPolicy is the default size limit of a role trust policy.
	LimitTrustPolicy = 2048
	MaxOIDCClientIDs = 100
	MaxOIDCClientID  = 255
	MaxThumbprints   = 5
)

var (
	namePattern    = regexp.MustCompile(`^[\w+=,.@-]+$`)
	pathPattern    = regexp.MustCompile(`^/([\x21-\x7E]+/)*$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	tagPattern     = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	keyIDPattern   = regexp.MustCompile(`^AKIA[A-Z2-7]{16}$`)
	thumbPattern   = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)
	// policyARNPattern splits a managed policy ARN into account, path and
	// name.
	policyARNPattern = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}|aws):policy(/(?:[\x21-\x7E]*/)?)([\w+=,.@-]+)$`)
)

// ValidateAccount reports whether acct is a 12-digit account ID.
func ValidateAccount(acct string) error {
	if !accountPattern.MatchString(acct) {
		return Errorf(ValidationError, "account ID %q must be 12 digits", truncate(acct))
	}
	return nil
}

// ValidateName checks an entity name: [\w+=,.@-], 1 to max characters.
func ValidateName(what, name string, max int) error {
	if name == "" || len(name) > max || !namePattern.MatchString(name) {
		return Errorf(ValidationError, "%s name %q must be 1 to %d characters of letters, digits and +=,.@_-", what, truncate(name), max)
	}
	return nil
}

// ValidatePath checks an IAM path: "/" or /segments/ of printable ASCII,
// at most 512 characters.
func ValidatePath(path string) error {
	if len(path) > MaxPathLength || !pathPattern.MatchString(path) {
		return Errorf(ValidationError, "path %q must begin and end with / and contain only printable ASCII, at most %d characters", truncate(path), MaxPathLength)
	}
	return nil
}

// ValidateTags checks a tag set: at most 50 tags, keys 1–128 and values
// 0–256 characters from the IAM tag alphabet, no reserved "aws:" prefix, no
// two keys differing only in case.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return Errorf(LimitExceeded, "%d tags exceed the limit of %d", len(tags), MaxTags)
	}
	seen := make(map[string]bool, len(tags))
	for k, v := range tags {
		switch {
		case k == "" || utf8.RuneCountInString(k) > MaxTagKeyLength || !tagPattern.MatchString(k):
			return Errorf(InvalidInput, "tag key %q must be 1 to %d characters of letters, digits, spaces and _.:/=+-@", truncate(k), MaxTagKeyLength)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return Errorf(InvalidInput, "tag key %q uses the reserved prefix aws:", truncate(k))
		case utf8.RuneCountInString(v) > MaxTagValueLength || !tagPattern.MatchString(v):
			return Errorf(InvalidInput, "tag value for %q must be at most %d characters of letters, digits, spaces and _.:/=+-@", truncate(k), MaxTagValueLength)
		case seen[strings.ToLower(k)]:
			return Errorf(InvalidInput, "tag keys differ only in case: %q", truncate(k))
		}
		seen[strings.ToLower(k)] = true
	}
	return nil
}

// ValidateTagKeys checks the keys given to an untag operation.
func ValidateTagKeys(keys []string) error {
	if len(keys) > MaxTags {
		return Errorf(LimitExceeded, "%d tag keys exceed the limit of %d", len(keys), MaxTags)
	}
	for _, k := range keys {
		if k == "" || utf8.RuneCountInString(k) > MaxTagKeyLength || !tagPattern.MatchString(k) {
			return Errorf(InvalidInput, "tag key %q must be 1 to %d characters", truncate(k), MaxTagKeyLength)
		}
	}
	return nil
}

// Document purposes for ValidateDocument.
const (
	DocInline  = "inline"  // inline identity policy of a user, role or group
	DocManaged = "managed" // version of a managed policy
	DocTrust   = "trust"   // role trust policy
)

// ValidateDocument parses a policy document with the iam package for its
// purpose and returns MalformedPolicyDocument with the parser's message.
func ValidateDocument(purpose, doc string) error {
	opts := iam.ParseOptions{Kind: iam.KindIdentity, MaxChars: iam.LimitInline}
	switch purpose {
	case DocManaged:
		opts.MaxChars = iam.LimitManaged
	case DocTrust:
		opts = iam.ParseOptions{Kind: iam.KindResource, MaxChars: LimitTrustPolicy}
	}
	if doc == "" {
		return Errorf(MalformedPolicyDocument, "policy document is empty")
	}
	if _, err := iam.Parse([]byte(doc), opts); err != nil {
		if strings.HasPrefix(err.Error(), "policy: size ") { // iam.Parse's size-limit error
			return Errorf(LimitExceeded, "%v", err)
		}
		return Errorf(MalformedPolicyDocument, "%v", err)
	}
	return nil
}

// ValidateInlineName checks an inline policy name (1–128 characters).
func ValidateInlineName(name string) error {
	return ValidateName("policy", name, MaxPolicyNameLength)
}

// ValidateRef checks a principal reference.
func ValidateRef(r Ref) error {
	switch r.Kind {
	case KindUser:
		return ValidateName("user", r.Name, MaxUserNameLength)
	case KindRole:
		return ValidateName("role", r.Name, MaxRoleNameLength)
	case KindGroup:
		return ValidateName("group", r.Name, MaxGroupNameLength)
	}
	return Errorf(InvalidInput, "unknown principal kind %q", truncate(string(r.Kind)))
}

// ParsePolicyARN splits a managed policy ARN into its account ("aws" for
// built-in policies), path and name.
func ParsePolicyARN(s string) (acct, path, name string, err error) {
	m := policyARNPattern.FindStringSubmatch(s)
	if m == nil || len(m[2]) > MaxPathLength || len(m[3]) > MaxPolicyNameLength {
		return "", "", "", Errorf(InvalidInput, "%q is not a managed policy ARN", truncate(s))
	}
	return m[1], m[2], m[3], nil
}

// ValidateSessionDuration checks a role's maximum session duration.
func ValidateSessionDuration(seconds int) error {
	if seconds < MinSessionDuration || seconds > MaxSessionDuration {
		return Errorf(ValidationError, "max session duration %d must be between %d and %d seconds", seconds, MinSessionDuration, MaxSessionDuration)
	}
	return nil
}

// ValidateStatus checks an access key status.
func ValidateStatus(s string) error {
	if s != Active && s != Inactive {
		return Errorf(ValidationError, "access key status %q must be Active or Inactive", truncate(s))
	}
	return nil
}

// ValidateAccessKeyID checks the form of a long-term access key ID.
func ValidateAccessKeyID(id string) error {
	if !keyIDPattern.MatchString(id) {
		return Errorf(ValidationError, "access key ID %q must be AKIA followed by 16 characters A-Z2-7", truncate(id))
	}
	return nil
}

// NormalizeIssuer checks an OIDC issuer URL (https, a host, no query or
// fragment) and returns it without a trailing slash, with the provider's
// ARN resource part (host and path).
func NormalizeIssuer(raw string) (issuer, hostPath string, err error) {
	u, perr := url.Parse(raw)
	if perr != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(raw) > 255 {
		return "", "", Errorf(ValidationError, "OIDC provider URL %q must be https://host[/path] without query or fragment, at most 255 characters", truncate(raw))
	}
	issuer = strings.TrimSuffix(raw, "/")
	return issuer, strings.TrimPrefix(issuer, "https://"), nil
}

// Validate checks p's URL, client IDs, thumbprints, claim mapping and tags.
func (p *OIDCProvider) Validate() error {
	if _, _, err := NormalizeIssuer(p.URL); err != nil {
		return err
	}
	if len(p.ClientIDs) > MaxOIDCClientIDs {
		return Errorf(LimitExceeded, "%d client IDs exceed the limit of %d", len(p.ClientIDs), MaxOIDCClientIDs)
	}
	for _, c := range p.ClientIDs {
		if c == "" || len(c) > MaxOIDCClientID {
			return Errorf(ValidationError, "client ID must be 1 to %d characters", MaxOIDCClientID)
		}
	}
	if len(p.Thumbprints) > MaxThumbprints {
		return Errorf(LimitExceeded, "%d thumbprints exceed the limit of %d", len(p.Thumbprints), MaxThumbprints)
	}
	for _, t := range p.Thumbprints {
		if !thumbPattern.MatchString(t) {
			return Errorf(ValidationError, "thumbprint %q must be 40 hex characters", truncate(t))
		}
	}
	for claim, key := range p.ClaimTags {
		if claim == "" || len(claim) > 256 {
			return Errorf(ValidationError, "claim name must be 1 to 256 characters")
		}
		if err := ValidateTags(map[string]string{key: ""}); err != nil {
			return Errorf(ValidationError, "claim %q maps to an invalid tag key: %s", truncate(claim), tenantml.ErrorMessage(err))
		}
	}
	return ValidateTags(p.Tags)
}

// Unique ID prefixes, as AWS uses them.
const (
	PrefixUser      = "AIDA"
	PrefixRole      = "AROA"
	PrefixGroup     = "AGPA"
	PrefixPolicy    = "ANPA"
	PrefixAccessKey = "AKIA"
)

// NewID returns prefix followed by 16 random characters of the base32
// alphabet (A-Z, 2-7) read from r.
func NewID(prefix string, r io.Reader) (string, error) {
	var b [10]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("read random: %w", err)
	}
	return prefix + base32.StdEncoding.EncodeToString(b[:]), nil
}

// EntityARN returns arn:aws:iam::<acct>:<kind><path><name>.
func EntityARN(acct, kind, path, name string) string {
	return arn.New("iam", "", acct, kind+path+name).String()
}

// defaultPath returns "/" for an empty path.
func defaultPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
