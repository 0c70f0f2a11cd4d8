package sts_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/sts"
)

func code(err error) string {
	if c := tenantml.AWSCodeOf(err); c != "" {
		return c
	}
	if err != nil {
		return "untyped: " + err.Error()
	}
	return ""
}

func TestSessionDuration(t *testing.T) {
	tests := []struct {
		name      string
		requested int64
		roleMax   time.Duration
		chained   bool
		want      time.Duration
		code      string
	}{
		{"OKDefault", 0, 0, false, time.Hour, ""},
		{"OKDefaultChained", 0, 12 * time.Hour, true, time.Hour, ""},
		{"OKMinimum", 900, time.Hour, false, 15 * time.Minute, ""},
		{"OKRoleMax", 43200, 12 * time.Hour, false, 12 * time.Hour, ""},
		{"OKChainedHour", 3600, 12 * time.Hour, true, time.Hour, ""},
		{"ErrBelowMinimum", 899, time.Hour, false, 0, sts.CodeValidationError},
		{"ErrNegative", -1, time.Hour, false, 0, sts.CodeValidationError},
		{"ErrAboveRoleMax", 7200, time.Hour, false, 0, sts.CodeValidationError},
		{"ErrAbove12h", 43201, 12 * time.Hour, false, 0, sts.CodeValidationError},
		{"ErrChainedAboveHour", 3601, 12 * time.Hour, true, 0, sts.CodeValidationError},
		{"ErrRoleMaxInvalid", 900, 13 * time.Hour, false, 0, sts.CodeValidationError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sts.SessionDuration(tt.requested, tt.roleMax, tt.chained)
			if c := code(err); c != tt.code {
				t.Fatalf("SessionDuration() error = %v, want code %q", err, tt.code)
			}
			if got != tt.want {
				t.Fatalf("SessionDuration() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestValidateRoleSessionName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"ab", true},
		{"alice@example.com", true},
		{"a_b+c=d,e.f@g-h", true},
		{strings.Repeat("x", 64), true},
		{"a", false},
		{strings.Repeat("x", 65), false},
		{"has space", false},
		{"slash/no", false},
		{"colon:no", false},
		{"ünïcode", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sts.ValidateRoleSessionName(tt.name)
			if (err == nil) != tt.ok || (err != nil && code(err) != sts.CodeValidationError) {
				t.Fatalf("ValidateRoleSessionName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
		})
	}
}

func TestValidateExternalID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"", true},
		{"12345678-abcd", true},
		{"urn:acme:tenant/42", true},
		{strings.Repeat("x", 1224), true},
		{"x", false},
		{strings.Repeat("x", 1225), false},
		{"bad id", false},
		{"bad\"quote", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if err := sts.ValidateExternalID(tt.id); (err == nil) != tt.ok {
				t.Fatalf("ValidateExternalID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
			}
		})
	}
}

func TestSourceIdentity(t *testing.T) {
	tests := []struct {
		name, requested, inherited, want, code string
	}{
		{"OKNone", "", "", "", ""},
		{"OKSet", "alice", "", "alice", ""},
		{"OKInherited", "", "alice", "alice", ""},
		{"OKSameAsInherited", "alice", "alice", "alice", ""},
		{"ErrChange", "mallory", "alice", "", sts.CodeAccessDenied},
		{"ErrTooShort", "a", "", "", sts.CodeValidationError},
		{"ErrPattern", "al ice", "", "", sts.CodeValidationError},
		{"ErrAWSPrefix", "AWS:me", "", "", sts.CodeValidationError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sts.SourceIdentity(tt.requested, tt.inherited)
			if c := code(err); c != tt.code {
				t.Fatalf("SourceIdentity() error = %v, want code %q", err, tt.code)
			}
			if got != tt.want {
				t.Fatalf("SourceIdentity() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPackedPolicySize(t *testing.T) {
	arn := "arn:aws:iam::111122223333:policy/P"
	policyOf := func(n int) string { // valid JSON with n non-space characters
		base := `{"a":""}`
		return `{"a":"` + strings.Repeat("x", n-len(base)) + `"}`
	}
	tests := []struct {
		name   string
		policy string
		arns   []string
		tags   []sts.Tag
		pct    int
		code   string
	}{
		{"OKEmpty", "", nil, nil, 0, ""},
		{"OKAtLimit", policyOf(2048), nil, nil, 100, ""},
		{"OKWhitespaceNotCounted", policyOf(2048)[:1] + strings.Repeat(" \n\t", 500) + policyOf(2048)[1:], nil, nil, 100, ""},
		{"OKHalf", policyOf(1024), nil, nil, 50, ""},
		{"OKTenARNs", "", slices.Repeat([]string{arn}, 10), nil, 17, ""},
		{"ErrOverLimit", policyOf(2049), nil, nil, 101, sts.CodePackedPolicyTooLarge},
		{"ErrTagsCount", policyOf(2000), nil, []sts.Tag{{"TenantID", "acme-corporation-long-name-000000000000000000"}}, 0, sts.CodePackedPolicyTooLarge},
		{"ErrElevenARNs", "", slices.Repeat([]string{arn}, 11), nil, 0, sts.CodeValidationError},
		{"ErrBadARN", "", []string{"not-an-arn-but-long-enough"}, nil, 0, sts.CodeValidationError},
		{"ErrMalformed", `{"Version":`, nil, nil, 0, sts.CodeMalformedPolicyDocument},
		{"ErrNotObject", `["a"]`, nil, nil, 0, sts.CodeMalformedPolicyDocument},
		{"ErrHuge", strings.Repeat(" ", 20000), nil, nil, 0, sts.CodePackedPolicyTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pct, err := sts.PackedPolicySize(tt.policy, tt.arns, tt.tags)
			if c := code(err); c != tt.code {
				t.Fatalf("PackedPolicySize() error = %v, want code %q", err, tt.code)
			}
			if err == nil && pct != tt.pct {
				t.Fatalf("PackedPolicySize() = %d%%, want %d%%", pct, tt.pct)
			}
		})
	}
}

func TestSessionTags(t *testing.T) {
	many := func(n int) []sts.Tag {
		var out []sts.Tag
		for i := range n {
			out = append(out, sts.Tag{Key: "k" + strings.Repeat("x", i), Value: "v"})
		}
		return out
	}
	tests := []struct {
		name           string
		in             sts.TagInput
		wantTags       map[string]string
		wantTransitive []string
		code           string
	}{
		{"OKNone", sts.TagInput{}, nil, nil, ""},
		{"OKRoleTagsOnly", sts.TagInput{RoleTags: map[string]string{"Team": "ml"}}, map[string]string{"Team": "ml"}, nil, ""},
		{"OKSessionOverridesRoleCaseInsensitive", sts.TagInput{
			RoleTags: map[string]string{"tenantid": "role-default", "Team": "ml"},
			Request:  []sts.Tag{{"TenantID", "acme"}},
		}, map[string]string{"TenantID": "acme", "Team": "ml"}, nil, ""},
		{"OKTransitive", sts.TagInput{
			Request:           []sts.Tag{{"TenantID", "acme"}, {"Env", "prod"}},
			TransitiveTagKeys: []string{"tenantid"},
		}, map[string]string{"TenantID": "acme", "Env": "prod"}, []string{"TenantID"}, ""},
		{"OKChainedInheritsTransitive", sts.TagInput{
			RoleTags:  map[string]string{"TenantID": "role-default"},
			Inherited: map[string]string{"TenantID": "acme"},
			Request:   []sts.Tag{{"Env", "prod"}},
		}, map[string]string{"TenantID": "acme", "Env": "prod"}, []string{"TenantID"}, ""},
		{"OKFiftyTags", sts.TagInput{Request: many(50)}, nil, nil, ""},
		{"OKUnicodeValue", sts.TagInput{Request: []sts.Tag{{"Name", "Zoë Ünal 42"}}}, map[string]string{"Name": "Zoë Ünal 42"}, nil, ""},
		{"ErrFiftyOne", sts.TagInput{Request: many(51)}, nil, nil, sts.CodeValidationError},
		{"ErrDuplicateKeys", sts.TagInput{Request: []sts.Tag{{"TenantID", "a"}, {"tenantid", "b"}}}, nil, nil, sts.CodeInvalidParameterValue},
		{"ErrOverrideTransitive", sts.TagInput{
			Inherited: map[string]string{"TenantID": "acme"},
			Request:   []sts.Tag{{"tenantID", "globex"}},
		}, nil, nil, sts.CodeInvalidParameterValue},
		{"ErrTransitiveNotInTags", sts.TagInput{
			Request:           []sts.Tag{{"Env", "prod"}},
			TransitiveTagKeys: []string{"TenantID"},
		}, nil, nil, sts.CodeInvalidParameterValue},
		{"ErrKeyTooLong", sts.TagInput{Request: []sts.Tag{{strings.Repeat("k", 129), "v"}}}, nil, nil, sts.CodeValidationError},
		{"OKKey128", sts.TagInput{Request: []sts.Tag{{strings.Repeat("k", 128), "v"}}}, map[string]string{strings.Repeat("k", 128): "v"}, nil, ""},
		{"ErrValueTooLong", sts.TagInput{Request: []sts.Tag{{"k", strings.Repeat("v", 257)}}}, nil, nil, sts.CodeValidationError},
		{"OKValue256Runes", sts.TagInput{Request: []sts.Tag{{"k", strings.Repeat("é", 256)}}}, map[string]string{"k": strings.Repeat("é", 256)}, nil, ""},
		{"ErrEmptyKey", sts.TagInput{Request: []sts.Tag{{"", "v"}}}, nil, nil, sts.CodeValidationError},
		{"ErrBadChar", sts.TagInput{Request: []sts.Tag{{"Tenant*", "v"}}}, nil, nil, sts.CodeValidationError},
		{"ErrAWSPrefix", sts.TagInput{Request: []sts.Tag{{"aws:PrincipalTag", "v"}}}, nil, nil, sts.CodeInvalidParameterValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tags, transitive, err := sts.SessionTags(tt.in)
			if c := code(err); c != tt.code {
				t.Fatalf("SessionTags() error = %v, want code %q", err, tt.code)
			}
			if err != nil {
				return
			}
			if tt.wantTags != nil && !maps.Equal(tags, tt.wantTags) {
				t.Fatalf("tags = %v, want %v", tags, tt.wantTags)
			}
			if !slices.Equal(transitive, tt.wantTransitive) {
				t.Fatalf("transitive = %v, want %v", transitive, tt.wantTransitive)
			}
		})
	}
}

func TestSession_TransitiveTags(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		s := sts.Session{Tags: map[string]string{"TenantID": "acme", "Env": "prod"}, TransitiveTagKeys: []string{"TenantID"}}
		if got, want := s.TransitiveTags(), map[string]string{"TenantID": "acme"}; !maps.Equal(got, want) {
			t.Fatalf("TransitiveTags() = %v, want %v", got, want)
		}
	})
}

func TestAssumedRoleARN(t *testing.T) {
	tests := []struct {
		role, want string
	}{
		{"arn:aws:iam::111122223333:role/Invoke", "arn:aws:sts::111122223333:assumed-role/Invoke/s1"},
		{"arn:aws:iam::111122223333:role/path/to/Invoke", "arn:aws:sts::111122223333:assumed-role/Invoke/s1"},
		{"arn:aws-cn:iam::111122223333:role/Invoke", "arn:aws-cn:sts::111122223333:assumed-role/Invoke/s1"},
		{"arn:aws:iam::111122223333:user/bob", ""},
		{"arn:aws:iam::111122223333:role/", ""},
		{"not an arn", ""},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			got, err := sts.AssumedRoleARN(tt.role, "s1")
			if (err != nil) != (tt.want == "") || got != tt.want {
				t.Fatalf("AssumedRoleARN(%q) = %q, %v, want %q", tt.role, got, err, tt.want)
			}
		})
	}
}
