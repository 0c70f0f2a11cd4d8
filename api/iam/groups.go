package iam

import (
	"context"
	"net/url"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/identity"
)

// xmlGroup is IAM's Group element.
type xmlGroup struct {
	Path       string `xml:"Path"`
	GroupName  string `xml:"GroupName"`
	GroupID    string `xml:"GroupId"`
	Arn        string `xml:"Arn"`
	CreateDate string `xml:"CreateDate"`
}

type groupResult struct {
	Group xmlGroup `xml:"Group"`
}

func (s *Surface) groupARN(f url.Values, c *authn.Principal) string {
	return s.entityARN(s.account(c), "group", f.Get("Path"), f.Get("GroupName"))
}

func (s *Surface) registerGroups(add func(string, resourceFunc, handler)) {
	add("CreateGroup", s.groupARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "GroupName"); err != nil {
			return nil, err
		}
		g := &identity.Group{Name: f.Get("GroupName"), Path: f.Get("Path")}
		if err := s.Service.CreateGroup(ctx, s.account(c), g); err != nil {
			return nil, err
		}
		return groupResult{Group: xmlGroup{Path: g.Path, GroupName: g.Name, GroupID: g.ID, Arn: g.ARN, CreateDate: isoTime(g.CreatedAt)}}, nil
	})
	add("DeleteGroup", s.groupARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "GroupName"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteGroup(ctx, s.account(c), f.Get("GroupName"))
	})
	add("AddUserToGroup", s.groupARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "GroupName", "UserName"); err != nil {
			return nil, err
		}
		return nil, s.Service.AddUserToGroup(ctx, s.account(c), f.Get("GroupName"), f.Get("UserName"))
	})
	add("RemoveUserFromGroup", s.groupARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "GroupName", "UserName"); err != nil {
			return nil, err
		}
		return nil, s.Service.RemoveUserFromGroup(ctx, s.account(c), f.Get("GroupName"), f.Get("UserName"))
	})
	add("AttachGroupPolicy", s.groupARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "GroupName", "PolicyArn"); err != nil {
			return nil, err
		}
		return nil, s.Service.AttachPolicy(ctx, s.account(c), identity.Ref{Kind: identity.KindGroup, Name: f.Get("GroupName")}, f.Get("PolicyArn"))
	})
	add("DetachGroupPolicy", s.groupARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "GroupName", "PolicyArn"); err != nil {
			return nil, err
		}
		return nil, s.Service.DetachPolicy(ctx, s.account(c), identity.Ref{Kind: identity.KindGroup, Name: f.Get("GroupName")}, f.Get("PolicyArn"))
	})
}
