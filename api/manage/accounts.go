package manage

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/iam/arn"
	"github.com/tenantml/tenantml/identity"
)

// Accounts serves the deployment's accounts: POST /api/v1/accounts
// (tenantml:CreateAccount) and GET /api/v1/accounts
// (tenantml:ListAccounts). Both are platform decisions (authz.PlatformOnly):
// no principal of a tenant performs them, whatever its policies say. Their
// resources are in the primary account (arn:aws:tenantml:<region>:
// <primary>:account/<name>), so another account's principals, its root
// included, are refused unless a policy of the primary account grants them.
type Accounts struct {
	Service   *identity.Accounts
	Pipeline  *api.Pipeline
	Region    string
	AccountID string
}

// CreateAccountInput is the body of POST /api/v1/accounts.
type CreateAccountInput struct {
	Name string `json:"name"`
}

// AccountOutput is one account in the API.
type AccountOutput struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Primary   bool       `json:"primary,omitempty"`
	CreatedAt *time.Time `json:"createdAt,omitempty"`
}

// CreateAccountOutput is the answer to POST /api/v1/accounts: the account
// and its root user's credentials, shown only in this answer.
type CreateAccountOutput struct {
	Account AccountOutput   `json:"account"`
	Root    RootCredentials `json:"rootCredentials"`
}

// RootCredentials are an account root user's access key.
type RootCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// ListAccountsOutput is the body of GET /api/v1/accounts.
type ListAccountsOutput struct {
	Accounts []AccountOutput `json:"accounts"`
}

// Register adds the account routes to srv.
func (h *Accounts) Register(srv *api.Server) {
	p := h.Pipeline
	srv.Handle("POST /api/v1/accounts", p.Handler(api.Op{Action: "tenantml:CreateAccount", Target: h.createTarget, Handle: h.create}))
	srv.Handle("GET /api/v1/accounts", p.Handler(api.Op{Action: "tenantml:ListAccounts", Target: fixedTarget(h.arn("*")), Handle: h.list}))
}

func (h *Accounts) arn(name string) string {
	return arn.New("tenantml", h.Region, h.AccountID, "account/"+name).String()
}

// createTarget names the account the body asks for; the body is read
// (bounded by the route's limit) and restored for the handler.
func (h *Accounts) createTarget(r *http.Request, _ *authn.Principal) (*api.Target, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, api.DecodeError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	t := &api.Target{Resource: authz.Resource{ARN: h.arn("*")}}
	var in CreateAccountInput
	if json.Unmarshal(body, &in) == nil && identity.ValidateAccountName(in.Name) == nil {
		t.ARN = h.arn(in.Name)
		t.Parameters = map[string]any{"name": in.Name}
	}
	return t, nil
}

func (h *Accounts) create(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	var in CreateAccountInput
	if err := api.DecodeJSON(r, &in); err != nil {
		return err
	}
	a, root, err := h.Service.Create(r.Context(), in.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusCreated, CreateAccountOutput{Account: toAccountOutput(a, h.AccountID),
		Root: RootCredentials{AccessKeyID: root.AccessKeyID, SecretAccessKey: string(root.Secret)}})
	return nil
}

func (h *Accounts) list(w http.ResponseWriter, r *http.Request, _ *authn.Principal) error {
	all, err := h.Service.List(r.Context())
	if err != nil {
		return err
	}
	out := ListAccountsOutput{Accounts: make([]AccountOutput, 0, len(all))}
	for _, a := range all {
		out.Accounts = append(out.Accounts, toAccountOutput(a, h.AccountID))
	}
	api.WriteJSON(w, http.StatusOK, out)
	return nil
}

func toAccountOutput(a *identity.Account, primary string) AccountOutput {
	o := AccountOutput{ID: a.ID, Name: a.Name, Primary: a.ID == primary}
	if !a.CreatedAt.IsZero() {
		t := a.CreatedAt
		o.CreatedAt = &t
	}
	return o
}
