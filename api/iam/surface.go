package iam

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/iam"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
)

// Namespace is the XML namespace of IAM responses.
const Namespace = "https://iam.amazonaws.com/doc/2010-05-08/"

// Surface serves the IAM actions of one account.
type Surface struct {
	// AccountID is the primary account: the account of a caller that
	// names none. Every request acts in its caller's account (IAM is an
	// account's namespace: no request reaches another account's entities).
	AccountID string
	Service   identity.Service
	// KEK seals new access keys' secrets.
	KEK keys.KEK
	// Rand generates access key IDs and secrets.
	Rand     io.Reader
	Pipeline *api.Pipeline
	Protocol *api.QueryProtocol
	// Invalidate, when set, is called after every successful write, so
	// that cached effective policies are reloaded (authz.Engine.Invalidate).
	Invalidate func()
	// Policies parses policies for Simulate*.
	Policies PolicyParser
}

// PolicyParser parses policy documents; *authz.Engine implements it.
type PolicyParser interface {
	Parse(doc string, kind iam.Kind) (*iam.Policy, error)
}

// handler does one action's work on the parsed form and returns the XML
// result (nil for actions without output).
type handler func(ctx context.Context, f url.Values, c *authn.Principal) (any, error)

// resourceFunc names the ARN an action applies to.
type resourceFunc func(f url.Values, c *authn.Principal) string

// Register adds the IAM actions to router.
func (s *Surface) Register(router *api.AWSRouter) {
	p := s.Pipeline.WithProtocol(s.Protocol)
	add := func(action string, res resourceFunc, h handler) {
		router.Register(action, p.Handler(api.Op{
			Action: "iam:" + action,
			Target: s.target(action, res),
			Handle: func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
				f, err := api.ParseForm(r)
				if err != nil {
					return err
				}
				out, err := h(r.Context(), f, c)
				if err != nil {
					return err
				}
				if s.Invalidate != nil && !readOnly(action) {
					s.Invalidate()
				}
				s.Protocol.WriteResult(w, r, action, out)
				return nil
			},
		}))
	}
	s.registerUsers(add)
	s.registerRoles(add)
	s.registerPolicies(add)
	s.registerUserExtras(add)
	s.registerGroups(add)
	s.registerPolicyExtras(add)
	s.registerOIDC(add)
	s.registerSimulate(add)
}

// readOnly reports the actions that change nothing.
func readOnly(action string) bool {
	for _, p := range []string{"Get", "List", "Simulate"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// Protocol is IAM's query protocol: its namespace and error codes.
func Protocol() *api.QueryProtocol {
	return &api.QueryProtocol{Namespace: Namespace, Dialect: api.Dialect{
		tenantml.ENOTFOUND: {Code: identity.NoSuchEntity, Status: http.StatusNotFound},
		tenantml.ECONFLICT: {Code: identity.EntityAlreadyExists, Status: http.StatusConflict},
	}}
}

// account is the account a request of c acts in: its own.
func (s *Surface) account(c *authn.Principal) string {
	if c != nil && c.Account != "" {
		return c.Account
	}
	return s.AccountID
}

// entityARN is arn:aws:iam::<account>:<kind><path><name>; path defaults to "/".
func (s *Surface) entityARN(acct, kind, path, name string) string {
	if path == "" {
		path = "/"
	}
	return arn.New("iam", "", acct, kind+path+name).String()
}

func (s *Surface) userARN(f url.Values, c *authn.Principal) string {
	return s.entityARN(s.account(c), "user", f.Get("Path"), s.userName(f, c))
}

func (s *Surface) roleARN(f url.Values, c *authn.Principal) string {
	return s.entityARN(s.account(c), "role", f.Get("Path"), f.Get("RoleName"))
}

func policyARNParam(f url.Values, _ *authn.Principal) string { return f.Get("PolicyArn") }

// userName is the UserName parameter or, when absent, the calling user's
// own name (as IAM does for access key and GetUser calls).
func (s *Surface) userName(f url.Values, c *authn.Principal) string {
	if n := f.Get("UserName"); n != "" {
		return n
	}
	if c != nil && c.Type == authn.IAMUser {
		return c.UserName
	}
	return ""
}

// required fails with ValidationError naming the first missing parameter.
func required(f url.Values, names ...string) error {
	for _, n := range names {
		if f.Get(n) == "" {
			return identity.Errorf(identity.ValidationError, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", lowerFirst(n))
		}
	}
	return nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// listOptions reads Marker, MaxItems and PathPrefix; a principal of a
// tenant (c, nil for lists of one entity's items) lists only its tenant's
// entities.
func listOptions(f url.Values, c *authn.Principal) (identity.ListOptions, error) {
	opt := identity.ListOptions{Marker: f.Get("Marker"), PathPrefix: f.Get("PathPrefix")}
	if c != nil {
		opt.TenantID = c.TenantID
	}
	if m := f.Get("MaxItems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 || n > identity.MaxMaxItems {
			return opt, identity.Errorf(identity.ValidationError, "1 validation error detected: Value at 'maxItems' failed to satisfy constraint: Member must have value between 1 and %d", identity.MaxMaxItems)
		}
		opt.MaxItems = n
	}
	return opt, nil
}

// isoTime formats a time as IAM's XML does.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// encodeDocument URL-encodes a policy document as IAM returns it; the AWS
// CLI and SDKs decode it.
func encodeDocument(doc string) string { return url.PathEscape(doc) }

// xmlTag is one tag in a Tags list.
type xmlTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func tagList(m map[string]string) []xmlTag {
	if len(m) == 0 {
		return nil
	}
	out := make([]xmlTag, 0, len(m))
	for k, v := range m {
		out = append(out, xmlTag{Key: k, Value: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// xmlBoundary is an entity's PermissionsBoundary element.
type xmlBoundary struct {
	Type string `xml:"PermissionsBoundaryType"`
	ARN  string `xml:"PermissionsBoundaryArn"`
}

func boundary(arn string) *xmlBoundary {
	if arn == "" {
		return nil
	}
	return &xmlBoundary{Type: "Policy", ARN: arn}
}
