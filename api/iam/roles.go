package iam

import (
	"context"
	"net/url"
	"strconv"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
)

// xmlRole is IAM's Role element.
type xmlRole struct {
	Path                     string       `xml:"Path"`
	RoleName                 string       `xml:"RoleName"`
	RoleID                   string       `xml:"RoleId"`
	Arn                      string       `xml:"Arn"`
	CreateDate               string       `xml:"CreateDate"`
	AssumeRolePolicyDocument string       `xml:"AssumeRolePolicyDocument,omitempty"`
	Description              string       `xml:"Description,omitempty"`
	MaxSessionDuration       int          `xml:"MaxSessionDuration"`
	PermissionsBoundary      *xmlBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                     []xmlTag     `xml:"Tags>member,omitempty"`
}

func toXMLRole(r *identity.Role) xmlRole {
	return xmlRole{Path: r.Path, RoleName: r.Name, RoleID: r.ID, Arn: r.ARN, CreateDate: isoTime(r.CreatedAt),
		AssumeRolePolicyDocument: encodeDocument(r.AssumeRolePolicyDocument), Description: r.Description,
		MaxSessionDuration: r.MaxSessionDuration, PermissionsBoundary: boundary(r.PermissionsBoundary), Tags: tagList(r.Tags)}
}

type roleResult struct {
	Role xmlRole `xml:"Role"`
}

type listRolesResult struct {
	Roles       []xmlRole `xml:"Roles>member"`
	IsTruncated bool      `xml:"IsTruncated"`
	Marker      string    `xml:"Marker,omitempty"`
}

type listTagsResult struct {
	Tags        []xmlTag `xml:"Tags>member"`
	IsTruncated bool     `xml:"IsTruncated"`
}

type getRolePolicyResult struct {
	RoleName       string `xml:"RoleName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

type listPolicyNamesResult struct {
	PolicyNames []string `xml:"PolicyNames>member"`
	IsTruncated bool     `xml:"IsTruncated"`
	Marker      string   `xml:"Marker,omitempty"`
}

func roleRef(f url.Values) identity.Ref {
	return identity.Ref{Kind: identity.KindRole, Name: f.Get("RoleName")}
}

func (s *Surface) registerRoles(add func(string, resourceFunc, handler)) {
	acctWide := func(_ url.Values, c *authn.Principal) string {
		return arn.New("iam", "", s.account(c), "role/").String()
	}
	add("CreateRole", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "AssumeRolePolicyDocument"); err != nil {
			return nil, err
		}
		r := &identity.Role{Name: f.Get("RoleName"), Path: f.Get("Path"), AssumeRolePolicyDocument: f.Get("AssumeRolePolicyDocument"),
			Description: f.Get("Description"), PermissionsBoundary: f.Get("PermissionsBoundary"), Tags: api.FormTags(f)}
		if d := f.Get("MaxSessionDuration"); d != "" {
			n, err := strconv.Atoi(d)
			if err != nil {
				return nil, identity.Errorf(identity.ValidationError, "MaxSessionDuration must be a number of seconds")
			}
			r.MaxSessionDuration = n
		}
		if err := s.Service.CreateRole(ctx, s.account(c), r); err != nil {
			return nil, err
		}
		return roleResult{Role: toXMLRole(r)}, nil
	})
	add("GetRole", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName"); err != nil {
			return nil, err
		}
		r, err := s.Service.GetRole(ctx, s.account(c), f.Get("RoleName"))
		if err != nil {
			return nil, err
		}
		return roleResult{Role: toXMLRole(r)}, nil
	})
	add("ListRoles", acctWide, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		opt, err := listOptions(f, c)
		if err != nil {
			return nil, err
		}
		roles, next, err := s.Service.ListRoles(ctx, s.account(c), opt)
		if err != nil {
			return nil, err
		}
		res := listRolesResult{IsTruncated: next != "", Marker: next, Roles: []xmlRole{}}
		for _, r := range roles {
			res.Roles = append(res.Roles, toXMLRole(r))
		}
		return res, nil
	})
	add("DeleteRole", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteRole(ctx, s.account(c), f.Get("RoleName"))
	})
	add("UpdateAssumeRolePolicy", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "PolicyDocument"); err != nil {
			return nil, err
		}
		return nil, s.Service.UpdateAssumeRolePolicy(ctx, s.account(c), f.Get("RoleName"), f.Get("PolicyDocument"))
	})
	add("TagRole", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "Tags.member.1.Key"); err != nil {
			return nil, err
		}
		return nil, s.Service.TagRole(ctx, s.account(c), f.Get("RoleName"), api.FormTags(f))
	})
	add("UntagRole", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "TagKeys.member.1"); err != nil {
			return nil, err
		}
		return nil, s.Service.UntagRole(ctx, s.account(c), f.Get("RoleName"), api.FormList(f, "TagKeys"))
	})
	add("ListRoleTags", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName"); err != nil {
			return nil, err
		}
		tags, err := s.Service.ListRoleTags(ctx, s.account(c), f.Get("RoleName"))
		if err != nil {
			return nil, err
		}
		res := listTagsResult{Tags: tagList(tags)}
		if res.Tags == nil {
			res.Tags = []xmlTag{}
		}
		return res, nil
	})
	add("PutRolePolicy", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "PolicyName", "PolicyDocument"); err != nil {
			return nil, err
		}
		return nil, s.Service.PutInlinePolicy(ctx, s.account(c), roleRef(f), f.Get("PolicyName"), f.Get("PolicyDocument"))
	})
	add("GetRolePolicy", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "PolicyName"); err != nil {
			return nil, err
		}
		doc, err := s.Service.GetInlinePolicy(ctx, s.account(c), roleRef(f), f.Get("PolicyName"))
		if err != nil {
			return nil, err
		}
		return getRolePolicyResult{RoleName: f.Get("RoleName"), PolicyName: f.Get("PolicyName"), PolicyDocument: encodeDocument(doc)}, nil
	})
	add("DeleteRolePolicy", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "PolicyName"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteInlinePolicy(ctx, s.account(c), roleRef(f), f.Get("PolicyName"))
	})
	add("ListRolePolicies", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName"); err != nil {
			return nil, err
		}
		opt, err := listOptions(f, nil)
		if err != nil {
			return nil, err
		}
		names, next, err := s.Service.ListInlinePolicies(ctx, s.account(c), roleRef(f), opt)
		if err != nil {
			return nil, err
		}
		if names == nil {
			names = []string{}
		}
		return listPolicyNamesResult{PolicyNames: names, IsTruncated: next != "", Marker: next}, nil
	})
	add("PutRolePermissionsBoundary", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName", "PermissionsBoundary"); err != nil {
			return nil, err
		}
		return nil, s.Service.PutRolePermissionsBoundary(ctx, s.account(c), f.Get("RoleName"), f.Get("PermissionsBoundary"))
	})
	add("DeleteRolePermissionsBoundary", s.roleARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "RoleName"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteRolePermissionsBoundary(ctx, s.account(c), f.Get("RoleName"))
	})
}
