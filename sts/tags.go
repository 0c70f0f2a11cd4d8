package sts

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Tag is a session tag.
type Tag struct {
	Key   string
	Value string
}

// Session tag limits.
const (
	MaxSessionTags = 50
	MaxTagKeyLen   = 128
	MaxTagValueLen = 256
)

var (
	tagKeyRE   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	tagValueRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
)

// TagInput is what determines a session's principal tags.
type TagInput struct {
	// RoleTags are the tags on the role being assumed.
	RoleTags map[string]string
	// Inherited are the transitive tags of the calling session when role
	// chaining (Session.TransitiveTags).
	Inherited map[string]string
	// Request are the Tags of the AssumeRole request.
	Request []Tag
	// TransitiveTagKeys are the request's TransitiveTagKeys.
	TransitiveTagKeys []string
}

// SessionTags applies the session tag rules and returns the session's
// principal tags and transitive tag keys:
//
//   - at most 50 request tags, keys 1–128 and values 0–256 characters of
//     letters, digits, spaces and _.:/=+-@, keys not starting with "aws:";
//   - keys are case-insensitive: duplicate request keys are refused;
//   - TransitiveTagKeys must name request tags;
//   - inherited transitive tags stay transitive and cannot be overridden by
//     a request tag of the same key;
//   - request tags and inherited tags override role tags of the same key.
func SessionTags(in TagInput) (tags map[string]string, transitive []string, err error) {
	if len(in.Request) > MaxSessionTags {
		return nil, nil, errorf(CodeValidationError, "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to %d", MaxSessionTags)
	}
	if len(in.TransitiveTagKeys) > MaxSessionTags {
		return nil, nil, errorf(CodeValidationError, "1 validation error detected: Value at 'transitiveTagKeys' failed to satisfy constraint: Member must have length less than or equal to %d", MaxSessionTags)
	}
	request := map[string]Tag{} // lowercased key → tag
	for _, t := range in.Request {
		if err := validateTag(t); err != nil {
			return nil, nil, err
		}
		lk := strings.ToLower(t.Key)
		if _, dup := request[lk]; dup {
			return nil, nil, errorf(CodeInvalidParameterValue, "Duplicate tag keys found. Please note that Tag keys are case insensitive.")
		}
		request[lk] = t
	}
	inherited := map[string]string{} // lowercased key → original key
	for k := range in.Inherited {
		inherited[strings.ToLower(k)] = k
	}
	for lk, t := range request {
		if _, ok := inherited[lk]; ok {
			return nil, nil, errorf(CodeInvalidParameterValue, "The session tag %q cannot override a transitive tag of the calling session.", t.Key)
		}
	}

	tags = map[string]string{}
	set := func(k, v string) {
		for old := range tags {
			if strings.EqualFold(old, k) {
				delete(tags, old)
			}
		}
		tags[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(in.RoleTags)) {
		set(k, in.RoleTags[k])
	}
	for _, k := range slices.Sorted(maps.Keys(in.Inherited)) {
		set(k, in.Inherited[k])
	}
	for _, lk := range slices.Sorted(maps.Keys(request)) {
		set(request[lk].Key, request[lk].Value)
	}

	seen := map[string]bool{}
	for _, k := range slices.Sorted(maps.Keys(in.Inherited)) {
		seen[strings.ToLower(k)] = true
		transitive = append(transitive, k)
	}
	for _, k := range in.TransitiveTagKeys {
		lk := strings.ToLower(k)
		t, ok := request[lk]
		if !ok {
			return nil, nil, errorf(CodeInvalidParameterValue, "The transitive tag key %q is not the key of a session tag in the request.", truncate(k))
		}
		if !seen[lk] {
			seen[lk] = true
			transitive = append(transitive, t.Key)
		}
	}
	if len(tags) == 0 {
		tags = nil
	}
	return tags, transitive, nil
}

// TransitiveTags returns the tags of a session a chained session inherits.
func (s *Session) TransitiveTags() map[string]string {
	out := map[string]string{}
	for _, k := range s.TransitiveTagKeys {
		for tk, v := range s.Tags {
			if strings.EqualFold(tk, k) {
				out[tk] = v
			}
		}
	}
	return out
}

func validateTag(t Tag) error {
	switch {
	case len(t.Key) == 0 || utf8.RuneCountInString(t.Key) > MaxTagKeyLen || !tagKeyRE.MatchString(t.Key):
		return errorf(CodeValidationError, "1 validation error detected: Value at 'tags.key' failed to satisfy constraint: Member must have length between 1 and %d and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+", MaxTagKeyLen)
	case utf8.RuneCountInString(t.Value) > MaxTagValueLen || !tagValueRE.MatchString(t.Value):
		return errorf(CodeValidationError, "1 validation error detected: Value at 'tags.value' failed to satisfy constraint: Member must have length less than or equal to %d and satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", MaxTagValueLen)
	case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
		return errorf(CodeInvalidParameterValue, "Tag keys must not begin with the prefix 'aws:'.")
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// TagList returns m as tags sorted by key, e.g. to pass the session tags of
// a web identity token as TagInput.Request.
func TagList(m map[string]string) []Tag {
	out := make([]Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, Tag{Key: k, Value: m[k]})
	}
	return out
}
