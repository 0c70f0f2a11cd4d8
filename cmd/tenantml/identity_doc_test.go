package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/identity"
)

// TestIdentityDoc_FirstTenantAdmin runs the commands of docs/identity.md's
// "A tenant's first administrator", exactly as shown, with the real AWS CLI
// and the tenantml binary against a real server: a command annotated
// "# fails: CODE" must fail with that error code, every other must
// succeed. Then it checks the principals the commands made.
func TestIdentityDoc_FirstTenantAdmin(t *testing.T) {
	repo := repoRoot(t)
	ts := startServer(t, rootEnv)
	cmds := shellCommands(t, filepath.Join(repo, "docs", "identity.md"), "## A tenant's first administrator")
	run := make([]string, len(cmds))
	for i, c := range cmds {
		run[i] = strings.ReplaceAll(c, "http://127.0.0.1:8080", ts.URL)
	}
	env := shellEnv(t, "TENANTML_ENDPOINT="+ts.URL, "TENANTML_ACCESS_KEY_ID="+rootKeyID, "TENANTML_SECRET_ACCESS_KEY="+rootSecret)
	results := runShell(t, repo, env, run)

	fails := regexp.MustCompile(`# fails: (\w+)`)
	failing := 0
	for i, c := range cmds {
		r := results[i]
		if m := fails.FindStringSubmatch(c); m != nil {
			failing++
			if r.code == 0 || !strings.Contains(r.out, "("+m[1]+")") {
				t.Errorf("%s\nexit %d, want a failure with %s:\n%s", c, r.code, m[1], r.out)
			}
			continue
		}
		if r.code != 0 {
			t.Errorf("%s\nexit %d:\n%s", c, r.code, r.out)
		}
		for prefix, want := range map[string]string{
			"aws sts get-caller-identity": `"Arn": "arn:aws:iam::000000000000:user/acme.admin"`,
			"aws sts assume-role":         `"Arn": "arn:aws:sts::000000000000:assumed-role/acme.admins/alice"`,
		} {
			if strings.HasPrefix(c, prefix) && !strings.Contains(r.out, want) {
				t.Errorf("%s\noutput lacks %s:\n%s", c, want, r.out)
			}
		}
	}
	if len(cmds) < 15 || failing < 5 {
		t.Fatalf("the section has %d commands, %d expected to fail: the walkthrough is missing", len(cmds), failing)
	}

	// What the walkthrough made, read from the store.
	ctx, acct, ids := context.Background(), ts.cfg.AccountID, ts.store.Identity()
	boundary := "arn:aws:iam::aws:policy/tenantml/TenantRoleBoundary"
	attached := func(kind identity.Kind, name string) []string {
		t.Helper()
		ps, _, err := ids.ListAttachedPolicies(ctx, acct, identity.Ref{Kind: kind, Name: name}, identity.ListOptions{})
		if err != nil {
			t.Fatalf("attached policies of %s %s: %v", kind, name, err)
		}
		var names []string
		for _, p := range ps {
			names = append(names, p.PolicyName)
		}
		return names
	}
	for _, tt := range []struct {
		name, policy string
	}{
		{"acme.admin", "TenantAdmin"},
		{"acme.ds", "DataScientist"},
	} {
		t.Run("User/"+tt.name, func(t *testing.T) {
			u, err := ids.GetUser(ctx, acct, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if u.TenantID != "acme" || u.PermissionsBoundary != boundary {
				t.Fatalf("tenant %q boundary %q, want acme and %s", u.TenantID, u.PermissionsBoundary, boundary)
			}
			if got := attached(identity.KindUser, tt.name); len(got) != 1 || got[0] != tt.policy {
				t.Fatalf("attached %v, want [%s]", got, tt.policy)
			}
		})
	}
	t.Run("Role/acme.admins", func(t *testing.T) {
		r, err := ids.GetRole(ctx, acct, "acme.admins")
		if err != nil {
			t.Fatal(err)
		}
		if r.TenantID != "acme" || r.PermissionsBoundary != boundary || r.Tags["Team"] != "acme-platform" || r.Tags["TenantID"] != "acme" {
			t.Fatalf("role = tenant %q boundary %q tags %v", r.TenantID, r.PermissionsBoundary, r.Tags)
		}
		if got := attached(identity.KindRole, "acme.admins"); len(got) != 1 || got[0] != "TenantAdmin" {
			t.Fatalf("attached %v, want [TenantAdmin]", got)
		}
	})
	for _, name := range []string{"acme.unbounded", "acme.spy", "bob"} {
		t.Run("Refused/"+name, func(t *testing.T) {
			if _, err := ids.GetUser(ctx, acct, name); err == nil {
				t.Fatalf("user %s exists", name)
			}
		})
	}
}

// TestIdentityDoc_AccountPolicies: the policies docs/identity.md quotes for
// the three-account setup are exactly the ones accounts_test.go uses.
func TestIdentityDoc_AccountPolicies(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(repoRoot(t), "docs", "identity.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "### The three-account setup")
	end := strings.Index(text, "### Named listeners")
	if start < 0 || end < start {
		t.Fatal("docs/identity.md has no three-account setup section")
	}
	compact := func(s string) string {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(s)); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		return b.String()
	}
	quoted := map[string]bool{}
	for _, block := range strings.Split(text[start:end], "```json\n")[1:] {
		quoted[compact(block[:strings.Index(block, "```")])] = true
	}
	used := map[string]bool{}
	for name, p := range accountPolicies {
		c := compact(p)
		used[c] = true
		if !quoted[c] {
			t.Errorf("policy %s of the tests is not quoted in docs/identity.md", name)
		}
	}
	for q := range quoted {
		if !used[q] {
			t.Errorf("docs/identity.md quotes a policy the tests do not use: %s", q)
		}
	}
}
