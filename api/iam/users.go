package iam

import (
	"context"
	"net/url"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
)

// xmlUser is IAM's User element.
type xmlUser struct {
	Path                string       `xml:"Path"`
	UserName            string       `xml:"UserName"`
	UserID              string       `xml:"UserId"`
	Arn                 string       `xml:"Arn"`
	CreateDate          string       `xml:"CreateDate"`
	PermissionsBoundary *xmlBoundary `xml:"PermissionsBoundary,omitempty"`
	Tags                []xmlTag     `xml:"Tags>member,omitempty"`
}

func toXMLUser(u *identity.User) xmlUser {
	return xmlUser{Path: u.Path, UserName: u.Name, UserID: u.ID, Arn: u.ARN, CreateDate: isoTime(u.CreatedAt),
		PermissionsBoundary: boundary(u.PermissionsBoundary), Tags: tagList(u.Tags)}
}

type userResult struct {
	User xmlUser `xml:"User"`
}

type listUsersResult struct {
	Users       []xmlUser `xml:"Users>member"`
	IsTruncated bool      `xml:"IsTruncated"`
	Marker      string    `xml:"Marker,omitempty"`
}

// xmlAccessKey is the AccessKey of CreateAccessKey: the only response
// that ever carries a secret.
type xmlAccessKey struct {
	UserName        string `xml:"UserName"`
	AccessKeyID     string `xml:"AccessKeyId"`
	Status          string `xml:"Status"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	CreateDate      string `xml:"CreateDate"`
}

type createAccessKeyResult struct {
	AccessKey xmlAccessKey `xml:"AccessKey"`
}

type xmlAccessKeyMetadata struct {
	UserName    string `xml:"UserName"`
	AccessKeyID string `xml:"AccessKeyId"`
	Status      string `xml:"Status"`
	CreateDate  string `xml:"CreateDate"`
}

type listAccessKeysResult struct {
	AccessKeyMetadata []xmlAccessKeyMetadata `xml:"AccessKeyMetadata>member"`
	IsTruncated       bool                   `xml:"IsTruncated"`
}

func (s *Surface) registerUsers(add func(string, resourceFunc, handler)) {
	acctWide := func(_ url.Values, c *authn.Principal) string {
		return arn.New("iam", "", s.account(c), "user/").String()
	}
	add("CreateUser", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName"); err != nil {
			return nil, err
		}
		u := &identity.User{Name: f.Get("UserName"), Path: f.Get("Path"), Tags: api.FormTags(f), PermissionsBoundary: f.Get("PermissionsBoundary")}
		if err := s.Service.CreateUser(ctx, s.account(c), u); err != nil {
			return nil, err
		}
		return userResult{User: toXMLUser(u)}, nil
	})
	add("GetUser", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		name := s.userName(f, c)
		if name == "" {
			return nil, required(f, "UserName")
		}
		u, err := s.Service.GetUser(ctx, s.account(c), name)
		if err != nil {
			return nil, err
		}
		return userResult{User: toXMLUser(u)}, nil
	})
	add("ListUsers", acctWide, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		opt, err := listOptions(f, c)
		if err != nil {
			return nil, err
		}
		users, next, err := s.Service.ListUsers(ctx, s.account(c), opt)
		if err != nil {
			return nil, err
		}
		res := listUsersResult{IsTruncated: next != "", Marker: next, Users: []xmlUser{}}
		for _, u := range users {
			res.Users = append(res.Users, toXMLUser(u))
		}
		return res, nil
	})
	add("DeleteUser", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteUser(ctx, s.account(c), f.Get("UserName"))
	})
	add("PutUserPolicy", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName", "PolicyName", "PolicyDocument"); err != nil {
			return nil, err
		}
		return nil, s.Service.PutInlinePolicy(ctx, s.account(c), identity.Ref{Kind: identity.KindUser, Name: f.Get("UserName")}, f.Get("PolicyName"), f.Get("PolicyDocument"))
	})
	add("CreateAccessKey", s.userARN, s.createAccessKey)
	add("ListAccessKeys", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		name := s.userName(f, c)
		if name == "" {
			return nil, required(f, "UserName")
		}
		ks, err := s.Service.ListAccessKeys(ctx, s.account(c), name)
		if err != nil {
			return nil, err
		}
		res := listAccessKeysResult{AccessKeyMetadata: []xmlAccessKeyMetadata{}}
		for _, k := range ks {
			res.AccessKeyMetadata = append(res.AccessKeyMetadata, xmlAccessKeyMetadata{UserName: k.UserName, AccessKeyID: k.ID, Status: k.Status, CreateDate: isoTime(k.CreatedAt)})
		}
		return res, nil
	})
	add("UpdateAccessKey", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "AccessKeyId", "Status"); err != nil {
			return nil, err
		}
		return nil, s.Service.UpdateAccessKey(ctx, s.account(c), s.userName(f, c), f.Get("AccessKeyId"), f.Get("Status"))
	})
	add("DeleteAccessKey", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "AccessKeyId"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteAccessKey(ctx, s.account(c), s.userName(f, c), f.Get("AccessKeyId"))
	})
}

// createAccessKey generates the key, stores its sealed secret and returns
// the secret once.
func (s *Surface) createAccessKey(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
	name := s.userName(f, c)
	if name == "" {
		return nil, required(f, "UserName")
	}
	id, secret, err := identity.NewAccessKey(s.Rand)
	if err != nil {
		return nil, err
	}
	sealed, err := identity.SealSecret(ctx, s.KEK, id, secret)
	if err != nil {
		return nil, err
	}
	k := &identity.AccessKey{ID: id, UserName: name, Status: identity.Active, SealedSecret: sealed}
	if err := s.Service.CreateAccessKey(ctx, s.account(c), k); err != nil {
		return nil, err
	}
	return createAccessKeyResult{AccessKey: xmlAccessKey{UserName: name, AccessKeyID: id, Status: identity.Active, SecretAccessKey: secret, CreateDate: isoTime(k.CreatedAt)}}, nil
}

type getUserPolicyResult struct {
	UserName       string `xml:"UserName"`
	PolicyName     string `xml:"PolicyName"`
	PolicyDocument string `xml:"PolicyDocument"`
}

func userRef(f url.Values) identity.Ref {
	return identity.Ref{Kind: identity.KindUser, Name: f.Get("UserName")}
}

// registerUserExtras adds user tags, the user's inline policies and
// permissions boundary.
func (s *Surface) registerUserExtras(add func(string, resourceFunc, handler)) {
	add("TagUser", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName", "Tags.member.1.Key"); err != nil {
			return nil, err
		}
		return nil, s.Service.TagUser(ctx, s.account(c), f.Get("UserName"), api.FormTags(f))
	})
	add("UntagUser", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName", "TagKeys.member.1"); err != nil {
			return nil, err
		}
		return nil, s.Service.UntagUser(ctx, s.account(c), f.Get("UserName"), api.FormList(f, "TagKeys"))
	})
	add("ListUserTags", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName"); err != nil {
			return nil, err
		}
		tags, err := s.Service.ListUserTags(ctx, s.account(c), f.Get("UserName"))
		if err != nil {
			return nil, err
		}
		return listTagsResult{Tags: tagList(tags)}, nil
	})
	add("GetUserPolicy", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName", "PolicyName"); err != nil {
			return nil, err
		}
		doc, err := s.Service.GetInlinePolicy(ctx, s.account(c), userRef(f), f.Get("PolicyName"))
		if err != nil {
			return nil, err
		}
		return getUserPolicyResult{UserName: f.Get("UserName"), PolicyName: f.Get("PolicyName"), PolicyDocument: encodeDocument(doc)}, nil
	})
	add("DeleteUserPolicy", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName", "PolicyName"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteInlinePolicy(ctx, s.account(c), userRef(f), f.Get("PolicyName"))
	})
	add("ListUserPolicies", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName"); err != nil {
			return nil, err
		}
		opt, err := listOptions(f, nil)
		if err != nil {
			return nil, err
		}
		names, next, err := s.Service.ListInlinePolicies(ctx, s.account(c), userRef(f), opt)
		if err != nil {
			return nil, err
		}
		if names == nil {
			names = []string{}
		}
		return listPolicyNamesResult{PolicyNames: names, IsTruncated: next != "", Marker: next}, nil
	})
	add("PutUserPermissionsBoundary", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName", "PermissionsBoundary"); err != nil {
			return nil, err
		}
		return nil, s.Service.PutUserPermissionsBoundary(ctx, s.account(c), f.Get("UserName"), f.Get("PermissionsBoundary"))
	})
	add("DeleteUserPermissionsBoundary", s.userARN, func(ctx context.Context, f url.Values, c *authn.Principal) (any, error) {
		if err := required(f, "UserName"); err != nil {
			return nil, err
		}
		return nil, s.Service.DeleteUserPermissionsBoundary(ctx, s.account(c), f.Get("UserName"))
	})
	add("ListAttachedUserPolicies", s.userARN, s.listAttached("UserName", userRef))
}
