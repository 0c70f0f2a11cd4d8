package sts

import (
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
)

// Namespace is the XML namespace of STS responses.
const Namespace = "https://sts.amazonaws.com/doc/2011-06-15/"

// Protocol is STS's query protocol: its namespace and error codes.
func Protocol() *api.QueryProtocol {
	return &api.QueryProtocol{Namespace: Namespace, Dialect: api.Dialect{tenantml.ENOTFOUND: {Code: "NoSuchEntity", Status: http.StatusNotFound}}}
}

// Surface serves the STS actions.
type Surface struct {
	Pipeline *api.Pipeline
	Protocol *api.QueryProtocol
}

// Register adds the STS actions to router.
func (s *Surface) Register(router *api.AWSRouter) {
	p := s.Pipeline.WithProtocol(s.Protocol)
	router.Register("GetCallerIdentity", p.Handler(api.Op{
		Action:        "sts:GetCallerIdentity",
		AlwaysAllowed: "sts:GetCallerIdentity needs no permission",
		Handle:        s.getCallerIdentity,
	}))
}

// GetCallerIdentityResult is the result of GetCallerIdentity.
type GetCallerIdentityResult struct {
	Arn     string `xml:"Arn"`
	UserID  string `xml:"UserId"`
	Account string `xml:"Account"`
}

func (s *Surface) getCallerIdentity(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
	if _, err := api.ParseForm(r); err != nil {
		return err
	}
	s.Protocol.WriteResult(w, r, "GetCallerIdentity", GetCallerIdentityResult{Arn: c.ARN, UserID: c.UserID, Account: c.Account})
	return nil
}
