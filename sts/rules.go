package sts

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/tenantml/tenantml"
)

// AWS STS error codes returned by the AssumeRole rules.
const (
	CodeValidationError         = "ValidationError"
	CodeInvalidParameterValue   = "InvalidParameterValue"
	CodePackedPolicyTooLarge    = "PackedPolicyTooLarge"
	CodeMalformedPolicyDocument = "MalformedPolicyDocument"
	CodeAccessDenied            = "AccessDenied"
)

// errorf returns a rejected STS request as the error AWS STS answers:
// AccessDenied is a denial (403), every other code invalid input (400).
func errorf(code, format string, args ...any) *tenantml.Error {
	kind := tenantml.EINVALID
	if code == CodeAccessDenied {
		kind = tenantml.EFORBIDDEN
	}
	return tenantml.AWSErrorf(kind, code, format, args...)
}

// Duration limits of role sessions.
const (
	MinSessionDuration     = 15 * time.Minute
	DefaultSessionDuration = time.Hour
	// ChainedSessionLimit caps sessions assumed with session credentials.
	ChainedSessionLimit = time.Hour
	// MinRoleMaxSession and MaxRoleMaxSession bound a role's
	// MaxSessionDuration.
	MinRoleMaxSession = time.Hour
	MaxRoleMaxSession = 12 * time.Hour
)

// SessionDuration applies the DurationSeconds rules: requestedSeconds 0
// means the default (1 hour); otherwise it must be at least 900 and at most
// the role's maximum session duration, and at most 1 hour when chained.
// roleMax 0 means the default maximum of 1 hour.
func SessionDuration(requestedSeconds int64, roleMax time.Duration, chained bool) (time.Duration, error) {
	if roleMax == 0 {
		roleMax = MinRoleMaxSession
	}
	if roleMax < MinRoleMaxSession || roleMax > MaxRoleMaxSession {
		return 0, errorf(CodeValidationError, "The role's MaxSessionDuration must be between 3600 and 43200 seconds.")
	}
	if requestedSeconds == 0 {
		return DefaultSessionDuration, nil
	}
	d := time.Duration(requestedSeconds) * time.Second
	switch {
	case requestedSeconds < int64(MinSessionDuration/time.Second):
		return 0, errorf(CodeValidationError, "1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", requestedSeconds)
	case requestedSeconds > int64(MaxRoleMaxSession/time.Second):
		return 0, errorf(CodeValidationError, "1 validation error detected: Value '%d' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", requestedSeconds)
	case chained && d > ChainedSessionLimit:
		return 0, errorf(CodeValidationError, "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
	case d > roleMax:
		return 0, errorf(CodeValidationError, "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
	}
	return d, nil
}

var (
	sessionNameRE    = regexp.MustCompile(`^[\w+=,.@-]*$`)
	externalIDRE     = regexp.MustCompile(`^[\w+=,.@:/-]*$`)
	sourceIdentityRE = sessionNameRE
)

// ValidateRoleSessionName checks a RoleSessionName: 2–64 characters of
// letters, digits and _+=,.@-.
func ValidateRoleSessionName(name string) error {
	if len(name) < 2 || len(name) > 64 || !sessionNameRE.MatchString(name) {
		return errorf(CodeValidationError, "1 validation error detected: Value at 'roleSessionName' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	return nil
}

// ValidateExternalID checks an ExternalId: "" (absent) or 2–1224 characters
// of letters, digits and _+=,.@:/-.
func ValidateExternalID(id string) error {
	if id == "" {
		return nil
	}
	if len(id) < 2 || len(id) > 1224 || !externalIDRE.MatchString(id) {
		return errorf(CodeValidationError, "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length between 2 and 1224 and satisfy regular expression pattern: [\\w+=,.@:\\/-]*")
	}
	return nil
}

// SourceIdentity applies the SourceIdentity rules and returns the session's
// source identity. requested is the request's SourceIdentity ("" if absent),
// inherited the calling session's ("" if none). Once set in a chain it
// cannot change: a different requested value is refused.
func SourceIdentity(requested, inherited string) (string, error) {
	if requested == "" {
		return inherited, nil
	}
	if len(requested) < 2 || len(requested) > 64 || !sourceIdentityRE.MatchString(requested) {
		return "", errorf(CodeValidationError, "1 validation error detected: Value at 'sourceIdentity' failed to satisfy constraint: Member must have length between 2 and 64 and satisfy regular expression pattern: [\\w+=,.@-]*")
	}
	if strings.HasPrefix(strings.ToLower(requested), "aws:") {
		return "", errorf(CodeValidationError, "SourceIdentity must not begin with the prefix 'aws:'.")
	}
	if inherited != "" && requested != inherited {
		return "", errorf(CodeAccessDenied, "SourceIdentity cannot be changed: the calling session's source identity is already set.")
	}
	return requested, nil
}

// Session policy limits.
const (
	// PackedPolicyLimit is the budget, in characters excluding whitespace,
	// the inline session policy, the managed policy ARNs and the session tags
	// share.
	PackedPolicyLimit = 2048
	// MaxPolicyARNs is the number of managed session policies allowed.
	MaxPolicyARNs = 10
	// maxPolicyText bounds the raw inline policy, whitespace included.
	maxPolicyText = 16 << 10
)

// PackedPolicySize checks the inline session policy, the managed session
// policy ARNs and the session tags against AWS's limits and returns the
// PackedPolicySize percentage AssumeRole reports. The inline policy must be
// a JSON object; what it says is the IAM engine's business.
func PackedPolicySize(policy string, policyARNs []string, tags []Tag) (int, error) {
	if len(policyARNs) > MaxPolicyARNs {
		return 0, errorf(CodeValidationError, "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to %d", MaxPolicyARNs)
	}
	size := 0
	if policy != "" {
		if len(policy) > maxPolicyText {
			return 0, errorf(CodePackedPolicyTooLarge, "Serialized policy or tags too large.")
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(policy), &v); err != nil {
			return 0, errorf(CodeMalformedPolicyDocument, "The session policy is not a valid JSON policy document.")
		}
		for _, r := range policy {
			if !unicode.IsSpace(r) {
				size++
			}
		}
	}
	for _, arn := range policyARNs {
		if len(arn) < 20 || len(arn) > 2048 || !strings.HasPrefix(arn, "arn:") {
			return 0, errorf(CodeValidationError, "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must be a policy ARN of 20 to 2048 characters")
		}
		size += len(arn)
	}
	for _, t := range tags {
		size += len(t.Key) + len(t.Value)
	}
	pct := (size*100 + PackedPolicyLimit - 1) / PackedPolicyLimit
	if size > PackedPolicyLimit {
		return pct, errorf(CodePackedPolicyTooLarge, "Serialized policy or tags too large: %d%% of the packed size limit.", pct)
	}
	return pct, nil
}
