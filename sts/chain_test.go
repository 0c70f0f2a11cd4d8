package sts_test

import (
	"maps"
	"testing"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/sts"
)

func TestChainFrom(t *testing.T) {
	s := session()
	tests := []struct {
		name string
		p    *authn.Principal
		want sts.Chain
	}{
		{"Nil", nil, sts.Chain{}},
		{"IAMUser", &authn.Principal{Type: authn.IAMUser, Tags: map[string]string{"TenantID": "acme"}}, sts.Chain{}},
		{"RoleSession", s.Principal("ASIAEXAMPLE"), sts.Chain{Chained: true, TransitiveTags: map[string]string{"TenantID": "acme"}, SourceIdentity: "alice"}},
		{"RoleSessionNoTransitive", func() *authn.Principal {
			s := session()
			s.TransitiveTagKeys, s.SourceIdentity = nil, ""
			return s.Principal("ASIAEXAMPLE")
		}(), sts.Chain{Chained: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sts.ChainFrom(tt.p)
			if got.Chained != tt.want.Chained || got.SourceIdentity != tt.want.SourceIdentity || !maps.Equal(got.TransitiveTags, tt.want.TransitiveTags) {
				t.Fatalf("ChainFrom() = %+v, want %+v", got, tt.want)
			}
		})
	}
	t.Run("ChainedSessionKeepsTenant", func(t *testing.T) {
		// A pool session tagged TenantID=acme (transitive) assumes another
		// role: the tag follows and cannot be overridden.
		parent := session()
		c := sts.ChainFrom(parent.Principal("ASIAEXAMPLE"))
		tags, transitive, err := sts.SessionTags(sts.TagInput{Inherited: c.TransitiveTags, Request: []sts.Tag{{Key: "Env", Value: "prod"}}})
		if err != nil || tags["TenantID"] != "acme" || len(transitive) != 1 {
			t.Fatalf("SessionTags() = %v, %v, %v", tags, transitive, err)
		}
		if _, _, err := sts.SessionTags(sts.TagInput{Inherited: c.TransitiveTags, Request: []sts.Tag{{Key: "TenantID", Value: "globex"}}}); err == nil {
			t.Fatal("a chained session overrode the inherited TenantID")
		}
		if _, err := sts.SessionDuration(7200, 0, c.Chained); err == nil {
			t.Fatal("a chained session got more than one hour")
		}
	})
}
