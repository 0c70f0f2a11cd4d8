package sts_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/sts"
)

// Example shows how an AssumeRole handler composes the rules after the trust
// policy allowed the call: validate the parameters, inherit from a calling
// session, merge the tags, check the packed size and mint the credentials.
func Example() {
	// The caller: a pool session of tenant acme, TenantID transitive.
	caller := &authn.Principal{
		Type: authn.AssumedRole, Tags: map[string]string{"TenantID": "acme"},
		Session: &authn.Session{TransitiveTagKeys: []string{"TenantID"}, SourceIdentity: "alice"},
	}
	req := struct {
		SessionName, ExternalID, SourceIdentity string
		DurationSeconds                         int64
		Tags                                    []sts.Tag
	}{"invoke-1", "acme-external-id", "", 3600, []sts.Tag{{Key: "Purpose", Value: "batch"}}}
	roleTags := map[string]string{"TenantID": "none", "Model": "pool"}

	chain := sts.ChainFrom(caller)
	if err := sts.ValidateRoleSessionName(req.SessionName); err != nil {
		fmt.Println(err)
		return
	}
	if err := sts.ValidateExternalID(req.ExternalID); err != nil {
		fmt.Println(err)
		return
	}
	d, err := sts.SessionDuration(req.DurationSeconds, 12*time.Hour, chain.Chained)
	if err != nil {
		fmt.Println(err)
		return
	}
	source, err := sts.SourceIdentity(req.SourceIdentity, chain.SourceIdentity)
	if err != nil {
		fmt.Println(err)
		return
	}
	tags, transitive, err := sts.SessionTags(sts.TagInput{RoleTags: roleTags, Inherited: chain.TransitiveTags, Request: req.Tags})
	if err != nil {
		fmt.Println(err)
		return
	}
	packed, err := sts.PackedPolicySize("", nil, req.Tags)
	if err != nil {
		fmt.Println(err)
		return
	}

	keys, _ := sts.NewKeyRing(1, map[uint32][]byte{1: bytes.Repeat([]byte{7}, sts.KeySize)})
	is := sts.NewIssuer(keys)
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	is.Now = func() time.Time { return now }
	creds, err := is.Issue(sts.Session{
		Account: "111122223333", RoleARN: "arn:aws:iam::111122223333:role/PoolInvoke", RoleID: "AROAEXAMPLEPOOL00001",
		RoleSessionName: req.SessionName, Tags: tags, TransitiveTagKeys: transitive,
		SourceIdentity: source, Chained: chain.Chained, Expiration: now.Add(d),
	}, sts.Parties{})
	if err != nil {
		fmt.Println(err)
		return
	}
	opened, _ := is.Open(creds.SessionToken)
	fmt.Println(opened.Session.AssumedRoleARN)
	fmt.Println(opened.Session.Tags, opened.Session.TransitiveTagKeys, opened.Session.SourceIdentity)
	fmt.Println(creds.Expiration.Format(time.RFC3339), packed)
	// Output:
	// arn:aws:sts::111122223333:assumed-role/PoolInvoke/invoke-1
	// map[Model:pool Purpose:batch TenantID:acme] [TenantID] alice
	// 2026-11-23T11:00:00Z 1
}
