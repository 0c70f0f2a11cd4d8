package manage_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/identity"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store/sqlite"
)

// headerCallers authenticates the X-Test-Caller header's principal.
type headerCallers map[string]*authn.Principal

func (c headerCallers) Authenticate(r *http.Request) (*authn.Principal, error) {
	if p, ok := c[r.Header.Get("X-Test-Caller")]; ok {
		return p, nil
	}
	return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "unknown caller")
}

func TestAccounts_API(t *testing.T) {
	const primary, other = "111122223333", "444455556666"
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	m, err := api.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := api.NewServer(log, m)
	callers := headerCallers{
		"root":       {Type: authn.Root, Account: primary, ARN: "arn:aws:iam::" + primary + ":root", UserID: primary},
		"other-root": {Type: authn.Root, Account: other, ARN: "arn:aws:iam::" + other + ":root", UserID: other},
		"tenant-root-like": {Type: authn.AssumedRole, Account: primary, ARN: "arn:aws:sts::" + primary + ":assumed-role/pool/s", TenantID: "acme",
			Session: &authn.Session{RoleARN: "arn:aws:iam::" + primary + ":role/pool", Name: "s", IssuedAt: time.Now()}},
	}
	p := &api.Pipeline{Authn: callers, Authz: &authz.Engine{AccountID: primary, Identity: db.Identity()}, Audit: &memAuditor{}, Log: log, Now: time.Now}
	accts := &identity.Accounts{Store: db.Accounts(), Secrets: db.Secrets(), KEK: kek, Primary: primary}
	(&manage.Accounts{Service: accts, Pipeline: p, Region: "us-east-1", AccountID: primary}).Register(srv)
	call := func(caller, method, body string) (int, []byte) {
		r := httptest.NewRequest(method, "/api/v1/accounts", strings.NewReader(body))
		r.Header.Set("X-Test-Caller", caller)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		return w.Code, w.Body.Bytes()
	}

	st, body := call("root", http.MethodPost, `{"name":"dev"}`)
	var created manage.CreateAccountOutput
	if st != http.StatusCreated || json.Unmarshal(body, &created) != nil || created.Account.Name != "dev" || created.Root.SecretAccessKey == "" {
		t.Fatalf("create dev = %d %s", st, body)
	}
	st, body = call("root", http.MethodGet, "")
	var list manage.ListAccountsOutput
	if st != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Accounts) != 2 || !list.Accounts[0].Primary || list.Accounts[1].ID != created.Account.ID {
		t.Fatalf("list = %d %s", st, body)
	}
	if strings.Contains(string(body), created.Root.SecretAccessKey) || strings.Contains(string(body), created.Root.AccessKeyID) {
		t.Errorf("list shows root credentials: %s", body)
	}
	for _, tt := range []struct {
		name, caller, method, body string
		want                       int
		code                       string
	}{
		{"ErrTaken", "root", http.MethodPost, `{"name":"dev"}`, http.StatusConflict, "conflict"},
		{"ErrPrimary", "root", http.MethodPost, `{"name":"primary"}`, http.StatusConflict, "conflict"},
		{"ErrName", "root", http.MethodPost, `{"name":"Dev Account"}`, http.StatusBadRequest, "invalid"},
		{"ErrNoName", "root", http.MethodPost, `{}`, http.StatusBadRequest, "invalid"},
		{"ErrUnknownField", "root", http.MethodPost, `{"name":"qa-1","id":"123456789012"}`, http.StatusBadRequest, "invalid"},
		{"ErrNotJSON", "root", http.MethodPost, `name=qa`, http.StatusBadRequest, "invalid"},
		{"ErrTenantCreates", "tenant-root-like", http.MethodPost, `{"name":"acme-own"}`, http.StatusForbidden, "forbidden"},
		{"ErrTenantLists", "tenant-root-like", http.MethodGet, ``, http.StatusForbidden, "forbidden"},
		{"ErrOtherAccountCreates", "other-root", http.MethodPost, `{"name":"qa-2"}`, http.StatusForbidden, "forbidden"},
		{"ErrOtherAccountLists", "other-root", http.MethodGet, ``, http.StatusForbidden, "forbidden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, body := call(tt.caller, tt.method, tt.body)
			var e struct{ Error struct{ Code string } }
			_ = json.Unmarshal(body, &e)
			if st != tt.want || e.Error.Code != tt.code {
				t.Errorf("%s = %d %s, want %d %s", tt.name, st, body, tt.want, tt.code)
			}
		})
	}
	if got, _ := db.Accounts().ListAccounts(context.Background()); len(got) != 1 {
		t.Errorf("accounts after the refusals: %d, want 1", len(got))
	}
}
