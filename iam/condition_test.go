package iam

import (
	"testing"
)

// decideCond decides an Allow-everything statement guarded by one Condition
// block against a request context.
func decideCond(t *testing.T, cond string, ctx Context) Decision {
	t.Helper()
	doc := stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + cond + `}`)
	set := &PolicySet{Identity: []*Policy{pol(t, doc, KindIdentity)}}
	req := Request{Principal: session, Action: invoke, Resource: endpoint, Context: ctx}
	dec, _ := Authorize(set, &req)
	return dec
}

func TestCondition_Eval(t *testing.T) {
	s := func(k, v string) Context { return Context{Single(k, v)} }
	m := func(k string, vs ...string) Context { return Context{Multi(k, vs...)} }
	tests := []struct {
		name string
		cond string
		ctx  Context
		want bool
	}{
		// String family.
		{"StringEquals", `{"StringEquals":{"k":"a"}}`, s("k", "a"), true},
		{"StringEqualsCaseSensitive", `{"StringEquals":{"k":"a"}}`, s("k", "A"), false},
		{"StringEqualsKeyNameCaseInsensitive", `{"StringEquals":{"K":"a"}}`, s("k", "a"), true},
		{"StringEqualsOrAcrossValues", `{"StringEquals":{"k":["a","b"]}}`, s("k", "b"), true},
		{"StringEqualsMissing", `{"StringEquals":{"k":"a"}}`, nil, false},
		{"StringEqualsStarIsLiteral", `{"StringEquals":{"k":"a*"}}`, s("k", "abc"), false},
		{"StringNotEquals", `{"StringNotEquals":{"k":["a","b"]}}`, s("k", "c"), true},
		{"StringNotEqualsNOR", `{"StringNotEquals":{"k":["a","b"]}}`, s("k", "b"), false},
		{"StringNotEqualsMissingIsTrue", `{"StringNotEquals":{"k":"a"}}`, nil, true},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"k":"ABC"}}`, s("k", "abc"), true},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"k":"ABC"}}`, s("k", "abc"), false},
		{"StringLike", `{"StringLike":{"k":"tenant-*-m?"}}`, s("k", "tenant-acme-m1"), true},
		{"StringLikeNoMatch", `{"StringLike":{"k":"tenant-*"}}`, s("k", "other"), false},
		{"StringNotLike", `{"StringNotLike":{"k":"tenant-*"}}`, s("k", "other"), true},
		{"StringNotLikeMissingIsTrue", `{"StringNotLike":{"k":"x"}}`, nil, true},
		// IfExists.
		{"IfExistsMissing", `{"StringEqualsIfExists":{"k":"a"}}`, nil, true},
		{"IfExistsPresentMatch", `{"StringEqualsIfExists":{"k":"a"}}`, s("k", "a"), true},
		{"IfExistsPresentNoMatch", `{"StringEqualsIfExists":{"k":"a"}}`, s("k", "b"), false},
		{"NotIfExistsMissing", `{"StringNotEqualsIfExists":{"k":"a"}}`, nil, true},
		{"NumericIfExistsMissing", `{"NumericLessThanIfExists":{"k":"3"}}`, nil, true},
		// Numeric.
		{"NumericEquals", `{"NumericEquals":{"k":"10"}}`, s("k", "10.0"), true},
		{"NumericNotEquals", `{"NumericNotEquals":{"k":"10"}}`, s("k", "11"), true},
		{"NumericLessThan", `{"NumericLessThan":{"k":10}}`, s("k", "9"), true},
		{"NumericLessThanEqual", `{"NumericLessThan":{"k":10}}`, s("k", "10"), false},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"k":10}}`, s("k", "10"), true},
		{"NumericGreaterThan", `{"NumericGreaterThan":{"k":"1.5"}}`, s("k", "2"), true},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"k":"2"}}`, s("k", "1"), false},
		{"NumericUnparsableRequest", `{"NumericEquals":{"k":"1"}}`, s("k", "one"), false},
		// Date.
		{"DateLessThanISO", `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, s("aws:CurrentTime", "2025-12-31T23:59:59Z"), true},
		{"DateLessThanEpochRequest", `{"DateLessThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, s("aws:CurrentTime", "1767225599"), true},
		{"DateGreaterThanEpochPolicy", `{"DateGreaterThan":{"aws:EpochTime":"1767225600"}}`, s("aws:EpochTime", "2026-01-01T00:00:01Z"), true},
		{"DateEqualsDayOnly", `{"DateEquals":{"d":"2026-01-01"}}`, s("d", "2026-01-01T00:00:00Z"), true},
		{"DateNotEquals", `{"DateNotEquals":{"d":"2026-01-01T00:00:00Z"}}`, s("d", "2026-01-01T00:00:00+01:00"), true},
		{"DateLessThanEquals", `{"DateLessThanEquals":{"d":"2026-01-01T00:00:00Z"}}`, s("d", "2026-01-01T00:00:00Z"), true},
		{"DateGreaterThanEquals", `{"DateGreaterThanEquals":{"d":"2026-01-01T00:00:00Z"}}`, s("d", "2025-01-01T00:00:00Z"), false},
		// Bool, Binary.
		{"Bool", `{"Bool":{"aws:SecureTransport":"true"}}`, s("aws:SecureTransport", "TRUE"), true},
		{"BoolFalse", `{"Bool":{"aws:SecureTransport":false}}`, s("aws:SecureTransport", "true"), false},
		{"BoolMissing", `{"Bool":{"aws:SecureTransport":"false"}}`, nil, false},
		{"BinaryEquals", `{"BinaryEquals":{"k":"QmluYXJ5VmFsdWU="}}`, s("k", "QmluYXJ5VmFsdWU="), true},
		{"BinaryNotEqual", `{"BinaryEquals":{"k":"QmluYXJ5VmFsdWU="}}`, s("k", "b3RoZXI="), false},
		// IP.
		{"IpAddressCIDR", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, s("aws:SourceIp", "203.0.113.7"), true},
		{"IpAddressOutside", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, s("aws:SourceIp", "198.51.100.7"), false},
		{"IpAddressBare32", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, s("aws:SourceIp", "203.0.113.7"), true},
		{"IpAddressBare32Other", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, s("aws:SourceIp", "203.0.113.8"), false},
		{"IpAddressV6", `{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}`, s("aws:SourceIp", "2001:db8:1::1"), true},
		{"IpAddressV6Bare", `{"IpAddress":{"aws:SourceIp":"2001:db8::1"}}`, s("aws:SourceIp", "2001:db8::2"), false},
		{"NotIpAddress", `{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}`, s("aws:SourceIp", "203.0.113.7"), true},
		{"NotIpAddressInside", `{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, s("aws:SourceIp", "10.1.2.3"), false},
		{"IpAddressGarbage", `{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, s("aws:SourceIp", "10.1.2"), false},
		// ARN.
		{"ArnLike", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:*"}}`, s("aws:SourceArn", "arn:aws:sns:us-east-1:111122223333:topic"), true},
		{"ArnEqualsWildcard", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:111122223333:topic"}}`, s("aws:SourceArn", "arn:aws:sns:eu-west-1:111122223333:topic"), true},
		{"ArnLikeOtherAccount", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:*"}}`, s("aws:SourceArn", "arn:aws:sns:us-east-1:444455556666:topic"), false},
		{"ArnNotLike", `{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:111122223333:*"}}`, s("aws:SourceArn", "arn:aws:sns:us-east-1:444455556666:topic"), true},
		{"ArnNotEqualsMissing", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:*:1:*"}}`, nil, true},
		// Null.
		{"NullTrueMissing", `{"Null":{"k":"true"}}`, nil, true},
		{"NullTruePresent", `{"Null":{"k":"true"}}`, s("k", "x"), false},
		{"NullFalsePresent", `{"Null":{"k":"false"}}`, s("k", "x"), true},
		{"NullFalseMissing", `{"Null":{"k":"false"}}`, nil, false},
		// Set qualifiers.
		{"ForAllValuesSubset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, m("aws:TagKeys", "env"), true},
		{"ForAllValuesNotSubset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, m("aws:TagKeys", "env", "cost"), false},
		{"ForAllValuesMissingIsTrue", `{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`, nil, true},
		{"ForAllValuesEmptySetIsTrue", `{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`, m("aws:TagKeys"), true},
		{"ForAnyValueOverlap", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}`, m("aws:TagKeys", "cost", "team"), true},
		{"ForAnyValueNoOverlap", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env"]}}`, m("aws:TagKeys", "cost"), false},
		{"ForAnyValueMissingIsFalse", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, nil, false},
		{"ForAnyValueEmptySetIsFalse", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, m("aws:TagKeys"), false},
		{"ForAllValuesNegated", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, m("aws:TagKeys", "env", "team"), true},
		{"ForAllValuesNegatedOneBad", `{"ForAllValues:StringNotEquals":{"aws:TagKeys":["secret"]}}`, m("aws:TagKeys", "env", "secret"), false},
		{"ForAnyValueNegated", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}`, m("aws:TagKeys", "env", "team"), true},
		{"ForAnyValueNegatedAllMatch", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["env"]}}`, m("aws:TagKeys", "env"), false},
		{"ForAnyValueStringLike", `{"ForAnyValue:StringLike":{"aws:TagKeys":"team-*"}}`, m("aws:TagKeys", "x", "team-a"), true},
		{"ForAllValuesIfExistsMissing", `{"ForAllValues:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, true},
		{"ForAnyValueIfExistsMissing", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, true},
		{"UnqualifiedMultiAnyMatches", `{"StringEquals":{"k":"a"}}`, m("k", "b", "a"), true},
		{"UnqualifiedNegatedMultiNOR", `{"StringNotEquals":{"k":"a"}}`, m("k", "b", "a"), false},
		{"UnqualifiedEmptySetLikeMissing", `{"StringEquals":{"k":"a"}}`, m("k"), false},
		// AND across operators and keys.
		{"AndAcrossKeys", `{"StringEquals":{"a":"1","b":"2"}}`, Context{Single("a", "1"), Single("b", "2")}, true},
		{"AndAcrossKeysOneFails", `{"StringEquals":{"a":"1","b":"2"}}`, Context{Single("a", "1"), Single("b", "3")}, false},
		{"AndAcrossOperators", `{"StringEquals":{"a":"1"},"Bool":{"b":"true"}}`, Context{Single("a", "1"), Single("b", "false")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decideCond(t, tt.cond, tt.ctx) == Allowed
			if got != tt.want {
				t.Fatalf("condition %s with context %+v = %v, want %v", tt.cond, tt.ctx, got, tt.want)
			}
		})
	}
}

func TestCondition_Variables(t *testing.T) {
	tag := func(v string) Context {
		return Context{Single("aws:PrincipalTag/TenantID", v), Single("sagemaker:TargetModel", "acme.tar.gz")}
	}
	tests := []struct {
		name    string
		version string
		cond    string
		ctx     Context
		want    bool
	}{
		{"Substituted", "2012-10-17", `{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}`, tag("acme"), true},
		{"OtherTenant", "2012-10-17", `{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}`, tag("globex"), false},
		{"VariableKeyCaseInsensitive", "2012-10-17", `{"StringEquals":{"sagemaker:TargetModel":"${AWS:principaltag/tenantid}.tar.gz"}}`, tag("acme"), true},
		{"UnresolvedStatementDoesNotApply", "2012-10-17", `{"StringNotEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/Missing}"}}`, tag("acme"), false},
		{"Default", "2012-10-17", `{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/Missing, 'acme'}.tar.gz"}}`, tag("x"), true},
		{"DefaultNotUsedWhenPresent", "2012-10-17", `{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID, 'acme'}.tar.gz"}}`, tag("globex"), false},
		{"LikeWithVariable", "2012-10-17", `{"StringLike":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}*"}}`, tag("acme"), true},
		{"SubstitutedStarIsLiteral", "2012-10-17", `{"StringLike":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}"}}`, tag("*"), false},
		{"EscapeStar", "2012-10-17", `{"StringEquals":{"k":"a${*}b"}}`, Context{Single("k", "a*b")}, true},
		{"EscapeStarInLikeIsLiteral", "2012-10-17", `{"StringLike":{"k":"a${*}"}}`, Context{Single("k", "abc")}, false},
		{"EscapeQuestionAndDollar", "2012-10-17", `{"StringEquals":{"k":"${?}${$}"}}`, Context{Single("k", "?$")}, true},
		{"Version2008IsLiteral", "2008-10-17", `{"StringEquals":{"sagemaker:TargetModel":"${aws:PrincipalTag/TenantID}.tar.gz"}}`, tag("acme"), false},
		{"Version2008LiteralMatches", "2008-10-17", `{"StringEquals":{"k":"${aws:username}"}}`, Context{Single("k", "${aws:username}")}, true},
		{"MultiValuedSingleElementDoesNotResolve", "2012-10-17", `{"StringEquals":{"k":"${m}"}}`, Context{Single("k", "a"), Multi("m", "a")}, false},
		{"MultiValuedUsesDefault", "2012-10-17", `{"StringEquals":{"k":"${m, 'a'}"}}`, Context{Single("k", "a"), Multi("m", "x", "y")}, true},
		{"MultiValuedDoesNotResolve", "2012-10-17", `{"StringEquals":{"k":"${m}"}}`, Context{Single("k", "a"), Multi("m", "a", "b")}, false},
		{"DerivedPrincipalAccount", "2012-10-17", `{"StringEquals":{"k":"${aws:PrincipalAccount}"}}`, Context{Single("k", acct)}, true},
		{"DerivedPrincipalArnIsRole", "2012-10-17", `{"StringEquals":{"aws:PrincipalArn":"` + roleARN + `"}}`, nil, true},
		{"DerivedPrincipalType", "2012-10-17", `{"StringEquals":{"aws:PrincipalType":"AssumedRole"}}`, nil, true},
		{"DerivedResourceAccount", "2012-10-17", `{"StringEquals":{"aws:ResourceAccount":"${aws:PrincipalAccount}"}}`, nil, true},
		{"ContextOverridesDerived", "2012-10-17", `{"StringEquals":{"aws:PrincipalAccount":"999999999999"}}`, Context{Single("aws:PrincipalAccount", "999999999999")}, true},
		{"ArnLikeWithVariable", "2012-10-17", `{"ArnLike":{"aws:SourceArn":"arn:aws:s3:::${aws:PrincipalTag/TenantID}-*"}}`, Context{Single("aws:PrincipalTag/TenantID", "acme"), Single("aws:SourceArn", "arn:aws:s3:::acme-bucket")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := `{"Version":"` + tt.version + `","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + tt.cond + `}]}`
			set := &PolicySet{Identity: []*Policy{pol(t, doc, KindIdentity)}}
			req := Request{Principal: session, Action: invoke, Resource: endpoint, Context: tt.ctx}
			dec, _ := Authorize(set, &req)
			if got := dec == Allowed; got != tt.want {
				t.Fatalf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStatement_ResourceVariables(t *testing.T) {
	tests := []struct {
		name, resource, tenant string
		want                   bool
	}{
		{"Own", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme", "acme", true},
		{"Other", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/globex", "acme", false},
		{"StarTagIsLiteral", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/globex", "*", false},
		{"Unresolved", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/acme", "", false},
	}
	set := &PolicySet{Identity: []*Policy{MustParse(bridgePolicy, KindIdentity)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Principal: session, Action: invoke, Resource: tt.resource}
			if tt.tenant != "" {
				req.Context = Context{Single("aws:PrincipalTag/TenantID", tt.tenant)}
			}
			dec, _ := Authorize(set, &req)
			if got := dec == Allowed; got != tt.want {
				t.Fatalf("allowed = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("NotResourceUnresolvedDoesNotApply", func(t *testing.T) {
		doc := stmt(`{"Effect":"Deny","Action":"*","NotResource":"arn:aws:sagemaker:*:*:endpoint/${aws:PrincipalTag/TenantID}"}`)
		set := &PolicySet{Identity: []*Policy{MustParse(allowAll(), KindIdentity), MustParse(doc, KindIdentity)}}
		req := Request{Principal: session, Action: invoke, Resource: endpoint}
		if dec, _ := Authorize(set, &req); dec != Allowed {
			t.Fatalf("decision = %v, want Allowed (the Deny with an unresolvable variable does not apply)", dec)
		}
	})
}

func TestContext_Lookup(t *testing.T) {
	ctx := Context{Single("aws:PrincipalTag/TenantID", "acme"), Multi("aws:TagKeys", "a", "b")}
	tests := []struct {
		key  string
		ok   bool
		want string
	}{
		{"aws:principaltag/tenantid", true, "acme"},
		{"AWS:TAGKEYS", true, ""},
		{"aws:missing", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			kv, ok := ctx.Lookup(tt.key)
			if ok != tt.ok || kv.Value != tt.want {
				t.Fatalf("Lookup(%q) = %+v, %v; want value %q, %v", tt.key, kv, ok, tt.want, tt.ok)
			}
		})
	}
}
